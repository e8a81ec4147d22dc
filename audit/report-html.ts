/**
 * The audit report as a page for people (AUDIT.md §D): one self-contained HTML
 * document with inline CSS and inline SVG plots, no scripts and no external
 * resources (a Content-Security-Policy forbids both), every text escaped.
 */
import type { Status } from '../lib/vocabulary.js';
import type { AuditReport, CheckResult } from './types.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const COLOURS: Record<Status, { bg: string; fg: string }> = {
  pass: { bg: '#d8f0dc', fg: '#17602a' },
  review: { bg: '#fdf0c8', fg: '#7a5300' },
  fail: { bg: '#f9d6d3', fg: '#9b1c14' },
};

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:1100px;color:#1d232a;padding:0 1em}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #dde2e7;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.4em 0}th,td{border:1px solid #dde2e7;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.status{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:700;text-transform:uppercase;font-size:.85em}
.pass{background:${COLOURS.pass.bg};color:${COLOURS.pass.fg}}.review{background:${COLOURS.review.bg};color:${COLOURS.review.fg}}.fail{background:${COLOURS.fail.bg};color:${COLOURS.fail.fg}}
.overall{font-size:1.2em}.kv{margin:0;padding:0;list-style:none;font-size:.9em}.kv li{white-space:nowrap}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plot{border:1px solid #dde2e7;border-radius:6px;padding:.5em;background:#fff}
.plot h3{font-size:.95em;margin:0 0 .3em}.muted{color:#66707a}svg text{font:11px system-ui,sans-serif;fill:#3b444d}
`;

function statusBadge(s: Status): string {
  return `<span class="status ${s}">${escapeHtml(s)}</span>`;
}

function fmt(v: number | string | boolean | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Math.abs(v) >= 0.001 ? String(Math.round(v * 1e4) / 1e4) : v.toExponential(3);
  }
  return String(v);
}

function kvList(rec: Record<string, number | string | boolean | null>): string {
  const entries = Object.entries(rec);
  if (entries.length === 0) return '<span class="muted">—</span>';
  return `<ul class="kv">${entries.map(([k, v]) => `<li><code>${escapeHtml(k)}</code> = ${escapeHtml(fmt(v))}</li>`).join('')}</ul>`;
}

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { w: 340, h: 220, left: 46, right: 10, top: 10, bottom: 34 };

function axes(f: Frame, xLabel: string, yLabel: string, xTicks: Array<[number, string]>, yTicks: Array<[number, string]>): string {
  const x0 = f.left;
  const y0 = f.h - f.bottom;
  const parts = [
    `<line x1="${x0}" y1="${f.top}" x2="${x0}" y2="${y0}" stroke="#8a949e"/>`,
    `<line x1="${x0}" y1="${y0}" x2="${f.w - f.right}" y2="${y0}" stroke="#8a949e"/>`,
  ];
  for (const [x, label] of xTicks) parts.push(`<text x="${x.toFixed(1)}" y="${y0 + 13}" text-anchor="middle">${escapeHtml(label)}</text>`);
  for (const [y, label] of yTicks) {
    parts.push(`<line x1="${x0 - 3}" y1="${y.toFixed(1)}" x2="${f.w - f.right}" y2="${y.toFixed(1)}" stroke="#eef1f4"/>`);
    parts.push(`<text x="${x0 - 5}" y="${(y + 4).toFixed(1)}" text-anchor="end">${escapeHtml(label)}</text>`);
  }
  parts.push(`<text x="${(x0 + f.w - f.right) / 2}" y="${f.h - 4}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text x="12" y="${(f.top + y0) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(f.top + y0) / 2})">${escapeHtml(yLabel)}</text>`);
  return parts.join('');
}

function svg(f: Frame, body: string, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>${body}</svg>`;
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Bars over categorical bins (the x values are labels, drawn in order). Several
 * series share the bins and are drawn side by side; `highlight(x)` paints a bar
 * in the fail colour (e.g. cells under the threshold).
 */
function barChart(
  title: string,
  series: Array<{ name: string; points: Array<[number, number]>; colour: string }>,
  xLabel: string,
  yLabel: string,
  highlight?: (x: number) => boolean,
  xLabelOf: (x: number) => string = fmt,
): string {
  const f = FRAME;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const yMax = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1]))));
  const plotW = f.w - f.left - f.right;
  const plotH = f.h - f.top - f.bottom;
  const slot = xs.length > 0 ? plotW / xs.length : plotW;
  const barW = Math.max(1, (slot * 0.8) / Math.max(1, series.length));
  const body: string[] = [];
  series.forEach((s, si) => {
    const byX = new Map(s.points);
    xs.forEach((x, i) => {
      const y = byX.get(x) ?? 0;
      const h = (y / yMax) * plotH;
      const colour = highlight?.(x) ? COLOURS.fail.fg : s.colour;
      const bx = f.left + i * slot + slot * 0.1 + si * barW;
      body.push(
        `<rect x="${bx.toFixed(1)}" y="${(f.h - f.bottom - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}" fill-opacity="0.85"><title>${escapeHtml(
          `${s.name}: ${fmt(x)} → ${fmt(y)}`,
        )}</title></rect>`,
      );
    });
  });
  const every = Math.max(1, Math.ceil(xs.length / 10));
  const xTicks: Array<[number, string]> = xs.filter((_, i) => i % every === 0).map((x) => [f.left + xs.indexOf(x) * slot + slot / 2, xLabelOf(x)]);
  const yTicks: Array<[number, string]> = [0, 0.5, 1].map((t) => [f.h - f.bottom - t * plotH, fmt(t * yMax)]);
  let legend = '';
  if (series.length > 1) {
    legend = series
      .map((s, i) => `<rect x="${f.w - f.right - 110}" y="${f.top + i * 14}" width="10" height="10" fill="${s.colour}"/><text x="${f.w - f.right - 96}" y="${f.top + 9 + i * 14}">${escapeHtml(s.name)}</text>`)
      .join('');
  }
  return svg(f, axes(f, xLabel, yLabel, xTicks, yTicks) + body.join('') + legend, title);
}

/** A line through [x, y] points on axes scaled to the data (ROC: both 0..1 with the chance diagonal). */
function lineChart(title: string, points: Array<[number, number]>, xLabel: string, yLabel: string, unitSquare: boolean): string {
  const f = FRAME;
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const xMin = unitSquare ? 0 : Math.min(...pts.map((p) => p[0]));
  const xMax = unitSquare ? 1 : Math.max(...pts.map((p) => p[0]));
  const yMin = unitSquare ? 0 : Math.min(0, ...pts.map((p) => p[1]));
  const yMax = unitSquare ? 1 : niceMax(Math.max(...pts.map((p) => p[1])));
  const plotW = f.w - f.left - f.right;
  const plotH = f.h - f.top - f.bottom;
  const sx = (x: number): number => f.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = (y: number): number => f.h - f.bottom - ((y - yMin) / (yMax - yMin || 1)) * plotH;
  const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
  const diag = unitSquare ? `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#b9c1c9" stroke-dasharray="4 3"/>` : '';
  const xTicks: Array<[number, string]> = [0, 0.5, 1].map((t) => [sx(xMin + t * (xMax - xMin)), fmt(xMin + t * (xMax - xMin))]);
  const yTicks: Array<[number, string]> = [0, 0.5, 1].map((t) => [sy(yMin + t * (yMax - yMin)), fmt(yMin + t * (yMax - yMin))]);
  return svg(f, axes(f, xLabel, yLabel, xTicks, yTicks) + diag + `<path d="${path}" fill="none" stroke="#2b6cb0" stroke-width="2"/>`, title);
}

function plotBox(title: string, chart: string, note?: string): string {
  return `<div class="plot"><h3>${escapeHtml(title)}</h3>${chart}${note ? `<div class="muted">${escapeHtml(note)}</div>` : ''}</div>`;
}

function numParam(c: CheckResult, key: string): number | null {
  const v = c.parameters[key];
  return typeof v === 'number' ? v : null;
}

/** Plots of one check's series, by the naming convention of CheckResult.series. */
function checkPlots(c: CheckResult): string[] {
  const series = c.series ?? {};
  const out: string[] = [];
  const done = new Set<string>();
  const label = `${c.id} ${c.name}`;
  const roc = series['roc'];
  if (roc && roc.length > 0) {
    out.push(plotBox(`${label}: ROC curve`, lineChart(`${label} ROC`, roc, 'false-positive rate', 'true-positive rate', true)));
    done.add('roc');
  }
  const members = series['scoreHistogramMembers'];
  const non = series['scoreHistogramNonMembers'];
  if (members || non) {
    const s = [];
    if (members) s.push({ name: 'members', points: members, colour: '#c05621' });
    if (non) s.push({ name: 'non-members', points: non, colour: '#2b6cb0' });
    out.push(plotBox(`${label}: attack scores`, barChart(`${label} scores`, s, 'score', 'records')));
    done.add('scoreHistogramMembers').add('scoreHistogramNonMembers');
  }
  for (const [name, points] of Object.entries(series)) {
    if (done.has(name) || points.length === 0) continue;
    if (/histogram$/i.test(name)) {
      // Bins under the check's threshold are where a reviewer looks first.
      const t = numParam(c, 'threshold') ?? numParam(c, 'failBelow') ?? numParam(c, 'k');
      const isSize = /size/i.test(name);
      const hl = isSize && t !== null ? (x: number): boolean => x < t : undefined;
      const xLabel = /risk/i.test(name) ? 'risk' : isSize ? 'size (units)' : 'bin';
      out.push(
        plotBox(
          `${label}: ${name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`,
          barChart(`${label} ${name}`, [{ name, points, colour: '#2b6cb0' }], xLabel, /cell/i.test(name) ? 'cells' : 'count', hl),
          hl ? `bars in red: below ${t}` : undefined,
        ),
      );
    } else {
      out.push(plotBox(`${label}: ${name}`, lineChart(`${label} ${name}`, points, 'x', 'y', false)));
    }
  }
  return out;
}

/** Cells (or classes) under threshold, per check, from each check's `cellsFailing` metric. */
function failingBar(report: AuditReport): string | null {
  const points: Array<[number, number]> = [];
  const ids: string[] = [];
  for (const c of report.checks) {
    const v = c.metrics['cellsFailing'];
    if (typeof v === 'number') {
      points.push([ids.length, v]);
      ids.push(c.id);
    }
  }
  if (points.length === 0 || points.every((p) => p[1] === 0)) return null;
  const chart = barChart('cells failing per check', [{ name: 'cells failing', points, colour: COLOURS.fail.fg }], 'check', 'cells failing', undefined, (x) => ids[x] ?? '');
  return plotBox('Cells failing, by check', chart);
}

/**
 * Renders the report as one HTML page: subject, overall status, the checks
 * table (statuses coloured), plots from each check's series (cell/class-size
 * histograms with the bins under threshold in red, risk distributions, ROC
 * curves, member/non-member score histograms) and a cells-failing bar, the
 * thresholds in force, exceptions and reviews.
 */
export function renderReportHtml(report: AuditReport): string {
  const s = report.subject;
  const subjectRows: Array<[string, string]> = [
    ['kind', escapeHtml(s.kind)],
    ['artifact hash', `<code>${escapeHtml(s.artifactHash)}</code>`],
  ];
  if (s.recipeHash !== undefined) subjectRows.push(['recipe hash', `<code>${escapeHtml(s.recipeHash)}</code>`]);
  if (s.runId !== undefined) subjectRows.push(['run', `<code>${escapeHtml(s.runId)}</code>`]);
  if (s.outputId !== undefined) subjectRows.push(['output', escapeHtml(s.outputId)]);
  subjectRows.push(['inputs', s.inputs.length === 0 ? '—' : s.inputs.map((h) => `<code>${escapeHtml(h)}</code>`).join('<br>')]);
  subjectRows.push(['audited at', escapeHtml(report.createdAt)]);

  const checkRows = report.checks
    .map(
      (c) =>
        `<tr><td><strong>${escapeHtml(c.id)}</strong></td><td>${escapeHtml(c.name)}</td><td class="${c.status}">${statusBadge(c.status)}</td>` +
        `<td>${escapeHtml(c.summary)}</td><td>${c.columns.map((x) => `<code>${escapeHtml(x)}</code>`).join(', ') || '<span class="muted">—</span>'}</td>` +
        `<td>${kvList(c.metrics)}</td><td>${kvList(c.parameters)}</td></tr>`,
    )
    .join('\n');

  const plots = report.checks.flatMap(checkPlots);
  const bar = failingBar(report);
  if (bar !== null) plots.unshift(bar);

  const thresholdRows = Object.entries(report.thresholds)
    .map(([k, v]) => `<tr><td><code>${escapeHtml(k)}</code></td><td>${escapeHtml(fmt(v))}</td></tr>`)
    .join('');

  const exceptions = report.exceptions ?? [];
  const reviews = report.reviews ?? [];
  const counts = (st: Status): number => report.checks.filter((c) => c.status === st).length;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit report ${escapeHtml(s.artifactHash.slice(0, 12))}: ${escapeHtml(report.status)}</title>
<style>${CSS}</style></head>
<body>
<h1>Non-restoration audit</h1>
<p class="overall">Overall: ${statusBadge(report.status)} <span class="muted">${counts('fail')} fail, ${counts('review')} review, ${counts('pass')} pass</span></p>
<table>${subjectRows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>
<h2>Checks</h2>
<table><thead><tr><th>id</th><th>check</th><th>status</th><th>summary</th><th>columns</th><th>metrics</th><th>parameters</th></tr></thead>
<tbody>
${checkRows}
</tbody></table>
${plots.length > 0 ? `<h2>Plots</h2><div class="plots">${plots.join('\n')}</div>` : ''}
<h2>Exceptions</h2>
${
  exceptions.length === 0
    ? '<p class="muted">none</p>'
    : `<table><tr><th>check</th><th>reason</th><th>approved by</th></tr>${exceptions
        .map((e) => `<tr><td>${escapeHtml(e.checkId)}</td><td>${escapeHtml(e.reason)}</td><td>${e.approvedBy.map(escapeHtml).join(', ')}</td></tr>`)
        .join('')}</table>`
}
<h2>Reviews</h2>
${
  reviews.length === 0
    ? '<p class="muted">none recorded on this report</p>'
    : `<table><tr><th>reviewer</th><th>decision</th><th>exception</th><th>reason</th><th>at</th></tr>${reviews
        .map(
          (r) =>
            `<tr><td>${escapeHtml(r.reviewerId)}</td><td>${escapeHtml(r.decision)}</td><td>${r.exception ? 'yes' : 'no'}</td><td>${escapeHtml(r.reason)}</td><td>${escapeHtml(r.createdAt)}</td></tr>`,
        )
        .join('')}</table>`
}
<h2>Thresholds in force</h2>
<table><tr><th>threshold</th><th>value</th></tr>${thresholdRows}</table>
<p class="muted">Counts and column names only; this report carries no data value. Signed by the domain; an edited report fails verification.</p>
</body></html>
`;
}
