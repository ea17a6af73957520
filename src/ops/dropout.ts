// F.dropout: in training, zero each element with probability p and scale the survivors by
// 1 / (1 - p) (torch's inverted dropout); identity otherwise. The mask comes from a Generator
// (the global one by default): one uniform float32 draw per element, kept where u < 1 - p, so a
// seed gives the same mask every run. torch draws its bernoulli mask with a different recipe,
// so the masks are not torch's (only their distribution is).
import { Tensor } from '../tensor/tensor.js';
import { alloc, isFloat } from '../tensor/dtype.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { runHostWork } from '../compile/host-work.js';

export function dropout(input: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (!(input instanceof Tensor)) throw new Error('dropout: input must be a Tensor');
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`dropout: dropout probability has to be between 0 and 1, but got ${String(p)}`);
  if (generator !== undefined && !(generator instanceof Generator)) throw new Error('dropout: generator must be a Generator');
  if (!training || p === 0) return input;
  if (!isFloat(input.dtype)) throw new Error(`dropout: expected a floating point input, got ${input.dtype}`);
  const n = input.numel();
  const u = new Float32Array(n);
  (generator ?? defaultGenerator).fillRand(u, 0, 1, 'float32');
  const keep = 1 - p;
  const scale = p === 1 ? 0 : 1 / keep;
  const mask = alloc(input.dtype, n);
  // Host work: a compiled step remakes the mask from each call's draws (recorded as well).
  runHostWork({
    name: 'dropout',
    arrays: [u, mask],
    reads: [0],
    writes: [1],
    signature: [p],
    run: ([uu, m]) => {
      for (let i = 0; i < uu.length; i++) m[i] = uu[i] < keep ? scale : 0;
    },
  });
  // x · mask: its backward is g · mask, the same mask and scale.
  return input.mul(new Tensor(mask, [...input.shape]));
}
