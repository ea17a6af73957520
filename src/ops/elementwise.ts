// Unary elementwise ops: forward and backward side by side, both as single kernel calls.
import { Tensor } from '../tensor/tensor.js';
import { UnaryOp } from '../backend/backend.js';
import { backendFor } from '../backend/index.js';
import { allocFloatUninit, isFloat, type FloatDType } from '../tensor/dtype.js';
import { record } from './record.js';

const NAMES: Record<UnaryOp, string> = {
  [UnaryOp.Neg]: 'neg', [UnaryOp.Exp]: 'exp', [UnaryOp.Log]: 'log', [UnaryOp.Tanh]: 'tanh',
  [UnaryOp.Relu]: 'relu', [UnaryOp.Sqrt]: 'sqrt', [UnaryOp.Abs]: 'abs', [UnaryOp.Sigmoid]: 'sigmoid',
  [UnaryOp.Square]: 'square', [UnaryOp.Sign]: 'sign',
};

/** A float view of t for the kernels: ints are converted (exp of an int tensor gives floats, as in PyTorch). */
export function asFloat(op: string, t: Tensor): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${op}: expected a Tensor, got ${typeof t}`);
  return isFloat(t.dtype) ? t : t.to('float32');
}

/** What each backward kernel reads besides the gradient (the kernels' unaryGrad formulas):
 *  the input x, the output y, or neither. Only that tensor is saved for the version check. */
const READS: Record<UnaryOp, 'input' | 'output' | 'none'> = {
  [UnaryOp.Neg]: 'none', [UnaryOp.Exp]: 'output', [UnaryOp.Log]: 'input', [UnaryOp.Tanh]: 'output',
  [UnaryOp.Relu]: 'input', [UnaryOp.Sqrt]: 'output', [UnaryOp.Abs]: 'input', [UnaryOp.Sigmoid]: 'output',
  [UnaryOp.Square]: 'input', [UnaryOp.Sign]: 'none',
};

/** Ops whose result on integers is an integer (PyTorch keeps int dtype for these). */
const INT_PRESERVING = new Set([UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Square, UnaryOp.Sign, UnaryOp.Relu]);

function unary(op: UnaryOp, input: Tensor): Tensor {
  const name = NAMES[op];
  if (input instanceof Tensor && input.dtype === 'int32' && INT_PRESERVING.has(op)) {
    // Exact in float64, then back to int32 (no graph: integer tensors never require grad).
    return unary(op, input.to('float64')).to('int32');
  }
  const x = asFloat(name, input).contiguous();
  const dtype = x.dtype as FloatDType;
  const n = x.numel();
  const out = new Tensor(allocFloatUninit(dtype, n), x.shape);
  if (n > 0) backendFor(dtype).unary(op, x.flatFloat(), out.flatFloat());
  const reads = READS[op];
  const saved = reads === 'input' ? [x] : reads === 'output' ? [out] : [];
  return record(out, `${name[0].toUpperCase()}${name.slice(1)}Backward`, [x], (g) => {
    const gc = g.contiguous();
    const dx = new Tensor(allocFloatUninit(dtype, n), x.shape);
    if (n > 0) backendFor(dtype).unaryBackward(op, x.flatFloat(), out.flatFloat(), gc.flatFloat(), dx.flatFloat());
    return [dx];
  }, saved);
}

export const neg = (t: Tensor): Tensor => unary(UnaryOp.Neg, t);
export const exp = (t: Tensor): Tensor => unary(UnaryOp.Exp, t);
/** Natural log; log of a negative number is NaN and of 0 is -Infinity, as in PyTorch. */
export const log = (t: Tensor): Tensor => unary(UnaryOp.Log, t);
export const tanh = (t: Tensor): Tensor => unary(UnaryOp.Tanh, t);
export const relu = (t: Tensor): Tensor => unary(UnaryOp.Relu, t);
export const sqrt = (t: Tensor): Tensor => unary(UnaryOp.Sqrt, t);
export const abs = (t: Tensor): Tensor => unary(UnaryOp.Abs, t);
export const sigmoid = (t: Tensor): Tensor => unary(UnaryOp.Sigmoid, t);
export const square = (t: Tensor): Tensor => unary(UnaryOp.Square, t);
export const sign = (t: Tensor): Tensor => unary(UnaryOp.Sign, t);
