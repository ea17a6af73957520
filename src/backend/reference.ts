// The reference backend: every kernel as a plain loop over JS numbers (float64).
//
// This is the yardstick the native backend is tested against, and the backend float64 tensors run
// on. It favours being obviously right over being fast: each kernel is the doc comment of
// backend.ts written out as loops, accumulating in float64 and rounding only when a value is
// stored into the output array (a Float32Array rounds on store, a Float64Array keeps it).

import {
  BinaryOp,
  ReduceOp,
  UnaryOp,
  type AnyArray,
  type Backend,
  type FloatArray,
  type IndexArray,
} from './backend.js';
import { geluExact, geluExactGrad, geluTanh, geluTanhGrad } from './gelu-math.js';

// ---------------------------------------------------------------------------------------------
// Argument checks. The tensor layer validates first; these guard the kernels themselves, so a bad
// call becomes an Error that names the method and the values instead of an out-of-bounds read.

function fail(method: string, message: string): never {
  throw new Error(`${method}: ${message}`);
}

/** A count or size: a non-negative integer. */
function checkDim(method: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) fail(method, `${name} must be a non-negative integer, got ${v}`);
}

function checkLength(method: string, name: string, arr: ArrayLike<number>, expected: number, why: string): void {
  if (arr.length !== expected) {
    fail(method, `${name} has ${arr.length} elements but ${why} needs ${expected}`);
  }
}

function checkSameLength(method: string, names: string[], arrays: ArrayLike<number>[]): void {
  for (let i = 1; i < arrays.length; i++) {
    if (arrays[i].length !== arrays[0].length) {
      fail(method, `${names[0]} has ${arrays[0].length} elements but ${names[i]} has ${arrays[i].length}; they must match`);
    }
  }
}

function product(shape: number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

function checkShape(method: string, shape: number[]): void {
  for (let i = 0; i < shape.length; i++) checkDim(method, `shape[${i}]`, shape[i]);
}

/** Checks that every element a strided view touches lies inside `arr`. Strides may be negative
 *  or zero (broadcast); an empty shape touches nothing. */
function checkView(
  method: string, name: string, arr: ArrayLike<number>, off: number, strides: number[], shape: number[],
): void {
  if (strides.length !== shape.length) {
    fail(method, `${name} strides [${strides}] have rank ${strides.length} but shape [${shape}] has rank ${shape.length}`);
  }
  if (!Number.isInteger(off) || off < 0) fail(method, `${name} offset must be a non-negative integer, got ${off}`);
  for (let i = 0; i < strides.length; i++) {
    // Tensors never have negative strides (as in PyTorch); the native kernels refuse them too.
    if (!Number.isInteger(strides[i]) || strides[i] < 0) {
      fail(method, `${name} strides [${strides}] must be non-negative integers (stride ${i} is ${strides[i]})`);
    }
  }
  if (product(shape) === 0) return;
  let hi = off;
  for (let i = 0; i < shape.length; i++) hi += (shape[i] - 1) * strides[i];
  if (hi >= arr.length) {
    fail(
      method,
      `${name} view (offset ${off}, strides [${strides}], shape [${shape}]) reaches element ${hi} ` +
        `but ${name} has ${arr.length} elements`,
    );
  }
}

type Named = [name: string, arr: ArrayLike<number> | null];

function byteRange(arr: ArrayBufferView): [number, number] {
  return [arr.byteOffset, arr.byteOffset + arr.byteLength];
}

/** Every output must share no memory with any other argument (inputs or other outputs), exactly
 *  as the native kernels require: an in-place call that happens to work here would fail there. */
function checkNoAlias(method: string, inputs: Named[], outputs: Named[]): void {
  const overlaps = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
    const va = a as unknown as ArrayBufferView;
    const vb = b as unknown as ArrayBufferView;
    if (va.buffer !== vb.buffer) return false;
    const [a0, a1] = byteRange(va);
    const [b0, b1] = byteRange(vb);
    return a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1;
  };
  for (let i = 0; i < outputs.length; i++) {
    const [oName, o] = outputs[i];
    if (o === null) continue;
    for (const [name, other] of [...inputs, ...outputs.slice(i + 1)]) {
      if (other !== null && overlaps(o, other)) {
        fail(method, `${oName} and ${name} share memory; the output must be a distinct array`);
      }
    }
  }
}

function checkIndex(method: string, what: string, i: number, idx: number, size: number, sizeName: string): void {
  if (idx < 0 || idx >= size) fail(method, `${what} ${idx} (at position ${i}) is out of range for ${size} ${sizeName}`);
}

// ---------------------------------------------------------------------------------------------
// Strided iteration: calls visit(aPos, bPos) for every multi-index of `shape` in row-major order,
// where aPos/bPos are the element positions in two views. `out` positions are the visit count.

function forEachStrided(
  shape: number[],
  aOff: number, aStrides: number[],
  bOff: number, bStrides: number[],
  visit: (aPos: number, bPos: number, flat: number) => void,
): void {
  const total = product(shape);
  if (total === 0) return;
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  let aPos = aOff;
  let bPos = bOff;
  for (let flat = 0; flat < total; flat++) {
    visit(aPos, bPos, flat);
    // Odometer increment from the last axis, rewinding any axis that wraps.
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]++;
      aPos += aStrides[d];
      bPos += bStrides[d];
      if (counter[d] < shape[d]) break;
      aPos -= shape[d] * aStrides[d];
      bPos -= shape[d] * bStrides[d];
      counter[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar semantics, shared by the elementwise kernels.

/** torch.sign semantics except that NaN stays NaN (a NaN input should not be hidden as 0). */
function sign(x: number): number {
  if (x > 0) return 1;
  if (x < 0) return -1;
  return x === 0 ? 0 : NaN;
}

/** C's pow (what torch uses), which differs from Math.pow on two corners: pow(1, y) = 1 for every
 *  y including NaN, and pow(-1, ±Infinity) = 1. */
function cPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

function unaryFn(op: UnaryOp, method: string): (x: number) => number {
  switch (op) {
    case UnaryOp.Neg: return (x) => -x;
    case UnaryOp.Exp: return Math.exp;
    case UnaryOp.Log: return Math.log;
    case UnaryOp.Tanh: return Math.tanh;
    // As torch.relu (clamp_min(x, 0)): negatives become 0; ±0 and NaN stay as they are.
    case UnaryOp.Relu: return (x) => (x < 0 ? 0 : x);
    case UnaryOp.Sqrt: return Math.sqrt;
    case UnaryOp.Abs: return Math.abs;
    case UnaryOp.Sigmoid: return (x) => 1 / (1 + Math.exp(-x));
    case UnaryOp.Square: return (x) => x * x;
    case UnaryOp.Sign: return sign;
    default: return fail(method, `unknown unary op ${op as number}`);
  }
}

function unaryGradFn(op: UnaryOp, method: string): (x: number, y: number, dy: number) => number {
  switch (op) {
    case UnaryOp.Neg: return (_x, _y, dy) => -dy;
    case UnaryOp.Exp: return (_x, y, dy) => dy * y;
    case UnaryOp.Log: return (x, _y, dy) => dy / x;
    case UnaryOp.Tanh: return (_x, y, dy) => dy * (1 - y * y);
    case UnaryOp.Relu: return (x, _y, dy) => (x > 0 ? dy : 0);
    case UnaryOp.Sqrt: return (_x, y, dy) => (dy * 0.5) / y;
    case UnaryOp.Abs: return (x, _y, dy) => dy * sign(x);
    case UnaryOp.Sigmoid: return (_x, y, dy) => dy * y * (1 - y);
    case UnaryOp.Square: return (x, _y, dy) => 2 * x * dy;
    case UnaryOp.Sign: return () => 0;
    default: return fail(method, `unknown unary op ${op as number}`);
  }
}

function binaryFn(op: BinaryOp, method: string): (a: number, b: number) => number {
  switch (op) {
    case BinaryOp.Add: return (a, b) => a + b;
    case BinaryOp.Sub: return (a, b) => a - b;
    case BinaryOp.Mul: return (a, b) => a * b;
    case BinaryOp.Div: return (a, b) => a / b;
    case BinaryOp.Pow: return cPow;
    // NaN propagates, as torch.maximum; on a tie (-0 vs +0) the first operand wins, as in the
    // native kernel (torch's own choice differs between its scalar and vectorised loops).
    case BinaryOp.Max: return (a, b) => (a !== a || b !== b ? NaN : a >= b ? a : b);
    case BinaryOp.Min: return (a, b) => (a !== a || b !== b ? NaN : a <= b ? a : b);
    case BinaryOp.Eq: return (a, b) => (a === b ? 1 : 0);
    case BinaryOp.Ne: return (a, b) => (a !== b ? 1 : 0);
    case BinaryOp.Lt: return (a, b) => (a < b ? 1 : 0);
    case BinaryOp.Le: return (a, b) => (a <= b ? 1 : 0);
    case BinaryOp.Gt: return (a, b) => (a > b ? 1 : 0);
    case BinaryOp.Ge: return (a, b) => (a >= b ? 1 : 0);
    default: return fail(method, `unknown binary op ${op as number}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels.

function copy(
  src: AnyArray, srcOff: number, srcStrides: number[],
  dst: AnyArray, dstOff: number, dstStrides: number[],
  shape: number[],
): void {
  const m = 'copy';
  checkShape(m, shape);
  checkView(m, 'src', src, srcOff, srcStrides, shape);
  checkView(m, 'dst', dst, dstOff, dstStrides, shape);
  checkNoAlias(m, [['src', src]], [['dst', dst]]);
  forEachStrided(shape, srcOff, srcStrides, dstOff, dstStrides, (s, d) => {
    dst[d] = src[s];
  });
}

function unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
  const m = 'unary';
  const f = unaryFn(op, m);
  checkSameLength(m, ['x', 'out'], [x, out]);
  checkNoAlias(m, [['x', x]], [['out', out]]);
  for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
}

function unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, dy: FloatArray, dx: FloatArray): void {
  const m = 'unaryBackward';
  const g = unaryGradFn(op, m);
  checkSameLength(m, ['x', 'y', 'dy', 'dx'], [x, y, dy, dx]);
  checkNoAlias(m, [['x', x], ['y', y], ['dy', dy]], [['dx', dx]]);
  for (let i = 0; i < dx.length; i++) dx[i] = g(x[i], y[i], dy[i]);
}

function binary(
  op: BinaryOp,
  a: FloatArray, aOff: number, aStrides: number[],
  b: FloatArray, bOff: number, bStrides: number[],
  out: FloatArray, shape: number[],
): void {
  const m = 'binary';
  const f = binaryFn(op, m);
  checkShape(m, shape);
  checkView(m, 'a', a, aOff, aStrides, shape);
  checkView(m, 'b', b, bOff, bStrides, shape);
  checkLength(m, 'out', out, product(shape), `shape [${shape}]`);
  checkNoAlias(m, [['a', a], ['b', b]], [['out', out]]);
  forEachStrided(shape, aOff, aStrides, bOff, bStrides, (ia, ib, flat) => {
    out[flat] = f(a[ia], b[ib]);
  });
}

function binaryScalar(op: BinaryOp, x: FloatArray, s: number, reversed: boolean, out: FloatArray): void {
  const m = 'binaryScalar';
  const f = binaryFn(op, m);
  checkSameLength(m, ['x', 'out'], [x, out]);
  checkNoAlias(m, [['x', x]], [['out', out]]);
  if (reversed) for (let i = 0; i < out.length; i++) out[i] = f(s, x[i]);
  else for (let i = 0; i < out.length; i++) out[i] = f(x[i], s);
}

function binaryInplace(
  op: BinaryOp,
  a: FloatArray, aOff: number, aStrides: number[],
  b: FloatArray, bOff: number, bStrides: number[],
  shape: number[],
): void {
  const m = 'binaryInplace';
  const f = binaryFn(op, m);
  checkShape(m, shape);
  checkView(m, 'a', a, aOff, aStrides, shape);
  checkView(m, 'b', b, bOff, bStrides, shape);
  checkNoAlias(m, [['b', b]], [['a', a]]);
  forEachStrided(shape, aOff, aStrides, bOff, bStrides, (ia, ib) => {
    a[ia] = f(a[ia], b[ib]);
  });
}

function scalarInplace(op: BinaryOp, a: FloatArray, s: number): void {
  const f = binaryFn(op, 'scalarInplace');
  for (let i = 0; i < a.length; i++) a[i] = f(a[i], s);
}

function axpy(alpha: number, x: FloatArray, y: FloatArray): void {
  checkSameLength('axpy', ['x', 'y'], [x, y]);
  checkNoAlias('axpy', [['x', x]], [['y', y]]);
  for (let i = 0; i < y.length; i++) y[i] += alpha * x[i];
}

/** Rounding to the precision of `a`'s elements, after every operation of the optimizer steps. */
function roundingOf(a: FloatArray): (x: number) => number {
  return a instanceof Float32Array ? Math.fround : (x: number) => x;
}

function adamStep(
  param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, maxExpAvgSq: FloatArray | null,
  decay: number, l2: number, weight: number, beta2: number, oneMinusBeta2: number,
  negStepSize: number, bc2Sqrt: number, eps: number, maximize: boolean,
): void {
  const named: Named[] = [['grad', grad], ['expAvg', expAvg], ['expAvgSq', expAvgSq]];
  if (maxExpAvgSq !== null) named.push(['maxExpAvgSq', maxExpAvgSq]);
  checkSameLength('adamStep', ['param', ...named.map(([n]) => n)], [param, ...named.map(([, a]) => a as FloatArray)]);
  checkNoAlias('adamStep', [['grad', grad]], [['param', param], ...named.slice(1)]);
  const r = roundingOf(param);
  const P = param, G = grad, M = expAvg, V = expAvgSq, Vmax = maxExpAvgSq;
  const lerpLow = Math.abs(weight) < 0.5;
  const oneMinusWeight = r(1 - weight);
  // A JS double holds the exact product of two float32 numbers, so r(a + b·c) is the fused
  // multiply-add (up to a rare double rounding, which the native kernel reproduces).
  for (let i = 0; i < P.length; i++) {
    let g = maximize ? -G[i] : G[i];
    if (decay !== 1) P[i] = r(P[i] * decay);
    if (l2 !== 0) g = r(g + l2 * P[i]);
    const diff = r(g - M[i]);
    const m = lerpLow ? r(M[i] + weight * diff) : r(g - diff * oneMinusWeight);
    M[i] = m;
    const v = r(r(V[i] * beta2) + r(oneMinusBeta2 * g) * g);
    V[i] = v;
    let used = v;
    if (Vmax !== null) {
      const prev = Vmax[i];
      used = prev > v || Number.isNaN(prev) ? prev : v;
      Vmax[i] = used;
    }
    const denom = r(r(r(Math.sqrt(used)) / bc2Sqrt) + eps);
    P[i] = r(P[i] + r(r(negStepSize * m) / denom));
  }
}

function sgdStep(
  param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray | null, first: boolean,
  negLr: number, weightDecay: number, momentum: number, keep: number,
  nesterov: boolean, maximize: boolean, fused: boolean,
): void {
  const bufs: Named[] = momentumBuffer === null ? [] : [['momentumBuffer', momentumBuffer]];
  checkSameLength('sgdStep', ['param', 'grad', ...bufs.map(([n]) => n)], [param, grad, ...bufs.map(([, a]) => a as FloatArray)]);
  checkNoAlias('sgdStep', [['grad', grad]], [['param', param], ...bufs]);
  const r = roundingOf(param);
  const madd = fused ? (a: number, b: number, c: number) => r(a + b * c) : (a: number, b: number, c: number) => r(a + r(b * c));
  const P = param, G = grad, B = momentumBuffer;
  for (let i = 0; i < P.length; i++) {
    let g = maximize ? -G[i] : G[i];
    if (weightDecay !== 0) g = madd(g, weightDecay, P[i]);
    if (B !== null) {
      B[i] = first ? g : madd(r(B[i] * momentum), keep, g);
      g = nesterov ? madd(g, momentum, B[i]) : B[i];
    }
    P[i] = madd(P[i], negLr, g);
  }
}

function checkReduceShapes(
  m: string, x: FloatArray, outer: number, n: number, inner: number, out: ArrayLike<number>, outName: string,
): void {
  checkDim(m, 'outer', outer);
  checkDim(m, 'n', n);
  checkDim(m, 'inner', inner);
  checkLength(m, 'x', x, outer * n * inner, `[outer, n, inner] = [${outer}, ${n}, ${inner}]`);
  checkLength(m, outName, out, outer * inner, `[outer, inner] = [${outer}, ${inner}]`);
}

/** True when v should replace the running extreme `best`: strictly better, or the first NaN
 *  (torch.max/argmax treat NaN as the extreme and report where it first occurs). */
function beats(op: ReduceOp.Max | ReduceOp.Min, v: number, best: number): boolean {
  if (best !== best) return false;
  if (v !== v) return true;
  return op === ReduceOp.Max ? v > best : v < best;
}

function sum(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray): void {
  const m = 'sum';
  checkReduceShapes(m, x, outer, n, inner, out, 'out');
  checkNoAlias(m, [['x', x]], [['out', out]]);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let s = 0;
      for (let i = 0; i < n; i++) s += x[base + i * inner];
      out[o * inner + j] = s;
    }
  }
}

function reduceArg(
  op: ReduceOp.Max | ReduceOp.Min, x: FloatArray, outer: number, n: number, inner: number,
  out: FloatArray, outIdx: IndexArray,
): void {
  const m = 'reduceArg';
  if (op !== ReduceOp.Max && op !== ReduceOp.Min) fail(m, `op must be Max or Min, got ${op as number}`);
  checkReduceShapes(m, x, outer, n, inner, out, 'out');
  checkLength(m, 'outIdx', outIdx, outer * inner, `[outer, inner] = [${outer}, ${inner}]`);
  checkNoAlias(m, [['x', x]], [['out', out], ['outIdx', outIdx]]);
  if (n === 0 && outer * inner > 0) fail(m, `${ReduceOp[op]} over an empty axis (n = 0) has no identity`);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let best = x[base];
      let bestI = 0;
      for (let i = 1; i < n; i++) {
        const v = x[base + i * inner];
        if (beats(op, v, best)) {
          best = v;
          bestI = i;
        }
      }
      out[o * inner + j] = best;
      outIdx[o * inner + j] = bestI;
    }
  }
}

function reduceArgBackward(g: FloatArray, outer: number, n: number, inner: number, idx: IndexArray, dx: FloatArray): void {
  const m = 'reduceArgBackward';
  checkDim(m, 'outer', outer);
  checkDim(m, 'n', n);
  checkDim(m, 'inner', inner);
  checkLength(m, 'g', g, outer * inner, `[outer, inner] = [${outer}, ${inner}]`);
  checkLength(m, 'idx', idx, outer * inner, `[outer, inner] = [${outer}, ${inner}]`);
  checkLength(m, 'dx', dx, outer * n * inner, `[outer, n, inner] = [${outer}, ${n}, ${inner}]`);
  checkNoAlias(m, [['g', g], ['idx', idx]], [['dx', dx]]);
  for (let i = 0; i < idx.length; i++) checkIndex(m, 'idx', i, idx[i], n, 'positions along the axis');
  dx.fill(0);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) dx[(o * n + idx[o * inner + j]) * inner + j] = g[o * inner + j];
  }
}

function where(
  cond: FloatArray | IndexArray, condOff: number, condStrides: number[],
  a: FloatArray, aOff: number, aStrides: number[],
  b: FloatArray, bOff: number, bStrides: number[],
  out: FloatArray, shape: number[], mask: FloatArray | null,
): void {
  const m = 'where';
  checkShape(m, shape);
  checkView(m, 'cond', cond, condOff, condStrides, shape);
  checkView(m, 'a', a, aOff, aStrides, shape);
  checkView(m, 'b', b, bOff, bStrides, shape);
  const n = product(shape);
  checkLength(m, 'out', out, n, `shape [${shape}]`);
  if (mask !== null) checkLength(m, 'mask', mask, n, `shape [${shape}]`);
  checkNoAlias(m, [['cond', cond], ['a', a], ['b', b]], [['out', out], ['mask', mask]]);
  // The condition's positions first, then a's and b's (forEachStrided walks two views at once).
  const c = new Uint8Array(n);
  forEachStrided(shape, condOff, condStrides, 0, shape.map(() => 0), (ic, _ib, flat) => {
    c[flat] = cond[ic] !== 0 ? 1 : 0;
  });
  forEachStrided(shape, aOff, aStrides, bOff, bStrides, (ia, ib, flat) => {
    out[flat] = c[flat] !== 0 ? a[ia] : b[ib];
  });
  if (mask !== null) for (let i = 0; i < n; i++) mask[i] = c[i];
}

function whereBackward(mask: FloatArray, g: FloatArray, ga: FloatArray | null, gb: FloatArray | null): void {
  const m = 'whereBackward';
  const named: [string, FloatArray][] = [['mask', mask], ['g', g]];
  if (ga !== null) named.push(['ga', ga]);
  if (gb !== null) named.push(['gb', gb]);
  checkSameLength(m, named.map(([k]) => k), named.map(([, v]) => v));
  checkNoAlias(m, [['mask', mask], ['g', g]], [['ga', ga], ['gb', gb]]);
  for (let i = 0; i < g.length; i++) {
    const on = mask[i] !== 0;
    if (ga !== null) ga[i] = on ? g[i] : 0;
    if (gb !== null) gb[i] = on ? 0 : g[i];
  }
}

function gelu(x: FloatArray, tanh: boolean, out: FloatArray): void {
  const m = 'gelu';
  checkSameLength(m, ['x', 'out'], [x, out]);
  checkNoAlias(m, [['x', x]], [['out', out]]);
  const f = tanh ? geluTanh : geluExact;
  for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
}

function geluBackward(x: FloatArray, dy: FloatArray, tanh: boolean, dx: FloatArray): void {
  const m = 'geluBackward';
  checkSameLength(m, ['x', 'dy', 'dx'], [x, dy, dx]);
  checkNoAlias(m, [['x', x], ['dy', dy]], [['dx', dx]]);
  const df = tanh ? geluTanhGrad : geluExactGrad;
  for (let i = 0; i < dx.length; i++) dx[i] = dy[i] * df(x[i]);
}

/** A batch of contiguous row-major matrices of `stored` shape, the first at `off`, the next
 *  every `batchStride` elements (0: one matrix shared by the whole batch). */
function checkMatmulOperand(
  m: string, name: string, arr: FloatArray, off: number, batchStride: number, batch: number, stored: [number, number],
): void {
  checkDim(m, `${name}Off`, off);
  checkDim(m, `${name}BatchStride`, batchStride);
  const size = stored[0] * stored[1];
  if (batch === 0 || size === 0) return;
  const end = off + (batch - 1) * batchStride + size;
  if (end > arr.length) {
    const which = batch === 1 ? `one ${stored[0]}x${stored[1]} matrix` : `${batch} ${stored[0]}x${stored[1]} matrices ${batchStride} apart`;
    fail(m, `${name} has ${arr.length} elements but ${which} from offset ${off} need ${end}`);
  }
}

function matmul(
  a: FloatArray, aOff: number, aBatchStride: number, transA: boolean,
  b: FloatArray, bOff: number, bBatchStride: number, transB: boolean,
  out: FloatArray, batch: number, m: number, k: number, n: number,
): void {
  const meth = 'matmul';
  checkDim(meth, 'batch', batch);
  checkDim(meth, 'm', m);
  checkDim(meth, 'k', k);
  checkDim(meth, 'n', n);
  checkMatmulOperand(meth, 'a', a, aOff, aBatchStride, batch, transA ? [k, m] : [m, k]);
  checkMatmulOperand(meth, 'b', b, bOff, bBatchStride, batch, transB ? [n, k] : [k, n]);
  checkLength(meth, 'out', out, batch * m * n, `batch·m·n = ${batch}·${m}·${n}`);
  checkNoAlias(meth, [['a', a], ['b', b]], [['out', out]]);
  // Element (r, c) of op(A): A is m×k (stride k, 1) or, transposed, stored k×m (stride 1, m).
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  const bRow = transB ? 1 : n;
  const bCol = transB ? k : 1;
  for (let bi = 0; bi < batch; bi++) {
    const a0 = aOff + bi * aBatchStride;
    const b0 = bOff + bi * bBatchStride;
    const o0 = bi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[a0 + i * aRow + p * aCol] * b[b0 + p * bRow + j * bCol];
        // Overwrites: out's old contents (possibly NaN) must not leak in.
        out[o0 + i * n + j] = s;
      }
    }
  }
}

function checkRows(m: string, name: string, arr: FloatArray, rowSize: number): number {
  checkDim(m, 'rowSize', rowSize);
  if (rowSize === 0) {
    checkLength(m, name, arr, 0, 'rowSize 0');
    return 0;
  }
  if (arr.length % rowSize !== 0) {
    fail(m, `${name} has ${arr.length} elements, which is not a whole number of rows of ${rowSize}`);
  }
  return arr.length / rowSize;
}

function indexSelect(src: FloatArray, rowSize: number, idx: IndexArray, out: FloatArray): void {
  const m = 'indexSelect';
  const numRows = checkRows(m, 'src', src, rowSize);
  checkLength(m, 'out', out, idx.length * rowSize, `${idx.length} indices × rowSize ${rowSize}`);
  checkNoAlias(m, [['src', src], ['idx', idx]], [['out', out]]);
  if (rowSize === 0) return; // nothing is read; the rows have no elements to gather
  for (let i = 0; i < idx.length; i++) checkIndex(m, 'index', i, idx[i], numRows, 'rows');
  for (let i = 0; i < idx.length; i++) {
    const s = idx[i] * rowSize;
    for (let c = 0; c < rowSize; c++) out[i * rowSize + c] = src[s + c];
  }
}

function indexAdd(src: FloatArray, rowSize: number, idx: IndexArray, dst: FloatArray): void {
  const m = 'indexAdd';
  const numRows = checkRows(m, 'dst', dst, rowSize);
  checkLength(m, 'src', src, idx.length * rowSize, `${idx.length} indices × rowSize ${rowSize}`);
  checkNoAlias(m, [['src', src], ['idx', idx]], [['dst', dst]]);
  if (rowSize === 0) return;
  for (let i = 0; i < idx.length; i++) checkIndex(m, 'index', i, idx[i], numRows, 'rows');
  for (let i = 0; i < idx.length; i++) {
    const d = idx[i] * rowSize;
    for (let c = 0; c < rowSize; c++) dst[d + c] += src[i * rowSize + c];
  }
}

function putAdd(src: FloatArray, flatIdx: IndexArray, dst: FloatArray): void {
  const m = 'putAdd';
  checkSameLength(m, ['flatIdx', 'src'], [flatIdx, src]);
  checkNoAlias(m, [['src', src], ['flatIdx', flatIdx]], [['dst', dst]]);
  for (let i = 0; i < flatIdx.length; i++) checkIndex(m, 'index', i, flatIdx[i], dst.length, 'elements');
  for (let i = 0; i < flatIdx.length; i++) dst[flatIdx[i]] += src[i];
}

function checkMatrix(m: string, rows: number, cols: number, named: [string, ArrayLike<number>][]): void {
  checkDim(m, 'rows', rows);
  checkDim(m, 'cols', cols);
  for (const [name, arr] of named) checkLength(m, name, arr, rows * cols, `[rows, cols] = [${rows}, ${cols}]`);
}

/** max and log Σ exp(x - max) of one row: the stable pieces of softmax and log-softmax. */
function rowStats(x: FloatArray, start: number, cols: number): { max: number; logSum: number } {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) max = Math.max(max, x[start + c]);
  let sum = 0;
  for (let c = 0; c < cols; c++) sum += Math.exp(x[start + c] - max);
  return { max, logSum: Math.log(sum) };
}

function softmax(x: FloatArray, rows: number, cols: number, log: boolean, out: FloatArray): void {
  checkMatrix('softmax', rows, cols, [['x', x], ['out', out]]);
  checkNoAlias('softmax', [['x', x]], [['out', out]]);
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    const { max, logSum } = rowStats(x, s, cols);
    for (let c = 0; c < cols; c++) {
      const shifted = x[s + c] - max - logSum;
      out[s + c] = log ? shifted : Math.exp(shifted);
    }
  }
}

function softmaxBackward(y: FloatArray, dy: FloatArray, rows: number, cols: number, log: boolean, dx: FloatArray): void {
  checkMatrix('softmaxBackward', rows, cols, [['y', y], ['dy', dy], ['dx', dx]]);
  checkNoAlias('softmaxBackward', [['y', y], ['dy', dy]], [['dx', dx]]);
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += log ? dy[s + c] : dy[s + c] * y[s + c];
    for (let c = 0; c < cols; c++) {
      dx[s + c] = log ? dy[s + c] - Math.exp(y[s + c]) * dot : y[s + c] * (dy[s + c] - dot);
    }
  }
}

function checkTargets(m: string, targets: IndexArray, rows: number, cols: number, ignoreIndex: number): void {
  if (!Number.isInteger(ignoreIndex)) fail(m, `ignoreIndex must be an integer, got ${ignoreIndex}`);
  checkLength(m, 'targets', targets, rows, `rows = ${rows}`);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t !== ignoreIndex && (t < 0 || t >= cols)) {
      fail(m, `target ${t} (at row ${r}) is out of range for ${cols} classes`);
    }
  }
}

function crossEntropyForward(
  logits: FloatArray, rows: number, cols: number, targets: IndexArray, ignoreIndex: number,
  probs: FloatArray,
): number {
  const m = 'crossEntropyForward';
  checkMatrix(m, rows, cols, [['logits', logits], ['probs', probs]]);
  checkTargets(m, targets, rows, cols, ignoreIndex);
  checkNoAlias(m, [['logits', logits], ['targets', targets]], [['probs', probs]]);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    const { max, logSum } = rowStats(logits, s, cols);
    for (let c = 0; c < cols; c++) probs[s + c] = Math.exp(logits[s + c] - max - logSum);
    const t = targets[r];
    if (t !== ignoreIndex) loss -= logits[s + t] - max - logSum;
  }
  return loss;
}

function crossEntropyBackward(
  probs: FloatArray, rows: number, cols: number, targets: IndexArray, ignoreIndex: number,
  scale: number, dx: FloatArray,
): void {
  const m = 'crossEntropyBackward';
  checkMatrix(m, rows, cols, [['probs', probs], ['dx', dx]]);
  checkTargets(m, targets, rows, cols, ignoreIndex);
  checkNoAlias(m, [['probs', probs], ['targets', targets]], [['dx', dx]]);
  for (let r = 0; r < rows; r++) {
    const s = r * cols;
    const t = targets[r];
    for (let c = 0; c < cols; c++) {
      dx[s + c] = t === ignoreIndex ? 0 : scale * (probs[s + c] - (c === t ? 1 : 0));
    }
  }
}

function checkChannels(m: string, c: number, named: [string, FloatArray | null][]): void {
  for (const [name, arr] of named) if (arr !== null) checkLength(m, name, arr, c, `c = ${c} channels`);
}

function checkCorrection(m: string, n: number, correction: number): void {
  if (n - correction <= 0) {
    fail(m, `the batch variance needs more than ${correction} rows per channel (correction ${correction}), got n = ${n}`);
  }
}

function batchNormForward(
  x: FloatArray, n: number, c: number, gamma: FloatArray | null, beta: FloatArray | null,
  eps: number, correction: number, training: boolean,
  out: FloatArray, meanOut: FloatArray, varOut: FloatArray, invstdOut: FloatArray,
): void {
  const m = 'batchNormForward';
  checkMatrix(m, n, c, [['x', x], ['out', out]]);
  checkChannels(m, c, [['gamma', gamma], ['beta', beta], ['meanOut', meanOut], ['varOut', varOut], ['invstdOut', invstdOut]]);
  checkDim(m, 'correction', correction);
  // As torch.nn.functional.batch_norm: eps > 0 when training (a constant channel would divide
  // 0 by 0), >= 0 with running statistics; a non-finite eps is refused (it only makes NaN or 0).
  if (!Number.isFinite(eps) || eps < 0 || (training && eps === 0)) {
    fail(m, `eps must be a finite number ${training ? '> 0 when training' : '>= 0'}, got ${eps}`);
  }
  if (training && c > 0) checkCorrection(m, n, correction);
  // In eval mode meanOut/varOut are read; either way they are written or kept apart from the rest.
  checkNoAlias(m, [['x', x], ['gamma', gamma], ['beta', beta]],
    [['out', out], ['meanOut', meanOut], ['varOut', varOut], ['invstdOut', invstdOut]]);
  for (let j = 0; j < c; j++) {
    let mean: number;
    let variance: number;
    if (training) {
      // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] - E[x]².
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i * c + j];
      mean = s / n;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        const d = x[i * c + j] - mean;
        ss += d * d;
      }
      variance = ss / (n - correction);
      meanOut[j] = mean;
      varOut[j] = variance;
    } else {
      mean = meanOut[j];
      variance = varOut[j];
    }
    const invstd = 1 / Math.sqrt(variance + eps);
    invstdOut[j] = invstd;
    const g = gamma === null ? 1 : gamma[j];
    const b = beta === null ? 0 : beta[j];
    for (let i = 0; i < n; i++) out[i * c + j] = g * (x[i * c + j] - mean) * invstd + b;
  }
}

function batchNormBackward(
  x: FloatArray, dy: FloatArray, n: number, c: number, mean: FloatArray, invstd: FloatArray,
  gamma: FloatArray | null, correction: number,
  dx: FloatArray | null, dgamma: FloatArray | null, dbeta: FloatArray | null,
): void {
  const m = 'batchNormBackward';
  checkMatrix(m, n, c, [['x', x], ['dy', dy]]);
  if (dx !== null) checkLength(m, 'dx', dx, n * c, `[n, c] = [${n}, ${c}]`);
  checkChannels(m, c, [['mean', mean], ['invstd', invstd], ['gamma', gamma], ['dgamma', dgamma], ['dbeta', dbeta]]);
  checkDim(m, 'correction', correction);
  if (dx !== null && c > 0) checkCorrection(m, n, correction);
  checkNoAlias(m, [['x', x], ['dy', dy], ['mean', mean], ['invstd', invstd], ['gamma', gamma]],
    [['dx', dx], ['dgamma', dgamma], ['dbeta', dbeta]]);
  for (let j = 0; j < c; j++) {
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let i = 0; i < n; i++) {
      const xhat = (x[i * c + j] - mean[j]) * invstd[j];
      sumDy += dy[i * c + j];
      sumDyXhat += dy[i * c + j] * xhat;
    }
    if (dgamma !== null) dgamma[j] = sumDyXhat;
    if (dbeta !== null) dbeta[j] = sumDy;
    if (dx !== null) {
      const g = gamma === null ? 1 : gamma[j];
      const k = (g * invstd[j]) / n;
      const bessel = n / (n - correction);
      for (let i = 0; i < n; i++) {
        const xhat = (x[i * c + j] - mean[j]) * invstd[j];
        dx[i * c + j] = k * (n * dy[i * c + j] - sumDy - bessel * xhat * sumDyXhat);
      }
    }
  }
}

function checkConv(
  m: string, x: FloatArray, batch: number, cin: number, tin: number,
  w: FloatArray, cout: number, k: number, dilation: number, padLeft: number, tout: number,
): void {
  checkDim(m, 'batch', batch);
  checkDim(m, 'cin', cin);
  checkDim(m, 'tin', tin);
  checkDim(m, 'cout', cout);
  checkDim(m, 'padLeft', padLeft);
  checkDim(m, 'tout', tout);
  if (!Number.isInteger(k) || k < 1) fail(m, `kernel size k must be a positive integer, got ${k}`);
  if (!Number.isInteger(dilation) || dilation < 1) fail(m, `dilation must be a positive integer, got ${dilation}`);
  const expected = tin + padLeft - dilation * (k - 1);
  if (tout !== expected) {
    fail(m, `tout ${tout} does not match tin + padLeft - dilation·(k-1) = ${tin} + ${padLeft} - ${dilation}·${k - 1} = ${expected}`);
  }
  checkLength(m, 'x', x, batch * cin * tin, `[batch, cin, tin] = [${batch}, ${cin}, ${tin}]`);
  checkLength(m, 'w', w, cout * cin * k, `[cout, cin, k] = [${cout}, ${cin}, ${k}]`);
}

function conv1dForward(
  x: FloatArray, batch: number, cin: number, tin: number,
  w: FloatArray, cout: number, k: number, dilation: number, padLeft: number,
  bias: FloatArray | null, out: FloatArray, tout: number,
): void {
  const m = 'conv1dForward';
  checkConv(m, x, batch, cin, tin, w, cout, k, dilation, padLeft, tout);
  if (bias !== null) checkLength(m, 'bias', bias, cout, `cout = ${cout}`);
  checkLength(m, 'out', out, batch * cout * tout, `[batch, cout, tout] = [${batch}, ${cout}, ${tout}]`);
  checkNoAlias(m, [['x', x], ['w', w], ['bias', bias]], [['out', out]]);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < cout; o++) {
      for (let t = 0; t < tout; t++) {
        let s = bias === null ? 0 : bias[o];
        for (let i = 0; i < cin; i++) {
          for (let j = 0; j < k; j++) {
            const src = t - padLeft + j * dilation;
            if (src >= 0) s += w[(o * cin + i) * k + j] * x[(b * cin + i) * tin + src];
          }
        }
        out[(b * cout + o) * tout + t] = s;
      }
    }
  }
}

function conv1dBackward(
  x: FloatArray, batch: number, cin: number, tin: number,
  w: FloatArray, cout: number, k: number, dilation: number, padLeft: number,
  dy: FloatArray, tout: number, dx: FloatArray | null, dw: FloatArray | null,
): void {
  const m = 'conv1dBackward';
  checkConv(m, x, batch, cin, tin, w, cout, k, dilation, padLeft, tout);
  checkLength(m, 'dy', dy, batch * cout * tout, `[batch, cout, tout] = [${batch}, ${cout}, ${tout}]`);
  if (dx !== null) checkLength(m, 'dx', dx, batch * cin * tin, `[batch, cin, tin] = [${batch}, ${cin}, ${tin}]`);
  if (dw !== null) checkLength(m, 'dw', dw, cout * cin * k, `[cout, cin, k] = [${cout}, ${cin}, ${k}]`);
  checkNoAlias(m, [['x', x], ['w', w], ['dy', dy]], [['dx', dx], ['dw', dw]]);
  if (dx !== null) {
    // x[b, i, s] fed out[b, o, t] through tap j exactly when t = s + padLeft - j·dilation.
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < cin; i++) {
        for (let s = 0; s < tin; s++) {
          let acc = 0;
          for (let o = 0; o < cout; o++) {
            for (let j = 0; j < k; j++) {
              const t = s + padLeft - j * dilation;
              if (t >= 0 && t < tout) acc += dy[(b * cout + o) * tout + t] * w[(o * cin + i) * k + j];
            }
          }
          dx[(b * cin + i) * tin + s] = acc;
        }
      }
    }
  }
  if (dw !== null) {
    for (let o = 0; o < cout; o++) {
      for (let i = 0; i < cin; i++) {
        for (let j = 0; j < k; j++) {
          let acc = 0;
          for (let b = 0; b < batch; b++) {
            for (let t = 0; t < tout; t++) {
              const src = t - padLeft + j * dilation;
              if (src >= 0) acc += dy[(b * cout + o) * tout + t] * x[(b * cin + i) * tin + src];
            }
          }
          dw[(o * cin + i) * k + j] = acc;
        }
      }
    }
  }
}

// The reference backend computes on one thread: a valid request is accepted and changes nothing.
function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) fail('setNumThreads', `expected a positive integer number of threads, got ${n}`);
}

function getNumThreads(): number {
  return 1;
}

export const referenceBackend: Backend = {
  name: 'reference',
  copy,
  unary,
  unaryBackward,
  binary,
  binaryScalar,
  binaryInplace,
  scalarInplace,
  axpy,
  adamStep,
  sgdStep,
  sum,
  reduceArg,
  reduceArgBackward,
  where,
  whereBackward,
  gelu,
  geluBackward,
  matmul,
  indexSelect,
  indexAdd,
  putAdd,
  softmax,
  softmaxBackward,
  crossEntropyForward,
  crossEntropyBackward,
  batchNormForward,
  batchNormBackward,
  conv1dForward,
  conv1dBackward,
  setNumThreads,
  getNumThreads,
};
