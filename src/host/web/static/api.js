// The web console's link to the service: JSON calls and the live event stream, both
// authenticated by the session cookie. A 401 means the session is gone: back to the login page.

/** Sends the browser to the login page, to come back to this page afterwards. */
export function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/ui/login?next=${encodeURIComponent(next)}`);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    toLogin();
    throw new ApiError(401, 'not logged in');
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, `${method} ${path}: the service answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) throw new ApiError(res.status, parsed?.error?.message ?? `${method} ${path}: HTTP ${res.status}`);
  return parsed;
}

export function vmPath(name, tail = '') {
  return `/v1/vms/${encodeURIComponent(name)}${tail}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows /v1/events/stream. EventSource would hide a 401 and deliver named events only to
 * listeners for names known in advance, so the stream is read with fetch. onLive runs on every
 * (re)connection, once the service is subscribed: the moment to reload what the page shows.
 * Reconnects resume after the last event seen, so nothing is missed in between.
 */
export function watchEvents({ onEvent, onLive, onDown }) {
  let last = null;
  let stopped = false;
  let controller = null;
  (async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(`/v1/events/stream${last === null ? '' : `?since=${last}`}`, { signal: controller.signal, credentials: 'same-origin' });
        if (res.status === 401) { toLogin(); return; }
        if (!res.ok || res.body === null) throw new Error(`event stream: HTTP ${res.status}`);
        onLive();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let pending = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pending += value;
          let end;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
            if (data === '') continue;
            const event = JSON.parse(data);
            last = event.id;
            onEvent(event);
          }
        }
      } catch (e) {
        if (stopped) return;
        console.warn('event stream:', e);
      }
      onDown();
      await sleep(1000);
    }
  })();
  return () => { stopped = true; controller?.abort(); };
}

/** A DOM element with attributes and children; text is always set as text, never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Runs a reload at most once at a time; calls made meanwhile fold into one more run. */
export function coalesced(task) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running !== null) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        try { await task(); } catch (e) { console.warn(e); }
      } while (again);
    })();
    try { await running; } finally { running = null; }
  };
  return run;
}

/** A function that shows an error in `element` (a role=alert paragraph), or hides it given null. */
export function reporter(element) {
  return (message) => {
    element.textContent = message ?? '';
    element.hidden = message === null;
  };
}

export async function logout() {
  await fetch('/ui/session', { method: 'DELETE', credentials: 'same-origin' });
  location.assign('/ui/login');
}
