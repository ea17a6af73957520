// Reverse-mode differentiation: walk the graph recorded by the ops in reverse topological order,
// call each node's backward, undo broadcasting by summing back to the input's shape, and
// accumulate gradients (a tensor used twice receives both contributions).
import type { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';
import { noGrad } from './grad-mode.js';
import { sumToShape } from '../ops/reduce.js';
import { versionOf } from './version.js';
import { fmtShape } from '../tensor/shape.js';
import { trackFreshStorage } from '../tensor/dtype.js';
import type { AnyArray } from '../backend/backend.js';

/** A tensor that a backward reads, with the version of its storage when the op ran. */
export interface SavedTensor {
  readonly tensor: Tensor;
  readonly version: number;
}

/** One recorded operation: its inputs and how to turn the output's gradient into theirs.
 *  `backward` returns one gradient per input (null where not needed), each either in the
 *  input's shape or in a shape that broadcasts to it; the engine sums the broadcast dims away.
 *  An input that did not require grad when the op ran is null here (no edge). */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly (Tensor | null)[];
  backward(grad: Tensor): (Tensor | null)[];
  /** What `backward` reads (see record.ts); checked against in-place changes before it runs. */
  readonly saved?: readonly SavedTensor[];
}

/** Gradients collected during one backward pass. `owned` means no one else holds the buffer,
 *  so further contributions may be added into it in place. */
interface Pending {
  grad: Tensor;
  owned: boolean;
}

function topoOrder(root: Tensor): Tensor[] {
  // Iterative post-order DFS: deep graphs (long chains, long training graphs) must not overflow the stack.
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { t: Tensor; i: number }[] = [{ t: root, i: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top.t.gradFn ? top.t.gradFn.inputs : [];
    if (top.i < inputs.length) {
      const child = inputs[top.i++];
      if (child !== null && child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push({ t: child, i: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }
  return order;
}

function accumulate(pending: Map<Tensor, Pending>, t: Tensor, g: Tensor, owned: boolean): void {
  const prev = pending.get(t);
  if (prev === undefined) {
    pending.set(t, { grad: g, owned });
  } else if (prev.owned) {
    prev.grad.add_(g);
  } else if (owned) {
    // Addition commutes exactly, so adding into the fresh buffer gives the same bits.
    g.add_(prev.grad);
    pending.set(t, { grad: g, owned: true });
  } else {
    pending.set(t, { grad: prev.grad.add(g), owned: true });
  }
}

/** Add a finished gradient into `t.grad` (creating it when absent), never aliasing another tensor. */
function depositGrad(t: Tensor, g: Tensor, owned: boolean): void {
  if (t.grad === null) {
    t.grad = owned ? g : g.clone();
  } else {
    t.grad.add_(g);
  }
}

/** g is a plain contiguous tensor over the whole of its storage (so owning g means owning it all). */
function coversStorage(g: Tensor): boolean {
  return g.offset === 0 && g.data.length === g.numel() && g.isContiguous();
}

/** Whether the gradient grads[i] that a backward returned is owned, i.e. its storage is held by no
 *  one else, so it may become a leaf's .grad without a copy and take further contributions in
 *  place: it covers its storage, which the backward (or the sum/conversion after it) allocated
 *  (`fresh`), or which is the node's own owned incoming gradient passed on as a view (reshape,
 *  squeeze, ...); and no other gradient of the same backward shares that storage (add returns
 *  the incoming gradient for both inputs). */
function isOwned(grads: (Tensor | null)[], i: number, g: Tensor, fresh: Set<AnyArray>, incoming: Pending): boolean {
  if (!coversStorage(g)) return false;
  if (!fresh.has(g.data) && !(incoming.owned && g.data === incoming.grad.data)) return false;
  for (let j = 0; j < grads.length; j++) {
    const o = grads[j];
    if (j !== i && o !== null && o !== undefined && o.data === g.data) return false;
  }
  return true;
}

/** PyTorch's op name in its messages: ExpBackward -> Exp. */
const opName = (fn: GradFn): string => fn.name.replace(/Backward\d*$/, '');

/** Refuse to run a backward whose saved tensors changed in place since the op ran (the gradient
 *  would silently be wrong), with PyTorch's message plus the op that needed the tensor. */
function checkSaved(fn: GradFn): void {
  for (const { tensor, version } of fn.saved!) {
    const now = versionOf(tensor.data);
    if (now === version) continue;
    const producer = tensor.gradFn ? `, which is output 0 of ${opName(tensor.gradFn)},` : '';
    throw new Error(
      'backward: one of the variables needed for gradient computation has been modified by an inplace operation: ' +
        `[${tensor.dtype} tensor of shape ${fmtShape(tensor.shape)}]${producer} is at version ${now}; expected version ${version} instead ` +
        `(${fn.name} reads it; recompute the forward pass after changing it, or change a clone)`,
    );
  }
}

export function runBackward(root: Tensor, gradient: Tensor): void {
  noGrad(() => {
    const order = topoOrder(root);
    const pending = new Map<Tensor, Pending>();
    pending.set(root, { grad: gradient, owned: false });
    // Storages allocated by the current node's backward (and the sums/conversions after it).
    const fresh = new Set<AnyArray>();
    try {
      for (let k = order.length - 1; k >= 0; k--) {
        const node = order[k];
        const entry = pending.get(node);
        if (entry === undefined) continue;
        pending.delete(node);
        const fn = node.gradFn;
        if (fn === null) {
          depositGrad(node, entry.grad, entry.owned);
          continue;
        }
        if (node.retainsGrad) depositGrad(node, entry.grad, false);
        if (fn.saved) checkSaved(fn);
        fresh.clear();
        trackFreshStorage(fresh);
        const grads = fn.backward(entry.grad);
        for (let i = 0; i < fn.inputs.length; i++) {
          const input = fn.inputs[i];
          let g = grads[i];
          if (input === null || !input.requiresGrad || g === null || g === undefined) continue;
          if (!sameShape(g.shape, input.shape)) g = sumToShape(g, input.shape);
          // A float32 leaf that met float64 tensors still gets a float32 gradient, as in PyTorch.
          if (g.dtype !== input.dtype) g = g.to(input.dtype);
          accumulate(pending, input, g, isOwned(grads, i, g, fresh, entry));
        }
        trackFreshStorage(null);
      }
    } finally {
      trackFreshStorage(null);
      fresh.clear();
    }
  });
}
