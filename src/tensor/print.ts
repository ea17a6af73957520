// Printing like PyTorch: tensor([[ 0.1000, -2.0000], ...]), integers as "1.", scientific notation
// for wide ranges, and "..." summaries (3 items at each edge) above 1000 elements.
import type { Tensor } from './tensor.js';

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;

function collect(t: Tensor, summarize: boolean): number[] {
  // Values that will actually be shown (to choose a common format).
  const out: number[] = [];
  const walk = (d: number, off: number): void => {
    if (d === t.ndim) {
      out.push(t.data[off]);
      return;
    }
    const n = t.shape[d];
    for (let i = 0; i < n; i++) {
      if (summarize && n > 2 * EDGE && i === EDGE) i = n - EDGE;
      walk(d + 1, off + i * t.strides[d]);
    }
  };
  walk(0, t.offset);
  return out;
}

function makeFormatter(t: Tensor, values: number[]): (v: number) => string {
  if (t.dtype === 'int32') return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  const absVals = finite.map(Math.abs).filter((v) => v > 0);
  const maxAbs = absVals.length ? Math.max(...absVals) : 0;
  const minAbs = absVals.length ? Math.min(...absVals) : 0;
  const special = (v: number): string | null => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null);
  const wide = maxAbs >= 1e8 || (minAbs > 0 && maxAbs / minAbs > 1000);
  if (allInt && !wide) return (v) => special(v) ?? `${v}.`;
  const sci = wide || (minAbs > 0 && minAbs < 1e-4);
  if (sci) return (v) => special(v) ?? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
  return (v) => special(v) ?? v.toFixed(4);
}

export function formatTensor(t: Tensor): string {
  const n = t.numel();
  const summarize = n > THRESHOLD;
  const values = collect(t, summarize);
  const fmt = makeFormatter(t, values);
  // As PyTorch: column width comes from the finite values; a wider nan/inf cell is just not padded.
  const width = Math.max(1, ...values.filter((v) => Number.isFinite(v)).map((v) => fmt(v).length));
  const cell = (v: number): string => fmt(v).padStart(width);
  const prefix = 'tensor(';
  let body: string;
  if (t.ndim === 0) body = fmt(t.data[t.offset]);
  else if (n === 0) body = '[]';
  else {
    const render = (d: number, off: number, indent: number): string => {
      const size = t.shape[d];
      const parts: string[] = [];
      if (d === t.ndim - 1) {
        for (let i = 0; i < size; i++) {
          if (summarize && size > 2 * EDGE && i === EDGE) {
            parts.push(' ...'); // PyTorch pads the ellipsis of a row of numbers by one space
            i = size - EDGE;
          }
          parts.push(cell(t.data[off + i * t.strides[d]]));
        }
        // Wrap long rows at the line width, as PyTorch does.
        const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
        const lines: string[] = [];
        for (let i = 0; i < parts.length; i += perLine) lines.push(parts.slice(i, i + perLine).join(', '));
        return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
      }
      for (let i = 0; i < size; i++) {
        if (summarize && size > 2 * EDGE && i === EDGE) {
          parts.push('...');
          i = size - EDGE;
        }
        parts.push(render(d + 1, off + i * t.strides[d], indent + 1));
      }
      const sep = ',' + '\n'.repeat(t.ndim - d - 1) + ' '.repeat(indent + 1);
      return `[${parts.join(sep)}]`;
    };
    body = render(0, t.offset, prefix.length);
  }
  const extras: string[] = [];
  if (n === 0 && t.ndim !== 1) extras.push(`size=(${t.shape.join(', ')})`);
  if (t.dtype !== 'float32') extras.push(`dtype=${t.dtype}`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `${prefix}${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}
