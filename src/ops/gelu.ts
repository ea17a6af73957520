// F.gelu: x·Φ(x) (approximate 'none', with an accurate erf) or torch's tanh approximation
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). One kernel each way (Backend.gelu / geluBackward):
// every element is computed in float64 and rounded once to the tensor's dtype, so float32
// results are within an ulp of the exact value; the backward is the closed-form derivative.
import { Tensor } from '../tensor/tensor.js';
import { allocFloatUninit, type FloatDType } from '../tensor/dtype.js';
import { backendFor } from '../backend/index.js';
import { asFloat } from './elementwise.js';
import { record } from './record.js';

export { erf, erfc } from '../backend/gelu-math.js';

export type GeluApproximate = 'none' | 'tanh';

export function gelu(input: Tensor, opts: { approximate?: GeluApproximate } = {}): Tensor {
  const approximate = opts.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new Error(`gelu: approximate must be 'none' or 'tanh', got ${String(approximate)}`);
  }
  const tanh = approximate === 'tanh';
  const x = asFloat('gelu', input).contiguous();
  const dtype = x.dtype as FloatDType;
  const n = x.numel();
  const out = new Tensor(allocFloatUninit(dtype, n), x.shape);
  if (n > 0) backendFor(dtype).gelu(x.flatFloat(), tanh, out.flatFloat());
  return record(out, 'GeluBackward', [x], (g) => {
    const gs = g.contiguous();
    const dx = new Tensor(allocFloatUninit(dtype, n), x.shape);
    if (n > 0) backendFor(dtype).geluBackward(x.flatFloat(), gs.flatFloat(), tanh, dx.flatFloat());
    return [dx];
  }, [x]);
}
