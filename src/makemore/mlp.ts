// The character-level MLP of makemore part 2 (after Bengio et al. 2003): each of the last
// `blockSize` characters is looked up in an embedding table C, the embeddings are concatenated,
// go through one tanh hidden layer, and a linear layer gives the logits of the next character.
// Trained with minibatch SGD on cross-entropy. The lecture's model is vocab 27, block 3, embedding
// 10, hidden 200: 11897 parameters. An nn.Module (parameters C, W1, b1, W2, b2 in the lecture's
// order), trained by `fit` with optim.SGD.
import { Tensor } from '../tensor/tensor.js';
import { randint, randn } from '../tensor/creation.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { fmtShape } from '../tensor/shape.js';
import { Module, Parameter } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import type { ContextDataset } from './data.js';
import type { Vocabulary } from './vocab.js';
import { sampleSequences } from './sampling.js';
import { checkFitOptions, checkLr, fitMinibatches, lectureSgd, sgdStep, type FitOptions } from './fit.js';

export interface MlpConfig {
  /** Number of tokens V (27 for names.txt). */
  vocabSize: number;
  /** Characters of context (3 in part 2). */
  blockSize: number;
  /** Embedding dimension (2 in the lecture's first version, then 10). */
  embDim: number;
  /** Hidden tanh units (100 at first, then 200). */
  hidden: number;
}

export interface MlpOptions extends Partial<MlpConfig> {
  /**
   * Draws the parameters, in the lecture's order C, W1, b1, W2, b2, all standard normal and
   * unscaled (`torch.randn(..., generator=g)`). Default: the global generator.
   */
  generator?: Generator;
}

/** A data split as tensors: X int32 [n, blockSize] contexts, Y int32 [n] next tokens. */
export interface MlpSplit {
  X: Tensor;
  Y: Tensor;
}

/** What the training and evaluation methods accept: tensors, or a `buildContexts` result. */
export type MlpData = MlpSplit | ContextDataset;

export interface MlpStepOptions {
  /** Step size of `p.data += -lr * p.grad`. */
  lr: number;
  /** Rows drawn per step with `randint(0, n, [batchSize])`. Default 32. */
  batchSize?: number;
  /**
   * Draws the minibatch indices. The lecture's `torch.randint` has no generator (so its run cannot
   * be repeated); pass a seeded one, e.g. the generator that drew the parameters. Default: the
   * global generator.
   */
  generator?: Generator;
}

/** Options of `Mlp.fit` (steps, lr or a schedule, batchSize, generator, onStep, ...). */
export type MlpTrainOptions = FitOptions;

export interface MlpTrainResult {
  /** Minibatch loss of every step (before that step's update), float32 as `loss.item()` gives it. */
  losses: Float32Array;
}

/** Rows per forward pass in `evaluate`, so a 180k-row split never needs a 180k×hidden activation. */
const EVAL_CHUNK = 8192;

export const LECTURE_MLP: MlpConfig = Object.freeze({ vocabSize: 27, blockSize: 3, embDim: 10, hidden: 200 });

function checkPositiveInt(op: string, name: string, v: unknown): asserts v is number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${op}: ${name} must be an integer >= 1, got ${String(v)}`);
}

function checkGenerator(op: string, g: unknown): asserts g is Generator {
  if (!(g instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator (e.g. new Generator().manualSeed(2147483647))`);
}

export class Mlp extends Module {
  readonly config: Readonly<MlpConfig>;
  /** Embedding table [V, embDim]. */
  readonly C: Parameter;
  /** Hidden weights [blockSize·embDim, hidden]. */
  readonly W1: Parameter;
  readonly b1: Parameter;
  /** Output weights [hidden, V]. */
  readonly W2: Parameter;
  readonly b2: Parameter;
  /** X tensors already validated, with the Y they were validated against. */
  private readonly checkedSplits = new WeakMap<Tensor, Tensor>();
  private readonly datasetTensors = new WeakMap<ContextDataset, MlpSplit>();
  /** The `p.data += -lr * p.grad` update, made on the first step (trainStep sets its lr each call). */
  private optimizer: SGD | null = null;

  constructor(options: MlpOptions = {}) {
    super();
    const op = 'createMlp';
    const { generator = defaultGenerator, ...rest } = options ?? {};
    const config = { ...LECTURE_MLP, ...rest };
    for (const key of ['vocabSize', 'blockSize', 'embDim', 'hidden'] as const) checkPositiveInt(op, key, config[key]);
    checkGenerator(op, generator);
    this.config = Object.freeze(config);
    const { vocabSize: V, blockSize, embDim, hidden } = config;
    const draw = (shape: number[]) => new Parameter(randn(shape, { generator }));
    this.C = draw([V, embDim]);
    this.W1 = draw([blockSize * embDim, hidden]);
    this.b1 = draw([hidden]);
    this.W2 = draw([hidden, V]);
    this.b2 = draw([V]);
  }

  // parameters() is Module's: [C, W1, b1, W2, b2], the lecture's `parameters` list, and
  // numParameters() its `sum(p.nelement() for p in parameters)`: 11897 for the lecture's model.

  /** Logits [n, V] for contexts X (int32 [n, blockSize]): `tanh(C[X].view(n, -1) @ W1 + b1) @ W2 + b2`. */
  forward(X: Tensor): Tensor {
    this.checkContexts('Mlp.forward', X);
    return this.logits(X);
  }

  /** Mean cross-entropy of the next tokens Y (int32 [n]) given contexts X: `F.cross_entropy(logits, Y)`. */
  loss(X: Tensor, Y: Tensor): Tensor {
    const op = 'Mlp.loss';
    this.checkContexts(op, X);
    this.checkTargets(op, Y, X.shape[0]!);
    return crossEntropy(this.logits(X), Y);
  }

  /**
   * One minibatch SGD step, as the lecture's loop body: draw `batchSize` row indices, forward,
   * `p.grad = None`, backward, `p.data += -lr * p.grad`. Returns the minibatch loss (before the update).
   */
  trainStep(data: MlpData, options: MlpStepOptions): number {
    const op = 'Mlp.trainStep';
    const { X, Y } = this.split(op, data);
    const { lr, batchSize = 32, generator = defaultGenerator } = options ?? ({} as MlpStepOptions);
    checkLr(op, lr);
    checkPositiveInt(op, 'batchSize', batchSize);
    checkGenerator(op, generator);
    if (X.shape[0] === 0) throw new RangeError(`${op}: the training split is empty (0 rows)`);
    const ix = randint(0, X.shape[0]!, [batchSize], { generator });
    // A non-finite loss is returned, not thrown: the learning-rate finder looks for it.
    return sgdStep(this.sgd(), crossEntropy(this.logits(X.index(ix)), Y.index(ix)), lr);
  }

  /**
   * `steps` minibatch steps; `lr` may change with the step (the lecture: 0.1, then 0.01 from step
   * 100000). Named `fit` because `train()` is Module's switch into training mode.
   */
  fit(data: MlpData, options: MlpTrainOptions): MlpTrainResult {
    const op = 'Mlp.fit';
    const { X, Y } = this.split(op, data);
    checkFitOptions(op, options);
    return fitMinibatches(op, this.sgd(), (Xb, Yb) => crossEntropy(this.logits(Xb), Yb), X, Y, options);
  }

  /**
   * Mean cross-entropy over a whole split, without recording the graph. Rows are processed in chunks
   * and the per-chunk sums added in float64, so a big split needs little memory; the result equals
   * the one-pass mean up to float32 rounding.
   */
  evaluate(data: MlpData): number {
    const op = 'Mlp.evaluate';
    const { X, Y } = this.split(op, data);
    const n = X.shape[0]!;
    if (n === 0) throw new RangeError(`${op}: the split is empty (0 rows); there is nothing to evaluate`);
    return noGrad(() => {
      let total = 0;
      for (let lo = 0; lo < n; lo += EVAL_CHUNK) {
        const len = Math.min(EVAL_CHUNK, n - lo);
        const logits = this.logits(X.narrow(0, lo, len));
        total += crossEntropy(logits, Y.narrow(0, lo, len), { reduction: 'sum' }).item();
      }
      return total / n;
    });
  }

  /**
   * Draw `count` words as the lecture does: context = [0] * blockSize; softmax of the logits;
   * `multinomial(probs, num_samples=1, generator=g)` (without replacement, torch's default); slide
   * the context; stop at '.'. The lecture seeds g with 2147483647 + 10.
   */
  sample(count: number, generator: Generator, vocab: Vocabulary, options: { maxLength?: number } = {}): string[] {
    const op = 'Mlp.sample';
    if (vocab?.size !== this.config.vocabSize) {
      throw new RangeError(`${op}: the model has ${this.config.vocabSize} tokens but the vocabulary has ${vocab?.size} (${String(vocab)})`);
    }
    const { blockSize } = this.config;
    return noGrad(() =>
      sampleSequences((context) => this.logits(new Tensor(context, [1, blockSize])).softmax(1), {
        count,
        blockSize,
        generator,
        vocab,
        replacement: false,
        maxLength: options.maxLength,
      }),
    );
  }

  /** The 2-D (or first two) coordinates of each character's embedding: the lecture's scatter plot data. */
  embedding2d(vocab: Vocabulary): { char: string; x: number; y: number }[] {
    const { vocabSize: V, embDim } = this.config;
    if (embDim < 2) throw new RangeError(`Mlp.embedding2d: the embedding has ${embDim} dimension; a scatter plot needs 2`);
    if (vocab?.size !== V) throw new RangeError(`Mlp.embedding2d: the model has ${V} tokens but the vocabulary has ${vocab?.size}`);
    const c = this.C.detach().contiguous().flat();
    return Array.from({ length: V }, (_, i) => ({ char: vocab.itos(i), x: c[i * embDim]!, y: c[i * embDim + 1]! }));
  }

  private logits(X: Tensor): Tensor {
    const n = X.shape[0]!;
    const emb = this.C.index(X); // [n, blockSize, embDim]
    const h = emb.view(n, this.config.blockSize * this.config.embDim).matmul(this.W1).add(this.b1).tanh();
    return h.matmul(this.W2).add(this.b2);
  }

  private sgd(): SGD {
    this.optimizer ??= lectureSgd(this.parameters());
    return this.optimizer;
  }

  /**
   * Normalise and validate a split. A split that passed once is remembered (per model), so a
   * training loop pays for the scan of 180k rows once, not at every step; the gathers inside a
   * step still bounds-check every index they read.
   */
  private split(op: string, data: MlpData): MlpSplit {
    if (data === null || typeof data !== 'object') {
      throw new TypeError(`${op}: expected { X, Y } tensors or a buildContexts(...) result, got ${data === null ? 'null' : typeof data}`);
    }
    let s: MlpSplit;
    if (data.X instanceof Int32Array) {
      const ds = data as ContextDataset;
      s = this.datasetTensors.get(ds) ?? contextTensors(ds);
      this.datasetTensors.set(ds, s);
    } else {
      s = data as MlpSplit;
    }
    if (!(s.X instanceof Tensor) || !(s.Y instanceof Tensor)) {
      throw new TypeError(`${op}: expected { X, Y } tensors or a buildContexts(...) result`);
    }
    if (this.checkedSplits.get(s.X) !== s.Y) {
      this.checkContexts(op, s.X);
      this.checkTargets(op, s.Y, s.X.shape[0]!);
      this.checkedSplits.set(s.X, s.Y);
    }
    return { X: s.X, Y: s.Y };
  }

  private checkContexts(op: string, X: Tensor): void {
    const { blockSize, vocabSize: V } = this.config;
    if (!(X instanceof Tensor)) throw new TypeError(`${op}: X must be an int32 tensor of contexts [n, ${blockSize}]`);
    if (X.dtype !== 'int32') throw new TypeError(`${op}: X must hold int32 token ids, got dtype ${X.dtype}`);
    if (X.ndim !== 2 || X.shape[1] !== blockSize) {
      throw new RangeError(`${op}: X must have shape [n, ${blockSize}] (blockSize ${blockSize}), got ${fmtShape(X.shape)}`);
    }
    const d = X.contiguous().flat();
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < 0 || v >= V) {
        throw new RangeError(
          `${op}: X[${Math.floor(i / blockSize)}, ${i % blockSize}] = ${v} is not a token id of a ${V}-token vocabulary (valid: 0..${V - 1})`,
        );
      }
    }
  }

  private checkTargets(op: string, Y: Tensor, n: number): void {
    const V = this.config.vocabSize;
    if (!(Y instanceof Tensor)) throw new TypeError(`${op}: Y must be an int32 tensor of next tokens [${n}]`);
    if (Y.dtype !== 'int32') throw new TypeError(`${op}: Y must hold int32 token ids, got dtype ${Y.dtype}`);
    if (Y.ndim !== 1 || Y.shape[0] !== n) throw new RangeError(`${op}: Y must have shape [${n}] to match X's ${n} rows, got ${fmtShape(Y.shape)}`);
    const d = Y.contiguous().flat();
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v < 0 || v >= V) throw new RangeError(`${op}: Y[${i}] = ${v} is not a token id of a ${V}-token vocabulary (valid: 0..${V - 1})`);
    }
  }
}

/**
 * The part 2 model with the lecture's seeded initialisation:
 * `createMlp({ generator: new Generator().manualSeed(2147483647) })` gives the 11897-parameter MLP.
 * Missing sizes default to the lecture's (vocab 27, block 3, embedding 10, hidden 200).
 */
export function createMlp(options: MlpOptions = {}): Mlp {
  return new Mlp(options);
}

/** A `buildContexts` result as tensors: X int32 [rows, blockSize], Y int32 [rows] (sharing its arrays). */
export function contextTensors(ds: ContextDataset): MlpSplit {
  const op = 'contextTensors';
  if (ds === null || typeof ds !== 'object' || !(ds.X instanceof Int32Array) || !(ds.Y instanceof Int32Array)) {
    throw new TypeError(`${op}: expected a buildContexts(...) result { X, Y, rows, blockSize }`);
  }
  const { rows, blockSize } = ds;
  if (ds.Y.length !== rows || ds.X.length !== rows * blockSize) {
    throw new RangeError(`${op}: X has ${ds.X.length} ids and Y ${ds.Y.length}, expected ${rows}×${blockSize} and ${rows}`);
  }
  return { X: new Tensor(ds.X, [rows, blockSize]), Y: new Tensor(ds.Y, [rows]) };
}

/** The lecture's schedule `lr = 0.1 if i < 100000 else 0.01` as `stepDecay(0.1, 0.01, 100000)`. */
export function stepDecay(lr: number, decayedLr: number, decayAt: number): (step: number) => number {
  checkLr('stepDecay', lr);
  checkLr('stepDecay', decayedLr);
  if (!Number.isInteger(decayAt) || decayAt < 0) throw new RangeError(`stepDecay: decayAt must be an integer >= 0, got ${String(decayAt)}`);
  return (step) => (step < decayAt ? lr : decayedLr);
}
