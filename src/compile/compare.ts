// Two recordings of fn compared: compile replays fn only if two calls performed the same tensor
// program (same kernels and host ops, same scalars and shapes, the same state arrays, step
// buffers used in the same places, the same constants and the same kind of result). A difference
// means that something fn did depended on values the replay would not recompute, so the message
// says which op differs and what usually causes it.
import type { AnyArray } from '../backend/backend.js';
import type { Entry, Recording } from './recording.js';
import type { ResultTemplate } from './result.js';
import { isDynamicCeScale } from './tape.js';

type Token = unknown;

function tokens(rec: Recording, e: Entry, at: number): { name: string; parts: Token[] } {
  const map = (v: unknown): Token => {
    if (ArrayBuffer.isView(v)) return rec.arrayId(v as AnyArray);
    if (Array.isArray(v)) return v.map(map);
    return v;
  };
  if (e.kind === 'kernel') {
    const parts = e.args.map(map);
    if (e.scalarFrom !== undefined) parts[e.scalarFrom.arg] = `value of ${rec.arrayId(e.scalarFrom.array)}[${e.scalarFrom.index}]`;
    if (e.name === 'crossEntropyBackward' && isDynamicCeScale(rec, e, at)) parts[5] = 'upstream / count';
    return { name: e.name, parts };
  }
  return { name: e.op.name, parts: [...e.op.arrays.map(map), ...e.op.signature.map(map)] };
}

function same(a: Token, b: Token): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return Object.is(a, b);
}

function firstDiff(a: Token[], b: Token[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (!same(a[i], b[i])) return i;
  return -1;
}

const fmt = (t: Token): string => (Array.isArray(t) ? `[${t.map(fmt).join(', ')}]` : typeof t === 'object' && t !== null ? (t.constructor?.name ?? 'object') : String(t));

/** The element count in a step buffer's token (`step#3(Int32Array 708)`), or null. */
function stepLength(t: Token): number | null {
  const m = typeof t === 'string' ? /^step#\d+\(\w+ (\d+)\)$/.exec(t) : null;
  return m === null ? null : Number(m[1]);
}

function hint(x: Token, y: Token): string {
  const lx = stepLength(x);
  const ly = stepLength(y);
  if (lx !== null && ly !== null && lx !== ly) {
    return `a tensor of the step has ${lx} elements on one call and ${ly} on the next with the same argument shapes: a shape that depends on data (e.g. rows selected by the values of an input), which a replay cannot follow`;
  }
  if (typeof x === 'string' && typeof y === 'string' && (x.startsWith('state#') || y.startsWith('state#') || x.startsWith('step#') || y.startsWith('step#'))) {
    return 'fn reads different tensors on the two calls: state replaced on each call (e.g. `running = running.mul(0.9).add(x)`, where the next call reads the tensor the previous call made) or tensors chosen by data; update state in place (mul_, add_, copy_) so that every call reads the same arrays';
  }
  if (typeof x === 'number' || typeof y === 'number') {
    return 'a number passed to the kernel changed between calls: it was computed in JavaScript (from a value read with item(), or a closure variable that changes); pass changing numbers as arguments of the compiled function';
  }
  return 'a shape or an option changed between calls (a shape that depends on data?)';
}

/** null when the two recordings are the same program; otherwise a message naming the first difference. */
export function compareRecordings(a: Recording, b: Recording, ra: ResultTemplate, rb: ResultTemplate): string | null {
  const n = Math.max(a.entries.length, b.entries.length);
  for (let i = 0; i < n; i++) {
    const ea = a.entries[i];
    const eb = b.entries[i];
    if (ea === undefined || eb === undefined) {
      const extra = (ea ?? eb)!;
      const name = extra.kind === 'kernel' ? extra.name : extra.op.name;
      return `compile: fn performed ${a.entries.length} operations on one call and ${b.entries.length} on the next (the first extra one is ${name}); what fn does depends on data (a value read with item() in an if or a loop, or a data-dependent shape), so it cannot be replayed`;
    }
    const ta = tokens(a, ea, i);
    const tb = tokens(b, eb, i);
    if (ta.name !== tb.name) {
      return `compile: operation ${i} of fn was ${ta.name} on one call and ${tb.name} on the next; what fn does depends on data (a value read with item() in an if or a loop?), so it cannot be replayed`;
    }
    const d = firstDiff(ta.parts, tb.parts);
    if (d >= 0) {
      return `compile: operation ${i} of fn (${ta.name}) differs between two calls in argument ${d} (${fmt(ta.parts[d])} then ${fmt(tb.parts[d])}): ${hint(ta.parts[d], tb.parts[d])}`;
    }
  }
  // Values made in JavaScript inside fn and read by kernels must be the same on every call.
  const ca = [...a.constants];
  const cb = [...b.constants];
  for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === undefined || y === undefined || a.arrayId(x[0]) !== b.arrayId(y[0]) || !sameBits(x[1].snapshot, y[1].snapshot)) {
      const reader = (x ?? y)![1].reader;
      return `compile: ${reader} was filled in JavaScript inside fn with different values on two calls (Math.random, values read back from tensors, or TypeScript work compile does not record); compile cannot replay it. Draw randomness from a Generator, or compute the values outside fn and pass them as an argument`;
    }
  }
  if (!same(ra.shape as Token, rb.shape as Token)) {
    return 'compile: fn returned different kinds of results on two calls (or numbers read from different tensors); return the same structure every call';
  }
  return null;
}

export function sameBits(a: AnyArray, b: AnyArray): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
