// F.layerNorm: normalise over the trailing dims given by normalizedShape with the biased
// variance, then scale and shift: (x - mean) / sqrt(var + eps) · weight + bias. Composed from
// mean/sub/mul/sqrt (each with its own backward), which keeps it exact on both backends.
import { Tensor } from '../tensor/tensor.js';
import { isFloat } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';

export function normalizedShapeOf(op: string, s: number | readonly number[]): number[] {
  const shape = typeof s === 'number' ? [s] : [...s];
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: normalizedShape must be a size or a list of sizes, got ${JSON.stringify(s)}`);
  }
  return shape;
}

export function layerNorm(
  input: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5,
): Tensor {
  if (!(input instanceof Tensor)) throw new Error('layerNorm: input must be a Tensor');
  if (!isFloat(input.dtype)) throw new Error(`layerNorm: expected a floating point input, got ${input.dtype}`);
  const ns = normalizedShapeOf('layerNorm', normalizedShape);
  const k = ns.length;
  const tail = input.shape.slice(input.ndim - k);
  if (k === 0 || input.ndim < k || tail.some((d, i) => d !== ns[i])) {
    throw new Error(
      `layerNorm: given normalized_shape=${fmtShape(ns)}, expected input with shape [*, ${ns.join(', ')}], but got input of size ${fmtShape(input.shape)}`,
    );
  }
  if (typeof eps !== 'number' || !(eps >= 0)) throw new Error(`layerNorm: eps must be a non-negative number, got ${String(eps)}`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t === null || t === undefined) continue;
    if (!(t instanceof Tensor)) throw new Error(`layerNorm: ${name} must be a Tensor or null`);
    if (t.ndim !== k || t.shape.some((d, i) => d !== ns[i])) {
      throw new Error(`layerNorm: ${name} must have shape ${fmtShape(ns)} (normalized_shape), got ${fmtShape(t.shape)}`);
    }
    if (t.dtype !== input.dtype) throw new Error(`layerNorm: ${name} (${t.dtype}) and input (${input.dtype}) must have the same dtype`);
  }
  const dims = Array.from({ length: k }, (_, i) => input.ndim - k + i);
  const mean = input.mean(dims, true);
  const centered = input.sub(mean);
  const variance = centered.square().mean(dims, true);
  let y = centered.div(variance.add(eps).sqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}
