// 登录: signs in with a name and password (POST /api/v1/session), then returns to the
// page the user came from. On the demo database it lists the demo accounts, one per
// role, each signed in with one click.

const $ = (id) => document.getElementById(id);

/** The page to go back to: only a path on this server (never another site). */
function next() {
  const target = new URLSearchParams(window.location.search).get('next') || '/';
  return target.startsWith('/') && !target.startsWith('//') ? target : '/';
}

async function signIn(user, password) {
  $('login-error').hidden = true;
  $('login-submit').disabled = true;
  try {
    const response = await fetch('/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password }),
    });
    if (response.ok) {
      window.location.assign(next());
      return;
    }
    const problem = await response.json().catch(() => ({}));
    $('login-error').textContent = response.status === 429
      ? '登录失败次数过多，账号已暂时锁定，请 15 分钟后再试'
      : response.status === 401 ? '账号或密码不正确' : `登录失败（${problem.detail || response.status}）`;
    $('login-error').hidden = false;
  } finally {
    $('login-submit').disabled = false;
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn($('login-user').value.trim(), $('login-password').value);
});

async function demoAccounts() {
  const response = await fetch('/api/v1/session/demo');
  if (!response.ok) return;
  const accounts = await response.json();
  if (!accounts.length) return;
  $('demo-password').textContent = accounts[0].password;
  const list = $('demo-list');
  for (const a of accounts) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.user = a.user;
    button.textContent = `${a.role_zh}`;
    button.addEventListener('click', () => signIn(a.user, a.password));
    const what = document.createElement('span');
    what.className = 'muted';
    what.textContent = ` ${a.user} · ${a.display} · ${a.area_name}`;
    item.append(button, what);
    list.append(item);
  }
  $('demo-accounts').hidden = false;
}

demoAccounts();
