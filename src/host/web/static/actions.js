// The power and delete buttons of a VM, each enabled only in the states where the service allows
// it (decision 009's state table), shared by the VM list and the VM page.
import { api, el, vmPath } from './api.js';

const ACTIONS = [
  { label: 'Start', op: 'start', when: ['off', 'saved', 'failed'] },
  { label: 'Stop', op: 'stop', when: ['running'], title: 'ACPI power button; turned off after 60 s' },
  { label: 'Pause', op: 'pause', when: ['running'] },
  { label: 'Resume', op: 'resume', when: ['paused'] },
  { label: 'Turn off', op: 'turn-off', when: ['starting', 'running', 'paused', 'stopping'], title: 'pull the plug' },
  { label: 'Delete', op: 'delete', when: ['off', 'saved', 'failed'] },
];

async function perform(vm, op) {
  if (op === 'delete') {
    if (!confirm(`Delete VM '${vm.name}'? Its disk files are kept.`)) return false;
    await api('DELETE', vmPath(vm.name));
    return true;
  }
  await api('POST', vmPath(vm.name, `/${op}`));
  return true;
}

/**
 * Buttons for `vm`. report(message) shows an error (or clears it with null); done(op) runs after
 * a completed action. The page's state comes from the event stream, not from the answer.
 */
export function actionButtons(vm, { report, done }) {
  return ACTIONS.map(({ label, op, when, title }) => el('button', {
    type: 'button',
    class: op === 'delete' || op === 'turn-off' ? 'danger' : null,
    'data-op': op,
    title,
    disabled: !when.includes(vm.state),
    onclick: async (ev) => {
      const b = ev.currentTarget;
      b.disabled = true;
      report(null);
      try {
        if (await perform(vm, op)) done?.(op);
      } catch (e) {
        report(`${label} ${vm.name}: ${e.message}`);
        b.disabled = false;
      }
    },
  }, label));
}
