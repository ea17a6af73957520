// Reverse-mode differentiation: walk the graph recorded by the ops in reverse topological order,
// call each node's backward, undo broadcasting by summing back to the input's shape, and
// accumulate gradients (a tensor used twice receives both contributions).
import type { Tensor } from '../tensor/tensor.js';
import { sameShape } from '../tensor/shape.js';
import { noGrad } from './grad-mode.js';
import { sumToShape } from '../ops/reduce.js';
import { versionOf } from './version.js';
import { fmtShape } from '../tensor/shape.js';
import { recycleStorage, trackFreshStorage } from '../tensor/dtype.js';
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

// One backward pass keeps its state in arrays indexed by each tensor's position in the
// topological order (`_bwSlot`, valid while `_bwPass` equals the pass number), rather than in
// Maps and Sets keyed by tensor: a makemore step's backward runs in a few microseconds, and
// hashing (plus the tables that Map.delete shrinks and rebuilds) was a good share of that.
let passCount = 0;
// The DFS stack, reused by every pass (emptied afterwards, so it holds no tensors).
const stackT: Tensor[] = [];
const stackI: number[] = [];

/** The tensors that require grad reachable from root, inputs before the tensors made from them;
 *  numbers each one's slot. Iterative post-order DFS: deep graphs (long chains, long training
 *  graphs) must not overflow the stack. */
function topoOrder(root: Tensor, pass: number): Tensor[] {
  const order: Tensor[] = [];
  root._bwPass = pass;
  stackT.push(root);
  stackI.push(0);
  try {
    while (stackT.length > 0) {
      const top = stackT.length - 1;
      const t = stackT[top];
      const fn = t.gradFn;
      const i = stackI[top];
      if (fn !== null && i < fn.inputs.length) {
        stackI[top] = i + 1;
        const child = fn.inputs[i];
        if (child !== null && child.requiresGrad && child._bwPass !== pass) {
          child._bwPass = pass;
          stackT.push(child);
          stackI.push(0);
        }
      } else {
        t._bwSlot = order.length;
        order.push(t);
        stackT.pop();
        stackI.pop();
      }
    }
  } finally {
    // Empty after a normal return; only an exception leaves tensors on the stack.
    if (stackT.length !== 0) {
      stackT.length = 0;
      stackI.length = 0;
    }
  }
  return order;
}

/** Gradients collected during one backward pass, by slot. `owned[slot]` means no one else holds
 *  the buffer, so further contributions may be added into it in place. */
interface Pending {
  grads: (Tensor | null)[];
  owned: boolean[];
}

function accumulate(p: Pending, slot: number, g: Tensor, owned: boolean): void {
  const prev = p.grads[slot];
  if (prev === null) {
    p.grads[slot] = g;
    p.owned[slot] = owned;
  } else if (p.owned[slot]) {
    prev.add_(g);
    // g was added in; if no one else holds its buffer, nothing can read it again.
    if (owned) recycleStorage(g.data);
  } else if (owned) {
    // Addition commutes exactly, so adding into the fresh buffer gives the same bits.
    g.add_(prev);
    p.grads[slot] = g;
    p.owned[slot] = true;
  } else {
    p.grads[slot] = prev.add(g);
    p.owned[slot] = true;
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

/** Whether the gradient finals[i] (what a backward returned for input i, summed to the input's
 *  shape and converted to its dtype) is owned, i.e. its storage is held by no one else, so it may
 *  become a leaf's .grad without a copy and take further contributions in place: it covers its
 *  storage, which the backward (or the sum/conversion after it) allocated (in `fresh`), or which
 *  is the node's own owned incoming gradient passed on as a view (reshape, squeeze, ...); and no
 *  other gradient passed on by the same backward shares that storage (add returns the incoming
 *  gradient for both inputs; once one of them is summed to a bias's shape, the other is the
 *  buffer's only holder). */
function isOwned(finals: (Tensor | null)[], i: number, fresh: AnyArray[], freshFrom: number, incoming: Tensor, incomingOwned: boolean): boolean {
  const g = finals[i]!;
  if (!coversStorage(g)) return false;
  if (fresh.indexOf(g.data, freshFrom) < 0 && !(incomingOwned && g.data === incoming.data)) return false;
  for (let j = 0; j < finals.length; j++) {
    const o = finals[j];
    if (j !== i && o !== null && o.data === g.data) return false;
  }
  return true;
}

/** Whether any of the gradients passed on shares `data`. */
function passedOn(finals: (Tensor | null)[], data: AnyArray): boolean {
  for (const f of finals) if (f !== null && f.data === data) return true;
  return false;
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

/** Whether a backward pass is running (its per-tensor marks would be overwritten by another). */
let running = false;

export function runBackward(root: Tensor, gradient: Tensor): void {
  if (running) {
    throw new Error('backward: called from inside another backward pass (a backward function that runs backward() itself), which is not supported');
  }
  running = true;
  try {
    backwardPass(root, gradient);
  } finally {
    running = false;
  }
}

function backwardPass(root: Tensor, gradient: Tensor): void {
  noGrad(() => {
    const pass = ++passCount;
    const order = topoOrder(root, pass);
    const n = order.length;
    const pending: Pending = { grads: new Array<Tensor | null>(n).fill(null), owned: new Array<boolean>(n).fill(false) };
    pending.grads[root._bwSlot] = gradient;
    // Storages allocated during this pass, in order; from `freshFrom` on, by the current node's
    // backward (and the sums/conversions after it).
    const fresh: AnyArray[] = [];
    trackFreshStorage(fresh);
    try {
      for (let k = n - 1; k >= 0; k--) {
        const node = order[k];
        const grad = pending.grads[k];
        if (grad === null) continue;
        const gradOwned = pending.owned[k];
        pending.grads[k] = null;
        const fn = node.gradFn;
        if (fn === null) {
          depositGrad(node, grad, gradOwned);
          continue;
        }
        if (node.retainsGrad) depositGrad(node, grad, false);
        if (fn.saved) checkSaved(fn);
        const freshFrom = fresh.length;
        const grads = fn.backward(grad);
        // First every gradient in its final form, then the accumulation: adding in place into
        // one of them must not change another that is still to be summed from the same buffer.
        const m = fn.inputs.length;
        const finals = new Array<Tensor | null>(m).fill(null);
        for (let i = 0; i < m; i++) {
          const input = fn.inputs[i];
          let g = grads[i];
          // An input that did not require grad when the DFS ran (switched on by a backward) has
          // no slot in this pass: it gets nothing, as its edge was not followed.
          if (input === null || !input.requiresGrad || g === null || g === undefined || input._bwPass !== pass) continue;
          if (!sameShape(g.shape, input.shape)) g = sumToShape(g, input.shape);
          // A float32 leaf that met float64 tensors still gets a float32 gradient, as in PyTorch.
          if (g.dtype !== input.dtype) g = g.to(input.dtype);
          finals[i] = g;
        }
        for (let i = 0; i < m; i++) {
          const g = finals[i];
          if (g !== null) accumulate(pending, fn.inputs[i]!._bwSlot, g, isOwned(finals, i, fresh, freshFrom, grad, gradOwned));
        }
        // The node's incoming gradient is consumed: if the engine was its only holder and no
        // gradient passed on views it, its buffer can serve a later allocation of the same size.
        if (gradOwned && !passedOn(finals, grad.data)) recycleStorage(grad.data);
      }
    } finally {
      trackFreshStorage(null);
      fresh.length = 0;
    }
  });
}
