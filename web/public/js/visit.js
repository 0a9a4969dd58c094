// The phone visit sheet (走访记录): the inspection group picks its campaign, plan, group
// and day; for each stop it taps 已走访 / 未遇 / 拒访, ticks the failed indicators or
// checklist items, writes what it saw, adds a photo, and saves. The phone's position
// (WGS-84, from the browser) goes with the visit when the person allows it.
import { session, showSignedIn, can } from './session.js';
import { getJson, postJson, esc } from './api.js';

const $ = (id) => document.getElementById(id);
const state = { campaign: null, plan: null, template: null, indicators: [], recorded: new Map() };

function say(text, error = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

function fill(select, options) {
  select.textContent = '';
  for (const [value, label] of options) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    select.append(o);
  }
}

const today = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);

/** The phone's position, if it gives one within a few seconds. */
function position() {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, crs: 'wgs84', accuracy_m: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 5000, maximumAge: 60000 },
    );
  });
}

async function uploadPhoto(visitId, file) {
  const url = `/api/v1/campaigns/${encodeURIComponent(state.campaign.id)}/visits/${encodeURIComponent(visitId)}/photo`;
  const r = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: file });
  if (!r.ok) throw new Error(`照片未保存（${r.status}）`);
}

async function save(body, photo) {
  const pos = await position();
  if (pos) body.position = pos;
  const visit = await postJson(`/api/v1/campaigns/${encodeURIComponent(state.campaign.id)}/visits`, body);
  if (photo) await uploadPhoto(visit.id, photo);
  return visit;
}

function findingInputs(li, household) {
  const box = li.querySelector('.indicators');
  if (household) {
    for (const ind of state.indicators) {
      const label = document.createElement('label');
      label.innerHTML = `<input type="checkbox" data-kind="indicator" value="${esc(ind.id)}"> ${esc(ind.name_zh)}`;
      box.append(label);
    }
  } else {
    box.hidden = true;
  }
  const items = li.querySelector('.checklist .items');
  for (const it of state.template.items) {
    const label = document.createElement('label');
    const head = it.item || it.content.slice(0, 30);
    label.innerHTML = `<input type="checkbox" data-kind="checklist" value="${it.position}"> ${esc(it.number || '')} ${esc(head)}`;
    items.append(label);
  }
}

/** One card: a planned stop (with `stop`), or an unplanned target. */
function card({ stop, target, label, where, reasons }) {
  const li = $('stop-template').content.firstElementChild.cloneNode(true);
  li.querySelector('.order').textContent = stop ? `${stop.order}.` : '计划外';
  li.querySelector('.label').textContent = label;
  li.querySelector('.where').textContent = where;
  li.querySelector('.reasons').textContent = reasons;
  const household = target.kind === 'household';
  findingInputs(li, household);
  let outcome = null;
  const findings = li.querySelector('.findings');
  const saveButton = li.querySelector('.save');
  li.querySelectorAll('.outcome').forEach((b) => b.addEventListener('click', () => {
    outcome = b.dataset.outcome;
    li.querySelectorAll('.outcome').forEach((o) => o.setAttribute('aria-pressed', String(o === b)));
    findings.hidden = outcome !== 'visited';
    saveButton.hidden = false;
  }));
  saveButton.addEventListener('click', async () => {
    const ticked = [...li.querySelectorAll('input[type="checkbox"]:checked')];
    const note = li.querySelector('.note').value.trim();
    const body = {
      plan_id: state.plan.id,
      group: Number($('group').value),
      outcome,
      date: $('day').selectedOptions[0]?.dataset.date || today(),
      findings: outcome === 'visited' ? ticked.map((c) => ({ kind: c.dataset.kind, item: c.value, note: note || null })) : [],
      note: note || null,
    };
    if (stop) {
      body.day = Number($('day').value);
      body.stop = stop.order;
    } else {
      body.target = target;
    }
    const photo = outcome === 'visited' ? li.querySelector('input[type="file"]').files[0] : null;
    saveButton.disabled = true;
    say('正在保存…');
    try {
      const v = await save(body, photo);
      li.classList.add('recorded');
      li.querySelector('.saved').textContent = `已保存：${v.outcome === 'visited' ? '已走访' : v.outcome === 'not_found' ? '未遇' : '拒访'}，发现问题 ${v.findings.length} 项${v.ledger_opened ? `，新增台账问题 ${v.ledger_opened} 项` : ''}`;
      say('已保存');
      await showDone();
    } catch (e) {
      say(e.message, true);
    } finally {
      saveButton.disabled = false;
    }
  });
  return li;
}

// Loads run one after another, so a change made while the first load is still on its
// way cannot be overwritten by that older load; `data-ready` says when they are done.
let queue = Promise.resolve();
let pending = 0;
function load(step) {
  pending += 1;
  document.body.dataset.ready = 'false';
  queue = queue.then(step).catch((e) => say(e.message, true)).finally(() => {
    pending -= 1;
    if (!pending) document.body.dataset.ready = 'true';
  });
  return queue;
}

function currentDay() {
  const group = state.plan.groups[Number($('group').value) - 1];
  return group?.days[Number($('day').value) - 1];
}

async function showDone() {
  const day = $('day').selectedOptions[0]?.dataset.date;
  const group = $('group').selectedOptions[0]?.textContent;
  const el = $('done');
  if (!day || !group) {
    el.textContent = '';
    return;
  }
  const q = new URLSearchParams({ day, group });
  const pvd = await getJson(`/api/v1/campaigns/${encodeURIComponent(state.campaign.id)}/plan-vs-done?${q}`);
  const r = pvd.rows[0] || { planned: 0, visited: 0, not_found: 0, refused: 0, pending: 0, unplanned: 0, findings: 0 };
  const cells = [['计划', r.planned], ['已走访', r.visited], ['未遇', r.not_found], ['拒访', r.refused], ['计划外', r.unplanned], ['发现问题', r.findings]];
  el.innerHTML = cells.map(([k, v]) => `<div><b data-figure="${k}">${v}</b>${k}</div>`).join('');
}

async function showStops() {
  const list = $('stops');
  list.textContent = '';
  const day = currentDay();
  if (!day) return;
  for (const stop of day.stops) {
    const t = stop.target;
    list.append(card({
      stop,
      target: { kind: t.kind, id: t.id },
      label: t.kind === 'household' ? `${t.label}（${t.id}）` : t.label,
      where: `${t.township_name}${t.village_name} ${stop.arrive || ''}`,
      reasons: (t.reasons || []).join('；'),
    }));
  }
  await showDone();
}

function pickDay() {
  const group = state.plan.groups[Number($('group').value) - 1];
  fill($('day'), group.days.map((d) => [d.day, `第${d.day}天 ${d.date || ''}（${d.stops.length}处）`]));
  [...$('day').options].forEach((o, i) => { o.dataset.date = group.days[i].date || ''; });
  const now = today();
  const todayIndex = group.days.findIndex((d) => d.date === now);
  if (todayIndex >= 0) $('day').value = String(todayIndex + 1);
}

async function pickPlan() {
  state.plan = await getJson(`/api/v1/plans/${encodeURIComponent($('plan').value)}`);
  fill($('group'), state.plan.groups.map((g) => [g.group, g.name]));
  pickDay();
  await showStops();
}

async function pickCampaign() {
  const campaigns = await getJson('/api/v1/campaigns');
  state.campaign = campaigns.find((c) => c.id === $('campaign').value);
  state.template = await getJson(`/api/v1/checklists/${encodeURIComponent(state.campaign.template_id)}`);
  // Only the plans made for this campaign are offered.
  const plans = await getJson('/api/v1/plans');
  const mine = [];
  for (const p of plans) {
    const plan = await getJson(`/api/v1/plans/${encodeURIComponent(p.id)}`);
    if (plan.request.campaign === state.campaign.id) mine.push([p.id, `${p.title}（${p.created}）`]);
  }
  fill($('plan'), mine);
  if (!mine.length) {
    say('本排查活动还没有走访计划：请先在一张图的“走访计划”中为本活动制定计划。');
    $('stops').textContent = '';
    return;
  }
  say('');
  await pickPlan();
}

async function main() {
  const who = await session();
  showSignedIn($('who'), who);
  if (!can(who, 'visits')) {
    say('您的账号不能记录走访（督查组或县级分析账号可以）。', true);
    return;
  }
  const catalog = await getJson('/api/v1/indicators');
  state.indicators = catalog.indicators.filter((i) => i.standard && i.unit === 'households');
  const campaigns = await getJson('/api/v1/campaigns');
  fill($('campaign'), campaigns.map((c) => [c.id, c.name]));
  $('campaign').addEventListener('change', () => load(pickCampaign));
  $('plan').addEventListener('change', () => load(pickPlan));
  $('group').addEventListener('change', () => load(() => { pickDay(); return showStops(); }));
  $('day').addEventListener('change', () => load(showStops));
  $('unplanned-add').addEventListener('click', () => {
    const kind = $('unplanned-kind').value;
    const id = $('unplanned-id').value.trim();
    if (!id || !state.plan) return;
    $('stops').append(card({ stop: null, target: { kind, id }, label: id, where: '计划外', reasons: '' }));
    $('unplanned-id').value = '';
  });
  if (campaigns.length) await load(pickCampaign);
  else document.body.dataset.ready = 'true';
}

main().catch((e) => say(e.message, true));
