// makemore part 5 (makemore_part5_cnn1.ipynb): the hierarchical, WaveNet-style model.
//
// - WaveNet: the notebook's Sequential of its own layers (makemore.lecture): Embedding, then per
//   level FlattenConsecutive(n) -> Linear(no bias) -> BatchNorm1d -> Tanh, then Linear. With
//   block 8, n_embd 24, n_hidden 128 and flatten [2, 2, 2] it is the notebook's final network,
//   76,579 parameters; the flat models of its experiment log are the same class with one level
//   (flatten [3] or [8]).
// - BatchNorm1dDim0: the notebook's BatchNorm1d before its "fix bug in batchnorm": statistics over
//   dim 0 only, so a [B, T, C] input gets separate statistics per position t (running buffers of
//   shape [T, C]), which the log entry "fix bug in batchnorm" replaced by reducing over (0, 1).
// - EXPERIMENT_LOG: the notebook's performance log as runs (runExperiment), each with the figures
//   the notebook wrote down.
// Everything draws from the GLOBAL generator (torch.manual_seed(42) in the notebook): init in the
// order Embedding, the Linear weights in order, then randint for the minibatches and multinomial
// for the samples, so the seeded step-0 loss is the notebook's.
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { batchNorm } from '../ops/batchnorm.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator, manualSeed } from '../random/generator.js';
import { fmtShape } from '../tensor/shape.js';
import { Module } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import { writeChart, type VegaLiteSpec } from '../viz/render.js';
import { checkFitOptions, fitMinibatches, lectureSgd, type FitOptions, type FitResult } from './fit.js';
import type { MlpSplit } from './mlp.js';
import { checkContexts, checkSplit } from './context-checks.js';
import type { Vocabulary } from './vocab.js';
import { sampleSequences } from './sampling.js';
import { lectureSplits, type LectureSplits } from './part3.js';
import * as lecture from './lecture-layers.js';

export const PART5_SEED = 42;

/** Which statistics the BatchNorm layers of a WaveNet use for [B, T, C] input. */
export type WaveNetBatchNorm =
  /** Over dims (0, 1), one mean/variance per channel (the notebook's fixed BatchNorm1d). */
  | 'dims01'
  /** Over dim 0 only, one mean/variance per (position, channel): the notebook's bug. */
  | 'dim0';

export interface WaveNetConfig {
  vocabSize: number;
  /** Characters of context; the product of `flatten`. */
  blockSize: number;
  nEmbd: number;
  nHidden: number;
  /** FlattenConsecutive factor of each level: [2, 2, 2] is the hierarchy, [8] the flat MLP. */
  flatten: readonly number[];
  batchNorm: WaveNetBatchNorm;
}

/** The notebook's final network: 76,579 parameters. */
export const WAVENET_CONFIG: Readonly<WaveNetConfig> = Object.freeze({
  vocabSize: 27, blockSize: 8, nEmbd: 24, nHidden: 128, flatten: Object.freeze([2, 2, 2]), batchNorm: 'dims01' as const,
});

export interface WaveNetOptions extends Partial<WaveNetConfig> {
  /** Draws the weights. Default: the global generator (the notebook's torch.manual_seed(42)). */
  generator?: Generator;
  /** `model.layers[-1].weight *= 0.1`: a less confident output at init. Default 0.1. */
  lastLayerScale?: number;
}

function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${String(v)}`);
  return v as number;
}

/**
 * The notebook's first BatchNorm1d: `x.mean(0)` and `x.var(0)` (unbiased) whatever the rank, so a
 * [B, T, C] input is normalised per (t, c) over the batch only. Its running buffers start as [C]
 * and, as in the notebook, the first 3-D batch broadcasts them to [T, C] (the notebook printed
 * `running_mean.shape == (1, 4, 68)` and found the bug). gamma and beta stay [C].
 */
export class BatchNorm1dDim0 extends lecture.BatchNorm1d {
  // Same parameters, buffers and options as the fixed layer; only the statistics' axes differ.
  override forward(x: Tensor): Tensor {
    const op = 'BatchNorm1dDim0';
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor input`);
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 1] !== this.dim) {
      throw new RangeError(`${op}: expected input [N, ${this.dim}] or [N, T, ${this.dim}] (channels last), got ${fmtShape(x.shape)}`);
    }
    const C = this.dim;
    const T = x.ndim === 3 ? x.shape[1]! : 1;
    const rowsOfStats = this.runningMean.numel() / C;
    if (rowsOfStats !== T) {
      if (rowsOfStats !== 1) {
        throw new RangeError(`${op}: the running statistics have ${rowsOfStats} positions (from an earlier input) but input ${fmtShape(x.shape)} has ${T}`);
      }
      // The notebook's broadcast `0.9 * running_mean[C] + 0.1 * xmean[1, T, C]`: repeat over T.
      this.runningMean = this.runningMean.view(1, C).expand(T, C).contiguous().view(T * C);
      this.runningVar = this.runningVar.view(1, C).expand(T, C).contiguous().view(T * C);
    }
    // dim-0 statistics of [B, T, C] are a 2-D batch norm of [B, T·C] with T·C channels.
    const n = x.shape[0]!;
    const xhat = batchNorm(x.reshape([n, T * C]), {
      runningMean: this.runningMean, runningVar: this.runningVar,
      training: this.training, momentum: this.momentum, eps: this.eps, correction: 1,
    });
    this.out = xhat.view(...x.shape).mul(this.gamma).add(this.beta);
    return this.out;
  }

  override extraRepr(): string {
    return `${this.dim}, eps=${this.eps}, momentum=${this.momentum}, dims=(0,)`;
  }
}

function checkConfig(op: string, c: WaveNetConfig): void {
  checkPositiveInt(op, 'vocabSize', c.vocabSize);
  checkPositiveInt(op, 'blockSize', c.blockSize);
  checkPositiveInt(op, 'nEmbd', c.nEmbd);
  checkPositiveInt(op, 'nHidden', c.nHidden);
  if (!Array.isArray(c.flatten) || c.flatten.length === 0) throw new RangeError(`${op}: flatten must be a non-empty array of factors, e.g. [2, 2, 2]`);
  c.flatten.forEach((f, i) => checkPositiveInt(op, `flatten[${i}]`, f));
  const product = c.flatten.reduce((a, b) => a * b, 1);
  if (product !== c.blockSize) {
    throw new RangeError(`${op}: the flatten factors [${c.flatten.join(', ')}] multiply to ${product}, but blockSize is ${c.blockSize} (each level must group the whole context)`);
  }
  if (c.batchNorm !== 'dims01' && c.batchNorm !== 'dim0') throw new RangeError(`${op}: batchNorm must be 'dims01' or 'dim0', got ${String(c.batchNorm)}`);
}

/**
 * The notebook's model: `Sequential([Embedding(V, n_embd), FlattenConsecutive(2), Linear(2·n_embd,
 * n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(), ..., Linear(n_hidden, V)])`, with the last
 * weight scaled by 0.1. `forward` takes contexts [n, blockSize] and gives logits [n, V].
 */
export class WaveNet extends Module {
  readonly config: Readonly<WaveNetConfig>;
  layers: lecture.Sequential;
  private readonly checked = new WeakMap<Tensor, Tensor>();
  private optimizer: SGD | null = null;

  constructor(options: WaveNetOptions = {}) {
    super();
    const op = 'WaveNet';
    const { generator: g, lastLayerScale = 0.1, ...rest } = options;
    const config: WaveNetConfig = { ...WAVENET_CONFIG, ...rest, flatten: [...(rest.flatten ?? WAVENET_CONFIG.flatten)] };
    checkConfig(op, config);
    if (typeof lastLayerScale !== 'number' || !Number.isFinite(lastLayerScale)) throw new RangeError(`${op}: lastLayerScale must be a finite number, got ${String(lastLayerScale)}`);
    const generator = g ?? defaultGenerator;
    if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator`);
    this.config = Object.freeze({ ...config, flatten: Object.freeze([...config.flatten]) });
    const { vocabSize: V, nEmbd, nHidden } = config;
    const layers: Module[] = [new lecture.Embedding(V, nEmbd, { generator })];
    let width = nEmbd;
    for (const f of config.flatten) {
      layers.push(new lecture.FlattenConsecutive(f));
      layers.push(new lecture.Linear(width * f, nHidden, { bias: false, generator }));
      layers.push(config.batchNorm === 'dims01' ? new lecture.BatchNorm1d(nHidden) : new BatchNorm1dDim0(nHidden));
      layers.push(new lecture.Tanh());
      width = nHidden;
    }
    const head = new lecture.Linear(nHidden, V, { generator });
    lecture.scaleParameter_(head.weight, lastLayerScale);
    layers.push(head);
    this.layers = new lecture.Sequential(layers);
  }

  get blockSize(): number {
    return this.config.blockSize;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** Logits [n, V] for contexts X [n, blockSize] (int32 token ids). */
  forward(X: Tensor): Tensor {
    checkContexts('WaveNet.forward', X, this.blockSize, this.vocabSize);
    return this.layers.forward(X);
  }

  /** Mean cross-entropy of Y given X, in the current mode. */
  loss(X: Tensor, Y: Tensor): Tensor {
    return crossEntropy(this.forward(X), Y);
  }

  /**
   * The notebook's loop in training mode: `ix = randint(0, n, (32,))` from the global generator
   * (or options.generator), forward, backward, `p.data += -lr * p.grad`.
   */
  fit(data: MlpSplit, options: FitOptions): FitResult {
    const op = 'WaveNet.fit';
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    checkFitOptions(op, options);
    this.train();
    this.optimizer ??= lectureSgd(this.parameters());
    return fitMinibatches(op, this.optimizer, (Xb, Yb) => crossEntropy(this.layers.forward(Xb), Yb), data.X, data.Y, options);
  }

  /** The notebook's `split_loss`: eval mode (running statistics), no graph, in chunks of rows. */
  evaluate(data: MlpSplit, options: { chunk?: number } = {}): number {
    const op = 'WaveNet.evaluate';
    checkSplit(op, data, this.blockSize, this.vocabSize, this.checked);
    const chunk = checkPositiveInt(op, 'chunk', options.chunk ?? 8192);
    const n = data.X.shape[0]!;
    if (n === 0) throw new RangeError(`${op}: the split is empty (0 rows)`);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() => {
        let total = 0;
        for (let lo = 0; lo < n; lo += chunk) {
          const hi = Math.min(n, lo + chunk);
          const logits = this.layers.forward(data.X.slice(0, lo, hi));
          total += crossEntropy(logits, data.Y.slice(0, lo, hi), { reduction: 'sum' }).item();
        }
        return total / n;
      });
    } finally {
      this.train(wasTraining);
    }
  }

  /**
   * Names as the notebook samples them after training: eval mode, `torch.multinomial(probs, 1)`
   * from the global generator (or `generator`), without replacement (torch's default).
   */
  sample(count: number, vocab: Vocabulary, generator: Generator = defaultGenerator): string[] {
    if (vocab?.size !== this.vocabSize) throw new RangeError(`WaveNet.sample: the model has ${this.vocabSize} tokens but the vocabulary has ${vocab?.size}`);
    const wasTraining = this.training;
    this.eval();
    try {
      return noGrad(() =>
        sampleSequences((ctx) => this.layers.forward(new Tensor(ctx, [1, this.blockSize])).softmax(1), {
          count, blockSize: this.blockSize, generator, vocab, replacement: false,
        }),
      );
    } finally {
      this.train(wasTraining);
    }
  }
}

/** `torch.manual_seed(42)` then the notebook's final network (76,579 parameters). */
export function createWaveNet(options: Omit<WaveNetOptions, 'generator'> = {}): WaveNet {
  manualSeed(PART5_SEED);
  return new WaveNet(options);
}

/** The notebook's lr: 0.1, then 0.01 from step 150000 of 200000 (from 3/4 of `steps` for shorter runs). */
export function part5Lr(steps = 200000): (step: number) => number {
  const decayAt = Math.floor((steps * 3) / 4);
  return (i) => (i < decayAt ? 0.1 : 0.01);
}

/** What the notebook printed for the final network. */
export const WAVENET_LECTURE = Object.freeze({
  parameters: 76579,
  steps: 200000,
  /** The training log (`f'{i:7d}/{max_steps:7d}: {loss.item():.4f}'`) every 10000 steps; step 0 is withheld in the reference. */
  log: Object.freeze([
    undefined, 2.0576, 2.0723, 2.5134, 2.1476, 1.7836, 2.2592, 1.9331, 1.6875, 2.0395,
    1.7736, 1.957, 1.7465, 1.8126, 1.7406, 1.7466, 1.8806, 1.6266, 1.6476, 1.8555,
  ] as (number | undefined)[]),
  train: 1.7690284252166748,
  val: 1.9936515092849731,
  samples: Object.freeze([
    'arlij.', 'chetta.', 'heago.', 'rocklei.', 'hendrix.', 'jamylie.', 'broxin.', 'denish.', 'anslibt.', 'marianah.',
    'astavia.', 'annayve.', 'aniah.', 'jayce.', 'nodiel.', 'remita.', 'niyelle.', 'jaylene.', 'aiyan.', 'aubreana.',
  ]),
});

export interface ExperimentEntry {
  key: string;
  /** The line of the notebook's performance log. */
  title: string;
  config: WaveNetConfig;
  /** The notebook's figures (train, val), as written. */
  lecture: { train: number; val: number };
}

const base = { vocabSize: 27, batchNorm: 'dims01' as WaveNetBatchNorm };
/**
 * The notebook's performance log as runs. "22K params" is the context-8 flat MLP with 200 hidden
 * units (22,097) and the hierarchy with n_hidden 68 (22,397: the video's `(32, 4, 68)` batch); the
 * first hierarchical entry still had the dim-0 BatchNorm.
 */
export const EXPERIMENT_LOG: readonly ExperimentEntry[] = Object.freeze([
  { key: 'original', title: 'original (3 character context + 200 hidden neurons, 12K params)', config: { ...base, blockSize: 3, nEmbd: 10, nHidden: 200, flatten: [3] }, lecture: { train: 2.058, val: 2.105 } },
  { key: 'context8', title: 'context: 3 -> 8 (22K params)', config: { ...base, blockSize: 8, nEmbd: 10, nHidden: 200, flatten: [8] }, lecture: { train: 1.918, val: 2.027 } },
  { key: 'hierarchical', title: 'flat -> hierarchical (22K params)', config: { ...base, blockSize: 8, nEmbd: 10, nHidden: 68, flatten: [2, 2, 2], batchNorm: 'dim0' }, lecture: { train: 1.941, val: 2.029 } },
  { key: 'bnfix', title: 'fix bug in batchnorm', config: { ...base, blockSize: 8, nEmbd: 10, nHidden: 68, flatten: [2, 2, 2] }, lecture: { train: 1.912, val: 2.022 } },
  { key: 'scaled', title: 'scale up the network: n_embd 24, n_hidden 128 (76K params)', config: { ...WAVENET_CONFIG, flatten: [2, 2, 2] }, lecture: { train: 1.769, val: 1.993 } },
] as ExperimentEntry[]);

export interface ExperimentResult {
  entry: ExperimentEntry;
  model: WaveNet;
  parameters: number;
  /** Minibatch loss of every step (before its update). */
  losses: Float32Array;
  train: number;
  val: number;
  /** Wall time of the training loop alone. */
  seconds: number;
}

/**
 * One entry of the log as the notebook runs it: `torch.manual_seed(42)`, the model, `steps` steps of
 * batch 32 (lr 0.1, then 0.01 from 3/4 of the run), then train/val in eval mode. `splits` must be
 * built with the entry's block size (lectureSplits({ blockSize })); by default they are built here.
 */
export function runExperiment(
  entry: ExperimentEntry,
  options: { steps?: number; splits?: Pick<LectureSplits, 'train' | 'dev'>; onStep?: (step: number, loss: number) => void } = {},
): ExperimentResult {
  const steps = options.steps ?? 200000;
  const splits = options.splits ?? lectureSplits({ blockSize: entry.config.blockSize });
  const model = createWaveNet(entry.config);
  const t0 = performance.now();
  const { losses } = model.fit(splits.train, { steps, lr: part5Lr(steps), onStep: options.onStep });
  const seconds = (performance.now() - t0) / 1000;
  return { entry, model, parameters: model.numParameters(), losses, train: model.evaluate(splits.train), val: model.evaluate(splits.dev), seconds };
}

/** `torch.tensor(lossi).view(-1, 1000).mean(1)` with `lossi` = log10 of every step's loss (a partial last block is dropped, as view would refuse it). */
export function smoothedLog10Loss(losses: ArrayLike<number>, every = 1000): Float64Array {
  checkPositiveInt('smoothedLog10Loss', 'every', every);
  const blocks = Math.floor(losses.length / every);
  const out = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let s = 0;
    for (let i = b * every; i < (b + 1) * every; i++) s += Math.log10(losses[i]!);
    out[b] = s / every;
  }
  return out;
}

/**
 * The notebook's loss plot: the mean log10 loss of each block of `every` steps, one line per run
 * (x = block index, as `plt.plot` of the 200 means). Writes `<base>.svg` and `<base>.png`.
 */
export async function plotSmoothedLosses(
  runs: readonly { label: string; losses: ArrayLike<number> }[],
  base: string,
  options: { every?: number; title?: string } = {},
): Promise<{ svg: string; png: string }> {
  const op = 'plotSmoothedLosses';
  const every = options.every ?? 1000;
  if (!Array.isArray(runs) || runs.length === 0) throw new RangeError(`${op}: expected at least one run { label, losses }`);
  const values: { block: number; loss: number; run: string }[] = [];
  for (const r of runs) {
    const means = smoothedLog10Loss(r.losses, every);
    if (means.length === 0) throw new RangeError(`${op}: run '${r.label}' has ${r.losses.length} steps, fewer than one block of ${every}`);
    means.forEach((m, b) => {
      if (!Number.isFinite(m)) throw new RangeError(`${op}: run '${r.label}' has a non-finite mean log10 loss in block ${b}`);
      values.push({ block: b, loss: m, run: r.label });
    });
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title ?? 'Training loss, mean of each 1000 steps',
      subtitle: `torch.tensor(lossi).view(-1, ${every}).mean(1) with lossi = log10(loss) of every step`,
      subtitleFontSize: 12, subtitleColor: '#555555',
    },
    width: 760, height: 380,
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'block', type: 'quantitative', title: `block of ${every} steps` },
      y: { field: 'loss', type: 'quantitative', title: 'mean log10(loss)', scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: null, sort: runs.map((r) => r.label), legend: runs.length > 1 ? { orient: 'top-right', labelLimit: 400 } : null },
    },
    config: { font: 'DejaVu Sans', view: { stroke: null }, axis: { labelFontSize: 12, titleFontSize: 13, gridColor: '#e4e4e4' }, title: { fontSize: 16, anchor: 'start' } },
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}
