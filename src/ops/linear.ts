// F.linear: y = x Wᵀ + b with torch's layout (weight [out, in]), for x [..., in]. The forward is a
// matmul that reads Wᵀ as a transposed view (no copy) plus a broadcast add; leading dims are folded
// into one so the product is a single 2-D kernel call. The backward is its own (LinearBackward):
// dW = gᵀ·x comes out of the kernel already in W's [out, in] layout, where the composed matmul's
// backward would give the gradient of the view Wᵀ and the engine would copy it back into W's layout
// on every step; dx = g·W and db = Σ g over the rows.
import { Tensor } from '../tensor/tensor.js';
import { isFloat } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { record } from './record.js';
import { rawMm } from './matmul.js';

export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (!(input instanceof Tensor)) throw new Error('linear: input must be a Tensor');
  if (!(weight instanceof Tensor)) throw new Error('linear: weight must be a Tensor');
  if (!isFloat(input.dtype)) throw new Error(`linear: expected a floating point input, got dtype ${input.dtype} (input ${fmtShape(input.shape)})`);
  if (weight.ndim !== 2) throw new Error(`linear: weight must be 2-D [out_features, in_features], got ${fmtShape(weight.shape)}`);
  if (input.ndim === 0) throw new Error('linear: input must have at least 1 dimension, got a 0-d tensor');
  const [outF, inF] = weight.shape;
  const feat = input.shape[input.ndim - 1];
  if (feat !== inF) {
    throw new Error(
      `linear: input has ${feat} features but the layer expects ${inF} (input ${fmtShape(input.shape)}, weight ${fmtShape(weight.shape)})`,
    );
  }
  if (input.dtype !== weight.dtype) {
    throw new Error(`linear: input (${input.dtype}) and weight (${weight.dtype}) must have the same dtype`);
  }
  if (bias !== null) {
    if (!(bias instanceof Tensor)) throw new Error('linear: bias must be a Tensor or null');
    if (bias.ndim !== 1 || bias.shape[0] !== outF) {
      throw new Error(`linear: bias must have shape [${outF}] (out_features), got ${fmtShape(bias.shape)}`);
    }
    if (bias.dtype !== weight.dtype) throw new Error(`linear: bias (${bias.dtype}) and weight (${weight.dtype}) must have the same dtype`);
  }
  const lead = input.shape.slice(0, -1);
  const x2 = input.ndim === 2 ? input : input.reshape([-1, inF]);
  // x·Wᵀ and gᵀ·x read W and g through the kernel's transpose flags (no transposed views).
  const xw = rawMm(x2, false, weight, true);
  const y = bias === null ? xw : noGrad(() => xw.add(bias));
  const needX = x2.requiresGrad;
  const needW = weight.requiresGrad;
  const needB = bias !== null && bias.requiresGrad;
  record(y, 'LinearBackward', [x2, weight, bias], (g) => [
    needX ? rawMm(g, false, weight, false) : null,
    needW ? rawMm(g, true, x2, false) : null,
    needB ? g.sum(0) : null,
  ], [needW ? x2 : null, needX ? weight : null]);
  return input.ndim === 2 ? y : y.reshape([...lead, outF]);
}
