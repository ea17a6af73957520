// The part 5 WaveNet as dilated causal convolutions (the notebook's "next time" preview made real):
// kernel 2 with dilations 1, 2, 4 computes, at every position of a word at once, exactly what the
// hierarchical model computes for the 8-character context ending there.
//
// Why they are the same function: the hierarchy's first level multiplies the pair (x[t-1], x[t])
// by Linear([2C, H]); a kernel-2 convolution with dilation 1 does that at every t, with kernel tap 0
// = the Linear's first C rows (the older element) and tap 1 = its last C rows. Level 2 pairs the
// level-1 outputs two apart (dilation 2), level 3 four apart (dilation 4): 1 + 1 + 2 + 4 = 8 inputs,
// the notebook's block size. The hierarchical model recomputes the shared lower levels for each of
// a word's positions; the convolution computes each once.
//
// Where they differ is BatchNorm in training mode: the hierarchy normalises level 1 over the
// 32 examples x 4 pairs of its batch, the convolution over every position of every word in its
// batch (the warm-up positions over the leading '.' tokens included), so the batch statistics,
// and hence training, differ. In eval mode both use running statistics: the same
// numbers (tested to 1e-5 on every position's logits).
import { Tensor } from '../tensor/tensor.js';
import { randint, tensor } from '../tensor/creation.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { cat } from '../ops/join.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { fmtShape } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import { ModuleList } from '../nn/container.js';
import { Conv1d } from '../nn/conv.js';
import type { SGD } from '../optim/sgd.js';
import { STOP_TOKEN, encodeWord, type Vocabulary } from './vocab.js';
import { checkLr, lectureSgd, sgdStep } from './fit.js';
import { WaveNet, createWaveNet, WAVENET_CONFIG } from './part5.js';
import { sampleSequences } from './sampling.js';
import * as lecture from './lecture-layers.js';

/** Targets past the end of a word: skipped by cross-entropy (PyTorch's default ignore_index). */
export const IGNORE_INDEX = -100;

export interface WaveNetConvConfig {
  vocabSize: number;
  nEmbd: number;
  nHidden: number;
  /** Dilation of each kernel-2 layer; [1, 2, 4] sees 8 characters. */
  dilations: readonly number[];
}

/**
 * Words as sequences for the convolution, right-aligned: row b of X is '.' tokens (at least
 * `receptiveField` of them) and then the word; row b of Y holds, for output position t, the
 * character after the context that ends there: IGNORE_INDEX for the extra leading positions of a
 * word shorter than the batch's longest, then the word's characters and its end '.'. So every
 * output position sees a real context (only start tokens before the word, never padding after its
 * end, which would put contexts into BatchNorm's statistics that the hierarchical model never sees),
 * and the positions with a target are exactly the hierarchical model's examples of that word.
 */
export interface WordBatch {
  /** int32 [B, P + receptiveField - 1] */
  X: Tensor;
  /** int32 [B, P], P = longest word + 1 */
  Y: Tensor;
  /** Targets that count (sum of word lengths + 1). */
  examples: number;
}

/** All the words of a split encoded once, padded to the longest; `batch` slices rows out of it. */
export class WordSequences {
  readonly count: number;
  readonly receptiveField: number;
  readonly maxLength: number;
  /** Length of each word. */
  readonly lengths: Int32Array;
  private readonly X: Int32Array;
  private readonly Y: Int32Array;

  constructor(words: readonly string[], vocab: Vocabulary, receptiveField = 8) {
    const op = 'WordSequences';
    if (!Array.isArray(words)) throw new TypeError(`${op}: expected an array of words`);
    if (!Number.isInteger(receptiveField) || receptiveField < 1) throw new RangeError(`${op}: receptiveField must be an integer >= 1, got ${receptiveField}`);
    const encoded = words.map((w, i) => encodeWord(vocab, w, op, i));
    this.count = words.length;
    this.receptiveField = receptiveField;
    this.maxLength = encoded.reduce((m, e) => Math.max(m, e.length), 0);
    this.lengths = Int32Array.from(encoded, (e) => e.length);
    const P = this.maxLength + 1;
    const W = P + receptiveField - 1;
    this.X = new Int32Array(this.count * W).fill(STOP_TOKEN);
    this.Y = new Int32Array(this.count * P).fill(IGNORE_INDEX);
    encoded.forEach((e, b) => {
      this.X.set(e, (b + 1) * W - e.length);
      this.Y.set(e, (b + 1) * P - 1 - e.length);
      this.Y[(b + 1) * P - 1] = STOP_TOKEN;
    });
  }

  /** Examples (positions with a target) over all words: the row count of buildContexts. */
  get examples(): number {
    return this.lengths.reduce((a, l) => a + l + 1, 0);
  }

  /** The words at `rows` (indices), padded to the longest of them. */
  batch(rows: ArrayLike<number>): WordBatch {
    const op = 'WordSequences.batch';
    let longest = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (!Number.isInteger(r) || r < 0 || r >= this.count) throw new RangeError(`${op}: row ${r} at position ${i} is out of range for ${this.count} words`);
      longest = Math.max(longest, this.lengths[r]!);
    }
    const Pall = this.maxLength + 1;
    const Wall = Pall + this.receptiveField - 1;
    const P = longest + 1;
    const W = P + this.receptiveField - 1;
    const B = rows.length;
    const X = new Int32Array(B * W);
    const Y = new Int32Array(B * P);
    let examples = 0;
    for (let i = 0; i < B; i++) {
      const r = rows[i]!;
      X.set(this.X.subarray((r + 1) * Wall - W, (r + 1) * Wall), i * W);
      Y.set(this.Y.subarray((r + 1) * Pall - P, (r + 1) * Pall), i * P);
      examples += this.lengths[r]! + 1;
    }
    return { X: tensor(X, { shape: [B, W] }), Y: tensor(Y, { shape: [B, P] }), examples };
  }

  /** Rows lo..hi-1. */
  range(lo: number, hi: number): WordBatch {
    return this.batch(Int32Array.from({ length: Math.max(0, hi - lo) }, (_, i) => lo + i));
  }
}

function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${String(v)}`);
  return v as number;
}

/**
 * How the convolutions are computed (the same weights and the same function either way):
 * 'conv1d' runs nn.Conv1d (the F.conv1d kernel) on [B, C, T] activations; 'unfold' keeps the
 * activations channels-last and computes each kernel-2 dilated convolution as one matrix product,
 * `cat([x[:, :-d], x[:, d:]], -1) @ kernel` (im2col, as a BLAS-backed convolution does). The
 * F.conv1d kernel also runs on the matmul kernels (one product per tap over channels), so both
 * train at about the same speed; 'conv1d' pays two transposes per layer around nn.Conv1d's
 * [B, C, T] layout.
 */
export type ConvImpl = 'conv1d' | 'unfold';

export interface ConvFitOptions {
  steps: number;
  /** Words per step (each contributes its length + 1 examples). Default 32. */
  batchWords?: number;
  lr: number | ((step: number) => number);
  /**
   * L2 penalty added to every parameter's gradient (SGD's weight_decay). Default 0. Trained on
   * every position, the model fits the training words more closely than the hierarchical one
   * (train 1.735 vs 1.769) and stops short of its val loss; 1e-4 (CONV_TRAINING) closes the gap.
   */
  weightDecay?: number;
  /** Draws the word indices. Default: the global generator. */
  generator?: Generator;
  /** After every step: the loss over that step's examples and how many there were. */
  onStep?: (step: number, loss: number, examples: number) => void;
}

/**
 * Embedding -> [Conv1d(kernel 2, dilation d, no bias) -> BatchNorm1d -> Tanh] per dilation ->
 * Linear, on token sequences [B, T]: logits [B, T - receptiveField + 1, V], one per position.
 * BatchNorm is the notebook's (channels last, over batch and time), so the activations are
 * transposed around it ([B, C, T] for the convolution, [B, T, C] for the rest).
 */
export class WaveNetConv extends Module {
  readonly config: Readonly<WaveNetConvConfig>;
  readonly receptiveField: number;
  embedding: lecture.Embedding;
  /** One Conv1d per dilation (an nn.ModuleList, so parameters(), eval() and stateDict() see them). */
  convs: ModuleList;
  norms: ModuleList;
  head: lecture.Linear;
  /** See ConvImpl. Default 'conv1d'. */
  impl: ConvImpl = 'conv1d';
  private optimizer: SGD | null = null;

  /** Fresh weights: the hierarchical model's init (from `generator`, default the global one), mapped onto the kernels. */
  constructor(options: Partial<WaveNetConvConfig> & { generator?: Generator } = {}) {
    super();
    const op = 'WaveNetConv';
    const { generator = defaultGenerator, ...rest } = options;
    const config: WaveNetConvConfig = {
      vocabSize: rest.vocabSize ?? WAVENET_CONFIG.vocabSize, nEmbd: rest.nEmbd ?? WAVENET_CONFIG.nEmbd,
      nHidden: rest.nHidden ?? WAVENET_CONFIG.nHidden, dilations: [...(rest.dilations ?? [1, 2, 4])],
    };
    checkPositiveInt(op, 'vocabSize', config.vocabSize);
    checkPositiveInt(op, 'nEmbd', config.nEmbd);
    checkPositiveInt(op, 'nHidden', config.nHidden);
    if (!Array.isArray(config.dilations) || config.dilations.length === 0) throw new RangeError(`${op}: dilations must be a non-empty array, e.g. [1, 2, 4]`);
    config.dilations.forEach((d, i) => checkPositiveInt(op, `dilations[${i}]`, d));
    this.config = Object.freeze({ ...config, dilations: Object.freeze([...config.dilations]) });
    this.receptiveField = 1 + config.dilations.reduce((a, d) => a + d, 0);
    const { vocabSize: V, nEmbd: C, nHidden: H } = config;
    // The same draws in the same order as the hierarchical model (Embedding, then the weights).
    this.embedding = new lecture.Embedding(V, C, { generator });
    // nn.Conv1d draws its own kaiming-uniform init; a scratch generator keeps the caller's stream
    // as the hierarchical model's, and the lecture's draws replace those weights below.
    const scratch = new Generator().manualSeed(0);
    this.convs = new ModuleList(config.dilations.map((d, k) => {
      const conv = new Conv1d(k === 0 ? C : H, H, 2, { dilation: d, bias: false, generator: scratch });
      const lin = new lecture.Linear(2 * (k === 0 ? C : H), H, { bias: false, generator });
      noGrad(() => conv.weight.copy_(linearToKernel(lin.weight, k === 0 ? C : H)));
      return conv;
    }));
    this.norms = new ModuleList(config.dilations.map(() => new lecture.BatchNorm1d(H)));
    this.head = new lecture.Linear(H, V, { generator });
    lecture.scaleParameter_(this.head.weight, 0.1);
  }

  /** The k-th convolution. */
  conv(k: number): Conv1d {
    return this.convs.at(k) as Conv1d;
  }

  /** The k-th BatchNorm. */
  norm(k: number): lecture.BatchNorm1d {
    return this.norms.at(k) as lecture.BatchNorm1d;
  }

  /**
   * The convolutional twin of a hierarchical WaveNet (flatten [2, 2, ...], BatchNorm over (0, 1)):
   * its weights, BatchNorm parameters and running statistics copied, Linear [2C, H] mapped to
   * kernels [H, C, 2] (tap 0 = rows 0..C-1, the older element).
   */
  static fromHierarchical(model: WaveNet): WaveNetConv {
    const op = 'WaveNetConv.fromHierarchical';
    if (!(model instanceof WaveNet)) throw new TypeError(`${op}: expected a WaveNet`);
    const cfg = model.config;
    if (cfg.flatten.some((f) => f !== 2) || cfg.batchNorm !== 'dims01') {
      throw new RangeError(`${op}: only a hierarchy of pairs (flatten [2, 2, ...]) with BatchNorm over (0, 1) is a kernel-2 convolution; got flatten [${cfg.flatten.join(', ')}], batchNorm '${cfg.batchNorm}'`);
    }
    const dilations = cfg.flatten.map((_, k) => 2 ** k);
    const conv = new WaveNetConv({ vocabSize: cfg.vocabSize, nEmbd: cfg.nEmbd, nHidden: cfg.nHidden, dilations, generator: new Generator().manualSeed(0) });
    const layers = model.layers.layers;
    const emb = layers[0] as lecture.Embedding;
    const linears = layers.filter((l): l is lecture.Linear => l instanceof lecture.Linear);
    const norms = layers.filter((l): l is lecture.BatchNorm1d => l instanceof lecture.BatchNorm1d);
    noGrad(() => {
      conv.embedding.weight.copy_(emb.weight);
      linears.slice(0, -1).forEach((lin, k) => conv.conv(k).weight.copy_(linearToKernel(lin.weight, k === 0 ? cfg.nEmbd : cfg.nHidden)));
      norms.forEach((bn, k) => {
        const to = conv.norm(k);
        to.gamma.copy_(bn.gamma);
        to.beta.copy_(bn.beta);
        to.runningMean.copy_(bn.runningMean);
        to.runningVar.copy_(bn.runningVar);
      });
      const head = linears[linears.length - 1]!;
      conv.head.weight.copy_(head.weight);
      conv.head.bias!.copy_(head.bias!);
    });
    return conv;
  }

  /** Logits [B, T - receptiveField + 1, V] for token sequences X [B, T]. */
  forward(X: Tensor): Tensor {
    const op = 'WaveNetConv.forward';
    if (!(X instanceof Tensor) || X.dtype !== 'int32' || X.ndim !== 2) {
      throw new TypeError(`${op}: expected int32 token sequences [B, T], got ${X instanceof Tensor ? `${X.dtype} ${fmtShape(X.shape)}` : typeof X}`);
    }
    if (X.shape[1]! < this.receptiveField) {
      throw new RangeError(`${op}: sequences of ${X.shape[1]} tokens are shorter than the receptive field of ${this.receptiveField} (input ${fmtShape(X.shape)})`);
    }
    if (this.impl !== 'conv1d' && this.impl !== 'unfold') throw new RangeError(`${op}: impl must be 'conv1d' or 'unfold', got ${String(this.impl)}`);
    let h = this.embedding.forward(X); // [B, T, C]
    const levels = this.config.dilations.length;
    for (let k = 0; k < levels; k++) {
      const conv = this.conv(k);
      let y: Tensor; // [B, T', H]
      if (this.impl === 'conv1d') {
        y = conv.forward(h.transpose(1, 2)).transpose(1, 2); // Conv1d wants [B, C, T]
      } else {
        const d = conv.dilation;
        const T = h.shape[1]!;
        const pairs = cat([h.slice(1, 0, T - d), h.slice(1, d, T)], 2); // [B, T - d, 2C]: (older, newer)
        const [H, C] = conv.weight.shape as [number, number, number];
        y = pairs.matmul(conv.weight.permute(2, 1, 0).reshape([2 * C, H]));
      }
      h = this.norm(k).forward(y).tanh();
    }
    return this.head.forward(h);
  }

  /** Mean cross-entropy over the positions with a target (IGNORE_INDEX skipped). */
  loss(batch: Pick<WordBatch, 'X' | 'Y'>): Tensor {
    const logits = this.forward(batch.X);
    const V = this.config.vocabSize;
    if (logits.shape[1] !== batch.Y.shape[1]) {
      throw new RangeError(`WaveNetConv.loss: ${logits.shape[1]} output positions but Y has ${batch.Y.shape[1]} (input ${fmtShape(batch.X.shape)}, Y ${fmtShape(batch.Y.shape)})`);
    }
    return crossEntropy(logits.reshape([-1, V]), batch.Y.reshape([-1]), { ignoreIndex: IGNORE_INDEX });
  }

  /** SGD on every position of each word at once: `batchWords` words drawn with randint per step. */
  fit(words: WordSequences, options: ConvFitOptions): { losses: Float32Array; examples: number } {
    const op = 'WaveNetConv.fit';
    if (!(words instanceof WordSequences)) throw new TypeError(`${op}: expected WordSequences (new WordSequences(words, vocab))`);
    if (words.receptiveField !== this.receptiveField) throw new RangeError(`${op}: the sequences were built for a receptive field of ${words.receptiveField}, the model has ${this.receptiveField}`);
    const steps = options.steps;
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`${op}: steps must be an integer >= 0, got ${String(steps)}`);
    const batchWords = checkPositiveInt(op, 'batchWords', options.batchWords ?? 32);
    const generator = options.generator ?? defaultGenerator;
    if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator`);
    if (typeof options.lr !== 'function') checkLr(op, options.lr);
    const weightDecay = options.weightDecay ?? 0;
    if (typeof weightDecay !== 'number' || !Number.isFinite(weightDecay) || weightDecay < 0) throw new RangeError(`${op}: weightDecay must be a finite number >= 0, got ${String(weightDecay)}`);
    if (words.count === 0 && steps > 0) throw new RangeError(`${op}: no words to train on`);
    this.train();
    this.optimizer ??= lectureSgd(this.parameters());
    for (const g of this.optimizer.paramGroups) g.weightDecay = weightDecay;
    const losses = new Float32Array(steps);
    let examples = 0;
    for (let i = 0; i < steps; i++) {
      const lr = typeof options.lr === 'function' ? options.lr(i) : options.lr;
      checkLr(op, lr, ` (the schedule returned it for step ${i})`);
      const rows = randint(0, words.count, [batchWords], { generator }).flat() as Int32Array;
      const batch = words.batch(rows);
      const value = sgdStep(this.optimizer, this.loss(batch), lr);
      if (!Number.isFinite(value)) throw new Error(`${op}: the loss became ${value} at step ${i} (lr ${lr}); training diverged, lower the learning rate`);
      losses[i] = value;
      examples += batch.examples;
      options.onStep?.(i, value, batch.examples);
    }
    return { losses, examples };
  }

  /**
   * Names drawn one character at a time (eval mode): the logits of the last position for the last
   * `receptiveField` tokens, `multinomial(probs, 1)` from `generator` (default: the global one).
   */
  sample(count: number, vocab: Vocabulary, generator: Generator = defaultGenerator): string[] {
    if (vocab?.size !== this.config.vocabSize) throw new RangeError(`WaveNetConv.sample: the model has ${this.config.vocabSize} tokens but the vocabulary has ${vocab?.size}`);
    const wasTraining = this.training;
    this.eval();
    try {
      const T = this.receptiveField;
      return noGrad(() =>
        sampleSequences((ctx) => this.forward(new Tensor(ctx, [1, T])).view(1, -1).softmax(1), { count, blockSize: T, generator, vocab, replacement: false }),
      );
    } finally {
      this.train(wasTraining);
    }
  }

  /** Mean loss over every position of every word (eval mode, running statistics), in chunks of words. */
  evaluate(words: WordSequences, options: { chunk?: number } = {}): number {
    const op = 'WaveNetConv.evaluate';
    if (!(words instanceof WordSequences)) throw new TypeError(`${op}: expected WordSequences`);
    if (words.count === 0) throw new RangeError(`${op}: no words to evaluate`);
    const chunk = checkPositiveInt(op, 'chunk', options.chunk ?? 2048);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        let total = 0;
        let n = 0;
        for (let lo = 0; lo < words.count; lo += chunk) {
          const batch = words.range(lo, Math.min(words.count, lo + chunk));
          const logits = this.forward(batch.X);
          total += crossEntropy(logits.reshape([-1, this.config.vocabSize]), batch.Y.reshape([-1]), { ignoreIndex: IGNORE_INDEX, reduction: 'sum' }).item();
          n += batch.examples;
        }
        return total / n;
      });
    } finally {
      this.train(wasTraining);
    }
  }
}

/** Linear weight [2·C, H] (pair = [older; newer]) as a kernel-2 Conv1d weight [H, C, 2]. */
export function linearToKernel(weight: Tensor, C: number): Tensor {
  if (!(weight instanceof Tensor) || weight.ndim !== 2 || weight.shape[0] !== 2 * C) {
    throw new RangeError(`linearToKernel: expected a Linear weight [${2 * C}, H] (two groups of ${C} inputs), got ${weight instanceof Tensor ? fmtShape(weight.shape) : typeof weight}`);
  }
  const H = weight.shape[1]!;
  // [2C, H] -> [2, C, H] -> [H, C, 2]: kernel[o, c, j] = weight[j·C + c, o].
  return weight.detach().view(2, C, H).permute(2, 1, 0).contiguous();
}

/**
 * Training settings for the convolution that reach the hierarchical model's val loss (1.9937):
 * 32 words per step (~228 examples), lr 0.1 then 0.01 from 3/4 (`part5Lr(steps)`), SGD weight
 * decay 1e-4. Without the decay the same schedule stops at val 2.002 (train 1.735: every position
 * of every word fits the training words too closely); with it, measured: val 1.9934 one thousand
 * steps after a drop at 13,000 and 1.9900 after a drop at 26,000, so 24,000 steps (drop at 18,000) leaves
 * a margin. Sixteen words per step (more gradient noise) was worse: best 2.0073 over 60,000 steps.
 */
export const CONV_TRAINING = Object.freeze({ batchWords: 32, steps: 24000, weightDecay: 1e-4 });

/** `manualSeed(42)`, then the convolutional model with the hierarchical model's init. */
export function createWaveNetConv(): WaveNetConv {
  return WaveNetConv.fromHierarchical(createWaveNet());
}
