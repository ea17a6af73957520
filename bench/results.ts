// The results of one `npm run bench`: rows measured here (ferrograd and peers alike), the peers that
// could not run and why, the compact comparison table, and the JSON written to out/bench/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Metric = 'GFLOP/s' | 'steps/s' | 'us/op' | 'us/call';

export interface Row {
  /** matmul | ops | mlp3 | mlp2 | micrograd */
  section: string;
  /** What was measured, identical between ferrograd and its peers (the join key of the table). */
  case: string;
  /** Who ran it: 'ferrograd' (the figure compared against peers) or a variant / peer name. */
  impl: string;
  metric: Metric;
  /** Median over repeats. */
  value: number;
  /** Spread over repeats (same metric). */
  min?: number;
  max?: number;
  /** Microseconds per call, where the metric is a rate (matmul). */
  us?: number;
  /** Anything else worth keeping in the JSON (loss, page faults, GC time, kernel-only timings). */
  detail?: Record<string, unknown>;
}

export interface Unavailable {
  impl: string;
  reason: string;
  install: string;
}

export const FERROGRAD = 'ferrograd';
/** The row of a step run through compile(): the table also gives its ratio to every other row. */
export const COMPILED = 'ferrograd, compile(step)';

const higherIsBetter = (m: Metric): boolean => m === 'GFLOP/s' || m === 'steps/s';

/** How many times faster ferrograd is than `other` on the same case (> 1: ferrograd is faster). */
export function speedup(ours: Row, other: Row): number {
  return higherIsBetter(ours.metric) ? ours.value / other.value : other.value / ours.value;
}

export class Results {
  readonly rows: Row[] = [];
  readonly unavailable: Unavailable[] = [];
  readonly errors: { what: string; message: string }[] = [];
  readonly peerInfo: Record<string, unknown> = {};

  add(row: Row): void {
    this.rows.push(row);
  }

  missing(u: Unavailable): void {
    if (!this.unavailable.some((x) => x.impl === u.impl)) this.unavailable.push(u);
  }

  error(what: string, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.errors.push({ what, message });
    console.log(`  !! ${what} failed: ${message}`);
  }

  /** Cases in first-seen order, each with ferrograd's row first, then the others. */
  private grouped(): { section: string; kase: string; rows: Row[] }[] {
    const out: { section: string; kase: string; rows: Row[] }[] = [];
    for (const r of this.rows) {
      let g = out.find((x) => x.section === r.section && x.kase === r.case);
      if (!g) {
        g = { section: r.section, kase: r.case, rows: [] };
        out.push(g);
      }
      g.rows.push(r);
    }
    for (const g of out) g.rows.sort((a, b) => Number(b.impl === FERROGRAD) - Number(a.impl === FERROGRAD));
    return out;
  }

  /** The compact table: one line per (case, implementation), with ferrograd's speed-up over each. */
  table(): string {
    const lines: string[][] = [['section', 'case', 'implementation', 'median', 'unit', 'µs/call', 'ferrograd is', 'compiled is']];
    const withOurs = new Set(this.rows.filter((r) => r.impl === FERROGRAD).map((r) => r.section));
    const hidden: string[] = [];
    for (const g of this.grouped()) {
      const ours = g.rows.find((r) => r.impl === FERROGRAD);
      // A peer-only case (e.g. numpy's 2-thread run of a shape ferrograd times with 1 thread) stays in the JSON.
      if (!ours && withOurs.has(g.section)) {
        hidden.push(g.kase);
        continue;
      }
      for (const r of g.rows) {
        const ratio = ours && r !== ours ? `${fmtRatio(speedup(ours, r))}` : '';
        const compiled = g.rows.find((x) => x.impl === COMPILED);
        const cRatio = compiled && r !== compiled ? fmtRatio(speedup(compiled, r)) : '';
        lines.push([
          r.section,
          g.kase,
          r.impl,
          fmtNum(r.value),
          r.metric,
          r.us === undefined ? '' : fmtNum(r.us),
          ratio,
          cRatio,
        ]);
      }
    }
    const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)));
    const right = new Set([3, 5, 6, 7]);
    const render = (l: string[]) => l.map((s, c) => (right.has(c) ? s.padStart(widths[c]) : s.padEnd(widths[c]))).join('  ').trimEnd();
    const rule = widths.map((w) => '-'.repeat(w)).join('  ');
    let text = [render(lines[0]), rule, ...lines.slice(1).map(render)].join('\n');
    text += '\n"ferrograd is": how many times faster ferrograd (the row labelled ferrograd) is than that row; < 1 means slower.';
    text += `\n"compiled is": the same for the row labelled "${COMPILED}".`;
    if (hidden.length > 0) text += `\n${hidden.length} peer-only case(s) without a ferrograd figure are in the JSON only.`;
    if (this.unavailable.length > 0) {
      text += '\nnot available:';
      for (const u of this.unavailable) text += `\n  ${u.impl}: ${u.reason} (${u.install})`;
    }
    if (this.errors.length > 0) {
      text += '\nfailed:';
      for (const e of this.errors) text += `\n  ${e.what}: ${e.message}`;
    }
    return text;
  }

  writeJson(path: string, meta: Record<string, unknown>): void {
    mkdirSync(dirname(path), { recursive: true });
    const comparisons = this.grouped().flatMap((g) => {
      const ours = g.rows.find((r) => r.impl === FERROGRAD);
      if (!ours) return [];
      return g.rows
        .filter((r) => r !== ours)
        .map((r) => ({ section: g.section, case: g.kase, against: r.impl, metric: r.metric, ferrograd: ours.value, other: r.value, ferrogradSpeedup: speedup(ours, r) }));
    });
    const body = { ...meta, rows: this.rows, comparisons, unavailable: this.unavailable, errors: this.errors, peers: this.peerInfo };
    writeFileSync(path, JSON.stringify(body, null, 2) + '\n');
  }
}

export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

export function fmtRatio(r: number): string {
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}
