/**
 * Runtime selection inside the worker. 'machine' is the VM engine and the only runtime the CLI
 * uses; 'fake' is the test double, chosen only by the host tests through the service's
 * programmatic options (never by a CLI flag).
 */
import type { VmRuntimeFactory } from '../vm-runtime.js';

export const RUNTIME_NAMES = ['machine', 'fake'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export function isRuntimeName(s: string): s is RuntimeName {
  return (RUNTIME_NAMES as readonly string[]).includes(s);
}

export async function loadRuntime(name: RuntimeName): Promise<VmRuntimeFactory> {
  switch (name) {
    case 'machine': return (await import('./machine-runtime.js')).createMachineRuntime;
    case 'fake': return (await import('./fake-runtime.js')).createFakeRuntime;
  }
}
