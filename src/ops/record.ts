// Attach an operation to the autograd graph when recording is on and an input requires grad.
//
// `saved` lists the tensors the backward will read (PyTorch's saved tensors, the op's own output
// included where its backward uses it): their storage versions are remembered here and checked by
// the engine before the backward runs, so an in-place change in between is refused instead of
// giving a silently wrong gradient, while tensors the backward never reads may change freely.
// Without `saved` every input counts as read (safe, but refuses more graphs than PyTorch does).
import { Tensor } from '../tensor/tensor.js';
import { versionOf } from '../autograd/version.js';
import type { SavedTensor } from '../autograd/engine.js';

export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: BackwardFn,
  saved?: readonly (Tensor | null | undefined)[],
): Tensor {
  if (Tensor.needsGrad(...inputs)) {
    // The graph's edges are fixed now, as in PyTorch: an input that does not require grad at this
    // point gets no gradient from this node, even if it is switched on later.
    const edges = inputs.map((t) => (t !== null && t.requiresGrad ? t : null));
    const keep: SavedTensor[] = [];
    for (const t of saved ?? inputs) {
      if (t) keep.push({ tensor: t, version: versionOf(t.data) });
    }
    out._setGradFn({ name, inputs: edges, backward, saved: keep });
  }
  return out;
}
