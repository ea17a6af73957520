// Attach an operation to the autograd graph when recording is on and an input requires grad.
//
// `saved` lists the tensors the backward will read (PyTorch's saved tensors, the op's own output
// included where its backward uses it): their storage versions are remembered here and checked by
// the engine before the backward runs, so an in-place change in between is refused instead of
// giving a silently wrong gradient, while tensors the backward never reads may change freely.
// Without `saved` every input counts as read (safe, but refuses more graphs than PyTorch does).
import { Tensor } from '../tensor/tensor.js';
import { versionOf } from '../autograd/version.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import type { SavedTensor } from '../autograd/engine.js';

export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

/** The saved list of ops whose backward reads no tensor (shared: nothing writes to it). */
const NOTHING_SAVED: readonly SavedTensor[] = Object.freeze([]);

export function record(
  out: Tensor,
  name: string,
  inputs: (Tensor | null)[],
  backward: BackwardFn,
  saved?: readonly (Tensor | null | undefined)[],
): Tensor {
  if (!isGradEnabled()) return out;
  let any = false;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    if (t !== null && t.requiresGrad) {
      any = true;
      break;
    }
  }
  if (!any) return out;
  // The graph's edges are fixed now, as in PyTorch: an input that does not require grad at this
  // point gets no gradient from this node, even if it is switched on later.
  const edges = new Array<Tensor | null>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i];
    edges[i] = t !== null && t.requiresGrad ? t : null;
  }
  const from = saved ?? inputs;
  let keep = NOTHING_SAVED;
  for (let i = 0; i < from.length; i++) {
    const t = from[i];
    if (!t) continue;
    if (keep === NOTHING_SAVED) keep = [];
    (keep as SavedTensor[]).push({ tensor: t, version: versionOf(t.data) });
  }
  out._setGradFn({ name, inputs: edges, backward, saved: keep });
  return out;
}
