// Drawing a Value's computation graph, as the lecture's draw_dot does: one record per value
// (label | data | grad), one small node per operation wired into its result, laid out left to
// right. DOT is rendered by Graphviz compiled to WebAssembly, so no system binary is needed.

// Graphviz (a large WebAssembly module) is imported on first use, not with the library.
import type { Graphviz } from '@hpcc-js/wasm-graphviz';
import { svgToPng, writeSvgAndPng } from '../viz/render.js';
import { Value } from './value.js';

export interface DrawOptions {
  /** 'LR' (default, the lecture's) or 'TB'. */
  rankdir?: 'LR' | 'TB';
  /** Decimals of data and grad; default 4 (the lecture's %.4f). */
  digits?: number;
  /** Refuse graphs with more values than this (Graphviz would take minutes); default 2000. */
  maxNodes?: number;
}

// Characters with a meaning inside a DOT record label.
function escapeRecord(s: string): string {
  return s.replace(/[\\{}|<>"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

function escapeQuoted(s: string): string {
  return s.replace(/[\\"]/g, (c) => `\\${c}`);
}

/** The computation graph of `root` in Graphviz DOT. */
export function drawDot(root: Value, options: DrawOptions = {}): string {
  if (!(root instanceof Value)) {
    throw new TypeError(`drawDot: expected a Value, got ${Array.isArray(root) ? 'an array' : typeof root}`);
  }
  const rankdir = options.rankdir ?? 'LR';
  if (rankdir !== 'LR' && rankdir !== 'TB') throw new RangeError(`drawDot: rankdir must be 'LR' or 'TB', got ${String(rankdir)}`);
  const digits = options.digits ?? 4;
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) {
    throw new RangeError(`drawDot: digits must be an integer in [0, 20], got ${String(digits)}`);
  }
  const maxNodes = options.maxNodes ?? 2000;
  const nodes = root.topo();
  if (nodes.length > maxNodes) {
    throw new RangeError(
      `drawDot: the graph has ${nodes.length} values, more than maxNodes=${maxNodes}; pass a larger maxNodes to draw it anyway`,
    );
  }

  const ids = new Map<Value, string>();
  nodes.forEach((v, i) => ids.set(v, `v${i}`));
  const lines = [
    'digraph G {',
    `  rankdir=${rankdir};`,
    '  node [fontname="DejaVu Sans", fontsize=12];',
  ];
  for (const v of nodes) {
    const id = ids.get(v)!;
    const fields = [`data ${v.data.toFixed(digits)}`, `grad ${v.grad.toFixed(digits)}`];
    if (v.label) fields.unshift(escapeRecord(v.label));
    lines.push(`  ${id} [shape=record, label="{ ${fields.join(' | ')} }"];`);
    const op = v.op;
    if (op) {
      lines.push(`  ${id}_op [label="${escapeQuoted(op)}"];`);
      lines.push(`  ${id}_op -> ${id};`);
      const a = v._a!;
      lines.push(`  ${ids.get(a)} -> ${id}_op;`);
      if (v._b !== null) lines.push(`  ${ids.get(v._b)} -> ${id}_op;`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

let graphviz: Promise<Graphviz> | null = null;

/** Lay out DOT with Graphviz (WebAssembly) and return SVG text, or PNG bytes. */
export async function renderGraph(dot: string, format?: 'svg'): Promise<string>;
export async function renderGraph(dot: string, format: 'png', scale?: number): Promise<Uint8Array>;
export async function renderGraph(dot: string, format: 'svg' | 'png' = 'svg', scale = 2): Promise<string | Uint8Array> {
  if (typeof dot !== 'string') throw new TypeError(`renderGraph: dot must be a string, got ${typeof dot}`);
  if (format !== 'svg' && format !== 'png') throw new RangeError(`renderGraph: format must be 'svg' or 'png', got ${String(format)}`);
  graphviz ??= import('@hpcc-js/wasm-graphviz').then((m) => m.Graphviz.load());
  let svg: string;
  try {
    svg = (await graphviz).dot(dot, 'svg');
  } catch (e) {
    throw new Error(`renderGraph: Graphviz could not lay out the graph: ${(e as Error).message}`);
  }
  return format === 'svg' ? svg : svgToPng(svg, scale);
}

/** Draw `root` and write `<base>.svg` and `<base>.png`; returns both paths. */
export async function writeGraph(root: Value, base: string, options: DrawOptions = {}): Promise<{ svg: string; png: string }> {
  return writeSvgAndPng(await renderGraph(drawDot(root, options), 'svg'), base);
}
