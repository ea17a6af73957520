// F.embedding: rows of weight [num, dim] picked by integer ids of any shape → [...ids, dim].
// The backward scatter-adds into the picked rows, except padding_idx's row, which (as in torch)
// never receives a gradient.
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloat, allocFloatUninit, allocInt32, isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { runHostWork } from '../compile/host-work.js';
import { record } from './record.js';

/** Normalise a padding index against the number of rows (negative counts from the end), or throw. */
export function normPaddingIdx(op: string, paddingIdx: number | null | undefined, num: number): number | null {
  if (paddingIdx === null || paddingIdx === undefined) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -num || paddingIdx >= num) {
    throw new Error(`${op}: paddingIdx must be within the number of embeddings (${num}), got ${String(paddingIdx)}`);
  }
  return paddingIdx < 0 ? paddingIdx + num : paddingIdx;
}

export function embedding(input: Tensor, weight: Tensor, opts: { paddingIdx?: number | null } = {}): Tensor {
  if (!(input instanceof Tensor) || !(weight instanceof Tensor)) throw new Error('embedding: input and weight must be Tensors');
  if (input.dtype !== 'int32') {
    throw new Error(`embedding: expected an int32 tensor of indices, got ${input.dtype} (input ${fmtShape(input.shape)}; convert with .int())`);
  }
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be 2-D [num_embeddings, embedding_dim], got ${fmtShape(weight.shape)}`);
  if (!isFloat(weight.dtype)) throw new Error(`embedding: weight must be floating point, got ${weight.dtype}`);
  const [num, dim] = weight.shape;
  const pad = normPaddingIdx('embedding', opts.paddingIdx, num);
  const ids = input.contiguous().flat() as Int32Array;
  const w = weight.contiguous();
  const dtype = w.dtype as FloatDType;
  const rows = allocInt32(ids.length, false);
  // The row ids, checked and copied: host work, so that a compiled step redoes both on each
  // call's ids (the kernels read `rows`, never the input).
  runHostWork({
    name: 'embedding',
    arrays: [ids, rows],
    reads: [0],
    writes: [1],
    signature: [num],
    run: ([from, to]) => {
      for (let i = 0; i < from.length; i++) {
        const v = from[i];
        if (v < 0 || v >= num) {
          throw new Error(
            `embedding: index ${v} (at position ${i} of input ${fmtShape(input.shape)}) is out of range for ${num} embeddings (weight ${fmtShape(weight.shape)})`,
          );
        }
      }
      to.set(from);
    },
  });
  const out = new Tensor(allocFloatUninit(dtype, rows.length * dim), [...input.shape, dim]);
  if (out.numel() > 0) backendFor(dtype).indexSelect(w.flatFloat(), dim, rows, out.flatFloat());
  return record(out, 'EmbeddingBackward', [w], (g) => {
    const gc = g.contiguous();
    const gw = new Tensor(allocFloat(dtype, num * dim), [num, dim]);
    if (out.numel() > 0) backendFor(dtype).indexAdd(gc.flatFloat(), dim, rows, gw.flatFloat());
    if (pad !== null) gw.flatFloat().fill(0, pad * dim, (pad + 1) * dim);
    return [gw];
  }, []); // reads only the row ids, copied above: the weight may change before backward
}
