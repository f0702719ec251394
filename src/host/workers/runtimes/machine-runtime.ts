/**
 * The VM engine as a worker runtime. The engine (src/vm/machine) is being assembled; until it is
 * plugged in here, starting a VM fails with a message saying so, and the VM is marked failed.
 * Plugging it in means implementing VmRuntime (../vm-runtime.ts) over the machine and returning it.
 */
import type { VmRuntime, VmRuntimeConfig, VmRuntimeListeners } from '../vm-runtime.js';

export function createMachineRuntime(config: VmRuntimeConfig, _listeners: VmRuntimeListeners): VmRuntime {
  const notYet = (): Promise<never> => Promise.reject(new Error(`VM '${config.name}': the VM engine is not connected to the worker yet (src/vm/machine); nothing can run`));
  return {
    start: notYet,
    pause: notYet,
    resume: notYet,
    pressPowerButton: () => undefined,
    turnOff: () => Promise.resolve(),
    saveTo: notYet,
    writeConsole: () => undefined,
    counters: () => ({}),
  };
}
