// The signed-in person. Imported first by every page: it makes every write carry the
// session's CSRF token (X-CSRF-Token, read from the paicha_csrf cookie, which a
// foreign page can neither read nor send), and sends the user to the sign-in page
// when the API answers 401 (not signed in, or the session ended).

const CSRF_COOKIE = 'paicha_csrf';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session's CSRF token, for a write fetch() does not make (an upload with progress). */
export function csrfToken() {
  const pair = document.cookie.split(';').map((c) => c.trim())
    .find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return pair ? pair.slice(CSRF_COOKIE.length + 1) : '';
}

/** Goes to the sign-in page, which comes back here afterwards. */
export function toSignIn() {
  const here = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`/login.html?next=${encodeURIComponent(here)}`);
}

const nativeFetch = window.fetch.bind(window);
window.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url, window.location.href);
  const sameOrigin = url.origin === window.location.origin;
  const method = String(init.method || (typeof input === 'string' ? 'GET' : input.method)).toUpperCase();
  let options = init;
  if (sameOrigin && !SAFE.has(method)) {
    const headers = new Headers(init.headers || {});
    headers.set('x-csrf-token', csrfToken());
    options = { ...init, headers };
  }
  const response = await nativeFetch(input, options);
  if (response.status === 401 && sameOrigin && url.pathname !== '/api/v1/session') toSignIn();
  return response;
};

let current;
/** The signed-in person ({ user, display, grants, can }); a page without one goes to sign in. */
export function session() {
  current ??= fetch('/api/v1/session').then((r) => {
    if (r.ok) return r.json();
    toSignIn();
    return new Promise(() => {});
  });
  return current;
}

/** Whether the signed-in person may (`personal`, `edit_ledger`, `plans` …). */
export function can(who, what) {
  return who.can.includes(what);
}

/** Signs out and goes to the sign-in page. */
export async function signOut() {
  await fetch('/api/v1/session', { method: 'DELETE' });
  window.location.assign('/login.html');
}

/** Shows who is signed in, with their roles and areas, and a 退出 button, in `el`. */
export function showSignedIn(el, who) {
  const roles = who.grants.map((g) => `${g.role_zh}${g.department ? `（${g.department}）` : ''}·${g.area_name || g.area}`).join('、');
  el.textContent = '';
  const name = document.createElement('span');
  name.id = 'who-name';
  name.textContent = who.display;
  name.title = roles;
  const scope = document.createElement('span');
  scope.id = 'who-scope';
  scope.className = 'muted';
  scope.textContent = roles;
  const out = document.createElement('button');
  out.type = 'button';
  out.id = 'sign-out';
  out.textContent = '退出';
  out.addEventListener('click', signOut);
  el.append(name, scope, out);
}
