// Attach an operation to the autograd graph when recording is on and an input requires grad.
import { Tensor } from '../tensor/tensor.js';
import { versionOf } from '../autograd/version.js';

export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export function record(out: Tensor, name: string, inputs: (Tensor | null)[], backward: BackwardFn): Tensor {
  if (Tensor.needsGrad(...inputs)) {
    const versions = inputs.map((t) => (t === null ? 0 : versionOf(t.data)));
    out._setGradFn({ name, inputs, backward, versions });
  }
  return out;
}
