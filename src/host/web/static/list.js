// The VM list: every VM with its live state and power buttons, and the form that creates one.
import { actionButtons } from './actions.js';
import { api, coalesced, el, logout, reporter, watchEvents } from './api.js';

const rows = document.getElementById('vm-rows');
const live = document.getElementById('live');
const form = document.getElementById('create-form');

const report = reporter(document.getElementById('status'));

function mib(n) {
  return n >= 1024 && n % 1024 === 0 ? `${n / 1024} GiB` : `${n} MiB`;
}

const reload = coalesced(async () => {
  const vms = await api('GET', '/v1/vms');
  rows.replaceChildren(...vms.map((vm) => el('tr', { 'data-vm': vm.name, 'data-state': vm.state },
    el('td', {}, el('a', { href: `/ui/vm?name=${encodeURIComponent(vm.name)}` }, vm.name)),
    el('td', { class: `state state-${vm.state}`, title: vm.stateReason ?? '' }, vm.state),
    el('td', { class: 'num' }, vm.cpus),
    el('td', { class: 'num' }, mib(vm.memoryMiB)),
    el('td', { class: 'actions' }, ...actionButtons(vm, { report, done: () => reload() })),
  )));
  if (vms.length === 0) rows.append(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No VMs yet: create one below.')));
});

function optionalText(input) {
  const v = input.value.trim();
  return v === '' ? undefined : v;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = form.elements;
  const boot = {};
  const kernel = optionalText(f.namedItem('kernel'));
  const initrd = optionalText(f.namedItem('initrd'));
  const cmdline = optionalText(f.namedItem('append'));
  if (kernel !== undefined) boot.kernel = kernel;
  if (initrd !== undefined) boot.initrd = initrd;
  if (cmdline !== undefined) boot.cmdline = cmdline;
  const body = { name: f.namedItem('name').value.trim(), memoryMiB: f.namedItem('memory').valueAsNumber, cpus: f.namedItem('cpus').valueAsNumber };
  if (Object.keys(boot).length > 0) body.boot = boot;
  report(null);
  const submit = form.querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    await api('POST', '/v1/vms', body);
    form.reset();
    await reload();
  } catch (e) {
    report(`Create: ${e.message}`);
  } finally {
    submit.disabled = false;
  }
});

document.getElementById('logout').addEventListener('click', () => void logout());

watchEvents({
  onLive: () => { live.textContent = 'live'; live.className = 'live up'; void reload(); },
  onDown: () => { live.textContent = 'reconnecting…'; live.className = 'live down'; },
  onEvent: (e) => { if (e.vmId !== null) void reload(); },
});
