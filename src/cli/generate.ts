// Sampling and evaluation for the command, on the [B, T] batches every model type reads.
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad-mode.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import type { Generator } from '../random/generator.js';
import type { LanguageModel } from '../makemore/models/index.js';
import type { CharVocabulary, EncodedWords } from './words.js';

export interface SampleOptions {
  count: number;
  generator: Generator;
  /** Longest word of the data: a sample has at most this many characters (block size - 1). */
  maxLength: number;
  /** Keep only the k most likely tokens at each step (null: all). */
  topK?: number | null;
  temperature?: number;
  /** Characters every sample starts with. */
  prefix?: Int32Array;
}

export interface Sample {
  word: string;
  /** False when the model did not emit the stop token within maxLength characters. */
  stopped: boolean;
}

/** Draw `count` words as makemore.py's generate + print_samples: start token, then one token at a
 *  time from softmax(logits / temperature) (top-k filtered), until the stop token or maxLength
 *  characters. The model runs in eval mode (BatchNorm uses its running statistics). */
export function sampleWords(model: LanguageModel, vocab: CharVocabulary, o: SampleOptions): Sample[] {
  const { count, generator, maxLength } = o;
  const temperature = o.temperature ?? 1;
  const prefix = o.prefix ?? new Int32Array(0);
  const V = vocab.size;
  const ctxLen = model.contextLength();
  const seqs: number[][] = Array.from({ length: count }, () => [0, ...prefix]);
  const done = new Array<boolean>(count).fill(false);
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (let len = prefix.length; len < maxLength; len++) {
        const live = seqs.map((_, i) => i).filter((i) => !done[i]);
        if (live.length === 0) break;
        const T = Math.min(seqs[live[0]].length, ctxLen);
        const idx = new Int32Array(live.length * T);
        live.forEach((i, r) => idx.set(seqs[i].slice(-T), r * T));
        const logits = model.forward(new Tensor(idx, [live.length, T])).select(1, T - 1).contiguous().flat();
        live.forEach((i, r) => {
          const row = new Float64Array(V);
          for (let v = 0; v < V; v++) row[v] = logits[r * V + v] / temperature;
          if (o.topK != null && o.topK < V) {
            const kth = [...row].sort((a, b) => b - a)[o.topK - 1];
            for (let v = 0; v < V; v++) if (row[v] < kth) row[v] = -Infinity;
          }
          let max = -Infinity;
          for (let v = 0; v < V; v++) max = Math.max(max, row[v]);
          for (let v = 0; v < V; v++) row[v] = Math.exp(row[v] - max);
          const next = generator.multinomial(row, 1, true)[0];
          if (next === 0) done[i] = true;
          else seqs[i].push(next);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return seqs.map((s, i) => ({ word: vocab.decode(s.slice(1)), stopped: done[i] }));
}

export interface LossOptions {
  batchSize?: number;
}

/** Per-word negative log-likelihood (nats, summed over the word's characters and its stop token)
 *  and token counts, in eval mode without gradients. */
export function wordLosses(model: LanguageModel, data: EncodedWords, o: LossOptions = {}): { nll: Float64Array; tokens: Int32Array } {
  const batch = o.batchSize ?? 100;
  const nll = new Float64Array(data.count);
  const tokens = new Int32Array(data.count);
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (let start = 0; start < data.count; start += batch) {
        const n = Math.min(batch, data.count - start);
        const { x, y, length } = cropBatch(data, Array.from({ length: n }, (_, i) => start + i));
        const V = model.forward(new Tensor(x, [n, length]));
        const per = crossEntropy(V.reshape([n * length, V.shape[2]]), new Tensor(y, [n * length]), { ignoreIndex: -1, reduction: 'none' }).contiguous().flat();
        for (let r = 0; r < n; r++) {
          let s = 0;
          for (let t = 0; t < length; t++) s += per[r * length + t];
          nll[start + r] = s;
          tokens[start + r] = data.lengths[start + r] + 1;
        }
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { nll, tokens };
}

/** Mean loss per token over a set (every character and every stop token counts once). */
export function meanLoss(model: LanguageModel, data: EncodedWords): number {
  const { nll, tokens } = wordLosses(model, data);
  let s = 0;
  let n = 0;
  for (let i = 0; i < nll.length; i++) {
    s += nll[i];
    n += tokens[i];
  }
  return s / n;
}

/** Rows of a set, cut to the longest of them + 1 (the positions after are padding everywhere:
 *  causal models give the same outputs for the positions kept, and less work is done). */
export function cropBatch(data: EncodedWords, rows: ArrayLike<number>): { x: Int32Array; y: Int32Array; length: number } {
  let longest = 0;
  for (let i = 0; i < rows.length; i++) longest = Math.max(longest, data.lengths[rows[i]]);
  const L = longest + 1;
  const x = new Int32Array(rows.length * L);
  const y = new Int32Array(rows.length * L);
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i] * data.length;
    x.set(data.x.subarray(src, src + L), i * L);
    y.set(data.y.subarray(src, src + L), i * L);
  }
  return { x, y, length: L };
}
