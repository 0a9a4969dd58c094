// Talking to the paicha API, and formatting its numbers for Chinese readers.

/** An API answer that was not 2xx, with the problem+json detail in Chinese context. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function parse(response, url) {
  if (response.ok) return response.json();
  let message = `请求失败（${response.status}）：${url}`;
  try {
    const problem = await response.json();
    message = problem.detail || problem.title || message;
    if (Array.isArray(problem.errors) && problem.errors.length) {
      message += '：' + problem.errors.map((e) => `${e.field}：${e.reason}`).join('；');
    }
  } catch {
    // Not problem+json: keep the status line.
  }
  throw new ApiError(message, response.status);
}

/** GETs JSON; throws ApiError with the server's explanation. */
export async function getJson(url, options = {}) {
  return parse(await fetch(url, options), url);
}

/** POSTs JSON and reads JSON. */
export async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return parse(response, url);
}

const UNITS = { households: '户', persons: '人', items: '项' };

/** The Chinese counting unit of an indicator. */
export const unitOf = (indicator) => UNITS[indicator.unit] || '';

/** 12,345 */
export const int = (n) => (n == null ? '—' : Number(n).toLocaleString('zh-CN'));

/** 23.8% (one decimal), or — for no data. */
export const pct = (rate) => (rate == null ? '—' : `${(rate * 100).toFixed(1)}%`);

/** The name officials use on screen: 五副甲村民委员会 (or 五副甲村委会) → 五副甲村, 前进社区居委会
 * (or 社区居民委员会) → 前进社区. Documents (the exports) keep the registered full name. */
export function shortName(name) {
  return String(name ?? '')
    .replace(/(.)村?村(民委员|委)会$/, '$1村')
    .replace(/(.)(社区)?居(民委员|委)会$/, '$1社区');
}

/** Escapes text for innerHTML. */
/** Colours the swatches under `root` from their data-swatch: set through the DOM, as
 * the Content-Security-Policy allows no style attribute in markup. */
export function paintSwatches(root) {
  for (const el of root.querySelectorAll('[data-swatch]')) el.style.background = el.dataset.swatch;
}

export function esc(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

let toastTimer;
/** Shows an error for a few seconds (never logs personal data). */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

/** A CSV file (UTF-8 with BOM, so that Excel reads the Chinese) offered for download. */
export function downloadCsv(name, rows) {
  const cell = (v) => {
    const s = String(v ?? '');
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const text = '\ufeff' + rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** West, south, east, north of a GeoJSON geometry. */
export function bboxOf(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return b;
}
