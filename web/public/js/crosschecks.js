// 账账比对: the departments' rolls checked against the registry (seed 000: 通过历年建档立卡
// 数据与行业信息比对; seed 002: 账账相符). The panel lists the area's rules with their
// mismatches, households and answers, and the rolls they read; a rule that counts
// households colours the map as its indicator (crosscheck_<rule>); the chosen rule's
// mismatches are listed with both sides' values (ID numbers and names masked),
// downloadable as CSV or as XLSX with a 核实结果 column, and the answered list uploads
// back. Reads /api/v1/crosschecks and /api/v1/crosschecks/{rule}/mismatches.

import { getJson, int, esc, shortName, toast } from './api.js';
import { can, csrfToken } from './session.js';

const $ = (id) => document.getElementById(id);

const UNIT_ZH = { persons: '人', households: '户', rows: '行' };
// Mismatches listed on the page; the downloads hold them all.
const SHOWN = 100;

/** The cross-check view, over the map view's app (state, catalog, top, byId). */
export class Crosschecks {
  constructor(app, { crumbs, chooseIndicator }) {
    this.app = app;
    this.crumbs = crumbs;
    this.chooseIndicator = chooseIndicator;
    this.token = 0;
    this.rule = null;
    this.body = null;
  }

  /** The indicator the view opens with: the one shown if it is a cross-check's, else
   * the first cross-check indicator of the person's catalog (none: keep the one shown). */
  openingIndicator(current) {
    if (current.startsWith('crosscheck_')) return current;
    return this.app.catalog.indicators.find((i) => i.id.startsWith('crosscheck_'))?.id || current;
  }

  /** The panel for the selected area. */
  async show() {
    const { app } = this;
    const token = ++this.token;
    const code = app.state.area || app.top.code;
    const body = await getJson(`api/v1/crosschecks?within=${code}`);
    if (token !== this.token) return;
    this.body = body;
    const { rules } = body;
    if (!rules.some((r) => r.id === this.rule)) {
      // The rule of the indicator on the map, else the first with mismatches.
      const shown = rules.find((r) => r.indicator === app.state.ind);
      this.rule = (shown || rules.find((r) => r.mismatches > 0) || rules[0])?.id ?? null;
    }
    const rolls = body.rolls.map((r) => `<tr data-kind="${esc(r.kind)}"><td>${esc(r.name_zh)}</td><td>${esc(r.department)}</td>`
      + `<td class="num">${r.rows ? int(r.rows) : '<span class="muted">未导入</span>'}</td></tr>`).join('');
    const rows = rules.map((r) => `<tr class="link${r.id === this.rule ? ' current' : ''}" data-rule="${esc(r.id)}" title="${esc(r.definition)}">`
      + `<td>${esc(r.name_zh)}</td><td>${esc(r.departments.join('、'))}</td>`
      + `<td class="num">${int(r.mismatches)} ${UNIT_ZH[r.unit] || ''}</td><td class="num">${int(r.households)}</td>`
      + `<td class="num">${int(r.answered)}</td></tr>`).join('');
    $('area').innerHTML = '<h2>账账比对 <small class="muted">行业部门名单与户籍信息</small></h2>'
      + `<h3 id="crosscheck-area">${esc(shortName(body.within_name))}</h3>`
      + (body.outside ? '<p class="muted">所选区域不在本账号的范围内。</p>' : '')
      + `<table class="list" id="crosscheck-rules"><thead><tr><th>比对规则</th><th>部门</th><th class="num">不一致</th><th class="num">涉及户数</th><th class="num">已核实</th></tr></thead><tbody>${rows}</tbody></table>`
      + `<details><summary>已导入的部门名单</summary><table class="list" id="crosscheck-rolls"><thead><tr><th>名单</th><th>部门</th><th class="num">行数</th></tr></thead><tbody>${rolls}</tbody></table></details>`;
    $('crosscheck-rules').addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-rule]');
      if (tr) this.choose(tr.dataset.rule).catch((err) => toast(err.message));
    });
    await this.crumbs();
    if (token !== this.token) return;
    await this.mismatches(code, token);
    window.paicha.crosschecks = { body, rule: this.rule };
  }

  /** Chooses a rule: its indicator on the map (which redraws the panel), or its list. */
  async choose(id) {
    this.rule = id;
    const rule = this.body?.rules.find((r) => r.id === id);
    if (rule?.indicator && rule.indicator !== this.app.state.ind && this.app.byId.has(rule.indicator)) {
      await this.chooseIndicator(rule.indicator);
    } else {
      await this.show();
    }
  }

  /** The chosen rule's mismatches in the area, with the downloads and the answers' upload. */
  async mismatches(code, token) {
    const rule = this.body.rules.find((r) => r.id === this.rule);
    if (!rule) {
      $('ranking').innerHTML = '<p class="muted">本账号没有可查看的比对规则。</p>';
      return;
    }
    const { who } = this.app;
    if (!can(who, 'personal') && !who.grants.some((g) => g.department)) {
      $('ranking').innerHTML = '<p class="muted" id="crosscheck-no-personal">本岗位查看比对汇总，不查看个人明细。</p>';
      return;
    }
    const base = `api/v1/crosschecks/${encodeURIComponent(rule.id)}/mismatches?within=${code}`;
    const page = await getJson(`${base}&limit=${SHOWN}`);
    if (token !== this.token) return;
    const side = (m) => (m.roll.length
      ? m.roll.map((v) => `${esc(v.name_zh)}：${esc(v.value)}`).join('；')
      : '<span class="muted">名单中无此人</span>');
    const place = (m) => (m.roll_file ? `${esc(m.roll_file)} 第 ${m.roll_row} 行` : '');
    const rows = page.rows.map((m) => `<tr data-check="${esc(m.check_code)}"><td>${esc(m.name || '')}</td><td>${esc(m.id_number || '')}</td>`
      + `<td>${esc(m.registry)}</td><td>${side(m)}</td><td class="muted">${place(m)}</td>`
      + `<td>${m.answer ? `${esc(m.answer.result)}<br><small class="muted">${esc(m.answer.by)} ${esc(m.answer.at.slice(0, 10))}</small>` : ''}</td></tr>`).join('');
    const more = page.total > page.rows.length ? `，列出前 ${page.rows.length} 条` : '';
    $('ranking').innerHTML = `<h3 id="crosscheck-rule">${esc(rule.name_zh)}（${int(page.total)} 条，已脱敏${more}）</h3>`
      + `<p class="muted">${esc(rule.definition)}<br>依据：${esc(rule.source)}</p>`
      + `<p class="exports">下载核实清单：<a id="crosscheck-xlsx" href="${base}&format=xlsx" download>XLSX（含“核实结果”列）</a>`
      + `<a id="crosscheck-csv" href="${base}&format=csv" download>CSV</a></p>`
      + '<form id="crosscheck-answers" class="exports"><label>上传填好“核实结果”的清单 '
      + '<input type="file" id="crosscheck-file" accept=".xlsx,.csv" required></label>'
      + '<button type="submit">上传核实结果</button></form>'
      + `<table class="list" id="crosscheck-mismatches"><thead><tr><th>姓名</th><th>证件号码</th><th>户籍信息</th><th>部门名单</th><th>名单位置</th><th>核实结果</th></tr></thead><tbody>${rows}</tbody></table>`;
    $('crosscheck-answers').addEventListener('submit', (e) => {
      e.preventDefault();
      this.upload(rule).catch((err) => toast(err.message));
    });
  }

  /** Sends the answered list; the answers are kept with who and when. */
  async upload(rule) {
    const file = $('crosscheck-file').files[0];
    if (!file) return;
    const xlsx = file.name.toLowerCase().endsWith('.xlsx');
    const response = await fetch(`api/v1/crosschecks/${encodeURIComponent(rule.id)}/answers`, {
      method: 'POST',
      headers: {
        'content-type': xlsx ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'application/octet-stream',
        'x-csrf-token': csrfToken(),
      },
      body: file,
    });
    const text = await response.text();
    if (!response.ok) {
      let detail = `上传失败（${response.status}）`;
      try { detail = JSON.parse(text).detail || detail; } catch { /* not a problem document */ }
      throw new Error(detail);
    }
    const answer = JSON.parse(text);
    const unknown = answer.unknown_rows.length
      ? `；${answer.unknown_rows.length} 行的核对码不在当前清单中（第 ${answer.unknown_rows.slice(0, 10).join('、')} 行）` : '';
    toast(`已保存 ${answer.stored} 条核实结果${unknown}`);
    window.paicha.crosscheckAnswers = answer;
    await this.show();
  }
}
