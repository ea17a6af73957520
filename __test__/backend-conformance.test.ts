// Native (Rust, float32) against reference (TypeScript, float64) on every kernel.
//
// Inputs are random float32 values from a seeded generator; the reference runs on Float64Arrays
// holding exactly the same values, so any difference is the native kernel's own rounding (or a
// bug). Tolerances follow from float32 arithmetic rather than from observed results:
//   - selection and data movement (copy, gathers, max/min, comparisons): exact;
//   - one rounded operation per element: |native - ref| <= 1e-5 + 1e-5·|ref|;
//   - a sum of k terms: additionally 2·k·u·Σ|terms| (u = 2^-24), the worst-case bound for float32
//     summation in any order, so blocked or SIMD accumulation orders all pass. k is capped at 4096:
//     the bound grows linearly with k only for adversarial data, and the chunked sums the interface
//     requires grow their error with the chunk length rather than with n;
//   - integer-valued data whose sums are exact in float32 must match exactly, which catches a
//     dropped or doubled term that a rounding tolerance could hide.
// Shapes cover size 0 and 1, the SIMD-width edges and one large case per kernel.
//
// The addon must be built (`npm run build:native`); without it every test here fails.

import { describe, expect, it } from 'vitest';
import { BinaryOp, ReduceOp, UnaryOp, type Backend } from '../src/backend/backend.js';
import { getBackend, withBackend } from '../src/backend/index.js';
import { F, ones, tensor, zeros } from '../index.js';
import { nativeAvailable, nativeBackend } from '../src/backend/native.js';
import { referenceBackend as R } from '../src/backend/reference.js';

const U = 2 ** -24; // float32 unit roundoff
const SIZES = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];
const EDGES = SIZES.filter((s) => s > 0);

const NOT_BUILT =
  'the native addon is not built or does not load (native/ferrograd.node): the backend conformance ' +
  'suite compares it with the reference backend and cannot run without it. Run `npm run build:native` first.';

function N(): Backend {
  if (!nativeAvailable()) throw new Error(NOT_BUILT);
  return nativeBackend;
}

// ---------------------------------------------------------------------------------------------
// Seeded random data.

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
}

let seedCounter = 1;
const rng = () => new Rng(0x9e3779b9 ^ seedCounter++ * 7919);

function randn(n: number, g: Rng, scale = 1, shift = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = shift + scale * g.normal();
  return a;
}

function uniform(n: number, g: Rng, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * g.next();
  return a;
}

/** Small integers: sums of many of them are exact in float32. */
function ints(n: number, g: Rng, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.int(lo, hi);
  return a;
}

function indices(n: number, g: Rng, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.int(0, hi);
  return a;
}

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const abs64 = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);
const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);

function contiguousStrides(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/** Smallest array length that holds a view with non-negative strides. */
function extent(off: number, strides: number[], shape: number[]): number {
  if (prod(shape) === 0) return off;
  let hi = off;
  for (let i = 0; i < shape.length; i++) hi += (shape[i] - 1) * strides[i];
  return hi + 1;
}

// ---------------------------------------------------------------------------------------------
// Comparison.

type Tol = (i: number, ref: number) => number;
const exact: Tol = () => 0;
const elemTol: Tol = (_i, ref) => 1e-5 + 1e-5 * Math.abs(ref);
/** Tolerance for results that are sums of k terms whose absolute values sum to mag[i]. */
const sumTol = (mag: ArrayLike<number>, k: number): Tol => (i, ref) =>
  1e-6 + 1e-5 * Math.abs(ref) + 2 * Math.min(k, 4096) * U * mag[i];

/** `zeroSign: false` accepts either zero for a zero: only for matmul, where the sign of an exact
 *  zero depends on the blocking (PyTorch 2.15 itself gives +0 for [[-3]] @ [[0, 2]] but -0 for the
 *  same products in a 64x1 @ 1x65 product). */
function compare(label: string, native: ArrayLike<number>, ref: ArrayLike<number>, tol: Tol, zeroSign = true): void {
  if (native.length !== ref.length) throw new Error(`${label}: native has ${native.length} elements, reference ${ref.length}`);
  let bad = 0;
  let first = '';
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i];
    const g = native[i];
    const r32 = Math.fround(r); // what float32 storage of the exact result holds
    let ok: boolean;
    if (Number.isNaN(r)) ok = Number.isNaN(g);
    // ±0 are different values (1/x, sign, atan2 tell them apart): a zero must have the sign of the
    // reference's zero, which follows IEEE rules for the same operation.
    else if (r === 0 && g === 0) ok = !zeroSign || Object.is(g, r);
    else if (!Number.isFinite(r32)) ok = g === r32 || (Number.isFinite(r) && Math.abs(g) >= 3.4e38 && Math.sign(g) === Math.sign(r));
    else ok = Math.abs(g - r) <= tol(i, r);
    if (!ok) {
      if (bad === 0) {
        const show = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
        first = `first at [${i}]: native ${show(g)}, reference ${show(r)}, |diff| ${Math.abs(g - r)} > tolerance ${tol(i, r)}`;
      }
      bad++;
    }
  }
  if (bad > 0) throw new Error(`${label}: ${bad} of ${ref.length} elements differ; ${first}`);
}

function compareScalar(label: string, native: number, ref: number, tol: number): void {
  if (Number.isNaN(ref) ? !Number.isNaN(native) : !(Math.abs(native - ref) <= tol)) {
    throw new Error(`${label}: native ${native}, reference ${ref}, |diff| ${Math.abs(native - ref)} > tolerance ${tol}`);
  }
}

// ---------------------------------------------------------------------------------------------

describe('native backend availability', () => {
  it('the native addon is built and loads', () => {
    expect(nativeAvailable(), NOT_BUILT).toBe(true);
    expect(nativeBackend.name).toBe('native');
    // With the addon built, float32 tensors run on it unless the environment asks for reference.
    expect(getBackend().name).toBe(process.env.FERROGRAD_BACKEND === 'reference' ? 'reference' : 'native');
  });
});

describe('copy', () => {
  function run(label: string, shape: number[], srcOff: number, srcStrides: number[], dstOff: number, dstStrides: number[], g: Rng) {
    const src = randn(extent(srcOff, srcStrides, shape) + 2, g);
    const dstInit = randn(extent(dstOff, dstStrides, shape) + 2, g); // untouched elements must survive
    const dn = Float32Array.from(dstInit);
    const dr = f64(dstInit);
    N().copy(src, srcOff, srcStrides, dn, dstOff, dstStrides, shape);
    R.copy(f64(src), srcOff, srcStrides, dr, dstOff, dstStrides, shape);
    compare(label, dn, dr, exact);
  }

  it('contiguous 1-D at every edge size, with offsets', () => {
    const g = rng();
    for (const n of SIZES) run(`copy [${n}]`, [n], 3, [1], 1, [1], g);
  });

  it('transposes, permutes, broadcasts and writes strided destinations', () => {
    const g = rng();
    for (const r of [0, 1, 7, 17, 33]) {
      for (const c of [1, 8, 9, 64, 65]) {
        run(`copy transpose [${r}, ${c}]`, [r, c], 2, [1, r], 0, [c, 1], g);
        run(`copy broadcast row [${r}, ${c}]`, [r, c], 1, [0, 1], 0, [c, 1], g);
        run(`copy broadcast col [${r}, ${c}]`, [r, c], 1, [1, 0], 0, [c, 1], g);
        // Slice assignment: write into every other column of a wider destination.
        run(`copy into strided dst [${r}, ${c}]`, [r, c], 0, [c, 1], 5, [2 * c + 1, 2], g);
      }
    }
    const shape = [3, 4, 5];
    run('copy permute (2,0,1)', shape, 4, [1, 25, 5], 0, contiguousStrides(shape), g); // src is [4,5,5]-ish permuted
    run('copy rank 0', [], 7, [], 3, [], g);
    run('copy rank 4 with a 1 dim', [2, 1, 3, 9], 0, [27, 99, 9, 1], 0, contiguousStrides([2, 1, 3, 9]), g);
  });

  it('copies int32 storage exactly', () => {
    const g = rng();
    const src = indices(300, g, 1_000_000);
    const dn = new Int32Array(300);
    const dr = new Int32Array(300);
    N().copy(src, 0, [1, 20], dn, 0, [15, 1], [20, 15]);
    R.copy(src, 0, [1, 20], dr, 0, [15, 1], [20, 15]);
    expect(Array.from(dn)).toEqual(Array.from(dr));
  });

  it('large: a 512x400 transpose', () => {
    run('copy transpose [512, 400]', [512, 400], 0, [1, 512], 0, [400, 1], rng());
  });
});

// ---------------------------------------------------------------------------------------------
// Elementwise.

const UNARY_OPS = [UnaryOp.Neg, UnaryOp.Exp, UnaryOp.Log, UnaryOp.Tanh, UnaryOp.Relu, UnaryOp.Sqrt,
  UnaryOp.Abs, UnaryOp.Sigmoid, UnaryOp.Square, UnaryOp.Sign];

/** Inputs inside each op's domain, with magnitudes that exercise it (tanh/sigmoid saturation). */
function unaryInput(op: UnaryOp, n: number, g: Rng): Float32Array {
  switch (op) {
    case UnaryOp.Log: return uniform(n, g, 0.01, 100);
    case UnaryOp.Sqrt: return uniform(n, g, 0, 100);
    case UnaryOp.Exp: return uniform(n, g, -20, 20);
    default: return randn(n, g, 4);
  }
}

describe('unary', () => {
  it('every op at every edge size and 100k elements', () => {
    const g = rng();
    for (const op of UNARY_OPS) {
      for (const n of [...SIZES, 100_000]) {
        const x = unaryInput(op, n, g);
        const on = new Float32Array(n);
        const or = new Float64Array(n);
        N().unary(op, x, on);
        R.unary(op, f64(x), or);
        compare(`unary ${UnaryOp[op]} n=${n}`, on, or, elemTol);
      }
    }
  });

  it('special values: ±0, ±Infinity, NaN, overflow and domain errors', () => {
    const x = Float32Array.from([0, -0, Infinity, -Infinity, NaN, 100, -100, -1, 1e-30, 3.4e38]);
    for (const op of UNARY_OPS) {
      const on = new Float32Array(x.length);
      const or = new Float64Array(x.length);
      N().unary(op, x, on);
      R.unary(op, f64(x), or);
      compare(`unary ${UnaryOp[op]} on [${Array.from(x)}]`, on, or, elemTol);
    }
  });

  it('unaryBackward for every op, fed the same x, y and dy', () => {
    const g = rng();
    for (const op of UNARY_OPS) {
      for (const n of [...SIZES, 100_000]) {
        const x = unaryInput(op, n, g);
        const y = new Float32Array(n);
        R.unary(op, f64(x), y); // y rounded to float32, identical for both backends
        const dy = randn(n, g);
        const dn = new Float32Array(n);
        const dr = new Float64Array(n);
        N().unaryBackward(op, x, y, dy, dn);
        R.unaryBackward(op, f64(x), f64(y), f64(dy), dr);
        compare(`unaryBackward ${UnaryOp[op]} n=${n}`, dn, dr, elemTol);
      }
    }
  });
});

const BINARY_OPS = [BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Pow, BinaryOp.Max,
  BinaryOp.Min, BinaryOp.Eq, BinaryOp.Ne, BinaryOp.Lt, BinaryOp.Le, BinaryOp.Gt, BinaryOp.Ge];
const isComparison = (op: BinaryOp) => op >= BinaryOp.Eq;

/** Operands for op: positive bases for Pow, and values on a coarse grid so that comparisons see
 *  equal pairs too. */
function binaryOperands(op: BinaryOp, na: number, nb: number, g: Rng): [Float32Array, Float32Array] {
  if (op === BinaryOp.Pow) return [uniform(na, g, 0.05, 4), uniform(nb, g, -3, 3)];
  if (isComparison(op) || op === BinaryOp.Max || op === BinaryOp.Min) return [ints(na, g, -3, 4), ints(nb, g, -3, 4)];
  return [randn(na, g, 3), randn(nb, g, 3)];
}

const binaryTol = (op: BinaryOp): Tol => (isComparison(op) || op === BinaryOp.Max || op === BinaryOp.Min ? exact : elemTol);

describe('binary (broadcasting)', () => {
  function run(
    op: BinaryOp, label: string, shape: number[],
    aOff: number, aStrides: number[], bOff: number, bStrides: number[], g: Rng,
  ) {
    const [a, b] = binaryOperands(op, extent(aOff, aStrides, shape) + 1, extent(bOff, bStrides, shape) + 1, g);
    const n = prod(shape);
    const on = new Float32Array(n);
    const or = new Float64Array(n);
    N().binary(op, a, aOff, aStrides, b, bOff, bStrides, on, shape);
    R.binary(op, f64(a), aOff, aStrides, f64(b), bOff, bStrides, or, shape);
    compare(`binary ${BinaryOp[op]} ${label} shape [${shape}]`, on, or, binaryTol(op));
  }

  it('same-shape contiguous operands at every edge size', () => {
    const g = rng();
    for (const op of BINARY_OPS) for (const n of SIZES) run(op, 'contiguous', [n], 0, [1], 0, [1], g);
  });

  it('row, column and scalar broadcasts (0 strides), offsets and transposed operands', () => {
    const g = rng();
    for (const op of BINARY_OPS) {
      for (const [r, c] of [[0, 5], [5, 0], [1, 1], [3, 7], [9, 8], [17, 16], [2, 33], [65, 3]]) {
        const sh = [r, c];
        run(op, 'row bcast', sh, 0, [c, 1], 2, [0, 1], g);
        run(op, 'col bcast', sh, 1, [c, 1], 0, [1, 0], g);
        run(op, 'scalar b', sh, 0, [c, 1], 3, [0, 0], g);
        run(op, 'scalar a', sh, 4, [0, 0], 0, [c, 1], g);
        run(op, 'transposed a', sh, 1, [1, r], 0, [c, 1], g);
      }
      // [4,1,9] op [1,6,9] broadcast on both sides, and a 4-D case with a size-1 axis.
      run(op, 'both sides', [4, 6, 9], 0, [9, 0, 1], 5, [0, 9, 1], g);
      run(op, 'rank 4', [2, 1, 3, 17], 3, [51, 0, 17, 1], 0, [0, 0, 1, 3], g);
    }
  });

  it('special values', () => {
    const vals = [0, -0, 1, -1, 2, Infinity, -Infinity, NaN];
    const a = new Float32Array(vals.length ** 2);
    const b = new Float32Array(vals.length ** 2);
    vals.forEach((x, i) => vals.forEach((y, j) => {
      a[i * vals.length + j] = x;
      b[i * vals.length + j] = y;
    }));
    for (const op of BINARY_OPS) {
      const on = new Float32Array(a.length);
      const or = new Float64Array(a.length);
      N().binary(op, a, 0, [1], b, 0, [1], on, [a.length]);
      R.binary(op, f64(a), 0, [1], f64(b), 0, [1], or, [a.length]);
      compare(`binary ${BinaryOp[op]} on all pairs of [${vals}]`, on, or, elemTol);
    }
  });

  it('large: [300, 400] with a broadcast row', () => {
    const g = rng();
    for (const op of [BinaryOp.Add, BinaryOp.Mul, BinaryOp.Div, BinaryOp.Gt]) run(op, 'large', [300, 400], 0, [400, 1], 0, [0, 1], g);
  });
});

describe('binaryScalar, binaryInplace, scalarInplace, axpy', () => {
  it('binaryScalar, both operand orders, every op and edge size', () => {
    const g = rng();
    for (const op of BINARY_OPS) {
      for (const n of [...SIZES, 100_000]) {
        for (const reversed of [false, true]) {
          const [x] = binaryOperands(op, n, 0, g);
          const s = op === BinaryOp.Pow ? (reversed ? 1.7 : -1.5) : isComparison(op) ? 1 : -2.25;
          const on = new Float32Array(n);
          const or = new Float64Array(n);
          N().binaryScalar(op, x, s, reversed, on);
          R.binaryScalar(op, f64(x), s, reversed, or);
          compare(`binaryScalar ${BinaryOp[op]} s=${s} reversed=${reversed} n=${n}`, on, or, binaryTol(op));
        }
      }
    }
  });

  it('binaryInplace on strided views of a larger buffer, with broadcast b', () => {
    const g = rng();
    const cases: [string, number[], number, number[], number, number[]][] = [];
    for (const n of SIZES) cases.push([`contiguous ${n}`, [n], 2, [1], 1, [1]]);
    for (const [r, c] of [[0, 3], [1, 1], [7, 9], [16, 17], [33, 8]]) {
      cases.push([`row bcast ${r}x${c}`, [r, c], 3, [c + 2, 1], 0, [0, 1]]); // a: a [r, c] slice of an [r, c+2] buffer
      cases.push([`col bcast ${r}x${c}`, [r, c], 0, [1, r], 1, [1, 0]]); // a: transposed
      cases.push([`scalar b ${r}x${c}`, [r, c], 1, [c, 1], 0, [0, 0]]);
    }
    cases.push(['large [500, 300] row bcast', [500, 300], 0, [300, 1], 0, [0, 1]]);
    for (const op of BINARY_OPS) {
      for (const [label, shape, aOff, aStrides, bOff, bStrides] of cases) {
        const [a, b] = binaryOperands(op, extent(aOff, aStrides, shape) + 3, extent(bOff, bStrides, shape) + 1, g);
        const an = Float32Array.from(a);
        const ar = f64(a);
        N().binaryInplace(op, an, aOff, aStrides, b, bOff, bStrides, shape);
        R.binaryInplace(op, ar, aOff, aStrides, f64(b), bOff, bStrides, shape);
        compare(`binaryInplace ${BinaryOp[op]} ${label}`, an, ar, binaryTol(op));
      }
    }
  });

  it('scalarInplace, every op and edge size', () => {
    const g = rng();
    for (const op of BINARY_OPS) {
      for (const n of [...SIZES, 100_000]) {
        const [x] = binaryOperands(op, n, 0, g);
        const s = op === BinaryOp.Pow ? 2.5 : isComparison(op) ? 0 : 0.75;
        const an = Float32Array.from(x);
        const ar = f64(x);
        N().scalarInplace(op, an, s);
        R.scalarInplace(op, ar, s);
        compare(`scalarInplace ${BinaryOp[op]} n=${n}`, an, ar, binaryTol(op));
      }
    }
  });

  it('axpy', () => {
    const g = rng();
    for (const n of [...SIZES, 1_000_000]) {
      for (const alpha of [1, -0.1, 3.5]) {
        const x = randn(n, g);
        const y = randn(n, g);
        const yn = Float32Array.from(y);
        const yr = f64(y);
        N().axpy(alpha, x, yn);
        R.axpy(alpha, f64(x), yr);
        // y + alpha·x: the product and the sum each round once.
        const mag = Float64Array.from(y, (v, i) => Math.abs(v) + Math.abs(alpha * x[i]));
        compare(`axpy alpha=${alpha} n=${n}`, yn, yr, sumTol(mag, 2));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fused optimizer steps: both backends round to float32 after each operation of torch's order
// when the arrays are float32, so native and reference must agree bit for bit.

describe('adamStep, sgdStep (float32 arrays: bit for bit)', () => {
  const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  it('adamStep over Adam, AdamW, AMSGrad, maximize and both lerp forms', () => {
    const g = rng();
    for (const n of [...SIZES, 100_003]) {
      for (const [decay, l2, weight, ams, maximize] of [
        [Math.fround(1 - 1e-3 * 0.01), 0, Math.fround(0.1), false, false],
        [1, Math.fround(0.01), Math.fround(0.1), true, false],
        [1, 0, Math.fround(0.7), false, true],
        [Math.fround(0.999), 0, 1, true, true],
      ] as [number, number, number, boolean, boolean][]) {
        const p = randn(n, g);
        const m = randn(n, g).map((v) => v * 0.1);
        const v = randn(n, g).map((x) => x * x * 0.01);
        const vmax = v.map((x, i) => (i % 3 === 0 ? x * 2 : x * 0.5));
        const sides = [0, 1].map(() => ({ p: Float32Array.from(p), m: Float32Array.from(m), v: Float32Array.from(v), x: Float32Array.from(vmax) }));
        for (let step = 1; step <= 3; step++) {
          const grad = randn(n, g);
          const negStep = Math.fround(-(1e-2 / (1 - 0.9 ** step)));
          const bc2 = Math.fround(Math.sqrt(1 - 0.999 ** step));
          [N(), R].forEach((be, i) => {
            const s = sides[i];
            be.adamStep(s.p, grad, s.m, s.v, ams ? s.x : null, decay, l2, weight, Math.fround(0.999), Math.fround(1 - 0.999), negStep, bc2, Math.fround(1e-8), maximize);
          });
        }
        for (const k of ['p', 'm', 'v', 'x'] as const) {
          expect(bitsOf(sides[0][k]), `adamStep ${k} n=${n} ams=${ams} maximize=${maximize}`).toEqual(bitsOf(sides[1][k]));
        }
        if (n > 0) expect(bitsOf(sides[0].p)).not.toEqual(bitsOf(p));
      }
    }
  });

  it('sgdStep over plain, lecture-rounded, momentum, Nesterov, weight decay and maximize', () => {
    const g = rng();
    for (const n of [...SIZES, 100_003]) {
      for (const [wd, mom, nesterov, maximize, fused] of [
        [0, 0, false, false, true], [0, 0, false, false, false], [0, 0.9, false, false, true],
        [0.01, 0.9, true, false, true], [0.01, 0.5, false, true, false], [0, 0.9, true, true, false],
      ] as [number, number, boolean, boolean, boolean][]) {
        const p = randn(n, g);
        const sides = [0, 1].map(() => ({ p: Float32Array.from(p), b: new Float32Array(n) }));
        for (let step = 0; step < 3; step++) {
          const grad = randn(n, g);
          [N(), R].forEach((be, i) => {
            const s = sides[i];
            be.sgdStep(s.p, grad, mom !== 0 ? s.b : null, step === 0, Math.fround(-0.1), Math.fround(wd), Math.fround(mom), Math.fround(0.75), nesterov, maximize, fused);
          });
        }
        expect(bitsOf(sides[0].p), `sgdStep p n=${n} mom=${mom} fused=${fused}`).toEqual(bitsOf(sides[1].p));
        expect(bitsOf(sides[0].b), `sgdStep buffer n=${n}`).toEqual(bitsOf(sides[1].b));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Reductions.

describe('sum and reduceArg', () => {
  const shapes: [number, number, number][] = [];
  for (const s of SIZES) shapes.push([1, s, 1], [3, s, 1], [1, s, 5], [s, 4, 1], [2, 3, s]);
  shapes.push([0, 5, 3], [2, 7, 0], [4, 1, 4]);

  function runSum(x: Float32Array, outer: number, n: number, inner: number, label: string, integer: boolean) {
    const on = new Float32Array(outer * inner);
    const or = new Float64Array(outer * inner);
    N().sum(x, outer, n, inner, on);
    R.sum(f64(x), outer, n, inner, or);
    let tol: Tol = exact;
    if (!integer) {
      const mag = new Float64Array(outer * inner);
      R.sum(abs64(x), outer, n, inner, mag);
      tol = sumTol(mag, n);
    }
    compare(`sum ${label} [outer, n, inner] = [${outer}, ${n}, ${inner}]`, on, or, tol);
  }

  /** Max/min values and indices, which must match exactly. */
  function runArg(op: ReduceOp, x: Float32Array, outer: number, n: number, inner: number, label: string) {
    const vn = new Float32Array(outer * inner);
    const inIdx = new Int32Array(outer * inner);
    const vr = new Float64Array(outer * inner);
    const irIdx = new Int32Array(outer * inner);
    N().reduceArg(op, x, outer, n, inner, vn, inIdx);
    R.reduceArg(op, f64(x), outer, n, inner, vr, irIdx);
    const what = `reduceArg ${ReduceOp[op]} ${label} [${outer}, ${n}, ${inner}]`;
    compare(`${what} values`, vn, vr, exact);
    compare(`${what} indices`, inIdx, irIdx, exact);
  }

  it('sum, max and min over every layout and edge size', () => {
    const g = rng();
    for (const [outer, n, inner] of shapes) {
      const x = randn(outer * n * inner, g, 2);
      runSum(x, outer, n, inner, 'random', false);
      if (n === 0 && outer * inner > 0) continue; // max/min of nothing: refused by contract
      for (const op of [ReduceOp.Max, ReduceOp.Min]) runArg(op, x, outer, n, inner, 'random');
    }
  });

  it('sums of integers are exact (no dropped or doubled terms)', () => {
    const g = rng();
    for (const [outer, n, inner] of [...shapes, [1, 100_000, 1], [7, 30_000, 1], [3, 10_000, 20]] as const) {
      runSum(ints(outer * n * inner, g, -50, 51), outer, n, inner, 'integers', true);
    }
  });

  it('large: 100k and 1M elements, contiguous and strided', () => {
    const g = rng();
    for (const [outer, n, inner] of [[1, 100_000, 1], [1, 1_000_000, 1], [1000, 1000, 1], [1, 1000, 1000], [10, 100, 1000]] as const) {
      const x = randn(outer * n * inner, g, 1, 0.5);
      runSum(x, outer, n, inner, 'large', false);
      for (const op of [ReduceOp.Max, ReduceOp.Min]) runArg(op, x, outer, n, inner, 'large');
    }
  });

  it('reduceArg with many ties picks the first index, like the reference', () => {
    const g = rng();
    for (const [outer, n, inner] of [...shapes, [1, 100_000, 1], [100, 1000, 1], [2, 500, 300]] as const) {
      if (n === 0 && outer * inner > 0) continue;
      for (const [kind, x] of [['ties', ints(outer * n * inner, g, 0, 5)], ['random', randn(outer * n * inner, g)]] as const) {
        for (const op of [ReduceOp.Max, ReduceOp.Min]) runArg(op, x, outer, n, inner, kind);
      }
    }
  });

  it('sum propagates NaN and Infinity like IEEE addition', () => {
    const rows = [[1, NaN, 2], [Infinity, -Infinity, 0], [Infinity, 1, 2], [-Infinity, -1, 5], [3.4e38, 3.4e38, 0]];
    const x = Float32Array.from(rows.flat());
    const on = new Float32Array(rows.length);
    const or = new Float64Array(rows.length);
    N().sum(x, rows.length, 3, 1, on);
    R.sum(f64(x), rows.length, 3, 1, or);
    compare('sum with NaN/Infinity/overflow', on, or, elemTol);
  });

  it('NaN is the extreme for Max/Min and argmax/argmin, at its first position', () => {
    const x = Float32Array.from([1, 5, NaN, 7, NaN, -3, 2, 8, 0]);
    for (const op of [ReduceOp.Max, ReduceOp.Min] as const) {
      const vn = new Float32Array(3);
      const vr = new Float64Array(3);
      const inIdx = new Int32Array(3);
      const irIdx = new Int32Array(3);
      N().reduceArg(op, x, 1, 3, 3, vn, inIdx);
      R.reduceArg(op, f64(x), 1, 3, 3, vr, irIdx);
      compare(`reduceArg ${ReduceOp[op]} with NaN values`, vn, vr, exact);
      compare(`reduceArg ${ReduceOp[op]} with NaN indices`, inIdx, irIdx, exact);
      runArg(op, x, 1, 9, 1, 'with NaN, one row');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Matmul.

describe('matmul', () => {
  interface MM {
    batch: number; m: number; k: number; n: number;
    transA: boolean; transB: boolean;
    aOff?: number; aBatch?: number; bOff?: number; bBatch?: number;
  }

  function run(c: MM, g: Rng, integer = false) {
    const { batch, m, k, n, transA, transB } = c;
    const aOff = c.aOff ?? 0;
    const bOff = c.bOff ?? 0;
    const aBatch = c.aBatch ?? m * k;
    const bBatch = c.bBatch ?? k * n;
    const aLen = batch === 0 ? aOff : aOff + (batch - 1) * aBatch + m * k;
    const bLen = batch === 0 ? bOff : bOff + (batch - 1) * bBatch + k * n;
    const gen = (len: number) => (integer ? ints(len, g, -8, 9) : randn(len, g));
    const a = gen(aLen + 1);
    const b = gen(bLen + 1);
    const out0 = gen(batch * m * n);
    const on = Float32Array.from(out0);
    const or = f64(out0);
    N().matmul(a, aOff, aBatch, transA, b, bOff, bBatch, transB, on, batch, m, k, n);
    R.matmul(f64(a), aOff, aBatch, transA, f64(b), bOff, bBatch, transB, or, batch, m, k, n);
    const label = `matmul batch=${batch} m=${m} k=${k} n=${n} transA=${transA} transB=${transB}` +
      ` aOff=${aOff} aBatch=${aBatch} bOff=${bOff} bBatch=${bBatch}${integer ? ' (integers)' : ''}`;
    if (integer) {
      compare(label, on, or, exact, false);
      return;
    }
    const mag = new Float64Array(batch * m * n);
    R.matmul(abs64(a), aOff, aBatch, transA, abs64(b), bOff, bBatch, transB, mag, batch, m, k, n);
    compare(label, on, or, sumTol(mag, k), false);
  }

  const dims: [number, number, number][] = [
    [0, 3, 4], [3, 0, 4], [3, 4, 0], [1, 1, 1], [1, 7, 1], [7, 8, 9], [8, 9, 7], [9, 7, 8],
    [15, 16, 17], [16, 17, 15], [31, 32, 33], [33, 31, 32], [63, 64, 65], [65, 63, 64], [64, 65, 63],
    [1, 65, 64], [64, 1, 65], [65, 64, 1], [2, 33, 17], [17, 2, 33],
  ];

  it('every edge shape and all four transpose combinations, over a random output', () => {
    const g = rng();
    for (const [m, k, n] of dims) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          run({ batch: 1, m, k, n, transA, transB }, g);
        }
      }
    }
  });

  it('integer matrices give exactly the reference product', () => {
    const g = rng();
    for (const [m, k, n] of [...dims, [128, 257, 96]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) run({ batch: 2, m, k, n, transA, transB }, g, true);
      }
    }
  });

  it('batches with offsets, gaps between matrices and 0 (broadcast) batch strides', () => {
    const g = rng();
    for (const [m, k, n] of [[1, 1, 1], [7, 9, 8], [17, 16, 15], [33, 32, 65]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const base = { m, k, n, transA, transB };
          run({ ...base, batch: 5, aOff: 3, aBatch: m * k + 2, bOff: 1, bBatch: k * n + 5 }, g);
          run({ ...base, batch: 4, bOff: 2, bBatch: 0 }, g); // one B shared by every batch (x @ W)
          run({ ...base, batch: 3, aOff: 1, aBatch: 0 }, g); // one A shared
          run({ ...base, batch: 0 }, g);
        }
      }
    }
  });

  it('overwrites an output full of NaN and Infinity (no 0·NaN leak), also for k = 0', () => {
    const g = rng();
    for (const [m, k, n] of [[3, 0, 4], [1, 1, 1], [17, 16, 15], [65, 64, 63]] as const) {
      const a = randn(m * k, g);
      const b = randn(k * n, g);
      const on = new Float32Array(m * n).fill(NaN);
      for (let i = 0; i < on.length; i += 3) on[i] = -Infinity;
      const or = new Float64Array(m * n);
      N().matmul(a, 0, 0, false, b, 0, 0, false, on, 1, m, k, n);
      R.matmul(f64(a), 0, 0, false, f64(b), 0, 0, false, or, 1, m, k, n);
      const mag = new Float64Array(m * n);
      R.matmul(abs64(a), 0, 0, false, abs64(b), 0, 0, false, mag, 1, m, k, n);
      compare(`matmul over NaN m=${m} k=${k} n=${n}`, on, or, sumTol(mag, k), false);
    }
  });

  it('large: 256x300 @ 300x200, plain, transposed and batched', () => {
    const g = rng();
    run({ batch: 1, m: 256, k: 300, n: 200, transA: false, transB: false }, g);
    run({ batch: 1, m: 256, k: 300, n: 200, transA: true, transB: false }, g);
    run({ batch: 1, m: 256, k: 300, n: 200, transA: false, transB: true }, g);
    run({ batch: 1, m: 256, k: 300, n: 200, transA: true, transB: true }, g);
    run({ batch: 8, m: 64, k: 100, n: 50, transA: false, transB: false, bBatch: 0 }, g);
    run({ batch: 1, m: 1000, k: 1, n: 1000, transA: false, transB: false }, g); // outer product
    run({ batch: 1, m: 1, k: 50_000, n: 3, transA: false, transB: false }, g); // long dot products
  });
});

// ---------------------------------------------------------------------------------------------
// Gather and scatter.

describe('indexSelect, indexAdd, putAdd', () => {
  const maxMultiplicity = (idx: Int32Array) => {
    const counts = new Map<number, number>();
    let most = 0;
    for (const i of idx) {
      const c = (counts.get(i) ?? 0) + 1;
      counts.set(i, c);
      most = Math.max(most, c);
    }
    return most;
  };

  const cases: [number, number, number][] = []; // [numRows, rowSize, count]
  for (const s of SIZES) cases.push([27, Math.max(s, 1), 5], [27, 10, s], [Math.max(s, 1), 3, 40]);
  cases.push([0, 4, 0], [1, 1, 0]);

  it('indexSelect copies exactly, with repeated indices', () => {
    const g = rng();
    for (const [numRows, rowSize, count] of [...cases, [32_000, 16, 100_000]] as const) {
      const src = randn(numRows * rowSize, g);
      const idx = indices(count, g, numRows);
      const on = new Float32Array(count * rowSize);
      const or = new Float64Array(count * rowSize);
      N().indexSelect(src, rowSize, idx, on);
      R.indexSelect(f64(src), rowSize, idx, or);
      compare(`indexSelect rows=${numRows} rowSize=${rowSize} count=${count}`, on, or, exact);
    }
  });

  it('indexAdd and putAdd accumulate repeated indices', () => {
    const g = rng();
    for (const [numRows, rowSize, count] of [...cases, [27, 10, 100_000], [50_000, 8, 100_000]] as const) {
      for (const integer of [false, true]) {
        const gen = (len: number) => (integer ? ints(len, g, -20, 21) : randn(len, g));
        const src = gen(count * rowSize);
        const dst0 = gen(numRows * rowSize);
        const idx = indices(count, g, numRows);
        const dn = Float32Array.from(dst0);
        const dr = f64(dst0);
        N().indexAdd(src, rowSize, idx, dn);
        R.indexAdd(f64(src), rowSize, idx, dr);
        const label = `indexAdd rows=${numRows} rowSize=${rowSize} count=${count}${integer ? ' (integers)' : ''}`;
        if (integer) compare(label, dn, dr, exact);
        else {
          const mag = abs64(dst0);
          R.indexAdd(abs64(src), rowSize, idx, mag);
          compare(label, dn, dr, sumTol(mag, maxMultiplicity(idx) + 1));
        }

        if (dst0.length === 0 && count > 0) continue; // no valid flat index into an empty dst
        const flat = indices(count, g, dst0.length);
        const psrc = gen(count);
        const pn = Float32Array.from(dst0);
        const pr = f64(dst0);
        N().putAdd(psrc, flat, pn);
        R.putAdd(f64(psrc), flat, pr);
        const plabel = `putAdd n=${dst0.length} count=${count}${integer ? ' (integers)' : ''}`;
        if (integer) compare(plabel, pn, pr, exact);
        else {
          const mag = abs64(dst0);
          R.putAdd(abs64(psrc), flat, mag);
          compare(plabel, pn, pr, sumTol(mag, maxMultiplicity(flat) + 1));
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Softmax and cross-entropy.

const softmaxShapes: [number, number][] = [[0, 5], [3, 0], [1, 1], [32, 27], [2, 100_000], [1000, 1000]];
for (const s of EDGES) softmaxShapes.push([3, s], [s, 5]);

/** Largest |x| in each row: the size of the shifted logits x - max. */
function rowSpread(x: Float32Array, rows: number, cols: number): Float64Array {
  const spread = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) spread[r] = Math.max(spread[r], Math.abs(x[r * cols + c]));
  }
  return spread;
}

/** Absolute error bound of the exponent x - max - log Σ exp(x - max) in float32: the shifted logit
 *  and the log of a sum of cols positive terms (relative error <= cols·u) each round. 1e-6 allows
 *  for approximate exp/log implementations. */
const exponentErr = (spread: number, cols: number) => 8 * U * spread + 2 * (Math.min(cols, 4096) + 2) * U + 1e-6;

describe('softmax and softmaxBackward', () => {
  it('plain and log, small and large logits, every edge width', () => {
    const g = rng();
    for (const [rows, cols] of softmaxShapes) {
      for (const scale of [1, 30]) {
        const x = randn(rows * cols, g, scale);
        const spread = rowSpread(x, rows, cols);
        for (const log of [false, true]) {
          const yn = new Float32Array(rows * cols);
          const yr = new Float64Array(rows * cols);
          N().softmax(x, rows, cols, log, yn);
          R.softmax(f64(x), rows, cols, log, yr);
          // The exponent's absolute error is an absolute error of log-softmax and a relative error
          // of softmax.
          const tol: Tol = (i, ref) => {
            const e = exponentErr(spread[Math.floor(i / cols)], cols);
            return log ? 1e-5 * Math.abs(ref) + e : 1e-7 + Math.abs(ref) * (1e-5 + e);
          };
          compare(`softmax log=${log} [${rows}, ${cols}] scale ${scale}`, yn, yr, tol);

          // Backward from the same float32 y.
          const y = Float32Array.from(yr);
          const dy = randn(rows * cols, g);
          const dn = new Float32Array(rows * cols);
          const dr = new Float64Array(rows * cols);
          N().softmaxBackward(y, dy, rows, cols, log, dn);
          R.softmaxBackward(f64(y), f64(dy), rows, cols, log, dr);
          // dx_i = y_i·(dy_i - Σ dy·y), or dy_i - exp(y_i)·Σ dy: the row sum of cols terms carries
          // the error, scaled by y_i (or exp(y_i)) per element.
          const dot = new Float64Array(rows);
          const dotMag = new Float64Array(rows);
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              const term = dy[r * cols + c] * (log ? 1 : y[r * cols + c]);
              dot[r] += term;
              dotMag[r] += Math.abs(term);
            }
          }
          const btol: Tol = (i, ref) => {
            const r = Math.floor(i / cols);
            const factor = log ? Math.exp(y[i]) : Math.abs(y[i]);
            const dotErr = 2 * (Math.min(cols, 4096) + 2) * U * dotMag[r] + 1e-5 * Math.abs(dot[r]);
            return 1e-6 + 1e-5 * Math.abs(ref) + factor * (dotErr + 4 * U * (Math.abs(dy[i]) + Math.abs(dot[r])));
          };
          compare(`softmaxBackward log=${log} [${rows}, ${cols}] scale ${scale}`, dn, dr, btol);
        }
      }
    }
  });
});

describe('softmax and cross-entropy with infinite logits', () => {
  // Row 0 has masked (-Infinity) entries, row 1 is entirely masked (NaN, as in PyTorch), row 2
  // holds +Infinity (NaN where Infinity - Infinity appears), row 3 is ordinary.
  const cols = 4;
  const x = Float32Array.from([
    1, -Infinity, 2, -Infinity,
    -Infinity, -Infinity, -Infinity, -Infinity,
    0, Infinity, 1, 2,
    0.5, -0.5, 3, 1,
  ]);
  const rows = x.length / cols;

  it('softmax and log-softmax agree on masked and infinite rows', () => {
    for (const log of [false, true]) {
      const yn = new Float32Array(x.length);
      const yr = new Float64Array(x.length);
      N().softmax(x, rows, cols, log, yn);
      R.softmax(f64(x), rows, cols, log, yr);
      compare(`softmax log=${log} with infinite logits`, yn, yr, elemTol);
    }
  });

  it('cross-entropy gives zero probability to masked classes and a finite loss for live targets', () => {
    const live = Int32Array.of(2, -100, -100, 3); // only rows 0 and 3 count
    const pn = new Float32Array(x.length);
    const pr = new Float64Array(x.length);
    const ln = N().crossEntropyForward(x, rows, cols, live, -100, pn);
    const lr = R.crossEntropyForward(f64(x), rows, cols, live, -100, pr);
    compareScalar('crossEntropy loss with masked logits', ln, lr, 1e-5 + 1e-5 * Math.abs(lr));
    compare('crossEntropy probs with masked logits', pn, pr, elemTol);
    // A target on a masked class has infinite loss in both.
    const masked = Int32Array.of(1, -100, -100, -100);
    expect(N().crossEntropyForward(x, rows, cols, masked, -100, pn)).toBe(Infinity);
    expect(R.crossEntropyForward(f64(x), rows, cols, masked, -100, pr)).toBe(Infinity);
  });
});

describe('crossEntropyForward and crossEntropyBackward', () => {
  function targetsFor(rows: number, cols: number, ignoreIndex: number, g: Rng): Int32Array {
    const t = new Int32Array(rows);
    for (let r = 0; r < rows; r++) t[r] = cols === 0 || g.next() < 0.15 ? ignoreIndex : g.int(0, cols);
    return t;
  }

  it('loss, probabilities and gradient at every edge width, with ignored rows', () => {
    const g = rng();
    const shapes: [number, number][] = [[0, 27], [1, 1], [32, 27], [4096, 27], [100, 10_000], [20_000, 65]];
    for (const s of EDGES) shapes.push([5, s], [s, 27]);
    for (const [rows, cols] of shapes) {
      // The default ignoreIndex, and one that is a real class (PyTorch allows both).
      const ignores = cols > 0 ? [-100, Math.min(2, cols - 1)] : [-100];
      for (const ignoreIndex of ignores) {
        const logits = randn(rows * cols, g, 3);
        const targets = targetsFor(rows, cols, ignoreIndex, g);
        const pn = new Float32Array(rows * cols);
        const pr = new Float64Array(rows * cols);
        const ln = N().crossEntropyForward(logits, rows, cols, targets, ignoreIndex, pn);
        const lr = R.crossEntropyForward(f64(logits), rows, cols, targets, ignoreIndex, pr);
        const label = `crossEntropy [${rows}, ${cols}] ignoreIndex ${ignoreIndex}`;
        const spread = rowSpread(logits, rows, cols);
        // Each row's -log p_target has the exponent's error; the row losses are then summed.
        let rowErr = 0;
        let lossMag = 0;
        for (let r = 0; r < rows; r++) {
          if (targets[r] === ignoreIndex) continue;
          const lossR = -Math.log(pr[r * cols + targets[r]]);
          rowErr += exponentErr(spread[r], cols) + U * lossR;
          lossMag += lossR;
        }
        const lossTol = 1e-5 + 1e-5 * Math.abs(lr) + rowErr + 2 * Math.min(rows, 4096) * U * lossMag;
        compareScalar(`${label} loss`, ln, lr, lossTol);
        compare(`${label} probs`, pn, pr, (i, ref) => 1e-7 + Math.abs(ref) * (1e-5 + exponentErr(spread[Math.floor(i / cols)], cols)));

        const probs = Float32Array.from(pr);
        for (const scale of [1, 1 / Math.max(rows, 1)]) {
          const dn = new Float32Array(rows * cols);
          const dr = new Float64Array(rows * cols);
          N().crossEntropyBackward(probs, rows, cols, targets, ignoreIndex, scale, dn);
          R.crossEntropyBackward(f64(probs), rows, cols, targets, ignoreIndex, scale, dr);
          compare(`${label} backward scale ${scale}`, dn, dr, elemTol);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Batch norm.

describe('batchNormForward and batchNormBackward', () => {
  const shapes: [number, number][] = [[2, 1], [3, 0], [32, 200], [1000, 64], [4096, 30]];
  for (const s of EDGES) if (s > 1) shapes.push([s, 3]);
  for (const s of EDGES) shapes.push([32, s]);

  function affine(c: number, g: Rng, on: boolean) {
    return on ? { gamma: randn(c, g, 0.5, 1), beta: randn(c, g, 0.5) } : { gamma: null, beta: null };
  }

  it('training mode: statistics and output, both corrections, with and without affine', () => {
    const g = rng();
    for (const [n, c] of shapes) {
      for (const correction of [0, 1]) {
        for (const withAffine of [true, false]) {
          // Columns with different means and spreads, as pre-activations have.
          const shift = randn(c, g, 3);
          const x = new Float32Array(n * c);
          for (let i = 0; i < n * c; i++) x[i] = shift[i % c] + (1 + (i % c) % 3) * g.normal();
          const { gamma, beta } = affine(c, g, withAffine);
          const eps = 1e-5;
          const on = new Float32Array(n * c);
          const mn = new Float32Array(c);
          const vn = new Float32Array(c);
          const isn = new Float32Array(c);
          const or = new Float64Array(n * c);
          const mr = new Float64Array(c);
          const vr = new Float64Array(c);
          const isr = new Float64Array(c);
          N().batchNormForward(x, n, c, gamma, beta, eps, correction, true, on, mn, vn, isn);
          R.batchNormForward(f64(x), n, c, gamma && f64(gamma), beta && f64(beta), eps, correction, true, or, mr, vr, isr);

          const label = `batchNormForward training [${n}, ${c}] correction ${correction} affine ${withAffine}`;
          // Mean: a sum of n terms. Variance: a sum of n squares; the bound uses Σx² so that a
          // one-pass E[x²] - E[x]² implementation is held to its own (looser) accuracy.
          const absMean = new Float64Array(c);
          const sqMean = new Float64Array(c);
          for (let i = 0; i < n * c; i++) {
            absMean[i % c] += Math.abs(x[i]) / n;
            sqMean[i % c] += (x[i] * x[i]) / (n - correction);
          }
          const tolMean = (j: number) => 1e-6 + 2 * (n + 1) * U * absMean[j];
          const tolVar = (j: number) => 1e-6 + 2 * (n + 3) * U * sqMean[j];
          compare(`${label} mean`, mn, mr, (j) => tolMean(j));
          compare(`${label} var`, vn, vr, (j) => tolVar(j));
          const relInv = (j: number) => (0.5 * tolVar(j)) / (vr[j] + eps) + 4 * U;
          compare(`${label} invstd`, isn, isr, (j, ref) => 1e-6 + Math.abs(ref) * relInv(j));
          compare(`${label} out`, on, or, (i, ref) => {
            const j = i % c;
            const gj = gamma ? Math.abs(gamma[j]) : 1;
            const bj = beta ? beta[j] : 0;
            return 1e-5 + 1e-5 * Math.abs(ref) + gj * isr[j] * tolMean(j) + Math.abs(ref - bj) * (relInv(j) + 4 * U);
          });
        }
      }
    }
  });

  it('a constant column (zero variance) normalises to beta, not NaN', () => {
    const n = 50;
    const c = 3;
    const x = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      x[i * c] = 0.1; // constant and not a power of two: its float32 mean may differ from it by an ulp
      x[i * c + 1] = -7;
      x[i * c + 2] = i % 2;
    }
    const gamma = Float32Array.of(2, 1, 1);
    const beta = Float32Array.of(0.5, -1, 0);
    for (const correction of [0, 1]) {
      const on = new Float32Array(n * c);
      const mn = new Float32Array(c);
      const vn = new Float32Array(c);
      const isn = new Float32Array(c);
      const or = new Float64Array(n * c);
      const mr = new Float64Array(c);
      const vr = new Float64Array(c);
      const isr = new Float64Array(c);
      N().batchNormForward(x, n, c, gamma, beta, 1e-5, correction, true, on, mn, vn, isn);
      R.batchNormForward(f64(x), n, c, f64(gamma), f64(beta), 1e-5, correction, true, or, mr, vr, isr);
      const label = `batchNormForward constant columns correction ${correction}`;
      compare(`${label} mean`, mn, mr, elemTol);
      compare(`${label} var`, vn, vr, (_j, ref) => 1e-6 + 1e-5 * Math.abs(ref));
      // invstd = 1/sqrt(var + eps) ~ 316 for var ~ 0: one float32 ulp of error in the mean (0.1)
      // becomes ~2e-6 in the output after scaling by gamma·invstd.
      compare(`${label} out`, on, or, (i, ref) => 1e-5 + 1e-5 * Math.abs(ref) + Math.abs(gamma[i % c]) * isr[i % c] * 4 * U * Math.abs(x[i]));
    }
  });

  it('eval mode: uses the given running statistics and leaves them unchanged', () => {
    const g = rng();
    for (const [n, c] of [...shapes, [1, 5], [0, 4]] as const) {
      const x = randn(n * c, g, 2, 1);
      const mean = randn(c, g);
      const variance = uniform(c, g, 0.1, 4);
      const { gamma, beta } = affine(c, g, true);
      const on = new Float32Array(n * c);
      const or = new Float64Array(n * c);
      const mn = Float32Array.from(mean);
      const vn = Float32Array.from(variance);
      const isn = new Float32Array(c);
      const isr = new Float64Array(c);
      N().batchNormForward(x, n, c, gamma, beta, 1e-5, 1, false, on, mn, vn, isn);
      R.batchNormForward(f64(x), n, c, f64(gamma!), f64(beta!), 1e-5, 1, false, or, f64(mean), f64(variance), isr);
      const label = `batchNormForward eval [${n}, ${c}]`;
      compare(`${label} running mean untouched`, mn, mean, exact);
      compare(`${label} running var untouched`, vn, variance, exact);
      compare(`${label} invstd`, isn, isr, elemTol);
      compare(`${label} out`, on, or, (i, ref) => 1e-5 + 1e-5 * Math.abs(ref) + 8 * U * (Math.abs(ref) + Math.abs(beta![i % c])));
    }
  });

  it('backward: dx, dgamma, dbeta, each optional, both corrections', () => {
    const g = rng();
    for (const [n, c] of shapes) {
      for (const correction of [0, 1]) {
        for (const withGamma of [true, false]) {
          const x = randn(n * c, g, 2, 0.5);
          const dy = randn(n * c, g);
          const gamma = withGamma ? randn(c, g, 0.5, 1) : null;
          // Saved statistics as the forward pass would have stored them in float32.
          const mean = new Float32Array(c);
          const invstd = new Float32Array(c);
          R.batchNormForward(f64(x), n, c, null, null, 1e-5, correction, true, new Float64Array(n * c), mean, new Float32Array(c), invstd);

          const dxn = new Float32Array(n * c);
          const dgn = new Float32Array(c);
          const dbn = new Float32Array(c);
          const dxr = new Float64Array(n * c);
          const dgr = new Float64Array(c);
          const dbr = new Float64Array(c);
          N().batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, dxn, dgn, dbn);
          R.batchNormBackward(f64(x), f64(dy), n, c, f64(mean), f64(invstd), gamma && f64(gamma), correction, dxr, dgr, dbr);

          const label = `batchNormBackward [${n}, ${c}] correction ${correction} gamma ${withGamma}`;
          const magDy = new Float64Array(c);
          const magDyXhat = new Float64Array(c);
          for (let i = 0; i < n * c; i++) {
            const j = i % c;
            magDy[j] += Math.abs(dy[i]);
            magDyXhat[j] += Math.abs(dy[i] * (x[i] - mean[j]) * invstd[j]);
          }
          const tolBeta = (j: number) => 1e-6 + 2 * (n + 1) * U * magDy[j];
          const tolGamma = (j: number) => 1e-6 + 2 * (n + 4) * U * magDyXhat[j];
          compare(`${label} dbeta`, dbn, dbr, (j, ref) => tolBeta(j) + 1e-5 * Math.abs(ref));
          compare(`${label} dgamma`, dgn, dgr, (j, ref) => tolGamma(j) + 1e-5 * Math.abs(ref));
          compare(`${label} dx`, dxn, dxr, (i, ref) => {
            const j = i % c;
            const k = (Math.abs(gamma ? gamma[j] : 1) * invstd[j]) / n;
            const xhat = Math.abs((x[i] - mean[j]) * invstd[j]);
            const bessel = n / (n - correction);
            const inner = n * Math.abs(dy[i]) + magDy[j] + bessel * xhat * magDyXhat[j];
            return 1e-5 + 1e-5 * Math.abs(ref) + k * (tolBeta(j) + bessel * xhat * tolGamma(j) + 8 * U * inner);
          });

          // Requesting only some gradients writes the same values and nothing else.
          const onlyDx = new Float32Array(n * c);
          N().batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, onlyDx, null, null);
          compare(`${label} dx alone`, onlyDx, dxn, exact);
          const onlyDb = new Float32Array(c);
          N().batchNormBackward(x, dy, n, c, mean, invstd, gamma, correction, null, null, onlyDb);
          compare(`${label} dbeta alone`, onlyDb, dbn, exact);
        }
      }
    }
  });
});

describe('batch norm eps as torch.nn.functional.batch_norm takes it', () => {
  // PyTorch 2.15: training needs eps > 0 ("batch_norm eps must be positive during training"),
  // eval mode accepts eps = 0 and refuses a negative one.
  const f = (n: number, v = 0) => new Float32Array(n).fill(v);
  const x = Float32Array.from([1, 2, 3, 4, 5, 7]); // [3, 2]

  it('both kernels refuse eps = 0 when training and agree in eval mode with eps = 0', () => {
    for (const be of [N(), R]) {
      expect(() => be.batchNormForward(x, 3, 2, null, null, 0, 0, true, f(6), f(2), f(2), f(2)), be.name)
        .toThrow(/^batchNormForward: eps must be a finite number > 0 when training, got 0$/);
      expect(() => be.batchNormForward(x, 3, 2, null, null, -1e-3, 0, false, f(6), f(2), f(2, 1), f(2)), be.name)
        .toThrow(/^batchNormForward: eps must be a finite number >= 0, got -0.001$/);
      expect(() => be.batchNormForward(x, 3, 2, null, null, NaN, 0, false, f(6), f(2), f(2, 1), f(2)), be.name)
        .toThrow(/^batchNormForward: eps must be a finite number >= 0, got NaN$/);
    }
    const run = (be: Backend) => {
      const [out, mean, variance, invstd] = [f(6), Float32Array.of(3, 4), Float32Array.of(4, 2.25), f(2)];
      be.batchNormForward(x, 3, 2, null, null, 0, 0, false, out, mean, variance, invstd);
      return { out, invstd };
    };
    const [a, b] = [run(N()), run(R)];
    compare('eval eps 0 invstd', a.invstd, b.invstd, exact);
    expect(Array.from(b.invstd)).toEqual([0.5, 1 / 1.5].map(Math.fround));
    compare('eval eps 0 out', a.out, b.out, elemTol);
  });

  it('F.batchNorm follows the same rule on both backends', () => {
    for (const name of ['native', 'reference'] as const) {
      withBackend(name, () => {
        const t = tensor([[1, 2], [3, 4], [5, 7]]);
        expect(() => F.batchNorm(t, { eps: 0 })).toThrow(/^batchNorm: eps must be a finite number > 0 when training, got 0$/);
        expect(() => F.batchNorm(t, { eps: -1, training: false, runningMean: zeros([2]), runningVar: ones([2]) }))
          .toThrow(/^batchNorm: eps must be a finite number >= 0, got -1$/);
        const y = F.batchNorm(t, { eps: 0, training: false, runningMean: tensor([3, 4]), runningVar: tensor([4, 2.25]) });
        expect(Array.from(y.flat() as Float32Array)).toEqual([-1, -4 / 3, 0, 0, 1, 2].map(Math.fround));
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Conv1d.

describe('conv1dForward and conv1dBackward', () => {
  interface Conv { batch: number; cin: number; tin: number; cout: number; k: number; dilation: number; padLeft: number }
  const causal = (c: Omit<Conv, 'padLeft'>): Conv => ({ ...c, padLeft: c.dilation * (c.k - 1) });
  const configs: Conv[] = [
    causal({ batch: 1, cin: 1, tin: 1, cout: 1, k: 1, dilation: 1 }),
    causal({ batch: 1, cin: 1, tin: 4, cout: 1, k: 2, dilation: 1 }),
    causal({ batch: 2, cin: 3, tin: 8, cout: 4, k: 2, dilation: 2 }),
    causal({ batch: 4, cin: 7, tin: 17, cout: 9, k: 3, dilation: 1 }),
    causal({ batch: 3, cin: 16, tin: 33, cout: 15, k: 2, dilation: 4 }),
    causal({ batch: 2, cin: 8, tin: 65, cout: 17, k: 5, dilation: 3 }),
    causal({ batch: 0, cin: 3, tin: 8, cout: 4, k: 2, dilation: 1 }),
    causal({ batch: 2, cin: 3, tin: 0, cout: 4, k: 2, dilation: 1 }),
    causal({ batch: 2, cin: 0, tin: 5, cout: 4, k: 2, dilation: 1 }),
    causal({ batch: 2, cin: 3, tin: 5, cout: 0, k: 2, dilation: 1 }),
    { batch: 2, cin: 3, tin: 9, cout: 4, k: 3, dilation: 1, padLeft: 0 }, // valid convolution
    { batch: 2, cin: 5, tin: 31, cout: 6, k: 4, dilation: 2, padLeft: 1 },
    { batch: 1, cin: 2, tin: 1, cout: 2, k: 2, dilation: 1, padLeft: 0 }, // tout = 0
    { batch: 3, cin: 4, tin: 16, cout: 5, k: 2, dilation: 8, padLeft: 0 }, // tout = 8
  ];
  const large = causal({ batch: 32, cin: 24, tin: 64, cout: 32, k: 2, dilation: 4 });

  function run(c: Conv, g: Rng, withBias: boolean, integer: boolean) {
    const { batch, cin, tin, cout, k, dilation, padLeft } = c;
    const tout = tin + padLeft - dilation * (k - 1);
    const gen = (len: number) => (integer ? ints(len, g, -4, 5) : randn(len, g));
    const x = gen(batch * cin * tin);
    const w = gen(cout * cin * k);
    const bias = withBias ? gen(cout) : null;
    const label = `conv1d batch=${batch} cin=${cin} tin=${tin} cout=${cout} k=${k} dilation=${dilation} padLeft=${padLeft}` +
      ` bias=${withBias}${integer ? ' (integers)' : ''}`;

    const on = new Float32Array(batch * cout * tout);
    const or = new Float64Array(batch * cout * tout);
    N().conv1dForward(x, batch, cin, tin, w, cout, k, dilation, padLeft, bias, on, tout);
    R.conv1dForward(f64(x), batch, cin, tin, f64(w), cout, k, dilation, padLeft, bias && f64(bias), or, tout);
    const mag = new Float64Array(or.length);
    R.conv1dForward(abs64(x), batch, cin, tin, abs64(w), cout, k, dilation, padLeft, bias && abs64(bias), mag, tout);
    compare(`${label} forward`, on, or, integer ? exact : sumTol(mag, cin * k + 1));

    const dy = gen(batch * cout * tout);
    const dxn = new Float32Array(x.length);
    const dwn = new Float32Array(w.length);
    const dxr = new Float64Array(x.length);
    const dwr = new Float64Array(w.length);
    N().conv1dBackward(x, batch, cin, tin, w, cout, k, dilation, padLeft, dy, tout, dxn, dwn);
    R.conv1dBackward(f64(x), batch, cin, tin, f64(w), cout, k, dilation, padLeft, f64(dy), tout, dxr, dwr);
    const dxMag = new Float64Array(x.length);
    const dwMag = new Float64Array(w.length);
    R.conv1dBackward(abs64(x), batch, cin, tin, abs64(w), cout, k, dilation, padLeft, abs64(dy), tout, dxMag, dwMag);
    compare(`${label} dx`, dxn, dxr, integer ? exact : sumTol(dxMag, cout * k));
    compare(`${label} dw`, dwn, dwr, integer ? exact : sumTol(dwMag, batch * tout));

    // Each gradient alone (the other null) gives the same values.
    const dxAlone = new Float32Array(x.length);
    N().conv1dBackward(x, batch, cin, tin, w, cout, k, dilation, padLeft, dy, tout, dxAlone, null);
    compare(`${label} dx alone`, dxAlone, dxn, exact);
    const dwAlone = new Float32Array(w.length);
    N().conv1dBackward(x, batch, cin, tin, w, cout, k, dilation, padLeft, dy, tout, null, dwAlone);
    compare(`${label} dw alone`, dwAlone, dwn, exact);
  }

  it('forward and backward over edge configurations, with and without bias', () => {
    const g = rng();
    for (const c of configs) for (const withBias of [true, false]) run(c, g, withBias, false);
  });

  it('integer data gives exactly the reference results', () => {
    const g = rng();
    for (const c of [...configs, large]) run(c, g, true, true);
  });

  it('large: batch 32, 24 -> 32 channels, 64 steps, k 2, dilation 4', () => {
    run(large, rng(), true, false);
  });
});

// ---------------------------------------------------------------------------------------------
// Threads and argument checking.

describe('native thread count', () => {
  it('results are bit-identical with 1 and 4 threads', () => {
    const nb = N();
    const saved = nb.getNumThreads();
    const g = rng();
    const x = randn(1_000_000, g);
    const a = randn(256 * 300, g);
    const b = randn(300 * 200, g);
    const logits = randn(4096 * 27, g, 3);
    const targets = indices(4096, g, 27);
    const cx = randn(32 * 24 * 64, g);
    const cw = randn(32 * 24 * 2, g);
    const cdy = randn(32 * 32 * 64, g);
    const runAll = () => {
      const sum = new Float32Array(1);
      nb.sum(x, 1, x.length, 1, sum);
      const cols = new Float32Array(1000);
      nb.sum(x, 1, 1000, 1000, cols);
      const mm = new Float32Array(256 * 200);
      nb.matmul(a, 0, 0, false, b, 0, 0, false, mm, 1, 256, 300, 200);
      const probs = new Float32Array(logits.length);
      const loss = nb.crossEntropyForward(logits, 4096, 27, targets, -100, probs);
      const mean = new Float32Array(1000);
      const variance = new Float32Array(1000);
      const invstd = new Float32Array(1000);
      const bn = new Float32Array(x.length);
      nb.batchNormForward(x, 1000, 1000, null, null, 1e-5, 1, true, bn, mean, variance, invstd);
      const dw = new Float32Array(cw.length);
      nb.conv1dBackward(cx, 32, 24, 64, cw, 32, 2, 4, 4, cdy, 64, null, dw);
      const emb = new Float32Array(27 * 1000);
      nb.indexAdd(x.subarray(0, 100_000 * 10), 10, indices(100_000, new Rng(5), 2700), emb);
      return [sum, cols, mm, probs, Float32Array.of(loss), mean, variance, bn, dw, emb];
    };
    try {
      nb.setNumThreads(1);
      expect(nb.getNumThreads()).toBe(1);
      const one = runAll();
      nb.setNumThreads(4);
      expect(nb.getNumThreads()).toBe(4);
      const four = runAll();
      one.forEach((arr, i) => compare(`thread-count determinism, result ${i}`, four[i], arr, exact));
    } finally {
      nb.setNumThreads(saved);
    }
  });
});

describe('both backends refuse out-of-bounds arguments', () => {
  const f = (n: number) => new Float32Array(n);
  const badCalls: [string, (b: Backend) => void][] = [
    ['copy src too short', (b) => b.copy(f(5), 0, [3, 1], f(6), 0, [3, 1], [2, 3])],
    ['copy dst too short', (b) => b.copy(f(6), 0, [3, 1], f(5), 0, [3, 1], [2, 3])],
    ['unary length mismatch', (b) => b.unary(UnaryOp.Exp, f(3), f(4))],
    ['unaryBackward length mismatch', (b) => b.unaryBackward(UnaryOp.Tanh, f(3), f(3), f(2), f(3))],
    ['binary b view past the end', (b) => b.binary(BinaryOp.Add, f(6), 0, [3, 1], f(3), 1, [0, 1], f(6), [2, 3])],
    ['binary out wrong length', (b) => b.binary(BinaryOp.Add, f(6), 0, [3, 1], f(3), 0, [0, 1], f(5), [2, 3])],
    ['binaryScalar length mismatch', (b) => b.binaryScalar(BinaryOp.Mul, f(3), 2, false, f(2))],
    ['binaryInplace a view past the end', (b) => b.binaryInplace(BinaryOp.Add, f(5), 0, [3, 1], f(3), 0, [0, 1], [2, 3])],
    ['axpy length mismatch', (b) => b.axpy(1, f(3), f(4))],
    ['sum x wrong length', (b) => b.sum(f(10), 2, 3, 2, f(4))],
    ['reduceArg idx wrong length', (b) => b.reduceArg(ReduceOp.Max, f(12), 2, 3, 2, f(4), new Int32Array(3))],
    ['matmul a too short', (b) => b.matmul(f(5), 0, 0, false, f(6), 0, 0, false, f(4), 1, 2, 3, 2)],
    ['matmul b batch past the end', (b) => b.matmul(f(12), 0, 6, false, f(6), 0, 6, false, f(8), 2, 2, 3, 2)],
    ['matmul out too short', (b) => b.matmul(f(6), 0, 0, false, f(6), 0, 0, false, f(3), 1, 2, 3, 2)],
    ['indexSelect index = numRows', (b) => b.indexSelect(f(27 * 2), 2, Int32Array.of(0, 27), f(4))],
    ['indexSelect negative index', (b) => b.indexSelect(f(27 * 2), 2, Int32Array.of(-1), f(2))],
    ['indexAdd index out of range', (b) => b.indexAdd(f(2), 2, Int32Array.of(3), f(6))],
    ['putAdd index out of range', (b) => b.putAdd(f(1), Int32Array.of(-2), f(4))],
    ['softmax wrong length', (b) => b.softmax(f(5), 2, 3, false, f(6))],
    ['crossEntropyForward target = cols', (b) => b.crossEntropyForward(f(6), 2, 3, Int32Array.of(0, 3), -100, f(6))],
    ['crossEntropyBackward targets wrong length', (b) => b.crossEntropyBackward(f(6), 2, 3, Int32Array.of(0), -100, 1, f(6))],
    ['batchNormForward gamma wrong length', (b) => b.batchNormForward(f(6), 3, 2, f(3), null, 1e-5, 1, true, f(6), f(2), f(2), f(2))],
    ['batchNormBackward dx wrong length', (b) => b.batchNormBackward(f(6), f(6), 3, 2, f(2), f(2), null, 1, f(5), null, null)],
    ['conv1dForward w wrong length', (b) => b.conv1dForward(f(8), 1, 2, 4, f(5), 1, 3, 1, 2, null, f(4), 4)],
    ['conv1dForward tout inconsistent', (b) => b.conv1dForward(f(8), 1, 2, 4, f(6), 1, 3, 1, 2, null, f(5), 5)],
    ['conv1dBackward dy wrong length', (b) => b.conv1dBackward(f(8), 1, 2, 4, f(6), 1, 3, 1, 2, f(3), 4, f(8), f(6))],
  ];

  it.each(badCalls)('%s', (_label, call) => {
    expect(() => call(R)).toThrow(Error);
    const nb = N();
    expect(() => call(nb)).toThrow(Error);
    // The addon is still usable after refusing a call.
    const out = new Float32Array(3);
    nb.unary(UnaryOp.Neg, Float32Array.of(1, -2, 3), out);
    expect(Array.from(out)).toEqual([-1, 2, -3]);
  });
});

describe('where, whereBackward, gelu, geluBackward, reduceArgBackward', () => {
  it('where selects exactly over broadcasts, offsets and int32 or float conditions, and writes its mask', () => {
    const g = rng();
    for (const s of SIZES) {
      const shape = [3, s];
      // cond broadcast over rows ([1, s]), a a transposed view, b a broadcast column.
      const condF = uniform(s + 1, g, -1, 1).map((v, i) => (i % 3 === 0 ? 0 : v));
      const condI = Int32Array.from(condF, (v) => (v === 0 ? 0 : 7));
      const a = randn(3 * s + 2, g);
      const b = randn(3 + 1, g);
      for (const cond of [condF, condI]) {
        const args = [1, [0, 1], a, 2, [1, 3], b, 1, [1, 0]] as const;
        const on = new Float32Array(3 * s);
        const mn = new Float32Array(3 * s);
        const or = new Float64Array(3 * s);
        const mr = new Float64Array(3 * s);
        N().where(cond, args[0], [...args[1]], a, args[3], [...args[4]], b, args[6], [...args[7]], on, shape, mn);
        R.where(cond, args[0], [...args[1]], f64(a), args[3], [...args[4]], f64(b), args[6], [...args[7]], or, shape, mr);
        compare(`where ${cond.constructor.name} s=${s}`, on, or, exact);
        compare(`where mask s=${s}`, mn, mr, exact);
      }
    }
    // NaN conditions are true; an unselected -Infinity or NaN does not leak.
    const out = new Float32Array(3);
    N().where(Float32Array.of(NaN, 0, 1), 0, [1], Float32Array.of(1, -Infinity, 3), 0, [1], Float32Array.of(NaN, 5, NaN), 0, [1], out, [3], null);
    expect(Array.from(out)).toEqual([1, 5, 3]);
  });

  it('whereBackward splits the gradient exactly, with either output absent', () => {
    const g = rng();
    for (const n of [...SIZES, 100_000]) {
      const mask = ints(n, g, 0, 2);
      const dy = randn(n, g);
      const [na, nb] = [new Float32Array(n), new Float32Array(n)];
      const [ra, rb] = [new Float64Array(n), new Float64Array(n)];
      N().whereBackward(mask, dy, na, nb);
      R.whereBackward(f64(mask), f64(dy), ra, rb);
      compare(`whereBackward ga n=${n}`, na, ra, exact);
      compare(`whereBackward gb n=${n}`, nb, rb, exact);
      const only = new Float32Array(n);
      N().whereBackward(mask, dy, null, only);
      compare(`whereBackward gb alone n=${n}`, only, rb, exact);
    }
  });

  it('gelu and geluBackward (exact and tanh) are the reference rounded once, at every edge size and over a wide range', () => {
    const g = rng();
    for (const tanh of [false, true]) {
      for (const n of [...SIZES, 50_000]) {
        const x = randn(n, g, 3);
        if (n > 4) x.set([0, -0, 12, -12]);
        const dy = randn(n, g);
        const [yn, dn] = [new Float32Array(n), new Float32Array(n)];
        const [yr, dr] = [new Float64Array(n), new Float64Array(n)];
        N().gelu(x, tanh, yn);
        R.gelu(f64(x), tanh, yr);
        N().geluBackward(x, dy, tanh, dn);
        R.geluBackward(f64(x), f64(dy), tanh, dr);
        // One rounding to float32 of a float64 evaluation: within an ulp of the reference.
        const ulp: Tol = (_i, ref) => 1e-30 + 2 * U * Math.abs(ref);
        compare(`gelu tanh=${tanh} n=${n}`, yn, yr, ulp);
        compare(`geluBackward tanh=${tanh} n=${n}`, dn, dr, ulp);
      }
    }
  });

  it('reduceArgBackward routes each gradient to the winner of reduceArg and zeros the rest', () => {
    const g = rng();
    for (const [outer, n, inner] of [[1, 1, 1], [0, 3, 2], [2, 0, 0], [3, 7, 5], [4, 33, 1], [1, 9, 65], [64, 100, 16]] as const) {
      const x = randn(outer * n * inner, g);
      const vals = new Float32Array(outer * inner);
      const idx = new Int32Array(outer * inner);
      if (outer * inner > 0) N().reduceArg(ReduceOp.Max, x, outer, n, inner, vals, idx);
      const dy = randn(outer * inner, g);
      const dn = new Float32Array(outer * n * inner).fill(NaN);
      const dr = new Float64Array(outer * n * inner);
      N().reduceArgBackward(dy, outer, n, inner, idx, dn);
      R.reduceArgBackward(f64(dy), outer, n, inner, idx, dr);
      compare(`reduceArgBackward [${outer}, ${n}, ${inner}]`, dn, dr, exact);
    }
  });
});
