// One VM: its settings and power buttons, its serial console in xterm.js over the console
// WebSocket, and its recent events, all kept live from the event stream.
import { Terminal } from '/ui/vendor/xterm.mjs';
import { actionButtons } from './actions.js';
import { api, coalesced, el, logout, reporter, vmPath, watchEvents } from './api.js';

const EVENTS_SHOWN = 50;
/** States in which the service has a console to attach to (console-socket.ts). */
const CONSOLE_STATES = ['starting', 'running', 'paused', 'stopping'];

const name = new URLSearchParams(location.search).get('name') ?? '';
const live = document.getElementById('live');
const title = document.getElementById('vm-name');
const stateCell = document.getElementById('vm-state');
const details = document.getElementById('vm-details');
const actions = document.getElementById('vm-actions');
const eventList = document.getElementById('vm-events');
const consoleState = document.getElementById('console-state');

const report = reporter(document.getElementById('status'));

title.textContent = name;
document.title = `${name} — Viridian`;
document.getElementById('logout').addEventListener('click', () => void logout());

const term = new Terminal({ cols: 100, rows: 24, scrollback: 5000, cursorBlink: true, fontFamily: 'monospace' });
term.open(document.getElementById('terminal'));
const encoder = new TextEncoder();
let socket = null;
let vmId = null;

function setConsoleState(text, cls) {
  consoleState.textContent = text;
  consoleState.className = `console-state ${cls}`;
}

/** Attaches to the console; the service replays the recent screen first, so the terminal starts clean. */
function connectConsole() {
  if (socket !== null) return;
  const url = new URL(vmPath(name, '/console'), location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  setConsoleState('connecting…', 'down');
  ws.addEventListener('open', () => {
    term.reset();
    setConsoleState('connected', 'up');
    term.focus();
  });
  ws.addEventListener('message', (m) => term.write(new Uint8Array(m.data)));
  ws.addEventListener('close', (c) => {
    if (socket === ws) socket = null;
    setConsoleState(c.reason !== '' ? `closed: ${c.reason}` : 'not connected', 'down');
  });
}

term.onData((d) => { if (socket?.readyState === WebSocket.OPEN) socket.send(encoder.encode(d)); });
term.onBinary((d) => { if (socket?.readyState === WebSocket.OPEN) socket.send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)); });

function show(vm) {
  vmId = vm.id;
  stateCell.textContent = vm.state + (vm.stateReason !== null ? ` (${vm.stateReason})` : '');
  stateCell.className = `state state-${vm.state}`;
  stateCell.dataset.state = vm.state;
  const row = (k, v) => [el('dt', {}, k), el('dd', {}, v)];
  details.replaceChildren(
    ...row('vCPUs', vm.cpus),
    ...row('Memory', `${vm.memoryMiB} MiB`),
    ...row('Kernel', vm.boot.kernel ?? '—'),
    ...row('Initrd', vm.boot.initrd ?? '—'),
    ...row('Command line', vm.boot.cmdline === '' ? '—' : vm.boot.cmdline),
    ...row('Disks', vm.disks.length === 0 ? '—' : vm.disks.map((d) => d.path + (d.readOnly ? ' (read-only)' : '')).join(', ')),
    ...row('Id', vm.id),
  );
  actions.replaceChildren(...actionButtons(vm, {
    report,
    done: (op) => { if (op === 'delete') location.assign('/ui/'); else void reload(); },
  }));
  if (CONSOLE_STATES.includes(vm.state)) connectConsole();
}

function eventText(e) {
  if (e.kind === 'vm.state') return `${e.data.from} → ${e.data.to}${e.data.reason ? ` (${e.data.reason})` : ''}`;
  if (e.kind === 'vm.renamed') return `renamed ${e.data.from} → ${e.data.to}`;
  if (e.kind === 'vm.updated' && Array.isArray(e.data.changed)) return `changed ${e.data.changed.join(', ')}`;
  return '';
}

/** Events shown, by id: history and the live stream may both deliver one, and may overlap. */
const shownEvents = new Map();

function addEvents(events) {
  for (const e of events) shownEvents.set(e.id, e);
  const newest = [...shownEvents.values()].sort((a, b) => b.id - a.id).slice(0, EVENTS_SHOWN);
  shownEvents.clear();
  for (const e of newest) shownEvents.set(e.id, e);
  eventList.replaceChildren(...newest.map((e) => el('li', { 'data-kind': e.kind },
    el('time', { datetime: e.at }, new Date(e.at).toLocaleString()), ' ',
    el('span', { class: 'kind' }, e.kind), ' ', eventText(e))));
}

const reload = coalesced(async () => {
  let vm;
  try {
    vm = await api('GET', vmPath(name));
  } catch (e) {
    report(e.status === 404 ? `There is no VM named '${name}'.` : e.message);
    actions.replaceChildren();
    return;
  }
  show(vm);
});

async function loadEvents() {
  // The API lists oldest first: take the tail of a VM's history.
  const all = await api('GET', vmPath(name, '/events?limit=10000'));
  addEvents(all.slice(-EVENTS_SHOWN));
}

if (name === '') {
  report('No VM named: open a VM from the list.');
} else {
  watchEvents({
    onLive: () => {
      live.textContent = 'live';
      live.className = 'live up';
      void reload().then(loadEvents).catch((e) => report(e.message));
    },
    onDown: () => { live.textContent = 'reconnecting…'; live.className = 'live down'; },
    onEvent: (e) => {
      if (e.vmId === null || (e.vmId !== vmId && e.vmName !== name)) return;
      if (e.kind === 'vm.renamed' && e.vmId === vmId) {
        location.replace(`/ui/vm?name=${encodeURIComponent(e.data.to)}`);
        return;
      }
      addEvents([e]);
      if (e.kind === 'vm.deleted' && e.vmId === vmId) {
        report(`VM '${name}' has been deleted.`);
        actions.replaceChildren();
        return;
      }
      void reload();
    },
  });
}
