// makemore part 3 (makemore_part3_bn.ipynb): activations, gradients and BatchNorm, on nn.Module.
//
// - Part3Mlp: the part 2 MLP with the lecture's init fixes and, optionally, its inline BatchNorm
//   (batch mean and unbiased std, no eps; running mean/std with momentum 0.001). "Model 1" is
//   MODEL1: kaiming-scaled W1 without b1, W2·0.01, b2·0, BatchNorm: 12,097 parameters.
//   LOSS_LOG lists the notebook's loss-log experiments (original, fixed softmax, fixed tanh,
//   kaiming, batch norm) as variants of it.
// - Part3DeepNet: C + 5 × [Linear(no bias), BatchNorm1d, Tanh] + Linear + BatchNorm1d built
//   from the notebook's own layers (makemore.lecture), 47,024 parameters, with the per-layer
//   statistics the notebook prints (deepNetStats) and its bonus std studies.
// Every run draws its minibatches with `randint(..., generator=g)` from the generator that drew
// the parameters, so the seeded numbers are the notebook's.
import { Tensor } from '../tensor/tensor.js';
import { ones, randn, zeros } from '../tensor/creation.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { Module, Parameter } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import {
  activationStats, formatExp, formatSigned, formatTupleShape, tensorStats, weightGradStats, UpdateRatioTracker,
  type ActivationStats, type LabelledTensor, type TensorStats, type WeightGradStats,
} from '../viz/diagnostics.js';
import { buildContexts, readWords, splitWords } from './data.js';
import { Vocabulary } from './vocab.js';
import { contextTensors, type MlpSplit } from './mlp.js';
import { checkContexts, checkSplit } from './context-checks.js';
import { sampleSequences } from './sampling.js';
import { checkFitOptions, fitMinibatches, lectureSgd, type FitOptions, type FitResult } from './fit.js';
import * as lecture from './lecture-layers.js';

export const PART3_SEED = 2147483647;

// ---- data -----------------------------------------------------------------------------------

export interface LectureSplits {
  vocab: Vocabulary;
  words: string[];
  train: MlpSplit;
  dev: MlpSplit;
  test: MlpSplit;
}

/**
 * The notebooks' data: names.txt (or `words`), the vocabulary, the seed-42 80/10/10 split, and
 * contexts of `blockSize` characters: Xtr [182625, 3], Xdev [22655, 3], Xte [22866, 3].
 */
export function lectureSplits(options: { words?: readonly string[]; path?: string; blockSize?: number } = {}): LectureSplits {
  const words = options.words ? [...options.words] : readWords(options.path);
  const blockSize = options.blockSize ?? 3;
  const vocab = Vocabulary.fromWords(words);
  const parts = splitWords(words);
  const build = (ws: string[]) => contextTensors(buildContexts(ws, vocab, blockSize));
  return { vocab, words, train: build(parts.train), dev: build(parts.dev), test: build(parts.test) };
}

// ---- Model 1 and the loss-log variants -------------------------------------------------------

/** How the weights are scaled at init (each a multiplication of the randn draw). */
export interface Part3Init {
  /** A factor, or 'kaiming' for `* (5/3) / sqrt(fan_in)` (the tanh gain over the root of the fan-in). */
  W1: number | 'kaiming';
  /** A factor, or null for no hidden bias (BatchNorm makes it redundant). */
  b1: number | null;
  W2: number;
  b2: number;
}

export interface Part3MlpOptions {
  vocabSize?: number;
  blockSize?: number;
  embDim?: number;
  hidden?: number;
  init?: Part3Init;
  /** The inline BatchNorm between W1 and tanh. Default true. */
  batchNorm?: boolean;
  /** Running statistics: running = (1 - momentum)·running + momentum·batch. Default 0.001. */
  momentum?: number;
  /** Draws C, W1, (b1), W2, b2 in that order. Default: the global generator. */
  generator?: Generator;
}

/** Model 1's init: kaiming W1, no b1, W2·0.01, b2·0 (with BatchNorm). */
export const MODEL1_INIT: Readonly<Part3Init> = Object.freeze({ W1: 'kaiming', b1: null, W2: 0.01, b2: 0 });

export interface LossLogVariant {
  key: string;
  /** The heading in the notebook's "loss log" cell. */
  title: string;
  init: Part3Init;
  batchNorm: boolean;
  /**
   * How BatchNorm normalises at evaluation: 'split' = with the mean/std of the whole split being
   * evaluated (the then-active line of the notebook's split_loss, now commented out), or 'none'
   * (no BatchNorm).
   */
  evalStats: 'none' | 'split';
  /** The numbers the notebook's loss log wrote down (as written). */
  lecture: { train: string; val: string };
}

/**
 * The notebook's "loss log", as the variants that produce it. The batch-norm entry still had b1
 * (the video removes it only afterwards) and normalised each split with that split's own
 * statistics: that run reproduces its 2.0668270587921143 / 2.104844808578491 exactly.
 */
export const LOSS_LOG: readonly LossLogVariant[] = Object.freeze([
  { key: 'original', title: 'original', init: { W1: 1, b1: 1, W2: 1, b2: 1 }, batchNorm: false, evalStats: 'none', lecture: { train: '2.1245384216308594', val: '2.168196439743042' } },
  { key: 'fix-softmax', title: 'fix softmax confidently wrong', init: { W1: 1, b1: 1, W2: 0.01, b2: 0 }, batchNorm: false, evalStats: 'none', lecture: { train: '2.07', val: '2.13' } },
  { key: 'fix-tanh', title: 'fix tanh layer too saturated at init', init: { W1: 0.2, b1: 0.01, W2: 0.01, b2: 0 }, batchNorm: false, evalStats: 'none', lecture: { train: '2.0355966091156006', val: '2.1026785373687744' } },
  { key: 'kaiming', title: 'use semi-principled "kaiming init" instead of hacky init', init: { W1: 'kaiming', b1: 0.01, W2: 0.01, b2: 0 }, batchNorm: false, evalStats: 'none', lecture: { train: '2.0376641750335693', val: '2.106989622116089' } },
  { key: 'batchnorm', title: 'add batch norm layer', init: { W1: 'kaiming', b1: 0.01, W2: 0.01, b2: 0 }, batchNorm: true, evalStats: 'split', lecture: { train: '2.0668270587921143', val: '2.104844808578491' } },
] as LossLogVariant[]);

/** Model 1's printed results: the training log every 10000 steps and the final losses (running statistics). */
export const MODEL1_LECTURE = Object.freeze({
  log: [undefined, 2.0322, 2.5675, 2.0125, 2.2446, 1.8897, 2.0785, 2.3681, 2.2918, 2.0238, 2.3673, 2.3132, 1.6414, 1.9311, 2.2231, 2.0027, 2.0997, 2.4949, 2.0199, 2.1707] as (number | undefined)[],
  train: 2.0674145221710205,
  val: 2.1056840419769287,
});

export interface BatchNormStats {
  /** [1, hidden] */
  mean: Tensor;
  /** [1, hidden] */
  std: Tensor;
}

function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${String(v)}`);
  return v as number;
}

function checkScale(op: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${op}: init.${name} must be a finite number, got ${String(v)}`);
}

function checkVocab(op: string, vocab: Vocabulary, V: number): void {
  if (vocab?.size !== V) throw new RangeError(`${op}: the model has ${V} tokens but the vocabulary has ${vocab?.size}`);
}

/**
 * The part 3 MLP: `h = tanh(BN(C[X].view(n, -1) @ W1 (+ b1)))`, `logits = h @ W2 + b2`, where BN
 * is the notebook's inline `bngain * (hpreact - mean) / std + bnbias` with the batch's mean and
 * unbiased std in training mode and the running statistics in eval mode.
 */
export class Part3Mlp extends Module {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly embDim: number;
  readonly hidden: number;
  readonly momentum: number;
  readonly init: Readonly<Part3Init>;
  C: Parameter;
  W1: Parameter;
  b1: Parameter | null;
  W2: Parameter;
  b2: Parameter;
  bngain: Parameter | null;
  bnbias: Parameter | null;
  declare bnmeanRunning: Tensor | null;
  declare bnstdRunning: Tensor | null;
  /** The last forward's pre-activation (after BatchNorm, if any) and hidden activation, for the diagnostics. */
  hpreact: Tensor | null = null;
  h: Tensor | null = null;
  private readonly checked = new WeakMap<Tensor, Tensor>();
  private optimizer: SGD | null = null;

  constructor(options: Part3MlpOptions = {}) {
    super();
    const op = 'Part3Mlp';
    this.vocabSize = checkPositiveInt(op, 'vocabSize', options.vocabSize ?? 27);
    this.blockSize = checkPositiveInt(op, 'blockSize', options.blockSize ?? 3);
    this.embDim = checkPositiveInt(op, 'embDim', options.embDim ?? 10);
    this.hidden = checkPositiveInt(op, 'hidden', options.hidden ?? 200);
    const init = { ...(options.init ?? MODEL1_INIT) };
    if (init.W1 !== 'kaiming') checkScale(op, 'W1', init.W1);
    if (init.b1 !== null) checkScale(op, 'b1', init.b1);
    checkScale(op, 'W2', init.W2);
    checkScale(op, 'b2', init.b2);
    this.init = Object.freeze(init);
    const momentum = options.momentum ?? 0.001;
    if (!(typeof momentum === 'number' && momentum >= 0 && momentum <= 1)) throw new RangeError(`${op}: momentum must be in [0, 1], got ${String(momentum)}`);
    this.momentum = momentum;
    const generator = options.generator ?? defaultGenerator;
    if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator (e.g. new Generator().manualSeed(2147483647))`);
    const { vocabSize: V, hidden: H } = this;
    const fanIn = this.embDim * this.blockSize;
    const draw = (shape: number[]) => randn(shape, { generator });
    this.C = new Parameter(draw([V, this.embDim]));
    // As the notebook writes it: randn(...) * (5/3) / fan_in**0.5, two float32 operations.
    const w1 = draw([fanIn, H]);
    this.W1 = new Parameter(init.W1 === 'kaiming' ? w1.mul(5 / 3).div(Math.sqrt(fanIn)) : w1.mul(init.W1));
    this.b1 = init.b1 === null ? null : new Parameter(draw([H]).mul(init.b1));
    this.W2 = new Parameter(draw([H, V]).mul(init.W2));
    this.b2 = new Parameter(draw([V]).mul(init.b2));
    const batchNorm = options.batchNorm ?? true;
    this.bngain = batchNorm ? new Parameter(ones([1, H])) : null;
    this.bnbias = batchNorm ? new Parameter(zeros([1, H])) : null;
    this.registerBuffer('bnmeanRunning', batchNorm ? zeros([1, H]) : null);
    this.registerBuffer('bnstdRunning', batchNorm ? ones([1, H]) : null);
  }

  get batchNorm(): boolean {
    return this.bngain !== null;
  }

  /** Logits [n, V]. Training mode normalises with the batch statistics and moves the running ones. */
  forward(X: Tensor, options: { stats?: BatchNormStats } = {}): Tensor {
    checkContexts('Part3Mlp.forward', X, this.blockSize, this.vocabSize);
    return this.logits(X, options.stats);
  }

  /** Mean cross-entropy of the next tokens Y given X (in the current mode). */
  loss(X: Tensor, Y: Tensor): Tensor {
    return crossEntropy(this.forward(X), Y);
  }

  /** The notebook's loop: `steps` minibatch SGD steps in training mode. */
  fit(data: MlpSplit, options: FitOptions): FitResult {
    const op = 'Part3Mlp.fit';
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    checkFitOptions(op, options);
    this.train();
    this.optimizer ??= lectureSgd(this.parameters());
    return fitMinibatches(op, this.optimizer, (Xb, Yb) => crossEntropy(this.logits(Xb), Yb), data.X, data.Y, options);
  }

  /**
   * The calibration cell: the pre-activation mean and std over a whole split (the training set),
   * to normalise with at evaluation instead of the running estimates.
   */
  calibrate(data: MlpSplit): BatchNormStats {
    const op = 'Part3Mlp.calibrate';
    if (!this.batchNorm) throw new Error(`${op}: this model has no BatchNorm layer to calibrate`);
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    return noGrad(() => {
      const pre = this.preactivation(data.X);
      return { mean: pre.mean(0, true), std: pre.std(0, { keepdim: true }) };
    });
  }

  /**
   * The notebook's `split_loss`: the loss over a whole split in one pass, without the graph, in
   * eval mode (BatchNorm with the running statistics, or `stats` from `calibrate`).
   */
  evaluate(data: MlpSplit, options: { stats?: BatchNormStats } = {}): number {
    const op = 'Part3Mlp.evaluate';
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    if (data.X.shape[0] === 0) throw new RangeError(`${op}: the split is empty (0 rows)`);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => crossEntropy(this.logits(data.X, options.stats), data.Y).item());
    } finally {
      this.train(wasTraining);
    }
  }

  /** 20 names as the notebook samples them (eval mode; `multinomial(probs, 1, generator=g)`). */
  sample(count: number, generator: Generator, vocab: Vocabulary): string[] {
    checkVocab('Part3Mlp.sample', vocab, this.vocabSize);
    return sampleInEval(this, (ctx) => this.logits(new Tensor(ctx, [1, this.blockSize])).softmax(1), count, generator, vocab, this.blockSize);
  }

  private preactivation(X: Tensor): Tensor {
    const n = X.shape[0]!;
    const embcat = this.C.index(X).view(n, this.blockSize * this.embDim);
    const pre = embcat.matmul(this.W1);
    return this.b1 === null ? pre : pre.add(this.b1);
  }

  private logits(X: Tensor, stats?: BatchNormStats): Tensor {
    let hpreact = this.preactivation(X);
    if (this.bngain !== null && this.bnbias !== null) {
      let mean: Tensor;
      let std: Tensor;
      if (stats) ({ mean, std } = stats);
      else if (this.training) {
        mean = hpreact.mean(0, true);
        std = hpreact.std(0, { keepdim: true });
        const m = mean;
        const s = std;
        // bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani (and the same for the std).
        noGrad(() => {
          this.bnmeanRunning!.mul_(1 - this.momentum).add_(m.detach(), this.momentum);
          this.bnstdRunning!.mul_(1 - this.momentum).add_(s.detach(), this.momentum);
        });
      } else {
        mean = this.bnmeanRunning!;
        std = this.bnstdRunning!;
      }
      hpreact = this.bngain.mul(hpreact.sub(mean)).div(std).add(this.bnbias);
    }
    this.hpreact = hpreact;
    this.h = hpreact.tanh();
    return this.h.matmul(this.W2).add(this.b2);
  }
}

/** Model 1 (`createPart3Mlp()`): seed 2147483647, kaiming init, BatchNorm, 12,097 parameters. */
export function createPart3Mlp(options: Part3MlpOptions = {}): Part3Mlp {
  return new Part3Mlp({ generator: new Generator().manualSeed(PART3_SEED), ...options });
}

export interface VariantResult {
  variant: LossLogVariant;
  parameters: number;
  /** The minibatch loss of step 0 (the init's loss). */
  step0: number;
  train: number;
  val: number;
  losses: Float32Array;
  seconds: number;
}

/**
 * Run one loss-log variant as the notebook does: seed 2147483647, init, `steps` steps (lr 0.1, then
 * 0.01 from `decayAt`, default half way), then train/val losses.
 */
export function runLossLogVariant(
  variant: LossLogVariant,
  splits: Pick<LectureSplits, 'train' | 'dev'>,
  options: { steps?: number; decayAt?: number; onStep?: (step: number, loss: number) => void } = {},
): VariantResult {
  const steps = options.steps ?? 200000;
  const decayAt = options.decayAt ?? Math.floor(steps / 2);
  const g = new Generator().manualSeed(PART3_SEED);
  const model = new Part3Mlp({ init: variant.init, batchNorm: variant.batchNorm, generator: g });
  const t0 = performance.now();
  const { losses } = model.fit(splits.train, { steps, lr: (i) => (i < decayAt ? 0.1 : 0.01), generator: g, onStep: options.onStep });
  const seconds = (performance.now() - t0) / 1000;
  const own = (split: MlpSplit) => (variant.evalStats === 'split' ? { stats: model.calibrate(split) } : {});
  return {
    variant,
    parameters: model.numParameters(),
    step0: losses[0] ?? NaN,
    train: model.evaluate(splits.train, own(splits.train)),
    val: model.evaluate(splits.dev, own(splits.dev)),
    losses,
    seconds,
  };
}

// ---- the deep network -------------------------------------------------------------------------

export interface DeepNetOptions {
  vocabSize?: number;
  blockSize?: number;
  embDim?: number;
  /** Width of the hidden layers. Default 100. */
  hidden?: number;
  /** Number of [Linear, (BatchNorm1d,) Tanh] blocks before the output layer. Default 5. */
  depth?: number;
  /** BatchNorm after every Linear (the notebook's final network). Default true. */
  batchNorm?: boolean;
  /** Multiplies the weights of every Linear but the last (`layer.weight *= 1.0`; 5/3 is the tanh gain). Default 1. */
  gain?: number;
  /** Makes the output less confident: the last gamma (or, without BatchNorm, the last weight) times this. Default 0.1. */
  lastLayerScale?: number;
  /** Draws C, then the Linear weights in order. Default: the global generator. */
  generator?: Generator;
}

/**
 * The notebook's deep network: `emb = C[X]; x = emb.view(n, -1); for layer in layers: x = layer(x)`
 * with layers = 5 × [Linear(no bias), BatchNorm1d, Tanh] + Linear(no bias) + BatchNorm1d (or,
 * without BatchNorm, Linear(with bias) + Tanh blocks). Parameters in the notebook's order: C,
 * then each layer's.
 */
export class Part3DeepNet extends Module {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly embDim: number;
  C: Parameter;
  layers: lecture.Sequential;
  private readonly checked = new WeakMap<Tensor, Tensor>();
  private optimizer: SGD | null = null;

  constructor(options: DeepNetOptions = {}) {
    super();
    const op = 'Part3DeepNet';
    this.vocabSize = checkPositiveInt(op, 'vocabSize', options.vocabSize ?? 27);
    this.blockSize = checkPositiveInt(op, 'blockSize', options.blockSize ?? 3);
    this.embDim = checkPositiveInt(op, 'embDim', options.embDim ?? 10);
    const hidden = checkPositiveInt(op, 'hidden', options.hidden ?? 100);
    const depth = checkPositiveInt(op, 'depth', options.depth ?? 5);
    const batchNorm = options.batchNorm ?? true;
    const gain = options.gain ?? 1;
    const last = options.lastLayerScale ?? 0.1;
    checkScale(op, 'gain', gain);
    checkScale(op, 'lastLayerScale', last);
    const generator = options.generator ?? defaultGenerator;
    if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator`);
    this.C = new Parameter(randn([this.vocabSize, this.embDim], { generator }));
    const layers: Module[] = [];
    let fanIn = this.embDim * this.blockSize;
    for (let k = 0; k < depth; k++) {
      layers.push(new lecture.Linear(fanIn, hidden, { bias: !batchNorm, generator }));
      if (batchNorm) layers.push(new lecture.BatchNorm1d(hidden));
      layers.push(new lecture.Tanh());
      fanIn = hidden;
    }
    layers.push(new lecture.Linear(fanIn, this.vocabSize, { bias: !batchNorm, generator }));
    if (batchNorm) layers.push(new lecture.BatchNorm1d(this.vocabSize));
    const tail = layers[layers.length - 1]!;
    if (tail instanceof lecture.BatchNorm1d) lecture.scaleParameter_(tail.gamma, last);
    else lecture.scaleParameter_((tail as lecture.Linear).weight, last);
    for (const layer of layers.slice(0, -1)) if (layer instanceof lecture.Linear) lecture.scaleParameter_(layer.weight, gain);
    this.layers = new lecture.Sequential(layers);
  }

  /** Logits [n, V] for contexts X [n, blockSize]. */
  forward(X: Tensor): Tensor {
    checkContexts('Part3DeepNet.forward', X, this.blockSize, this.vocabSize);
    return this.logits(X);
  }

  /**
   * The notebook's loop with its debugging hooks: every step retains the gradients of the layer
   * outputs (`layer.out.retain_grad()`) and, with `updateRatios`, records the update:data ratios.
   */
  fit(data: MlpSplit, options: FitOptions & { updateRatios?: UpdateRatioTracker }): FitResult {
    const op = 'Part3DeepNet.fit';
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    checkFitOptions(op, options);
    const { updateRatios, beforeBackward, afterUpdate, ...rest } = options;
    this.train();
    this.optimizer ??= lectureSgd(this.parameters());
    return fitMinibatches(op, this.optimizer, (Xb, Yb) => crossEntropy(this.logits(Xb), Yb), data.X, data.Y, {
      ...rest,
      beforeBackward: (i, loss) => {
        lecture.retainOutputGrads(this.layers);
        beforeBackward?.(i, loss);
      },
      afterUpdate: (i, lr) => {
        updateRatios?.record(lr);
        afterUpdate?.(i, lr);
      },
    });
  }

  /** `split_loss` in eval mode (BatchNorm with the running statistics), one pass, no graph. */
  evaluate(data: MlpSplit): number {
    const op = 'Part3DeepNet.evaluate';
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    if (data.X.shape[0] === 0) throw new RangeError(`${op}: the split is empty (0 rows)`);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => crossEntropy(this.logits(data.X), data.Y).item());
    } finally {
      this.train(wasTraining);
    }
  }

  sample(count: number, generator: Generator, vocab: Vocabulary): string[] {
    checkVocab('Part3DeepNet.sample', vocab, this.vocabSize);
    return sampleInEval(this, (ctx) => this.logits(new Tensor(ctx, [1, this.blockSize])).softmax(1), count, generator, vocab, this.blockSize);
  }

  /** The parameters with the notebook's labels: index in `parameters` and shape as a tuple. */
  labelledParameters(): LabelledTensor[] {
    return this.parameters().map((p, i) => ({ label: `${i} ${formatTupleShape(p.shape)}`, tensor: p }));
  }

  private logits(X: Tensor): Tensor {
    const n = X.shape[0]!;
    return this.layers.forward(this.C.index(X).view(n, this.blockSize * this.embDim));
  }
}

/** The notebook's deep net: seed 2147483647 (C first, then the Linear weights), 47,024 parameters. */
export function createPart3DeepNet(options: DeepNetOptions = {}): Part3DeepNet {
  return new Part3DeepNet({ generator: new Generator().manualSeed(PART3_SEED), ...options });
}

/** The deep net's printed results after 1001 steps (eval mode) and its 20 samples. */
export const DEEP_LECTURE = Object.freeze({
  steps: 1001,
  train: 2.4002976417541504,
  val: 2.3982467651367188,
  activations: [
    'layer 2 (      Tanh): mean -0.00, std 0.63, saturated: 2.78%',
    'layer 5 (      Tanh): mean +0.00, std 0.64, saturated: 2.56%',
    'layer 8 (      Tanh): mean -0.00, std 0.65, saturated: 2.25%',
    'layer 11 (      Tanh): mean +0.00, std 0.65, saturated: 1.69%',
    'layer 14 (      Tanh): mean +0.00, std 0.65, saturated: 1.88%',
  ],
  gradients: [
    'layer 2 (      Tanh): mean -0.000000, std 2.640702e-03',
    'layer 5 (      Tanh): mean +0.000000, std 2.245584e-03',
    'layer 8 (      Tanh): mean -0.000000, std 2.045742e-03',
    'layer 11 (      Tanh): mean +0.000000, std 1.983134e-03',
    'layer 14 (      Tanh): mean -0.000000, std 1.952382e-03',
  ],
  weightGradients: [
    'weight   (27, 10) | mean +0.000000 | std 8.020534e-03 | grad:data ratio 8.012630e-03',
    'weight  (30, 100) | mean +0.000246 | std 9.241077e-03 | grad:data ratio 4.881091e-02',
    'weight (100, 100) | mean +0.000113 | std 7.132879e-03 | grad:data ratio 6.964619e-02',
    'weight (100, 100) | mean -0.000086 | std 6.234305e-03 | grad:data ratio 6.073741e-02',
    'weight (100, 100) | mean +0.000052 | std 5.742187e-03 | grad:data ratio 5.631483e-02',
    'weight (100, 100) | mean +0.000032 | std 5.672205e-03 | grad:data ratio 5.570125e-02',
    'weight  (100, 27) | mean -0.000082 | std 1.209416e-02 | grad:data ratio 1.160106e-01',
  ],
  samples: [
    'carpah.', 'qarlileif.', 'jmrix.', 'thty.', 'sacansa.', 'jazhnte.', 'dpn.', 'arciigqeiunellaia.', 'chriiv.', 'kalein.',
    'dhlm.', 'join.', 'qhinn.', 'sroin.', 'arian.', 'quiqaelogiearyxix.', 'kaeklinsan.', 'ed.', 'ecoia.', 'gtleley.',
  ],
});

export interface DeepNetStats {
  /** Per Tanh layer (the output layer excluded): mean, std and % of |t| > 0.97. */
  activations: (ActivationStats & { index: number })[];
  /** Per Tanh layer: mean and std of `layer.out.grad`. */
  gradients: (TensorStats & { index: number })[];
  /** Per 2-D parameter: mean, std of the gradient and grad:data. */
  weightGradients: (WeightGradStats & { index: number })[];
}

/** The tanh outputs of the last forward, labelled as the notebook's legends (`layer 2 (Tanh)`). */
export function tanhOutputs(net: Part3DeepNet, which: 'out' | 'grad' = 'out'): (LabelledTensor & { index: number })[] {
  const layers = net.layers.layers;
  const out: (LabelledTensor & { index: number })[] = [];
  layers.slice(0, -1).forEach((layer, i) => {
    if (!(layer instanceof lecture.Tanh)) return;
    const t = which === 'out' ? layer.out : layer.out?.grad;
    if (!(t instanceof Tensor)) {
      throw new Error(`tanhOutputs: layer ${i} (Tanh) has no ${which === 'out' ? 'output (run a forward pass first)' : 'output gradient (train a step: fit() retains them)'}`);
    }
    out.push({ label: `layer ${i} (Tanh)`, tensor: t, index: i });
  });
  return out;
}

/** The notebook's three diagnostic tables after training (from the last step's forward and backward). */
export function deepNetStats(net: Part3DeepNet): DeepNetStats {
  const acts = tanhOutputs(net, 'out');
  const grads = tanhOutputs(net, 'grad');
  const params = net.parameters().map((p, index) => ({ p, index })).filter(({ p }) => p.ndim === 2);
  const a = activationStats(acts, { threshold: 0.97 });
  const g = tensorStats(grads);
  const w = weightGradStats(params.map(({ p, index }) => ({ label: `${index} ${formatTupleShape(p.shape)}`, tensor: p })));
  return {
    activations: a.map((s, k) => ({ ...s, index: acts[k]!.index })),
    gradients: g.map((s, k) => ({ ...s, index: grads[k]!.index })),
    weightGradients: w.map((s, k) => ({ ...s, index: params[k]!.index })),
  };
}

/** The tables as the notebook prints them (`'layer %d (%10s): mean %+.2f, std %.2f, saturated: %.2f%%'`, ...). */
export function formatDeepNetStats(stats: DeepNetStats): { activations: string[]; gradients: string[]; weightGradients: string[] } {
  const tanh = 'Tanh'.padStart(10);
  return {
    activations: stats.activations.map(
      (s) => `layer ${s.index} (${tanh}): mean ${formatSigned(s.mean, 2)}, std ${s.std.toFixed(2)}, saturated: ${s.saturated.toFixed(2)}%`,
    ),
    gradients: stats.gradients.map((s) => `layer ${s.index} (${tanh}): mean ${formatSigned(s.mean, 6)}, std ${formatExp(s.std)}`),
    weightGradients: stats.weightGradients.map(
      (s) => `weight ${formatTupleShape(s.shape).padStart(10)} | mean ${formatSigned(s.mean, 6)} | std ${formatExp(s.std)} | grad:data ratio ${formatExp(s.gradToData)}`,
    ),
  };
}

// ---- sampling -------------------------------------------------------------------------------

function sampleInEval(
  model: Module,
  probs: (context: Int32Array) => Tensor,
  count: number,
  generator: Generator,
  vocab: Vocabulary,
  blockSize: number,
): string[] {
  const wasTraining = model.training;
  model.eval();
  try {
    // torch.multinomial(probs, num_samples=1, generator=g): without replacement, its default.
    return noGrad(() => sampleSequences(probs, { count, blockSize, generator, vocab, replacement: false }));
  } finally {
    model.train(wasTraining);
  }
}

// ---- bonus: std studies ---------------------------------------------------------------------

/** The notebook's bonus "Linear: activation statistics of forward and backward pass" (seed 2147483647). */
export function linearStdStudy(seed: number | bigint = PART3_SEED): Record<'a' | 'b' | 'c' | 'cGrad' | 'aGrad' | 'bGrad', number> {
  const g = new Generator().manualSeed(seed);
  const a = randn([1000, 1], { generator: g, requiresGrad: true });
  const b = randn([1000, 1000], { generator: g, requiresGrad: true });
  const c = b.matmul(a);
  const loss = randn([1000], { generator: g }).matmul(c);
  c.retainGrad();
  loss.backward();
  const std = (t: Tensor | null) => t!.detach().std().item();
  return { a: std(a), b: std(b), c: std(c), cGrad: std(c.grad), aGrad: std(a.grad), bGrad: std(b.grad) };
}

/** The notebook's bonus "Linear + BatchNorm" study: BatchNorm restores unit std forward and keeps the gradients in scale. */
export function linearBatchNormStdStudy(
  seed: number | bigint = PART3_SEED,
): Record<'inp' | 'w' | 'x' | 'out' | 'outGrad' | 'xGrad' | 'wGrad' | 'inpGrad', number> {
  const g = new Generator().manualSeed(seed);
  const n = 1000;
  const inp = randn([n], { generator: g, requiresGrad: true });
  const w = randn([n, n], { generator: g, requiresGrad: true });
  const x = w.matmul(inp);
  const out = x.sub(x.mean()).div(x.var().add(1e-5).sqrt());
  const loss = out.matmul(randn([n], { generator: g }));
  x.retainGrad();
  out.retainGrad();
  loss.backward();
  const std = (t: Tensor | null) => t!.detach().std().item();
  return { inp: std(inp), w: std(w), x: std(x), out: std(out), outGrad: std(out.grad), xGrad: std(x.grad), wGrad: std(w.grad), inpGrad: std(inp.grad) };
}

/** The bonus studies' printed values. */
export const STD_STUDY_LECTURE = Object.freeze({
  linear: { a: 0.9875972270965576, b: 1.0006722211837769, c: 31.01241683959961, cGrad: 0.9782556295394897, aGrad: 30.8818302154541, bGrad: 0.9666601419448853 },
  linearBatchNorm: {
    inp: 0.9875972270965576, w: 1.0006722211837769, x: 31.01241683959961, out: 1.0,
    outGrad: 0.9782556295394897, xGrad: 0.031543977558612823, wGrad: 0.031169468536973, inpGrad: 0.9953052997589111,
  },
});
