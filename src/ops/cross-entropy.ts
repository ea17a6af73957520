// Fused softmax + negative log-likelihood (F.crossEntropy): one pass forward, and the closed-form
// backward (softmax - onehot) / count. Its composed twin (logSoftmax + pick + mean) is in the tests.
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloat, allocFloatUninit, isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { record } from './record.js';
import { checkClassIndices } from './indexing.js';
import { runHostWork } from '../compile/host-work.js';

export interface CrossEntropyOptions {
  /** Target value whose rows contribute nothing (PyTorch's default is -100). */
  ignoreIndex?: number;
  /** 'mean' over non-ignored rows (default), 'sum', or 'none' (one loss per row). */
  reduction?: 'mean' | 'sum' | 'none';
}

export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  if (!(logits instanceof Tensor) || !(target instanceof Tensor)) throw new Error('crossEntropy: input and target must be Tensors');
  if (!isFloat(logits.dtype)) throw new Error(`crossEntropy: expected floating point logits, got ${logits.dtype}`);
  if (!Number.isInteger(ignoreIndex)) throw new Error(`crossEntropy: ignoreIndex must be an integer, got ${ignoreIndex}`);
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  }
  if (logits.ndim !== 2) {
    throw new Error(`crossEntropy: expected logits of shape [N, C], got ${fmtShape(logits.shape)} (reshape with view(-1, C))`);
  }
  const [rows, cols] = logits.shape;
  if (target.ndim !== 1 || target.shape[0] !== rows) {
    throw new Error(`crossEntropy: expected target of shape [${rows}] for logits ${fmtShape(logits.shape)}, got ${fmtShape(target.shape)}`);
  }
  if (target.dtype !== 'int32') throw new Error(`crossEntropy: expected target of dtype int32, got ${target.dtype} (convert with .int())`);
  if (reduction === 'none') {
    // Per-row losses: the composed form is exact and rarely hot.
    const logp = logits.logSoftmax(-1);
    const tgt = target.contiguous().flat() as Int32Array;
    const rowsIdx = new Int32Array(rows);
    for (let i = 0; i < rows; i++) rowsIdx[i] = i;
    const safeT = new Int32Array(rows);
    const keep = new Float32Array(rows);
    // Host work: a compiled step checks each call's targets and remakes the two arrays from them.
    runHostWork({
      name: 'crossEntropy targets',
      arrays: [tgt, safeT, keep],
      reads: [0],
      writes: [1, 2],
      signature: [cols, ignoreIndex],
      run: ([t, safe, kept]) => {
        checkClassIndices('crossEntropy', new Tensor(t, [...target.shape]), cols, ignoreIndex);
        for (let i = 0; i < t.length; i++) {
          const ignored = t[i] === ignoreIndex;
          safe[i] = ignored ? 0 : t[i];
          kept[i] = ignored ? 0 : 1;
        }
      },
    });
    const picked = logp.index([new Tensor(rowsIdx, [rows]), new Tensor(safeT, [rows])]);
    return picked.neg().mul(new Tensor(keep, [rows]).to(picked.dtype));
  }
  const x = logits.contiguous();
  const dtype = x.dtype as FloatDType;
  const tgt = target.contiguous().flat() as Int32Array;
  let count = 0;
  for (let i = 0; i < rows; i++) if (tgt[i] !== ignoreIndex) count++;
  const probs = allocFloatUninit(dtype, rows * cols);
  // The targets are validated once, by the kernel; only when it refuses them is the message
  // rebuilt here in PyTorch's words (no kernel runs on an empty input: check in TypeScript).
  let total = 0;
  if (rows * cols === 0) checkClassIndices('crossEntropy', target, cols, ignoreIndex);
  else {
    try {
      total = backendFor(dtype).crossEntropyForward(x.flatFloat(), rows, cols, tgt, ignoreIndex, probs);
    } catch (e) {
      checkClassIndices('crossEntropy', target, cols, ignoreIndex);
      throw e;
    }
  }
  const divisor = reduction === 'mean' ? count : 1;
  // Mean over zero rows is NaN, as in PyTorch.
  const value = divisor === 0 ? NaN : total / divisor;
  const outData = allocFloat(dtype, 1);
  outData[0] = value;
  const out = new Tensor(outData, []);
  return record(out, 'CrossEntropyBackward', [x], (g) => {
    const scale = g.item() / divisor;
    const dx = new Tensor(allocFloatUninit(dtype, rows * cols), [rows, cols]);
    if (rows * cols > 0) backendFor(dtype).crossEntropyBackward(probs, rows, cols, tgt, ignoreIndex, scale, dx.flatFloat());
    return [dx];
  }, [target]); // the backward reads the targets (tgt may be target's own storage) and its private probs
}
