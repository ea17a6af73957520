// The lectures' models predict the next character from a fixed window of the previous ones (part
// 3: 3, part 5: 8), padded with the start token '.' (id 0) before the word begins, exactly as the
// lectures' build_dataset does. For the command they read the same [B, T] batches as makemore.py's
// models: each real position (not the padding after a word's stop token) becomes one example
// row, so BatchNorm's batch statistics see only real examples, and the logits go back to [B, T, V].
import { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/creation.js';
import { cat } from '../../ops/join.js';
import { validPositions } from './types.js';

export interface Rows {
  /** Row r's context tokens, oldest first: [N, contextSize]. */
  contexts: Tensor;
  /** For each position b·T + t, its row, or N for padding. */
  rowOf: Int32Array;
  batch: number;
  time: number;
  rows: number;
}

export function contextRows(idx: Tensor, contextSize: number): Rows {
  const [B, T] = idx.shape as [number, number];
  const d = idx.contiguous().flat();
  const valid = validPositions(idx);
  let n = 0;
  for (let i = 0; i < valid.length; i++) n += valid[i];
  const ctx = new Int32Array(n * contextSize);
  const rowOf = new Int32Array(B * T);
  let r = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      if (!valid[b * T + t]) {
        rowOf[b * T + t] = n;
        continue;
      }
      for (let k = 0; k < contextSize; k++) {
        const s = t - contextSize + 1 + k;
        ctx[r * contextSize + k] = s >= 0 ? d[b * T + s] : 0;
      }
      rowOf[b * T + t] = r++;
    }
  }
  return { contexts: new Tensor(ctx, [n, contextSize]), rowOf, batch: B, time: T, rows: n };
}

/** Per-row outputs [N, C] back to [B, T, C], zeros at the padding positions (whose targets are
 *  ignored). Differentiable: an index into the rows plus one zero row. */
export function scatterRows(rows: Tensor, layout: Pick<Rows, 'rowOf' | 'batch' | 'time'>): Tensor {
  const C = rows.shape[1];
  const padded = cat([rows, zeros([1, C], { dtype: rows.dtype })], 0);
  return padded.index(new Tensor(layout.rowOf, [layout.rowOf.length])).view([layout.batch, layout.time, C]);
}
