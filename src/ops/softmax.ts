// softmax / logSoftmax over one dim (numerically stable, max-shifted), as single kernel calls.
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloatUninit, type FloatDType } from '../tensor/dtype.js';
import { normDim } from '../tensor/shape.js';
import { record } from './record.js';
import { asFloat } from './elementwise.js';

export function softmax(t: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const x0 = asFloat(op, t);
  if (x0.ndim === 0) return softmax(x0.reshape([1]), 0, log).reshape([]);
  const d = normDim(op, dim, x0.ndim);
  const last = x0.ndim - 1;
  // Kernels work on the last axis; other dims go there and back by a transpose.
  if (d !== last) return softmax(x0.transpose(d, last), -1, log).transpose(d, last);
  const x = x0.contiguous();
  const cols = x.shape[last];
  const rows = cols === 0 ? 0 : x.numel() / cols;
  const dtype = x.dtype as FloatDType;
  const out = new Tensor(allocFloatUninit(dtype, x.numel()), x.shape);
  if (x.numel() > 0) backendFor(dtype).softmax(x.flatFloat(), rows, cols, log, out.flatFloat());
  return record(out, log ? 'LogSoftmaxBackward' : 'SoftmaxBackward', [x], (g) => {
    const gc = g.contiguous();
    const dx = new Tensor(allocFloatUninit(dtype, x.numel()), x.shape);
    if (x.numel() > 0) backendFor(dtype).softmaxBackward(out.flatFloat(), gc.flatFloat(), rows, cols, log, dx.flatFloat());
    return [dx];
  }, [out]); // the backward reads the output only
}
