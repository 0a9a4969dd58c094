// 数据导入: an admin of every county served uploads an office's files (户籍信息, 入户定位,
// 帮扶措施, 行业部门名单, 区划代码, 边界), watches the upload and the check, reads the report (counts, and each
// problem with file, row, column, value and reason; the whole list as XLSX), and
// commits it as a new data version, or discards it; committed imports are listed and
// the newest can be undone.

import { session, showSignedIn, can, csrfToken } from './session.js';
import { getJson, esc, toast, int } from './api.js';

const $ = (id) => document.getElementById(id);

const KIND_ZH = {
  households: '户籍信息', gps: '入户定位', measures: '帮扶措施', roll: '行业部门名单', village_form: '贫困村信息采集表', divisions: '区划代码', boundaries: '边界',
};
const SEVERITY_ZH = { error: '错误', warning: '提示' };
// Problems drawn on the page; the XLSX holds them all.
const SHOWN = 200;
const POLL_MS = 500;

// For the browser tests: ready once drawn; `job` is the import shown as last polled.
window.imports = { ready: false, failed: null, busy: 0, job: null };

async function busy(what, action) {
  window.imports.busy += 1;
  try {
    await action();
  } catch (err) {
    toast(`${what}：${err.message}`);
  } finally {
    window.imports.busy -= 1;
  }
}

/** The problem document's words, for a toast. */
function problemText(status, text) {
  try {
    const problem = JSON.parse(text);
    const fields = Array.isArray(problem.errors) && problem.errors.length
      ? `：${problem.errors.map((e) => `${e.field}：${e.reason}`).join('；')}` : '';
    return `${problem.detail || status}${fields}`;
  } catch {
    return `请求失败（${status}）`;
  }
}

async function send(method, url) {
  const response = await fetch(url, { method });
  if (response.ok) return response.status === 204 ? null : response.json();
  throw new Error(problemText(response.status, await response.text()));
}

/** Shows the form's fields of the chosen kind only. */
function showFields() {
  const kind = $('kind').value;
  for (const label of document.querySelectorAll('#upload-form [data-for]')) {
    label.hidden = !label.dataset.for.split(' ').includes(kind);
  }
}

/** The upload's query: its kind and the fields of that kind that are filled in. */
function uploadQuery() {
  const kind = $('kind').value;
  const query = new URLSearchParams({ kind });
  const fields = {
    boundaries: [['level', 'level'], ['crs', 'crs']],
    households: [['sheet', 'sheet'], ['date', 'date']],
    measures: [['year', 'year']],
    roll: [['roll', 'roll'], ['county', 'county'], ['sheet', 'sheet']],
  }[kind] || [];
  for (const [param, id] of fields) {
    const value = $(id).value.trim();
    if (value) query.set(param, value);
  }
  return query;
}

/** Sends the form's files with the upload's progress on the bar (fetch cannot tell it). */
function upload() {
  const form = new FormData();
  for (const file of $('files').files) form.append('file', file, file.name);
  const columns = $('columns').files[0];
  if (columns && !$('columns').closest('label').hidden) form.append('columns', columns, columns.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/imports?${uploadQuery()}`);
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      $('job-progress').value = Math.round((e.loaded / e.total) * 100);
      $('job-status').textContent = `上传中 ${Math.round((e.loaded / e.total) * 100)}%`;
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 202) resolve(JSON.parse(xhr.responseText));
      else reject(new Error(problemText(xhr.status, xhr.responseText)));
    });
    xhr.addEventListener('error', () => reject(new Error('网络中断，上传未完成')));
    xhr.send(form);
  });
}

/** A problem's place: 第 3 行 (spreadsheets) or 要素 3 (boundaries). */
function rowText(job, row) {
  if (row == null) return '';
  return job.kind === 'boundaries' ? `要素 ${row}` : `第 ${row} 行`;
}

function drawJob(job) {
  window.imports.job = job;
  $('job').hidden = false;
  $('job').dataset.id = job.id;
  $('job-title').textContent = `${KIND_ZH[job.kind] || job.kind}：${job.files.map((f) => f.name).join('、')}`;
  const checking = job.status === 'queued' || job.status === 'checking';
  const bar = $('job-progress');
  if (checking || job.status === 'committing') bar.removeAttribute('value');
  else bar.value = 100;
  const read = job.rows_read ? `，已读 ${int(job.rows_read)} 行` : '';
  $('job-status').textContent = job.status === 'committed'
    ? `已提交：数据版本 ${job.data_version}` : `${job.status_zh}${read}`;
  $('job-error').hidden = !job.error;
  $('job-error').textContent = job.error ? `文件无法读取：${job.error_zh || job.error}` : '';
  const report = job.report;
  $('job-report').hidden = !report;
  if (!report) return;
  $('job-counts').tBodies[0].innerHTML = report.counts
    .map((c) => `<tr><td>${esc(c.label)}</td><td>${esc(int(c.value))}</td></tr>`).join('');
  $('job-problems-title').textContent = job.errors
    ? `发现 ${int(job.errors)} 个错误、${int(job.warnings)} 个提示：改正文件后重新上传`
    : `没有错误，${int(job.warnings)} 个提示`;
  $('job-problems').tBodies[0].innerHTML = report.problems.slice(0, SHOWN).map((p) => `<tr class="${esc(p.severity)}">`
    + `<td>${esc(SEVERITY_ZH[p.severity] || p.severity)}</td><td>${esc(p.file)}</td><td>${esc(rowText(job, p.row))}</td>`
    + `<td>${esc(p.column || '')}</td><td>${esc(p.value || '')}</td><td>${esc(p.reason)}</td></tr>`).join('')
    || '<tr><td colspan="6" class="muted">没有问题</td></tr>';
  $('job-more').hidden = report.problems.length <= SHOWN;
  $('job-more').textContent = `只显示前 ${SHOWN} 条，共 ${int(report.problems.length)} 条：请下载检查报告。`;
  $('job-xlsx').href = `/api/v1/imports/${encodeURIComponent(job.id)}/report.xlsx`;
  const pending = job.status === 'ready';
  $('job-commit').disabled = !pending || job.errors > 0;
  $('job-commit').hidden = job.status === 'committed';
  $('job-discard').hidden = !pending;
}

/** Polls the import until its check is over, drawing each answer. */
async function follow(id) {
  for (;;) {
    const job = await getJson(`/api/v1/imports/${encodeURIComponent(id)}`);
    drawJob(job);
    if (job.status !== 'queued' && job.status !== 'checking') return job;
    await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
  }
}

async function drawList() {
  const list = await getJson('/api/v1/imports');
  // Committed imports come newest first; only the newest in force can be undone.
  const newest = list.committed.find((i) => i.status === 'committed');
  const rows = [...list.pending.filter((i) => i.status !== 'committed'), ...list.committed];
  $('import-table').tBodies[0].innerHTML = rows.map((i) => {
    const action = i.status === 'ready'
      ? `<button type="button" data-open="${esc(i.id)}">查看</button>`
      : (i === newest ? `<button type="button" data-undo="${esc(i.id)}">撤销</button>` : '');
    return `<tr data-id="${esc(i.id)}"><td>${esc(i.id)}</td><td>${esc(KIND_ZH[i.kind] || i.kind)}</td>`
      + `<td>${esc(i.source)}</td><td>${esc(i.by || '')}</td><td>${esc(i.status_zh)}</td><td>${esc(i.at)}</td><td>${esc(i.data_version ?? '')}</td>`
      + `<td>${i.status === 'ready' ? `${int(i.errors)} / ${int(i.warnings)}` : ''}</td><td>${action}</td></tr>`;
  }).join('') || '<tr><td colspan="9" class="muted">还没有导入记录</td></tr>';
}

async function start() {
  const who = await session();
  showSignedIn($('who'), who);
  if (!can(who, 'administer')) {
    $('not-admin').hidden = false;
    return;
  }
  // An admin of part of the county is refused by the list too.
  try {
    await drawList();
  } catch (err) {
    $('not-admin').hidden = false;
    $('not-admin').textContent = err.message;
    return;
  }
  $('upload-section').hidden = false;
  $('list-section').hidden = false;
  showFields();
  $('kind').addEventListener('change', showFields);
  $('upload-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy('上传失败', async () => {
      $('upload').disabled = true;
      try {
        $('job').hidden = false;
        $('job-report').hidden = true;
        $('job-error').hidden = true;
        $('job-title').textContent = `${KIND_ZH[$('kind').value]}：${[...$('files').files].map((f) => f.name).join('、')}`;
        const job = await upload();
        await follow(job.id);
      } finally {
        $('upload').disabled = false;
      }
      await drawList();
    });
  });
  $('job-commit').addEventListener('click', () => busy('提交失败', async () => {
    const id = $('job').dataset.id;
    $('job-commit').disabled = true;
    $('job-progress').removeAttribute('value');
    $('job-status').textContent = '写入中';
    try {
      // The answer leaves the report out: the one shown stays.
      const committed = await send('POST', `/api/v1/imports/${encodeURIComponent(id)}/commit`);
      drawJob({ ...committed, report: window.imports.job?.report });
    } catch (err) {
      await follow(id);
      throw err;
    }
    toast(`已提交：数据版本 ${window.imports.job.data_version}。地图和统计已使用新数据。`);
    await drawList();
  }));
  $('job-discard').addEventListener('click', () => busy('放弃失败', async () => {
    await send('DELETE', `/api/v1/imports/${encodeURIComponent($('job').dataset.id)}`);
    $('job').hidden = true;
    window.imports.job = null;
    await drawList();
  }));
  $('import-table').addEventListener('click', (e) => {
    const { open, undo } = e.target.dataset;
    if (open) busy('读取失败', () => follow(open));
    if (undo) {
      busy('撤销失败', async () => {
        // eslint-disable-next-line no-alert
        if (!window.confirm(`撤销导入 ${undo}？它替换的数据将恢复。`)) return;
        const undone = await send('POST', `/api/v1/imports/${encodeURIComponent(undo)}/undo`);
        toast(`已撤销：数据版本 ${undone.data_version}`);
        await drawList();
      });
    }
  });
}

start().then(() => { window.imports.ready = true; }).catch((e) => {
  toast(`页面加载失败：${e.message}`);
  window.imports.failed = e.message;
});
