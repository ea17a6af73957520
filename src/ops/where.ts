// where(cond, a, b): elementwise choice with broadcasting (a where cond is nonzero, else b), and
// maskedFill(x, mask, value) = where(mask, value, x). Selection never multiplies, so a fill of
// -Infinity (attention masks) or a NaN in the unselected operand cannot leak into the result or
// its gradient. Float results run on the Backend's where kernel, which also keeps a copy of the
// condition as a 0/1 mask for the backward (later in-place writes into cond cannot change the
// gradient); the gradient flows to a where cond holds and to b elsewhere (whereBackward), and the
// engine sums it back over broadcast dims. int32 results (no gradient) are a plain loop here.
import { Tensor, type TensorOrScalar } from '../tensor/tensor.js';
import { alloc, allocFloatUninit, getDefaultDtype, isFloat, promote, type DType, type FloatDType } from '../tensor/dtype.js';
import { broadcastShapes, fmtShape, numel } from '../tensor/shape.js';
import { backendFor, type FloatArray } from '../backend/index.js';
import { noGrad } from '../autograd/grad-mode.js';
import { record } from './record.js';
import { runHostWork } from '../compile/host-work.js';
import type { AnyArray } from '../backend/backend.js';

function operandDtype(x: TensorOrScalar, other: TensorOrScalar): DType {
  if (x instanceof Tensor) return x.dtype;
  // A number takes the other operand's float dtype (torch's "scalars don't promote" rule).
  if (other instanceof Tensor && isFloat(other.dtype)) return other.dtype;
  if (Number.isInteger(x) && (other instanceof Tensor ? other.dtype === 'int32' : Number.isInteger(other))) return 'int32';
  return getDefaultDtype();
}

function checkOperand(op: string, name: string, x: unknown): void {
  if (x instanceof Tensor) return;
  if (typeof x !== 'number') throw new Error(`${op}: ${name} must be a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
}

/** A contiguous copy of t broadcast to shape, as a plain array (no graph). */
function expanded(t: Tensor, shape: number[], dtype: DType): ArrayLike<number> {
  const src = t.dtype === dtype ? t.detach() : t.detach().to(dtype);
  return src.expand(shape).contiguous().flat();
}

function scalarTensor(v: number, dtype: DType): Tensor {
  const d = alloc(dtype, 1);
  d[0] = v;
  return new Tensor(d, []);
}

/** torch.where(condition, input, other). */
export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar, opName = 'where'): Tensor {
  if (!(cond instanceof Tensor)) throw new Error(`${opName}: condition must be a Tensor (a mask), got ${cond === null ? 'null' : typeof cond}`);
  checkOperand(opName, 'input', a);
  checkOperand(opName, 'other', b);
  const da = operandDtype(a, b);
  const db = operandDtype(b, a);
  const dtype = promote(da, db);
  const ta = a instanceof Tensor ? a : scalarTensor(a, dtype);
  const tb = b instanceof Tensor ? b : scalarTensor(b, dtype);
  let shape: number[];
  try {
    shape = broadcastShapes(opName, broadcastShapes(opName, cond.shape, ta.shape), tb.shape);
  } catch {
    throw new Error(
      `${opName}: condition ${fmtShape(cond.shape)}, input ${fmtShape(ta.shape)} and other ${fmtShape(tb.shape)} cannot be broadcast to one shape`,
    );
  }
  const n = numel(shape);
  if (!isFloat(dtype)) {
    const cv = expanded(cond, shape, cond.dtype);
    const xa = expanded(ta, shape, dtype);
    const xb = expanded(tb, shape, dtype);
    const out = alloc(dtype, n);
    // No kernel for int32: host work, which a compiled step redoes on each call's values.
    runHostWork({
      name: opName,
      arrays: [cv as AnyArray, xa as AnyArray, xb as AnyArray, out],
      reads: [0, 1, 2],
      writes: [3],
      signature: [n],
      run: ([c, a, b, o]) => {
        for (let i = 0; i < o.length; i++) o[i] = c[i] !== 0 ? a[i] : b[i];
      },
    });
    return new Tensor(out, shape);
  }
  const fd = dtype as FloatDType;
  const be = backendFor(fd);
  // The native kernel reads float32 or int32 conditions; a float64 one becomes 0/1 first.
  const c = fd === 'float32' && cond.dtype === 'float64' ? noGrad(() => cond.ne(0).to('float32')) : cond;
  const ca = ta.dtype === fd ? ta : ta.to(fd);
  const cb = tb.dtype === fd ? tb : tb.to(fd);
  const inputs = [a instanceof Tensor && isFloat(a.dtype) ? ta : null, b instanceof Tensor && isFloat(b.dtype) ? tb : null];
  const needsMask = (inputs[0]?.requiresGrad || inputs[1]?.requiresGrad) === true;
  const out = allocFloatUninit(fd, n);
  const mask = needsMask ? allocFloatUninit(fd, n) : null;
  if (n > 0) {
    const [vc, va, vb] = [c, ca, cb].map((t) => t.expand(shape));
    be.where(
      vc.data, vc.offset, [...vc.strides], va.data as FloatArray, va.offset, [...va.strides],
      vb.data as FloatArray, vb.offset, [...vb.strides], out, shape, mask,
    );
  }
  const result = new Tensor(out, shape);
  if (mask === null) return result;
  return record(result, 'WhereBackward', inputs, (g) => {
    const gd = g.dtype as FloatDType;
    const gs = g.contiguous();
    const ga = inputs[0]?.requiresGrad ? allocFloatUninit(gd, n) : null;
    const gb = inputs[1]?.requiresGrad ? allocFloatUninit(gd, n) : null;
    if (n > 0) backendFor(gd).whereBackward(gd === fd ? mask : Float64Array.from(mask), gs.flatFloat(), ga, gb);
    // Gradients come back in the input's dtype (a float64 operand mixed with float32 keeps float64).
    const back = (arr: FloatArray | null, t: Tensor | null) =>
      arr && t ? (t.dtype === gd ? new Tensor(arr, shape) : new Tensor(arr, shape).to(t.dtype)) : null;
    return [back(ga, inputs[0]), back(gb, inputs[1])];
  }, []); // reads only the mask, never the operands
}

/** Tensor.masked_fill(mask, value): value where mask is nonzero, x elsewhere (the mask broadcasts to x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  if (!(x instanceof Tensor)) throw new Error('maskedFill: input must be a Tensor');
  if (!(mask instanceof Tensor)) throw new Error(`maskedFill: mask must be a Tensor, got ${mask === null ? 'null' : typeof mask}`);
  if (typeof value !== 'number') throw new Error(`maskedFill: value must be a number, got ${typeof value}`);
  const shape = (() => {
    try {
      return broadcastShapes('maskedFill', x.shape, mask.shape);
    } catch {
      return null;
    }
  })();
  if (shape === null || shape.length !== x.ndim || shape.some((s, i) => s !== x.shape[i])) {
    throw new Error(`maskedFill: the mask ${fmtShape(mask.shape)} must be broadcastable to the input ${fmtShape(x.shape)}`);
  }
  if (x.dtype === 'int32' && !Number.isInteger(value)) {
    throw new Error(`maskedFill: value ${value} cannot be cast to the input's dtype int32`);
  }
  return where(mask, scalarTensor(value, x.dtype), x, 'maskedFill');
}
