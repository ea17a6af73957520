// where(cond, a, b): elementwise choice with broadcasting (a where cond is nonzero, else b), and
// maskedFill(x, mask, value) = where(mask, value, x). Selection never multiplies, so a fill of
// -Infinity (attention masks) or a NaN in the unselected operand cannot leak into the result or
// its gradient. The gradient flows to a where cond holds and to b elsewhere; the engine sums it
// back over broadcast dims. Selection is a copy, cheap enough to stay in TypeScript.
import { Tensor, type TensorOrScalar } from '../tensor/tensor.js';
import { alloc, getDefaultDtype, isFloat, promote, type DType } from '../tensor/dtype.js';
import { broadcastShapes, fmtShape, numel } from '../tensor/shape.js';
import { record } from './record.js';

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
  // The mask is copied: backward must not see later in-place writes into cond.
  const cv = expanded(cond, shape, cond.dtype);
  const c = new Uint8Array(n);
  for (let i = 0; i < n; i++) c[i] = cv[i] !== 0 ? 1 : 0;
  const xa = expanded(ta, shape, dtype);
  const xb = expanded(tb, shape, dtype);
  const out = alloc(dtype, n);
  for (let i = 0; i < n; i++) out[i] = c[i] !== 0 ? xa[i] : xb[i];
  const result = new Tensor(out, shape);
  if (!isFloat(dtype)) return result;
  const inputs = [a instanceof Tensor && isFloat(a.dtype) ? ta : null, b instanceof Tensor && isFloat(b.dtype) ? tb : null];
  return record(result, 'WhereBackward', inputs, (g) => {
    const gs = g.contiguous().flat();
    const ga = inputs[0]?.requiresGrad ? alloc(g.dtype, n) : null;
    const gb = inputs[1]?.requiresGrad ? alloc(g.dtype, n) : null;
    for (let i = 0; i < n; i++) {
      if (c[i] !== 0) {
        if (ga) ga[i] = gs[i];
      } else if (gb) gb[i] = gs[i];
    }
    // Gradients come back in the input's dtype (a float64 operand mixed with float32 keeps float64).
    const back = (arr: ReturnType<typeof alloc> | null, t: Tensor | null) =>
      arr && t ? (t.dtype === g.dtype ? new Tensor(arr, shape) : new Tensor(arr, shape).to(t.dtype)) : null;
    return [back(ga, inputs[0]), back(gb, inputs[1])];
  }, []); // reads only the copied mask, never the operands
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
