// Logging in: with a one-time code from the URL's fragment (the link `viridian serve` prints; a
// fragment never reaches a server or a log) or with the access token pasted into the form. The
// service answers with an HttpOnly session cookie; this script never sees it.
import { reporter } from './api.js';

const form = document.getElementById('login-form');
const report = reporter(document.getElementById('status'));

/** Where to go afterwards: only a page of this console, so the link cannot send anyone elsewhere. */
function nextPage() {
  const next = new URLSearchParams(location.search).get('next');
  return next !== null && next.startsWith('/ui/') && !next.startsWith('/ui//') ? next : '/ui/';
}

async function login(credential) {
  const res = await fetch('/ui/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credential),
  });
  if (res.status === 204) {
    location.replace(nextPage());
    return;
  }
  let message = `HTTP ${res.status}`;
  try { message = (await res.json()).error.message; } catch { /* keep the status */ }
  report(`Not logged in: ${message}`);
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  report(null);
  void login({ token: form.elements.namedItem('token').value.trim() });
});

function loginWithCodeInLink() {
  const code = new URLSearchParams(location.hash.slice(1)).get('code');
  if (code === null) return;
  // Off the address bar and out of the history before anything else: the code is spent either way.
  history.replaceState(null, '', location.pathname + location.search);
  report(null);
  void login({ code });
}

// A second link opened in the same tab changes only the fragment: no new page load.
window.addEventListener('hashchange', loginWithCodeInLink);
loginWithCodeInLink();
