// makemore part 4, exercise 4: "putting it all together" — train the BatchNorm MLP with the
// hand-written gradients only. No graph is recorded and backward() is never called: the forward
// pass keeps what the backward needs, the closed-form cross-entropy (exercise 2) and BatchNorm
// (exercise 3) backwards give dlogits and dhprebn, and the parameters move by p += -lr · grad.
// Afterwards BatchNorm is calibrated over the whole training set (the lecture keeps no running
// statistics), and the calibrated network is evaluated and sampled.
import { Tensor } from '../tensor/tensor.js';
import { randint, zerosLike } from '../tensor/creation.js';
import { fmtShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { indexAdd } from '../ops/index-add.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { sampleSequences } from './sampling.js';
import type { Vocabulary } from './vocab.js';
import type { MlpSplit } from './mlp.js';
import {
  NINJA_BN_EPS,
  batchNormBackward,
  checkNinjaBatch,
  crossEntropyBackward,
  ninjaParameters,
  type NinjaParams,
} from './backprop-ninja.js';

/** The hand-written gradients in the order of `ninjaParameters`: [dC, dW1, db1, dW2, db2, dbngain, dbnbias]. */
export type NinjaGrads = [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];

export interface ManualGradients {
  /** F.crossEntropy(logits, Yb) of the batch (0-d). */
  loss: Tensor;
  grads: NinjaGrads;
}

/** What exercise 4's forward pass keeps for the hand-written backward. */
export interface Exercise4Forward {
  emb: Tensor;
  embcat: Tensor;
  hprebn: Tensor;
  bnvarInv: Tensor;
  bnraw: Tensor;
  h: Tensor;
  logits: Tensor;
  /** F.crossEntropy(logits, Yb) (0-d). */
  loss: Tensor;
}

/**
 * Exercise 4's forward pass as the lecture writes it: BatchNorm with the batch's mean and unbiased
 * variance, then F.crossEntropy. It records the graph when called with grad enabled (so the
 * hand-written gradients can be checked against `loss.backward()` on the very same forward pass).
 */
export function exercise4Forward(p: NinjaParams, Xb: Tensor, Yb: Tensor): Exercise4Forward {
  checkNinjaBatch('exercise4Forward', p, Xb, Yb);
  return forward(p, Xb, Yb);
}

function forward(p: NinjaParams, Xb: Tensor, Yb: Tensor): Exercise4Forward {
  const n = Xb.shape[0];
  const { C, W1, b1, W2, b2, bngain, bnbias } = p;
  const emb = C.index(Xb);
  const embcat = emb.view(n, -1);
  // Linear layer
  const hprebn = embcat.matmul(W1).add(b1);
  // BatchNorm layer
  const bnmean = hprebn.mean(0, true);
  const bnvar = hprebn.var(0, { keepdim: true, unbiased: true });
  const bnvarInv = bnvar.add(NINJA_BN_EPS).pow(-0.5);
  const bnraw = hprebn.sub(bnmean).mul(bnvarInv);
  const hpreact = bngain.mul(bnraw).add(bnbias);
  // Non-linearity, output layer, loss
  const h = hpreact.tanh();
  const logits = h.matmul(W2).add(b2);
  const loss = crossEntropy(logits, Yb);
  return { emb, embcat, hprebn, bnvarInv, bnraw, h, logits, loss };
}

/** Exercise 4's backward pass by hand, from what the forward pass kept. */
function backward(p: NinjaParams, f: Exercise4Forward, Xb: Tensor, Yb: Tensor): NinjaGrads {
  const { C, W1, W2, bngain } = p;
  const dlogits = crossEntropyBackward(f.logits, Yb);
  const dh = dlogits.matmul(W2.T);
  const dW2 = f.h.T.matmul(dlogits);
  const db2 = dlogits.sum(0);
  // (1.0 - h**2) * dh; square() is the product h·h that PyTorch computes for h**2, without a general powf.
  const dhpreact = f.h.square().rsub(1.0).mul(dh);
  const dbngain = f.bnraw.mul(dhpreact).sum(0, true);
  const dbnbias = dhpreact.sum(0, true);
  const dhprebn = batchNormBackward(dhpreact, bngain, f.bnvarInv, f.bnraw);
  const dembcat = dhprebn.matmul(W1.T);
  const dW1 = f.embcat.T.matmul(dhprebn);
  const db1 = dhprebn.sum(0);
  const demb = dembcat.view([...f.emb.shape]);
  // dC[Xb[k, j]] += demb[k, j] for every k, j: one index-add of the n·blockSize embedding rows.
  const dC = indexAdd(zerosLike(C.detach()), 0, Xb.reshape([-1]), demb.view(-1, p.sizes.nEmbd));
  return [dC, dW1, db1, dW2, db2, dbngain, dbnbias];
}

/**
 * Exercise 4's loop body without the update, for one batch: the forward pass and the backward
 * written out by hand (no graph is recorded).
 */
export function manualGradients(p: NinjaParams, Xb: Tensor, Yb: Tensor): ManualGradients {
  checkNinjaBatch('manualGradients', p, Xb, Yb);
  return noGrad(() => forwardBackward(p, Xb, Yb));
}

function forwardBackward(p: NinjaParams, Xb: Tensor, Yb: Tensor): ManualGradients {
  const f = forward(p, Xb, Yb);
  return { loss: f.loss, grads: backward(p, f, Xb, Yb) };
}

export interface ManualStepOptions {
  /** Step size of `p.data += -lr * grad`. */
  lr: number;
  /** Rows per minibatch (32). */
  batchSize?: number;
  /** Draws the minibatch rows (the lecture's g, continued after the init). Default: the global generator. */
  generator?: Generator;
}

export interface ManualTrainOptions extends Omit<ManualStepOptions, 'lr'> {
  steps: number;
  /** A constant or a schedule: the lecture uses 0.1, then 0.01 from step 100000 (`stepDecay`). */
  lr: number | ((step: number) => number);
  /** Called after every step with the minibatch loss before that step's update. */
  onStep?: (step: number, loss: number) => void;
}

export interface ManualTrainResult {
  /** The minibatch loss of every step, before that step's update. */
  losses: Float32Array;
}

function checkSplit(op: string, p: NinjaParams, data: MlpSplit): void {
  if (data === null || typeof data !== 'object' || !(data.X instanceof Tensor) || !(data.Y instanceof Tensor)) {
    throw new TypeError(`${op}: expected { X, Y } tensors (contextTensors(buildContexts(...)))`);
  }
  // The whole split once, so a bad id is reported with its position here and not deep inside a step.
  checkNinjaBatch(op, p, data.X, data.Y, 1);
}

function checkLr(op: string, lr: unknown, where = ''): asserts lr is number {
  if (typeof lr !== 'number' || !Number.isFinite(lr)) throw new RangeError(`${op}: lr must be a finite number${where}, got ${String(lr)}`);
}

function checkBatch(op: string, batchSize: unknown): asserts batchSize is number {
  if (!Number.isInteger(batchSize) || (batchSize as number) < 2) {
    throw new RangeError(`${op}: batchSize must be an integer >= 2 (BatchNorm's unbiased variance divides by n - 1), got ${String(batchSize)}`);
  }
}

function step(p: NinjaParams, params: Tensor[], X: Tensor, Y: Tensor, lr: number, batchSize: number, g: Generator): number {
  const ix = randint(0, X.shape[0], [batchSize], { generator: g });
  const Xb = X.index(ix);
  const Yb = Y.index(ix);
  const { loss, grads } = forwardBackward(p, Xb, Yb);
  // update: p.data += -lr * grad
  for (let i = 0; i < params.length; i++) params[i].add_(grads[i], -lr);
  return loss.item();
}

/** One step of exercise 4: draw a minibatch, forward, hand-written backward, update. Returns the loss. */
export function manualTrainStep(p: NinjaParams, data: MlpSplit, options: ManualStepOptions): number {
  const op = 'manualTrainStep';
  const { lr, batchSize = 32, generator = defaultGenerator } = options ?? ({} as ManualStepOptions);
  checkLr(op, lr);
  checkBatch(op, batchSize);
  if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator`);
  checkSplit(op, p, data);
  return noGrad(() => step(p, ninjaParameters(p), data.X, data.Y, lr, batchSize, generator));
}

/**
 * Exercise 4: `steps` minibatch steps with the hand-written gradients, under noGrad (the lecture's
 * `with torch.no_grad():`), as `grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]`,
 * `for p, grad in zip(parameters, grads): p.data += -lr * grad`.
 */
export function trainManual(p: NinjaParams, data: MlpSplit, options: ManualTrainOptions): ManualTrainResult {
  const op = 'trainManual';
  const { steps, lr, batchSize = 32, generator = defaultGenerator, onStep } = options ?? ({} as ManualTrainOptions);
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`${op}: steps must be an integer >= 0, got ${String(steps)}`);
  if (typeof lr !== 'function') checkLr(op, lr);
  checkBatch(op, batchSize);
  if (!(generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator`);
  if (onStep !== undefined && typeof onStep !== 'function') throw new TypeError(`${op}: onStep must be a function`);
  checkSplit(op, p, data);
  const params = ninjaParameters(p);
  const losses = new Float32Array(steps);
  noGrad(() => {
    for (let i = 0; i < steps; i++) {
      const rate = typeof lr === 'function' ? lr(i) : lr;
      if (typeof lr === 'function') checkLr(op, rate, ` (the schedule returned it for step ${i})`);
      const loss = step(p, params, data.X, data.Y, rate, batchSize, generator);
      if (!Number.isFinite(loss)) {
        throw new Error(`${op}: the minibatch loss became ${loss} at step ${i} (lr ${rate}); training diverged, lower the learning rate`);
      }
      losses[i] = loss;
      onStep?.(i, loss);
    }
  });
  return { losses };
}

/** BatchNorm statistics of the whole training set: [1, nHidden] each. */
export interface NinjaBatchNormStats {
  bnmean: Tensor;
  /** Unbiased (Bessel's correction), as `hpreact.var(0, keepdim=True, unbiased=True)`. */
  bnvar: Tensor;
}

/** Rows per chunk when a whole split goes through the network (keeps 180k×200 activations out of memory). */
const CHUNK_ROWS = 8192;

function preActivations(p: NinjaParams, X: Tensor): Tensor {
  return p.C.index(X).view(X.shape[0], -1).matmul(p.W1).add(p.b1);
}

/**
 * Calibrate BatchNorm after training, as the lecture: `hpreact = C[Xtr].view(n, -1) @ W1 + b1`,
 * `bnmean = hpreact.mean(0, keepdim=True)`, `bnvar = hpreact.var(0, keepdim=True, unbiased=True)`.
 * The rows go through in chunks (two passes: the mean, then the squared deviations from it), the
 * per-chunk sums added up in float64, so no 146 MB activation of all 182625 rows is needed.
 */
export function calibrateBatchNorm(p: NinjaParams, X: Tensor): NinjaBatchNormStats {
  const op = 'calibrateBatchNorm';
  if (!(X instanceof Tensor) || X.dtype !== 'int32' || X.ndim !== 2 || X.shape[1] !== p.sizes.blockSize) {
    throw new TypeError(`${op}: X must be an int32 tensor of contexts [n, ${p.sizes.blockSize}]`);
  }
  const n = X.shape[0];
  if (n < 2) throw new RangeError(`${op}: need at least 2 rows for an unbiased variance, got ${n}`);
  const dtype = p.W1.dtype;
  return noGrad(() => {
    // Per-chunk sums in the network's dtype, added up across chunks in float64.
    const total = (fn: (hpre: Tensor) => Tensor) => {
      let acc: Tensor | null = null;
      for (let lo = 0; lo < n; lo += CHUNK_ROWS) {
        const s = fn(preActivations(p, X.narrow(0, lo, Math.min(CHUNK_ROWS, n - lo)))).to('float64');
        acc = acc === null ? s : acc.add(s);
      }
      return acc!;
    };
    const mean = total((hpre) => hpre.sum(0, true)).div(n);
    const mean32 = mean.to(dtype);
    const bnvar = total((hpre) => hpre.sub(mean32).square().sum(0, true)).div(n - 1);
    return { bnmean: mean32, bnvar: bnvar.to(dtype) };
  });
}

function checkStats(op: string, p: NinjaParams, bn: NinjaBatchNormStats): void {
  const H = p.sizes.nHidden;
  for (const key of ['bnmean', 'bnvar'] as const) {
    const t = bn?.[key];
    if (!(t instanceof Tensor) || t.numel() !== H) {
      throw new TypeError(`${op}: bn.${key} must be a [1, ${H}] tensor (calibrateBatchNorm), got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
    }
  }
}

function evalLogits(p: NinjaParams, bn: NinjaBatchNormStats, X: Tensor): Tensor {
  // hpreact = bngain * (hpreact - bnmean) * (bnvar + 1e-5)**-0.5 + bnbias, with the calibrated statistics
  const hpreact = p.bngain.mul(preActivations(p, X).sub(bn.bnmean)).mul(bn.bnvar.add(NINJA_BN_EPS).pow(-0.5)).add(p.bnbias);
  return hpreact.tanh().matmul(p.W2).add(p.b2);
}

/** The lecture's `split_loss`: mean cross-entropy of a split with the calibrated BatchNorm statistics. */
export function evaluateNinja(p: NinjaParams, bn: NinjaBatchNormStats, data: MlpSplit): number {
  const op = 'evaluateNinja';
  checkStats(op, p, bn);
  checkSplit(op, p, data);
  const { X, Y } = data;
  const n = X.shape[0];
  return noGrad(() => {
    let total = 0;
    for (let lo = 0; lo < n; lo += CHUNK_ROWS) {
      const len = Math.min(CHUNK_ROWS, n - lo);
      total += crossEntropy(evalLogits(p, bn, X.narrow(0, lo, len)), Y.narrow(0, lo, len), { reduction: 'sum' }).item();
    }
    return total / n;
  });
}

/**
 * Sample words from the calibrated network, as the lecture: context of '.' tokens, softmax of the
 * logits, `torch.multinomial(probs, num_samples=1, generator=g)` (without replacement, torch's
 * default), slide the context, stop at '.'. The lecture seeds g with 2147483647 + 10.
 */
export function sampleNinja(p: NinjaParams, bn: NinjaBatchNormStats, count: number, generator: Generator, vocab: Vocabulary): string[] {
  const op = 'sampleNinja';
  checkStats(op, p, bn);
  if (vocab?.size !== p.sizes.vocabSize) {
    throw new RangeError(`${op}: the network has ${p.sizes.vocabSize} tokens but the vocabulary has ${vocab?.size}`);
  }
  const { blockSize } = p.sizes;
  return noGrad(() =>
    sampleSequences((context) => evalLogits(p, bn, new Tensor(context, [1, blockSize])).softmax(1), {
      count, blockSize, generator, vocab, replacement: false,
    }),
  );
}
