// The neural bigram of makemore part 1 (second half): a one-hot encoded character times a V×V
// weight matrix gives the logits of the next character; softmax, the mean negative log-likelihood
// plus a small L2 penalty, and full-batch gradient descent. Its loss approaches the count model's,
// because W learns the log of the (smoothed) counts. An nn.Module with one parameter W, stepped
// by optim.SGD (the lecture's `W.data += -lr * W.grad`).
import { Tensor } from '../tensor/tensor.js';
import { oneHot, randn } from '../tensor/creation.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { fmtShape } from '../tensor/shape.js';
import { Module, Parameter } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import { lectureSgd, sgdStep } from './fit.js';
import type { BigramPairs } from './data.js';
import type { Vocabulary } from './vocab.js';
import { sampleSequences } from './sampling.js';

export interface NeuralBigramOptions {
  /** Number of tokens V (27 for names.txt). */
  vocabSize: number;
  /** Draws W = randn(V, V); the lecture uses new Generator().manualSeed(2147483647). Default: the global generator. */
  generator?: Generator;
}

export interface BigramLossOptions {
  /** Weight of the L2 penalty `regularization * mean(W²)`. The lecture uses 0.01 on the full data set. Default 0.01. */
  regularization?: number;
}

export interface BigramStepOptions extends BigramLossOptions {
  /** Gradient-descent step size (`W.data += -lr * W.grad`). The lecture uses 50. Default 50. */
  lr?: number;
}

export interface BigramLoss {
  /** The training objective: nll + regularization·mean(W²). A scalar tensor in the graph. */
  loss: Tensor;
  /** The mean negative log-likelihood alone (a number), comparable with the count model's. */
  nll: number;
}

export interface BigramTrainOptions extends BigramStepOptions {
  /** Number of full-batch steps. */
  steps: number;
  /** Called after each step with the loss computed before that step's update. */
  onStep?: (step: number, loss: number, nll: number) => void;
}

function checkFiniteNumber(op: string, name: string, v: unknown, min = -Infinity): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new RangeError(`${op}: ${name} must be a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${String(v)}`);
  }
}

export class NeuralBigram extends Module {
  readonly vocabSize: number;
  /** The V×V weights: row i holds the logits of the character after token i. */
  readonly W: Parameter;
  private optimizer: SGD | null = null;

  constructor(options: NeuralBigramOptions) {
    super();
    const op = 'NeuralBigram';
    const { vocabSize, generator = defaultGenerator } = options ?? ({} as NeuralBigramOptions);
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`${op}: vocabSize must be an integer >= 1, got ${String(vocabSize)}`);
    if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator`);
    this.vocabSize = vocabSize;
    this.W = new Parameter(randn([vocabSize, vocabSize], { generator }));
  }

  /** `F.one_hot(xs, num_classes=V).float()`: float32 [n, V]. Encode a full data set once and reuse it. */
  encode(xs: Tensor | Int32Array): Tensor {
    const ids = xs instanceof Int32Array ? new Tensor(xs, [xs.length]) : xs;
    this.checkIds('NeuralBigram.encode', ids);
    return oneHot(ids, this.vocabSize);
  }

  /** Logits `xenc @ W` ([n, V]). `x` is token ids (int32 [n]) or an already one-hot float [n, V]. */
  forward(x: Tensor): Tensor {
    return this.encoded('NeuralBigram.forward', x).matmul(this.W);
  }

  /** Next-token probabilities, `counts = logits.exp(); counts / counts.sum(1, keepdim=True)`. */
  probabilities(x: Tensor): Tensor {
    return this.forward(x).softmax(1);
  }

  /**
   * The lecture's objective `-probs[arange(n), ys].log().mean() + reg * (W**2).mean()`, computed
   * with the fused, max-shifted cross-entropy (the same value, without overflow for large logits).
   */
  loss(x: Tensor, ys: Tensor, options: BigramLossOptions = {}): BigramLoss {
    const op = 'NeuralBigram.loss';
    const { regularization = 0.01 } = options;
    checkFiniteNumber(op, 'regularization', regularization, 0);
    const xenc = this.encoded(op, x);
    this.checkTargets(op, ys, xenc.shape[0]!);
    const nll = crossEntropy(xenc.matmul(this.W), ys);
    const loss = regularization === 0 ? nll : nll.add(this.W.square().mean().mul(regularization));
    return { loss, nll: nll.item() };
  }

  /** One full-batch gradient-descent step; returns the loss and nll computed before the update. */
  trainStep(x: Tensor, ys: Tensor, options: BigramStepOptions = {}): { loss: number; nll: number } {
    const { lr = 50, ...lossOptions } = options;
    checkFiniteNumber('NeuralBigram.trainStep', 'lr', lr);
    const { loss, nll } = this.loss(x, ys, lossOptions);
    this.optimizer ??= lectureSgd([this.W]);
    return { loss: sgdStep(this.optimizer, loss, lr), nll };
  }

  /**
   * `steps` full-batch steps over the same inputs (encoded once); returns each step's loss and nll.
   * Named `fit` because `train()` is Module's switch into training mode.
   */
  fit(x: Tensor, ys: Tensor, options: BigramTrainOptions): { losses: Float64Array; nlls: Float64Array } {
    const op = 'NeuralBigram.fit';
    const { steps, onStep, ...stepOptions } = options ?? ({} as BigramTrainOptions);
    if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`${op}: steps must be an integer >= 0, got ${String(steps)}`);
    if (onStep !== undefined && typeof onStep !== 'function') throw new TypeError(`${op}: onStep must be a function`);
    const xenc = this.encoded(op, x);
    const losses = new Float64Array(steps);
    const nlls = new Float64Array(steps);
    for (let k = 0; k < steps; k++) {
      const r = this.trainStep(xenc, ys, stepOptions);
      if (!Number.isFinite(r.loss)) {
        throw new Error(`${op}: the loss became ${r.loss} at step ${k}; the learning rate (${stepOptions.lr ?? 50}) is too high for this data`);
      }
      losses[k] = r.loss;
      nlls[k] = r.nll;
      onStep?.(k, r.loss, r.nll);
    }
    return { losses, nlls };
  }

  /**
   * Draw `count` words as the lecture does: from token 0, `one_hot([ix]) @ W`, softmax, then
   * `multinomial(p, 1, replacement=True, generator)` until '.' comes out.
   */
  sample(count: number, generator: Generator, vocab: Vocabulary, options: { maxLength?: number } = {}): string[] {
    const op = 'NeuralBigram.sample';
    if (vocab?.size !== this.vocabSize) {
      throw new RangeError(`${op}: the model has ${this.vocabSize} tokens but the vocabulary has ${vocab?.size} (${String(vocab)})`);
    }
    return noGrad(() =>
      sampleSequences((context) => this.probabilities(new Tensor(context, [1])), {
        count,
        blockSize: 1,
        generator,
        vocab,
        replacement: true,
        maxLength: options.maxLength,
      }),
    );
  }

  private encoded(op: string, x: Tensor): Tensor {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor of token ids (int32 [n]) or one-hot rows (float [n, ${this.vocabSize}])`);
    if (x.dtype === 'int32') {
      this.checkIds(op, x);
      return oneHot(x, this.vocabSize);
    }
    if (x.ndim !== 2 || x.shape[1] !== this.vocabSize) {
      throw new RangeError(`${op}: one-hot input must have shape [n, ${this.vocabSize}], got ${fmtShape(x.shape)} (${x.dtype})`);
    }
    return x;
  }

  private checkIds(op: string, ids: Tensor): void {
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32') {
      throw new TypeError(`${op}: token ids must be an int32 tensor, got ${ids instanceof Tensor ? ids.dtype : typeof ids}`);
    }
    if (ids.ndim !== 1) throw new RangeError(`${op}: token ids must have shape [n], got ${fmtShape(ids.shape)}`);
    checkTokens(op, 'xs', ids, this.vocabSize);
  }

  private checkTargets(op: string, ys: Tensor, n: number): void {
    if (!(ys instanceof Tensor) || ys.dtype !== 'int32') {
      throw new TypeError(`${op}: targets must be an int32 tensor, got ${ys instanceof Tensor ? ys.dtype : typeof ys}`);
    }
    if (ys.ndim !== 1 || ys.shape[0] !== n) {
      throw new RangeError(`${op}: targets must have shape [${n}] to match ${n} inputs, got ${fmtShape(ys.shape)}`);
    }
    checkTokens(op, 'ys', ys, this.vocabSize);
  }
}

function checkTokens(op: string, name: string, t: Tensor, V: number): void {
  const d = t.contiguous().flat();
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < 0 || v >= V) throw new RangeError(`${op}: ${name}[${i}] = ${v} is not a token id of a ${V}-token vocabulary (valid: 0..${V - 1})`);
  }
}

/** The lecture's seeded model: `W = torch.randn((V, V), generator=g, requires_grad=True)`. */
export function createNeuralBigram(options: NeuralBigramOptions): NeuralBigram {
  return new NeuralBigram(options);
}

/** The (xs, ys) pairs of `bigramPairs` as int32 tensors of shape [n]. */
export function bigramTensors(pairs: BigramPairs): { xs: Tensor; ys: Tensor } {
  if (!(pairs?.xs instanceof Int32Array) || !(pairs?.ys instanceof Int32Array) || pairs.xs.length !== pairs.ys.length) {
    throw new TypeError('bigramTensors: expected { xs, ys } Int32Arrays of equal length (from bigramPairs)');
  }
  return { xs: new Tensor(pairs.xs, [pairs.xs.length]), ys: new Tensor(pairs.ys, [pairs.ys.length]) };
}
