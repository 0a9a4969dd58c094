// 账号与审计: everyone's own API tokens (for scripts and QGIS); for admins, the
// accounts of their areas (add, disable, enable, reset a password, edit the grants:
// roles, areas and last days, such as a cross-inspection 督查组 grant to another
// township) and the audit log with its filters, a page at a time.

import { session, showSignedIn, can } from './session.js';
import { getJson, esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);

const ROLES = [
  ['analyst', '县级分析'], ['leader', '领导'], ['township', '乡镇'], ['village', '村'],
  ['group', '督查组'], ['evaluator', '第三方评估'], ['department', '行业部门'], ['admin', '管理员'],
];
const ACTIONS = {
  sign_in: '登录', sign_in_failed: '登录失败', sign_in_locked: '登录锁定', sign_out: '退出',
  read_personal: '查看个人信息', export: '导出', write: '修改', account: '账号变更', token: '令牌',
};
const roleZh = Object.fromEntries(ROLES);
// The audit log is read a page at a time; 更早的记录 appends the next.
const AUDIT_PAGE = 200;
const AUDIT_MAX = 10000;

// For the browser tests: ready once drawn; busy while a request of a click is under way.
window.admin = { ready: false, failed: null, busy: 0 };

/** Runs an action of a click, counted in window.admin.busy; errors go to a toast. */
async function busy(what, action) {
  window.admin.busy += 1;
  try {
    await action();
  } catch (err) {
    toast(`${what}：${err.message}`);
  } finally {
    window.admin.busy -= 1;
  }
}

async function send(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.ok) return response.status === 204 ? null : response.json();
  const problem = await response.json().catch(() => ({}));
  const detail = Array.isArray(problem.errors) && problem.errors.length
    ? problem.errors.map((e) => `${e.field}：${e.reason}`).join('；')
    : (problem.detail || response.status);
  throw new Error(detail);
}

async function drawTokens() {
  const tokens = await getJson('/api/v1/tokens');
  $('token-table').tBodies[0].innerHTML = tokens.map((t) => `<tr><td>${esc(t.id)}</td><td>${esc(t.label)}</td>`
    + `<td>${esc(t.created_at)}</td><td><button type="button" data-revoke="${esc(t.id)}">撤销</button></td></tr>`).join('')
    || '<tr><td colspan="4" class="muted">没有令牌</td></tr>';
}

/** One grant as the tables write it: 督查组·旺清门镇（至2026-03-31）. */
function grantText(g, name) {
  const dept = g.department ? `（${g.department}）` : '';
  return `${roleZh[g.role] || g.role}${dept}·${name(g.area)}${g.until ? `（至${g.until}）` : ''}`;
}

async function drawUsers(areas) {
  const users = await getJson('/api/v1/users');
  const name = (code) => areas.get(code) || code;
  editor.users = new Map(users.map((u) => [u.user, u]));
  editor.user = null;
  $('user-table').tBodies[0].innerHTML = users.map((u) => {
    const grants = u.grants.map((g) => `<span class="grant" data-role="${esc(g.role)}" data-area="${esc(g.area)}" data-until="${esc(g.until || '')}">`
      + `${esc(grantText(g, name))}</span>`).join('、');
    return `<tr data-user="${esc(u.user)}"><td>${esc(u.user)}</td><td>${esc(u.display)}</td><td class="grants">${grants}</td>`
      + `<td>${u.disabled ? '停用' : '正常'}</td><td>`
      + `<button type="button" data-grants="${esc(u.user)}">授权</button> `
      + `<button type="button" data-toggle="${esc(u.user)}" data-disabled="${u.disabled}">${u.disabled ? '启用' : '停用'}</button> `
      + `<button type="button" data-reset="${esc(u.user)}">重设密码</button></td></tr>`;
  }).join('');
}

// ---------------------------------------------------------------- grants of an account

/** The grants being edited: one account's at a time, saved together (PATCH replaces
 * them all). */
const editor = {
  users: new Map(), user: null, grants: [], areas: null, options: '', departments: [],
};

/** The <option>s of the departments some indicator names (教育, 医保 …). */
function departmentOptions() {
  return editor.departments.map((d) => `<option value="${esc(d)}">${esc(d)}</option>`).join('');
}

/** A grant of `role` in `area`: a department role names its department. */
function newGrant(role, area, until, department) {
  return role === 'department' ? { role, area, until, department } : { role, area, until };
}

/** Opens the editor under the account's row, with its grants as stored. */
function openGrants(user) {
  closeGrants();
  const account = editor.users.get(user);
  if (!account) return;
  editor.user = user;
  // Every field of a grant goes back as it came, those this editor does not show too.
  editor.grants = account.grants.map((g) => ({ ...g, until: g.until || null }));
  const row = $('user-table').querySelector(`tr[data-user="${CSS.escape(user)}"]`);
  const tr = document.createElement('tr');
  tr.id = 'grant-editor';
  tr.className = 'grant-editor';
  tr.dataset.user = user;
  tr.innerHTML = `<td colspan="5"><h3>${esc(account.display)}（${esc(user)}）的授权</h3>`
    + '<table id="grant-rows"><thead><tr><th>岗位</th><th>范围</th><th>截止日期</th><th></th></tr></thead><tbody></tbody></table>'
    + '<div class="grant-add">'
    + `<label>岗位 <select id="grant-role">${ROLES.map(([code, zh]) => `<option value="${code}"${code === 'group' ? ' selected' : ''}>${zh}</option>`).join('')}</select></label>`
    + `<label>范围 <select id="grant-area"><option value="">请选择</option>${editor.options}</select></label>`
    + `<label id="grant-dept-label" hidden>部门 <select id="grant-dept">${departmentOptions()}</select></label>`
    + '<label>截止日期 <input id="grant-until" type="date"></label>'
    + '<button type="button" id="grant-add">添加授权</button></div>'
    + '<p class="muted">交叉互查：岗位选“督查组”，范围选被查的乡镇，截止日期填互查结束的一天。保存后该账号须重新登录。</p>'
    + '<p><button type="button" id="grant-save">保存授权</button> <button type="button" id="grant-cancel">取消</button></p>'
    + '<div class="grant-sample"><h4>第三方评估抽样</h4>'
    + '<label>村数 <input id="sample-n" type="number" min="1" max="10000" value="10"></label>'
    + `<label>在 <select id="sample-within">${editor.options}</select> 内</label>`
    + '<label>种子 <input id="sample-seed" type="number" min="0" placeholder="随机"></label>'
    + '<label>截止日期 <input id="sample-until" type="date"></label>'
    + '<button type="button" id="sample-draw">抽取</button>'
    + '<p class="muted">按乡镇均匀随机抽取（每个乡镇先抽一个），替换该账号的“第三方评估”授权；同一种子抽出同样的村。</p></div></td>';
  row.after(tr);
  drawGrantRows();
}

function closeGrants() {
  $('grant-editor')?.remove();
  editor.user = null;
}

function drawGrantRows() {
  const name = (code) => editor.areas.get(code) || code;
  $('grant-rows').tBodies[0].innerHTML = editor.grants.map((g, i) => `<tr data-index="${i}" data-role="${esc(g.role)}" data-area="${esc(g.area)}">`
    + `<td>${esc(roleZh[g.role] || g.role)}${g.department ? `（${esc(g.department)}）` : ''}</td><td>${esc(name(g.area))}（${esc(g.area)}）</td>`
    + `<td><input type="date" data-until="${i}" value="${esc(g.until || '')}" aria-label="截止日期"></td>`
    + `<td><button type="button" data-remove="${i}">删除</button></td></tr>`).join('')
    || '<tr><td colspan="4" class="muted">没有授权：保存后该账号什么也看不到</td></tr>';
}

function addGrant() {
  const area = $('grant-area').value;
  if (!area) { toast('请选择授权的范围'); return; }
  editor.grants.push(newGrant($('grant-role').value, area, $('grant-until').value || null, $('grant-dept').value));
  $('grant-area').value = '';
  $('grant-until').value = '';
  drawGrantRows();
}

async function saveGrants() {
  const user = editor.user;
  await send('PATCH', `/api/v1/users/${encodeURIComponent(user)}`, { grants: editor.grants });
  await drawUsers(editor.areas);
  $('user-message').textContent = `已保存 ${user} 的授权，其登录会话已结束`;
  $('user-message').hidden = false;
}

/** Draws the evaluator's villages (POST …/sample) and shows which, with the seed that
 * draws them again. */
async function drawSample() {
  const user = editor.user;
  const seed = $('sample-seed').value;
  const drawn = await send('POST', `/api/v1/users/${encodeURIComponent(user)}/sample`, {
    villages: Number($('sample-n').value),
    within: $('sample-within').value,
    seed: seed === '' ? null : Number(seed),
    until: $('sample-until').value || null,
  });
  await drawUsers(editor.areas);
  $('user-message').textContent = `已为 ${user} 抽取 ${drawn.villages.length} 个村（种子 ${drawn.seed}）：`
    + `${drawn.villages.map((v) => v.name).join('、')}；其登录会话已结束`;
  $('user-message').hidden = false;
}

// ---------------------------------------------------------------- the audit log

/** The lines shown, and the filters they were asked with (更早的记录 keeps them). */
const audit = { query: null, lines: [] };

function auditRow(l) {
  return `<tr data-at="${esc(l.at)}"><td>${esc(l.at)}</td><td>${esc(l.user || '')}</td>`
    + `<td>${esc(ACTIONS[l.action] || l.action)}</td><td>${esc(l.route || '')}</td>`
    + `<td class="detail">${esc(l.detail || '')}</td><td>${l.rows ?? ''}</td></tr>`;
}

/** A line as a whole, to recognise one already shown. */
const lineKey = (l) => JSON.stringify([l.at, l.user, l.action, l.route, l.detail, l.rows]);

/** The second after a log stamp (2026-12-01T08:00:01Z → …:02Z); null for another form. */
function secondAfter(at) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(at)) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : new Date(t + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Shows a page of lines (after those shown, or instead of them); `full`: the page was
 * as long as asked for, so there may be older lines. */
function showAudit(lines, { append, full }) {
  const body = $('audit-table').tBodies[0];
  const rows = lines.map(auditRow).join('');
  if (append) body.insertAdjacentHTML('beforeend', rows);
  else body.innerHTML = rows || '<tr><td colspan="6" class="muted">没有记录</td></tr>';
  $('audit-count').textContent = `已显示 ${audit.lines.length} 条`;
  $('audit-more').hidden = !full;
}

async function drawAudit() {
  const q = new URLSearchParams();
  if ($('audit-since').value) q.set('since', $('audit-since').value);
  if ($('audit-user').value.trim()) q.set('user', $('audit-user').value.trim());
  if ($('audit-action').value) q.set('action', $('audit-action').value);
  const asked = new URLSearchParams(q);
  asked.set('limit', String(AUDIT_PAGE));
  const lines = await getJson(`/api/v1/audit?${asked}`);
  audit.query = q;
  audit.lines = lines;
  showAudit(lines, { append: false, full: lines.length === AUDIT_PAGE });
}

/** The next page, older than the last line shown. Stamps are to the second and the API
 * gives lines strictly older than `before`, so it is asked for the lines up to the end
 * of the last line's second, and those of that second already shown are left out: no
 * line is lost between two pages, however many share a second. */
async function moreAudit() {
  const last = audit.lines.at(-1);
  if (!last || !audit.query) return;
  const next = secondAfter(last.at);
  const shown = new Map();
  if (next) {
    for (const l of audit.lines) {
      if (l.at === last.at) shown.set(lineKey(l), (shown.get(lineKey(l)) || 0) + 1);
    }
  }
  const again = [...shown.values()].reduce((a, b) => a + b, 0);
  const limit = Math.min(AUDIT_PAGE + again, AUDIT_MAX);
  const q = new URLSearchParams(audit.query);
  q.set('before', next || last.at);
  q.set('limit', String(limit));
  const lines = await getJson(`/api/v1/audit?${q}`);
  const fresh = lines.filter((l) => {
    const n = l.at === last.at ? shown.get(lineKey(l)) || 0 : 0;
    if (n) shown.set(lineKey(l), n - 1);
    return !n;
  });
  audit.lines.push(...fresh);
  showAudit(fresh, { append: true, full: lines.length === limit });
}

async function start() {
  const who = await session();
  showSignedIn($('who'), who);
  $('token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const made = await send('POST', '/api/v1/tokens', { label: $('token-label').value.trim() });
      $('token-new').textContent = `新令牌（只显示这一次）：${made.token}`;
      $('token-new').hidden = false;
      await drawTokens();
    } catch (err) { toast(`生成失败：${err.message}`); }
  });
  $('token-table').addEventListener('click', async (e) => {
    const id = e.target.dataset.revoke;
    if (!id) return;
    try { await send('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`); await drawTokens(); } catch (err) { toast(`撤销失败：${err.message}`); }
  });
  await drawTokens();
  if (!can(who, 'administer')) return;

  const [list, catalog] = await Promise.all([getJson('/api/v1/areas'), getJson('/api/v1/indicators')]);
  editor.departments = [...new Set(catalog.indicators.flatMap((i) => i.departments || []))].sort();
  $('new-dept').innerHTML = departmentOptions();
  $('new-role').addEventListener('change', () => { $('new-dept-label').hidden = $('new-role').value !== 'department'; });
  const areas = new Map(list.map((a) => [a.code, a.name]));
  $('new-role').innerHTML = ROLES.map(([code, zh]) => `<option value="${code}">${zh}</option>`).join('');
  editor.areas = areas;
  editor.options = list.filter((a) => a.level !== 'village' || list.length < 3000)
    .map((a) => `<option value="${esc(a.code)}">${esc(a.name)}（${esc(a.code)}）</option>`).join('');
  $('new-area').innerHTML = editor.options;
  $('users-section').hidden = false;
  $('audit-section').hidden = false;
  $('user-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await send('POST', '/api/v1/users', {
        user: $('new-user').value.trim(),
        display: $('new-display').value.trim(),
        password: $('new-password').value,
        grants: [newGrant($('new-role').value, $('new-area').value, $('new-until').value || null, $('new-dept').value)],
      });
      $('user-message').textContent = `已新增账号 ${$('new-user').value.trim()}`;
      $('user-message').hidden = false;
      e.target.reset();
      await drawUsers(areas);
    } catch (err) { toast(`新增失败：${err.message}`); }
  });
  $('user-table').addEventListener('click', async (e) => {
    const { toggle, reset, disabled, grants, remove } = e.target.dataset;
    if (grants) { openGrants(grants); return; }
    if (remove !== undefined) { editor.grants.splice(Number(remove), 1); drawGrantRows(); return; }
    if (e.target.id === 'grant-add') { addGrant(); return; }
    if (e.target.id === 'grant-cancel') { closeGrants(); return; }
    if (e.target.id === 'grant-save') { await busy('保存失败', saveGrants); return; }
    if (e.target.id === 'sample-draw') { await busy('抽样失败', drawSample); return; }
    await busy('操作失败', async () => {
      if (toggle) {
        await send('PATCH', `/api/v1/users/${encodeURIComponent(toggle)}`, { disabled: disabled !== 'true' });
      } else if (reset) {
        // eslint-disable-next-line no-alert
        const password = window.prompt(`为 ${reset} 设置新密码（至少 8 位）`);
        if (!password) return;
        await send('PATCH', `/api/v1/users/${encodeURIComponent(reset)}`, { password });
        toast(`已重设 ${reset} 的密码，其登录会话已结束`);
      } else {
        return;
      }
      await drawUsers(areas);
    });
  });
  const setUntil = (e) => {
    const i = e.target.dataset.until;
    if (i !== undefined && editor.grants[Number(i)]) editor.grants[Number(i)].until = e.target.value || null;
  };
  $('user-table').addEventListener('input', setUntil);
  $('user-table').addEventListener('change', (e) => {
    setUntil(e);
    if (e.target.id === 'grant-role') $('grant-dept-label').hidden = e.target.value !== 'department';
  });
  $('audit-form').addEventListener('submit', (e) => { e.preventDefault(); busy('查询失败', drawAudit); });
  $('audit-more').addEventListener('click', async (e) => {
    e.target.disabled = true;
    await busy('读取失败', moreAudit);
    e.target.disabled = false;
  });
  await Promise.all([drawUsers(areas), drawAudit()]);
}

start().then(() => { window.admin.ready = true; }).catch((e) => {
  toast(`页面加载失败：${e.message}`);
  window.admin.failed = e.message;
});
