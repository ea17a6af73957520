// report.html in the work dir: one self-contained page (inline SVG, inline CSS, no scripts or
// external files), rewritten atomically at each evaluation: the loss curves (minibatch loss,
// smoothed; train and test loss at each evaluation, the best one marked), the samples drawn at
// each sampling step marked in train / in test / new, the run's config and its timing.
import { join } from 'node:path';
import { writeFileAtomic, writeAll } from '../io/atomic-write.js';
import type { RunConfig } from './checkpoint.js';
import type { Metric } from './metrics.js';
import type { CharVocabulary } from './words.js';

export const REPORT_FILE = 'report.html';

export interface ReportData {
  settings: { inputFile: string; maxSteps: number; evalEvery: number; sampleEvery: number; schedule: string };
  config: RunConfig;
  params: number;
  metrics: readonly Metric[];
  best: { loss: number; step: number } | null;
  seconds: number;
  step: number;
  words: number;
  vocab: CharVocabulary;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const f4 = (x: number) => x.toFixed(4);

interface Series {
  points: [number, number][];
  cls: string;
  label: string;
  color: string;
  dots?: boolean;
}

/** A line chart of loss against step, as SVG markup. */
export function lossChart(series: Series[], opts: { width?: number; height?: number; best?: { step: number; loss: number } | null } = {}): string {
  const W = opts.width ?? 760;
  const H = opts.height ?? 360;
  const m = { l: 56, r: 180, t: 16, b: 40 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<svg id="loss-chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no losses yet</text></svg>`;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(x0 + 1, ...xs);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y1 - y0 < 1e-6) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(`<svg id="loss-chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(2)}</text>`);
    const x = x0 + ((x1 - x0) * i) / 5;
    parts.push(`<text x="${px(x).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">step</text>`);
  parts.push(`<text x="14" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})">loss (nats per character)</text>`);
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="${s.cls}" points="${pts}" fill="none" stroke="${s.color}" stroke-width="${s.dots ? 2.5 : 1.5}"/>`);
    if (s.dots) for (const [x, y] of s.points) parts.push(`<circle class="${s.cls}-point" cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = m.t + 14 + i * 18;
    parts.push(`<line x1="${W - m.r + 10}" x2="${W - m.r + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`);
    parts.push(`<text x="${W - m.r + 36}" y="${ly}">${esc(s.label)}</text>`);
  });
  if (opts.best) {
    parts.push(`<circle id="best-point" cx="${px(opts.best.step).toFixed(1)}" cy="${py(opts.best.loss).toFixed(1)}" r="7" fill="none" stroke="#d62728" stroke-width="2"/>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function smooth(points: [number, number][], window: number): [number, number][] {
  if (window <= 1) return points;
  const out: [number, number][] = [];
  for (let i = 0; i + window <= points.length; i += window) {
    let s = 0;
    for (let j = i; j < i + window; j++) s += points[j][1];
    out.push([points[i + window - 1][0], s / window]);
  }
  return out;
}

export function renderReport(d: ReportData): string {
  const steps = d.metrics.filter((m): m is Extract<Metric, { kind: 'step' }> => m.kind === 'step');
  const evals = d.metrics.filter((m): m is Extract<Metric, { kind: 'eval' }> => m.kind === 'eval');
  const samples = d.metrics.filter((m): m is Extract<Metric, { kind: 'samples' }> => m.kind === 'samples');
  const minibatch = smooth(steps.map((m) => [m.step, m.loss]), Math.max(1, Math.floor(steps.length / 200)));
  const chart = lossChart([
    { points: minibatch, cls: 'minibatch-loss', label: 'minibatch (smoothed)', color: '#bbbbbb' },
    { points: evals.map((e) => [e.step, e.train]), cls: 'train-loss', label: 'train', color: '#1f77b4', dots: true },
    { points: evals.map((e) => [e.step, e.test]), cls: 'test-loss', label: 'test', color: '#ff7f0e', dots: true },
  ], { best: d.best });
  const c = d.config;
  const rows: [string, string][] = [
    ['type', c.type],
    ['parameters', d.params.toLocaleString('en-US')],
    ['input file', c.inputFile],
    ['words', String(d.words)],
    ['vocabulary', `${d.vocab.size} tokens: ${d.vocab.summary()}`],
    ['longest word', String(c.maxWordLength)],
    ['sizes', Object.entries(c.model).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['optimizer', `${c.optimizer} lr ${c.learningRate} (${d.settings.schedule}), weight decay ${c.weightDecay}`],
    ['batch size', String(c.batchSize)],
    ['seed', String(c.seed)],
    ['max steps', d.settings.maxSteps < 0 ? 'until interrupted' : String(d.settings.maxSteps)],
    ['evaluation', `every ${d.settings.evalEvery} steps; samples every ${d.settings.sampleEvery}`],
  ];
  const rate = d.seconds > 0 ? d.step / d.seconds : 0;
  const sampleRows = samples.map((s) =>
    `<tr><td>${s.step}</td><td>${s.samples.map((w) => `<span class="sample ${w.where}" title="${w.where === 'new' ? 'new' : 'in ' + w.where}">${esc(w.word)}${w.stopped ? '' : '…'}</span>`).join(' ')}</td></tr>`).join('\n');
  const last = evals[evals.length - 1];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>makemore report: ${esc(c.type)} on ${esc(c.inputFile.split('/').pop() ?? '')}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1000px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
.sample { padding: 1px 4px; border-radius: 3px; margin-right: 2px; display: inline-block; }
.sample.train { background: #dbe9f6; } .sample.test { background: #fde3c8; } .sample.new { background: #d9f2d9; }
.big { font-size: 20px; font-weight: bold; }
</style></head>
<body>
<h1>makemore: ${esc(c.type)} on ${esc(c.inputFile)}</h1>
<p>Step <span id="step">${d.step}</span>${d.settings.maxSteps >= 0 ? ` of ${d.settings.maxSteps}` : ''};
best test loss <span id="best-test-loss" class="big">${d.best ? f4(d.best.loss) : '-'}</span>${d.best ? ` at step <span id="best-step">${d.best.step}</span>` : ''}${last ? `; last evaluation (step ${last.step}): train ${f4(last.train)}, test ${f4(last.test)}` : ''}.</p>
<h2>Loss</h2>
${chart}
<h2>Timing</h2>
<table id="timing"><tr><th>elapsed</th><td>${d.seconds.toFixed(1)} s</td></tr><tr><th>steps</th><td>${d.step}</td></tr><tr><th>speed</th><td>${rate.toFixed(1)} steps/s</td></tr></table>
<h2>Samples</h2>
<p>Marked <span class="sample train">in train</span> <span class="sample test">in test</span> <span class="sample new">new</span>; … = no stop token within the longest word's length.</p>
<table id="samples"><tr><th>step</th><th>samples</th></tr>
${sampleRows}
</table>
<h2>Evaluations</h2>
<table id="evaluations"><tr><th>step</th><th>train loss</th><th>test loss</th><th>saved</th></tr>
${evals.map((e) => `<tr><td>${e.step}</td><td>${f4(e.train)}</td><td>${f4(e.test)}</td><td>${e.best ? 'best so far' : ''}</td></tr>`).join('\n')}
</table>
<h2>Config</h2>
<table id="config">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
</body></html>
`;
}

export function writeReport(dir: string, d: ReportData): void {
  const html = renderReport(d);
  writeFileAtomic(join(dir, REPORT_FILE), (fd) => writeAll(fd, new TextEncoder().encode(html)));
}
