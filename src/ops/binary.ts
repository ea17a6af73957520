// Binary elementwise ops with broadcasting and number operands, comparisons (0/1 masks), and the
// in-place updates an optimizer uses. Forward and backward side by side; the engine sums a
// broadcast gradient back to each input's shape.
import { Tensor, type TensorOrScalar } from '../tensor/tensor.js';
import { BinaryOp, type Backend } from '../backend/backend.js';
import { backendFor } from '../backend/index.js';
import { referenceBackend } from '../backend/reference.js';
import { alloc, allocUninit, isFloat, promote, type DType } from '../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, fmtShape, numel, sameShape } from '../tensor/shape.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from './record.js';
import { bumpVersion } from '../autograd/version.js';
import { copyInto } from './views.js';
import { where } from './where.js';

/** Turn a number into a 0-d tensor of `like`'s float dtype (float32 for int tensors). */
export function asTensor(x: TensorOrScalar, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  checkNumber('asTensor', x);
  const dtype: DType = isFloat(like.dtype) ? like.dtype : Number.isInteger(x) ? 'int32' : 'float32';
  const data = alloc(dtype, 1);
  data[0] = x;
  return new Tensor(data, []);
}

function checkNumber(op: string, x: unknown): asserts x is number {
  if (typeof x !== 'number') {
    throw new Error(`${op}: expected a Tensor or a number as the other operand, got ${x === null ? 'null' : typeof x}`);
  }
}

/** Reject operands that are neither a Tensor nor a number, naming the op. */
function checkOperand(op: string, x: unknown): void {
  if (!(x instanceof Tensor)) checkNumber(op, x);
}

function kernelsFor(dtype: DType): Backend {
  // Integer arithmetic runs in the reference loops (exact in float64, wrapped on store like int32).
  return dtype === 'int32' ? referenceBackend : backendFor(dtype);
}

function cast(t: Tensor, dtype: DType): Tensor {
  return t.dtype === dtype ? t : t.to(dtype);
}

/** out = a op b with broadcasting, into a fresh contiguous tensor of `outDtype`. No graph. */
function rawBinary(op: BinaryOp, name: string, a: Tensor, b: Tensor, outDtype: DType): Tensor {
  const shape = broadcastShapes(name, a.shape, b.shape);
  const computeDtype = promote(a.dtype, b.dtype);
  const x = cast(a, computeDtype);
  const y = cast(b, computeDtype);
  const n = numel(shape);
  const outData = allocUninit(outDtype === computeDtype ? outDtype : computeDtype, n); // every element written below
  if (n > 0) {
    const be = kernelsFor(computeDtype);
    if (y.shape.length === 0 && x.isContiguous() && sameShape(x.shape, shape)) {
      be.binaryScalar(op, x.flatFloat(), y.data[y.offset], false, outData as Float32Array);
    } else if (x.shape.length === 0 && y.isContiguous() && sameShape(y.shape, shape)) {
      be.binaryScalar(op, y.flatFloat(), x.data[x.offset], true, outData as Float32Array);
    } else {
      be.binary(
        op,
        x.data as Float32Array, x.offset, broadcastStrides(x.shape, x.strides, shape),
        y.data as Float32Array, y.offset, broadcastStrides(y.shape, y.strides, shape),
        outData as Float32Array, shape,
      );
    }
  }
  const out = new Tensor(outData, shape);
  return out.dtype === outDtype ? out : out.to(outDtype);
}

/** out = x op s for a number s (s op x when reversed). No graph. */
function rawScalar(op: BinaryOp, x: Tensor, s: number, reversed: boolean): Tensor {
  const xc = x.contiguous();
  const out = new Tensor(allocUninit(xc.dtype, xc.numel()), xc.shape);
  if (xc.numel() > 0) kernelsFor(xc.dtype).binaryScalar(op, xc.flatFloat(), s, reversed, out.flatFloat());
  return out;
}

function resultDtype(a: Tensor, b: TensorOrScalar): DType {
  if (b instanceof Tensor) return promote(a.dtype, b.dtype);
  if (a.dtype === 'int32' && !Number.isInteger(b)) return 'float32';
  return a.dtype;
}

export function add(a: Tensor, b: TensorOrScalar, alpha = 1): Tensor {
  checkOperand('add', b);
  checkNumber('add', alpha);
  if (typeof b === 'number') {
    checkNumber('add', b);
    const out = rawScalar(BinaryOp.Add, cast(a, resultDtype(a, b)), b * alpha, false);
    return record(out, 'AddBackward', [a], (g) => [g], []);
  }
  const bb = alpha === 1 ? b : mul(b, alpha);
  const out = rawBinary(BinaryOp.Add, 'add', a, bb, promote(a.dtype, b.dtype));
  return record(out, 'AddBackward', [a, bb], (g) => [g, g], []);
}

export function sub(a: Tensor, b: TensorOrScalar, alpha = 1): Tensor {
  checkOperand('sub', b);
  checkNumber('sub', alpha);
  if (typeof b === 'number') {
    checkNumber('sub', b);
    const out = rawScalar(BinaryOp.Sub, cast(a, resultDtype(a, b)), b * alpha, false);
    return record(out, 'SubBackward', [a], (g) => [g], []);
  }
  const bb = alpha === 1 ? b : mul(b, alpha);
  const out = rawBinary(BinaryOp.Sub, 'sub', a, bb, promote(a.dtype, b.dtype));
  return record(out, 'SubBackward', [a, bb], (g) => [g, g.neg()], []);
}

export function mul(a: Tensor, b: TensorOrScalar): Tensor {
  checkOperand('mul', b);
  if (typeof b === 'number') {
    checkNumber('mul', b);
    const out = rawScalar(BinaryOp.Mul, cast(a, resultDtype(a, b)), b, false);
    return record(out, 'MulBackward', [a], (g) => [rawScalar(BinaryOp.Mul, g, b, false)], []);
  }
  const out = rawBinary(BinaryOp.Mul, 'mul', a, b, promote(a.dtype, b.dtype));
  // Each factor's gradient reads the other factor only.
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  return record(out, 'MulBackward', [a, b], (g) => [
    needA ? rawBinary(BinaryOp.Mul, 'mul', g, b, g.dtype) : null,
    needB ? rawBinary(BinaryOp.Mul, 'mul', g, a, g.dtype) : null,
  ], [needA ? b : null, needB ? a : null]);
}

export function div(a: Tensor, b: TensorOrScalar): Tensor {
  checkOperand('div', b);
  // True division: int / int gives float32, as in PyTorch.
  const fa = isFloat(a.dtype) ? a : a.to(b instanceof Tensor && b.dtype === 'float64' ? 'float64' : 'float32');
  if (typeof b === 'number') {
    checkNumber('div', b);
    const out = rawScalar(BinaryOp.Div, fa, b, false);
    return record(out, 'DivBackward', [a], (g) => [rawScalar(BinaryOp.Div, g, b, false)], []);
  }
  const fb = isFloat(b.dtype) ? b : b.to(fa.dtype);
  const out = rawBinary(BinaryOp.Div, 'div', fa, fb, promote(fa.dtype, fb.dtype));
  const needA = fa.requiresGrad;
  const needB = fb.requiresGrad;
  return record(out, 'DivBackward', [fa, fb], (g) => [
    needA ? rawBinary(BinaryOp.Div, 'div', g, fb, g.dtype) : null,
    // d(a/b)/db = -a/b², from a and b (as PyTorch, so the output itself may change afterwards)
    needB ? rawBinary(BinaryOp.Div, 'div', rawBinary(BinaryOp.Mul, 'mul', g, fa, g.dtype), rawBinary(BinaryOp.Mul, 'mul', fb, fb, fb.dtype), g.dtype).neg() : null,
  ], [needA || needB ? fb : null, needB ? fa : null]);
}

export function pow(a: Tensor, e: TensorOrScalar): Tensor {
  checkOperand('pow', e);
  if (typeof e === 'number') {
    checkNumber('pow', e);
    const x = isFloat(a.dtype) || (Number.isInteger(e) && e >= 0) ? a : a.to('float32');
    const out = scalarPow(x, e);
    return record(out, 'PowBackward', [x], (g) => {
      if (e === 0) return [rawScalar(BinaryOp.Mul, g, 0, false)];
      // d(x^e)/dx = e · x^(e-1)
      const local = rawScalar(BinaryOp.Mul, scalarPow(x.detach(), e - 1), e, false);
      return [rawBinary(BinaryOp.Mul, 'mul', g, local, g.dtype)];
    }, e === 0 ? [] : [x]);
  }
  const x = isFloat(a.dtype) ? a : a.to('float32');
  const y = isFloat(e.dtype) ? e : e.to(x.dtype);
  const dtype = promote(x.dtype, y.dtype);
  const out = rawBinary(BinaryOp.Pow, 'pow', x, y, dtype);
  const needX = x.requiresGrad;
  const needY = y.requiresGrad;
  return record(out, 'PowBackward', [x, y], (g) => {
    let gx: Tensor | null = null;
    let gy: Tensor | null = null;
    if (needX) {
      // d(x^y)/dx = y · x^(y-1), and 0 where y == 0 (x^0 is 1 for every x, also x = 0), as PyTorch.
      const local = rawBinary(BinaryOp.Mul, 'pow', y, rawBinary(BinaryOp.Pow, 'pow', x, rawScalar(BinaryOp.Sub, y, 1, false), dtype), dtype);
      gx = rawBinary(BinaryOp.Mul, 'mul', g, zeroWhere(local, compare('eq', y, 0)), g.dtype);
    }
    if (needY) {
      // d(x^y)/dy = x^y · ln x, and 0 where x == 0 and y >= 0 (the limit, as PyTorch; not 0 · -inf).
      const local = rawBinary(BinaryOp.Mul, 'pow', out, rawLog(x), dtype);
      const limit = rawBinary(BinaryOp.Mul, 'pow', compare('eq', x, 0), compare('ge', y, 0), dtype);
      gy = rawBinary(BinaryOp.Mul, 'mul', g, zeroWhere(local, limit), g.dtype);
    }
    return [gx, gy];
  }, [needX || needY ? x : null, needX || needY ? y : null, needY ? out : null]);
}

/**
 * x^e for a number e without a graph, with PyTorch's special cases for float tensors: x^2 is x·x,
 * x^3 is x·x·x, x^0.5 sqrt(x), x^-0.5 1/sqrt(x), x^-1 1/x, x^-2 1/(x·x) and x^1 a copy. powf can
 * differ from these in the last bit (x^2 in 67 of 100,000 tanh outputs), which would break the
 * bit-exact checks of the backprop-ninja lecture where PyTorch's `h**2` is a product.
 */
function scalarPow(x: Tensor, e: number): Tensor {
  if (!isFloat(x.dtype)) return rawScalar(BinaryOp.Pow, x, e, false);
  const mul = (a: Tensor, b: Tensor) => rawBinary(BinaryOp.Mul, 'pow', a, b, x.dtype);
  const recip = (a: Tensor) => rawScalar(BinaryOp.Div, a, 1, true);
  const root = () => noGrad(() => x.detach().sqrt());
  switch (e) {
    case 1: return rawScalar(BinaryOp.Mul, x, 1, false);
    case 2: return mul(x, x);
    case 3: return mul(mul(x, x), x);
    case 0.5: return root();
    case -0.5: return recip(root());
    case -1: return recip(x);
    case -2: return recip(mul(x, x));
    default: return rawScalar(BinaryOp.Pow, x, e, false);
  }
}

/** ln x without a graph (x float). */
function rawLog(x: Tensor): Tensor {
  return noGrad(() => x.log());
}

/** `t` with 0 where `mask` (1/0, broadcast to t's shape) is 1: the `where(cond, 0, t)` of
 *  PyTorch's edge-case formulas. A kernel, not a TypeScript loop over t's data, so a compiled step
 *  (which replays only kernels and host ops) redoes it every step. */
function zeroWhere(t: Tensor, mask: Tensor): Tensor {
  return noGrad(() => where(mask, 0, t));
}

function extremum(kind: 'maximum' | 'minimum', a: Tensor, b: TensorOrScalar): Tensor {
  checkOperand(kind, b);
  const bt = asTensor(b, a);
  const op = kind === 'maximum' ? BinaryOp.Max : BinaryOp.Min;
  const out = rawBinary(op, kind, a, bt, promote(a.dtype, bt.dtype));
  // Ties split the gradient evenly between both inputs, as PyTorch does.
  return record(out, kind === 'maximum' ? 'MaximumBackward' : 'MinimumBackward', [a, bt], (g) => {
    const winA = rawBinary(kind === 'maximum' ? BinaryOp.Gt : BinaryOp.Lt, kind, a, bt, g.dtype);
    const tie = rawBinary(BinaryOp.Eq, kind, a, bt, g.dtype);
    const shareA = winA.add(tie.mul(0.5));
    const gA = g.mul(shareA);
    return [gA, g.sub(gA)];
  }, [a, bt]);
}

export const maximum = (a: Tensor, b: TensorOrScalar): Tensor => extremum('maximum', a, b);
export const minimum = (a: Tensor, b: TensorOrScalar): Tensor => extremum('minimum', a, b);

export function clamp(t: Tensor, min?: number, max?: number): Tensor {
  if (min === undefined && max === undefined) throw new Error('clamp: at least one of min or max must be given');
  if (min !== undefined && max !== undefined && min > max) throw new Error(`clamp: min (${min}) must not exceed max (${max})`);
  let x = t.contiguous();
  let out = x;
  if (min !== undefined) out = rawScalar(BinaryOp.Max, out, min, false);
  if (max !== undefined) out = rawScalar(BinaryOp.Min, out, max, false);
  if (out === x) out = x.clone();
  // The gradient is 1 strictly inside (min, max) and 0 elsewhere: at a bound (x == min or
  // x == max), outside, and at NaN. That is what PyTorch 2.15 computes (checked against torch by
  // scripts/fixtures/torch_edges.py); older releases let the gradient through at the bounds.
  return record(out, 'ClampBackward', [x], (g) => {
    const above = min === undefined ? null : rawScalar(BinaryOp.Gt, x, min, false);
    const below = max === undefined ? null : rawScalar(BinaryOp.Lt, x, max, false);
    const mask = above && below ? above.mul(below) : (above ?? below)!;
    return [g.mul(mask)];
  }, [x]);
}

const COMPARE: Record<string, BinaryOp> = {
  eq: BinaryOp.Eq, ne: BinaryOp.Ne, lt: BinaryOp.Lt, le: BinaryOp.Le, gt: BinaryOp.Gt, ge: BinaryOp.Ge,
};

/** Elementwise comparison giving a 0/1 mask. Masks are float32 (float64 for float64 inputs) so
 *  they multiply and average directly: (t.abs().gt(0.97)).mean() is the saturated fraction. */
export function compare(kind: keyof typeof COMPARE & string, a: Tensor, b: TensorOrScalar): Tensor {
  const op = COMPARE[kind];
  checkOperand(kind, b);
  const maskDtype: DType = a.dtype === 'float64' || (b instanceof Tensor && b.dtype === 'float64') ? 'float64' : 'float32';
  if (typeof b === 'number') {
    checkNumber(kind, b);
    const out = rawScalar(op, cast(a, maskDtype === 'float64' ? 'float64' : a.dtype === 'int32' ? 'float64' : a.dtype), b, false);
    return cast(out, maskDtype);
  }
  return rawBinary(op, kind, a, b, maskDtype);
}

// ---- in place ---------------------------------------------------------------------------

/** Refuse writes where several elements share one memory location (an expanded view), as PyTorch. */
function checkWritable(op: string, t: Tensor): void {
  if (t.numel() === 0) return; // strides of an empty tensor can be 0 without any sharing
  for (let i = 0; i < t.ndim; i++) {
    if (t.strides[i] === 0 && t.shape[i] > 1) {
      throw new Error(
        `${op}: unsupported operation: more than one element of the written-to tensor refers to a single memory location (shape ${fmtShape(t.shape)}, strides ${fmtShape(t.strides)}); call clone() before writing`,
      );
    }
  }
}

function checkInplace(op: string, t: Tensor): void {
  checkWritable(op, t);
  if (isGradEnabled() && t.requiresGrad) {
    if (t.isLeaf) {
      throw new Error(
        `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap parameter updates in noGrad(() => ...)`,
      );
    }
    throw new Error(`${op}: in-place operations on a tensor that is part of the autograd graph are not supported; use the out-of-place op`);
  }
  // Operand checks that follow may still throw; a refused write then only costs a spurious bump,
  // which can make backward refuse, never compute a wrong gradient.
  bumpVersion(t.data);
}

const INPLACE: Record<string, BinaryOp> = { add_: BinaryOp.Add, sub_: BinaryOp.Sub, mul_: BinaryOp.Mul, div_: BinaryOp.Div };

export function inplace(op: 'add_' | 'sub_' | 'mul_' | 'div_', t: Tensor, other: TensorOrScalar, alpha?: number): void {
  checkInplace(op, t);
  checkOperand(op, other);
  if (t.dtype === 'int32' && op === 'div_') throw new Error('div_: result type float can\'t be cast to the desired output type int32');
  const code = INPLACE[op];
  if (typeof other === 'number') {
    checkNumber(op, other);
    if (t.dtype === 'int32' && !Number.isInteger(other)) {
      throw new Error(`${op}: result type float can't be cast to the desired output type int32 (operand ${other})`);
    }
    const s = alpha === undefined ? other : other * alpha;
    if (t.numel() === 0) return;
    if (t.isContiguous()) kernelsFor(t.dtype).scalarInplace(code, t.flatFloat(), s);
    else {
      const st = asTensor(s, t);
      kernelsFor(t.dtype).binaryInplace(code, t.data as Float32Array, t.offset, [...t.strides], st.data as Float32Array, 0, t.shape.map(() => 0), [...t.shape]);
    }
    return;
  }
  if (!(other instanceof Tensor)) checkNumber(op, other);
  if (!sameShape(t.shape, other.shape)) {
    const shape = broadcastShapes(op, t.shape, other.shape);
    if (!sameShape(shape, t.shape)) {
      throw new Error(`${op}: output with shape ${fmtShape(t.shape)} doesn't match the broadcast shape ${fmtShape(shape)}`);
    }
  }
  if (t.dtype === 'int32' && other.dtype !== 'int32') {
    throw new Error(`${op}: result type ${other.dtype} can't be cast to the desired output type int32`);
  }
  if (t.numel() === 0) return;
  let o = cast(other, t.dtype);
  if (alpha !== undefined && alpha !== 1) {
    if ((op === 'add_' || op === 'sub_') && t.isContiguous() && o.isContiguous() && sameShape(o.shape, t.shape) && o.data !== t.data) {
      // The SGD step p -= lr·g as one fused kernel.
      kernelsFor(t.dtype).axpy(op === 'add_' ? alpha : -alpha, o.flatFloat(), t.flatFloat());
      return;
    }
    o = rawScalar(BinaryOp.Mul, o, alpha, false);
  }
  if (o.data === t.data) o = o.clone();
  if (op === 'add_' && t.isContiguous() && o.isContiguous() && sameShape(o.shape, t.shape)) {
    kernelsFor(t.dtype).axpy(1, o.flatFloat(), t.flatFloat());
    return;
  }
  kernelsFor(t.dtype).binaryInplace(
    code,
    t.data as Float32Array, t.offset, [...t.strides],
    o.data as Float32Array, o.offset, broadcastStrides(o.shape, o.strides, t.shape),
    [...t.shape],
  );
}

export function fill_(t: Tensor, value: number, op: string): void {
  checkInplace(op, t);
  checkNumber(op, value);
  if (t.isContiguous()) {
    t.flat().fill(value);
  } else {
    const src = asTensor(value, t);
    copyInto(t, src.expand([...t.shape]));
  }
}

export function copy_(t: Tensor, src: Tensor): void {
  checkInplace('copy_', t);
  if (!(src instanceof Tensor)) throw new Error('copy_: expected a Tensor as the source');
  const shape = broadcastShapes('copy_', t.shape, src.shape);
  if (!sameShape(shape, t.shape)) {
    throw new Error(`copy_: source shape ${fmtShape(src.shape)} cannot be broadcast to ${fmtShape(t.shape)}`);
  }
  copyInto(t, sameShape(src.shape, t.shape) ? src : src.expand([...t.shape]));
}
