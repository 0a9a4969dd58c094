// 账号与审计: everyone's own API tokens (for scripts and QGIS); for admins, the
// accounts of their areas (add, disable, enable, reset a password) and the audit log
// with its filters.

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

async function drawUsers(areas) {
  const users = await getJson('/api/v1/users');
  const name = (code) => areas.get(code) || code;
  $('user-table').tBodies[0].innerHTML = users.map((u) => {
    const grants = u.grants.map((g) => `${roleZh[g.role] || g.role}·${esc(name(g.area))}${g.until ? `（至${esc(g.until)}）` : ''}`).join('、');
    return `<tr data-user="${esc(u.user)}"><td>${esc(u.user)}</td><td>${esc(u.display)}</td><td>${grants}</td>`
      + `<td>${u.disabled ? '停用' : '正常'}</td><td>`
      + `<button type="button" data-toggle="${esc(u.user)}" data-disabled="${u.disabled}">${u.disabled ? '启用' : '停用'}</button> `
      + `<button type="button" data-reset="${esc(u.user)}">重设密码</button></td></tr>`;
  }).join('');
}

async function drawAudit() {
  const q = new URLSearchParams({ limit: '500' });
  if ($('audit-since').value) q.set('since', $('audit-since').value);
  if ($('audit-user').value.trim()) q.set('user', $('audit-user').value.trim());
  if ($('audit-action').value) q.set('action', $('audit-action').value);
  const lines = await getJson(`/api/v1/audit?${q}`);
  $('audit-table').tBodies[0].innerHTML = lines.map((l) => `<tr><td>${esc(l.at)}</td><td>${esc(l.user || '')}</td>`
    + `<td>${esc(ACTIONS[l.action] || l.action)}</td><td>${esc(l.route || '')}</td>`
    + `<td class="detail">${esc(l.detail || '')}</td><td>${l.rows ?? ''}</td></tr>`).join('')
    || '<tr><td colspan="6" class="muted">没有记录</td></tr>';
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

  const list = await getJson('/api/v1/areas');
  const areas = new Map(list.map((a) => [a.code, a.name]));
  $('new-role').innerHTML = ROLES.map(([code, zh]) => `<option value="${code}">${zh}</option>`).join('');
  $('new-area').innerHTML = list.filter((a) => a.level !== 'village' || list.length < 3000)
    .map((a) => `<option value="${esc(a.code)}">${esc(a.name)}（${esc(a.code)}）</option>`).join('');
  $('users-section').hidden = false;
  $('audit-section').hidden = false;
  $('user-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await send('POST', '/api/v1/users', {
        user: $('new-user').value.trim(),
        display: $('new-display').value.trim(),
        password: $('new-password').value,
        grants: [{ role: $('new-role').value, area: $('new-area').value, until: $('new-until').value || null }],
      });
      $('user-message').textContent = `已新增账号 ${$('new-user').value.trim()}`;
      $('user-message').hidden = false;
      e.target.reset();
      await drawUsers(areas);
    } catch (err) { toast(`新增失败：${err.message}`); }
  });
  $('user-table').addEventListener('click', async (e) => {
    const { toggle, reset, disabled } = e.target.dataset;
    try {
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
    } catch (err) { toast(`操作失败：${err.message}`); }
  });
  $('audit-form').addEventListener('submit', (e) => { e.preventDefault(); drawAudit().catch((err) => toast(err.message)); });
  await Promise.all([drawUsers(areas), drawAudit()]);
}

start().catch((e) => toast(`页面加载失败：${e.message}`));
