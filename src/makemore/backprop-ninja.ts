// makemore part 4, "becoming a backprop ninja" (makemore_part4_backprop.ipynb): the part 3 MLP with
// an inline BatchNorm, its forward pass cut into the lecture's atomic steps, and the backward pass of
// every step written by hand with tensor ops, checked against autograd (exercise 1); the closed-form
// backward of cross-entropy (exercise 2) and of BatchNorm (exercise 3); and training the network
// with the hand-written gradients only (exercise 4: the training step lives in ./part4.ts).
//
// Everything here is raw tensors, as the lecture writes it (no nn layers).
import { Tensor } from '../tensor/tensor.js';
import { arange, oneHot, onesLike, randn, zerosLike } from '../tensor/creation.js';
import type { FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { allclose } from '../ops/allclose.js';
import { writeChart, type VegaLiteSpec } from '../viz/render.js';

/** The sizes of the lecture's network. */
export interface NinjaSizes {
  /** Tokens (27 for names.txt). */
  vocabSize: number;
  /** Characters of context (3). */
  blockSize: number;
  /** Embedding dimension n_embd (10). */
  nEmbd: number;
  /** Hidden units n_hidden (64 in exercises 1-3, 200 in exercise 4). */
  nHidden: number;
}

/** Exercises 1-3: 4,137 parameters. */
export const NINJA_EXERCISE_SIZES: Readonly<NinjaSizes> = Object.freeze({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 64 });
/** Exercise 4: 12,297 parameters. */
export const NINJA_TRAINING_SIZES: Readonly<NinjaSizes> = Object.freeze({ vocabSize: 27, blockSize: 3, nEmbd: 10, nHidden: 200 });
/** The lecture's seed for `g` (parameters and minibatches). */
export const NINJA_SEED = 2147483647;

/** The network's parameters, in the lecture's order [C, W1, b1, W2, b2, bngain, bnbias]. */
export interface NinjaParams {
  readonly sizes: Readonly<NinjaSizes>;
  /** Embedding table [vocabSize, nEmbd]. */
  readonly C: Tensor;
  /** [blockSize·nEmbd, nHidden], Kaiming-scaled for tanh: randn · (5/3) / sqrt(fan_in). */
  readonly W1: Tensor;
  /** [nHidden], randn · 0.1 ("useless because of BN", kept so its gradient is checked too). */
  readonly b1: Tensor;
  /** [nHidden, vocabSize], randn · 0.1. */
  readonly W2: Tensor;
  /** [vocabSize], randn · 0.1. */
  readonly b2: Tensor;
  /** [1, nHidden], randn · 0.1 + 1. */
  readonly bngain: Tensor;
  /** [1, nHidden], randn · 0.1. */
  readonly bnbias: Tensor;
}

export interface NinjaInitOptions extends Partial<NinjaSizes> {
  /** Draws C, W1, b1, W2, b2 in this order (the lecture's `g`, seeded 2147483647, which then also
   *  draws the minibatches). Default: the global generator. */
  generator?: Generator;
  /**
   * Draws bngain then bnbias. The lecture calls `torch.randn((1, n_hidden))` without a generator, so
   * its values come from the global generator and cannot be reproduced from the seed. The default is
   * a fresh generator with PyTorch's default seed 67280421310721 (the global generator of a freshly
   * started PyTorch): with it the exercise network's first loss is 3.3346 (PyTorch gives
   * 3.3345839977264404 for the same draws; the notebook printed 3.3377 from an unknown state).
   */
  bnGenerator?: Generator;
  /** float32 (default) or float64. float64 parameters are the float32 draws, converted. */
  dtype?: FloatDType;
}

function checkSizes(op: string, s: NinjaSizes): void {
  for (const key of ['vocabSize', 'blockSize', 'nEmbd', 'nHidden'] as const) {
    const v = s[key];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: ${key} must be an integer >= 1, got ${String(v)}`);
  }
}

/**
 * The lecture's initialisation (chosen non-standard on purpose, "because sometimes initializing with
 * e.g. all zeros could mask an incorrect implementation of the backward pass"). All parameters
 * require grad. `initNinjaParams({ generator: new Generator().manualSeed(2147483647) })` is the
 * exercise network; add `nHidden: 200` for exercise 4's.
 */
export function initNinjaParams(options: NinjaInitOptions = {}): NinjaParams {
  const op = 'initNinjaParams';
  const { generator = defaultGenerator, bnGenerator = new Generator(), dtype = 'float32', ...rest } = options;
  const sizes = Object.freeze({ ...NINJA_EXERCISE_SIZES, ...rest });
  checkSizes(op, sizes);
  for (const [name, g] of [['generator', generator], ['bnGenerator', bnGenerator]] as const) {
    if (!(g instanceof Generator)) throw new TypeError(`${op}: ${name} must be a Generator (e.g. new Generator().manualSeed(${NINJA_SEED}))`);
  }
  if (dtype !== 'float32' && dtype !== 'float64') throw new TypeError(`${op}: dtype must be 'float32' or 'float64', got ${String(dtype)}`);
  const { vocabSize: V, blockSize, nEmbd, nHidden } = sizes;
  const fanIn = nEmbd * blockSize;
  const draw = (shape: number[], g: Generator) => randn(shape, { generator: g });
  // Python evaluates `randn(...) * (5/3) / fan_in**0.5` left to right: two roundings, kept here.
  const raw = {
    C: draw([V, nEmbd], generator),
    W1: draw([fanIn, nHidden], generator).mul(5 / 3).div(fanIn ** 0.5),
    b1: draw([nHidden], generator).mul(0.1),
    W2: draw([nHidden, V], generator).mul(0.1),
    b2: draw([V], generator).mul(0.1),
    bngain: draw([1, nHidden], bnGenerator).mul(0.1).add(1.0),
    bnbias: draw([1, nHidden], bnGenerator).mul(0.1),
  };
  const leaf = (t: Tensor) => (dtype === 'float32' ? t : t.to(dtype)).detach().requiresGrad_(true);
  return {
    sizes,
    C: leaf(raw.C),
    W1: leaf(raw.W1),
    b1: leaf(raw.b1),
    W2: leaf(raw.W2),
    b2: leaf(raw.b2),
    bngain: leaf(raw.bngain),
    bnbias: leaf(raw.bnbias),
  };
}

/** [C, W1, b1, W2, b2, bngain, bnbias], the lecture's `parameters`. */
export function ninjaParameters(p: NinjaParams): Tensor[] {
  return [p.C, p.W1, p.b1, p.W2, p.b2, p.bngain, p.bnbias];
}

/** `sum(p.nelement() for p in parameters)`: 4137 for the exercise network, 12297 for exercise 4's. */
export function countNinjaParameters(p: NinjaParams): number {
  return ninjaParameters(p).reduce((n, t) => n + t.numel(), 0);
}

/** Check a minibatch (or a whole split): Xb int32 [n, blockSize] of token ids, Yb int32 [n], n >= minRows. */
export function checkNinjaBatch(op: string, p: NinjaParams, Xb: Tensor, Yb: Tensor, minRows = 2): void {
  const { blockSize, vocabSize: V } = p.sizes;
  if (!(Xb instanceof Tensor) || Xb.dtype !== 'int32' || Xb.ndim !== 2 || Xb.shape[1] !== blockSize) {
    throw new TypeError(`${op}: Xb must be an int32 tensor of contexts [n, ${blockSize}], got ${Xb instanceof Tensor ? `${Xb.dtype} ${fmtShape(Xb.shape)}` : typeof Xb}`);
  }
  const n = Xb.shape[0];
  if (!(Yb instanceof Tensor) || Yb.dtype !== 'int32' || Yb.ndim !== 1 || Yb.shape[0] !== n) {
    throw new TypeError(`${op}: Yb must be an int32 tensor of ${n} next tokens, got ${Yb instanceof Tensor ? `${Yb.dtype} ${fmtShape(Yb.shape)}` : typeof Yb}`);
  }
  // The variance divides by n - 1: a batch of one row has none.
  if (n < minRows) {
    throw new RangeError(minRows === 2 ? `${op}: the batch needs at least 2 rows for BatchNorm's unbiased variance, got ${n}` : `${op}: the split is empty (0 rows)`);
  }
  for (const [name, t] of [['Xb', Xb], ['Yb', Yb]] as const) {
    const d = t.contiguous().flat();
    for (let i = 0; i < d.length; i++) {
      if (d[i] < 0 || d[i] >= V) throw new RangeError(`${op}: ${name} holds ${d[i]} at flat position ${i}, not a token id of a ${V}-token vocabulary`);
    }
  }
}

/** Every intermediate of the chunked forward pass (each retains its gradient), and the loss. */
export interface ChunkedForward {
  n: number;
  /** The batch's targets (the manual backward needs them for dlogprobs). */
  Yb: Tensor;
  /** C[Xb]: [n, blockSize, nEmbd]. */
  emb: Tensor;
  /** emb.view(n, -1): [n, blockSize·nEmbd]. */
  embcat: Tensor;
  /** embcat @ W1 + b1. */
  hprebn: Tensor;
  /** 1/n · hprebn.sum(0, keepdim). */
  bnmeani: Tensor;
  bndiff: Tensor;
  bndiff2: Tensor;
  /** 1/(n-1) · bndiff2.sum(0, keepdim): Bessel's correction. */
  bnvar: Tensor;
  /** (bnvar + 1e-5) ** -0.5 (the lecture's bnvar_inv). */
  bnvarInv: Tensor;
  bnraw: Tensor;
  hpreact: Tensor;
  h: Tensor;
  logits: Tensor;
  /** logits.max(1, keepdim).values (logit_maxes). */
  logitMaxes: Tensor;
  /** logits - logitMaxes (norm_logits). */
  normLogits: Tensor;
  counts: Tensor;
  /** counts.sum(1, keepdim) (counts_sum). */
  countsSum: Tensor;
  /** countsSum ** -1 (counts_sum_inv; `1.0 / counts_sum` would not backprop bit-exactly, the lecture notes). */
  countsSumInv: Tensor;
  probs: Tensor;
  logprobs: Tensor;
  /** -logprobs[range(n), Yb].mean(). */
  loss: Tensor;
}

/** BatchNorm's epsilon in the lecture. */
export const NINJA_BN_EPS = 1e-5;

/**
 * The lecture's forward pass "chunkated into smaller steps that are possible to backward one at a
 * time", recording the graph, with retainGrad() on all 19 intermediates (so `loss.backward()` leaves
 * autograd's gradient of each in its `.grad`).
 */
export function chunkedForward(p: NinjaParams, Xb: Tensor, Yb: Tensor): ChunkedForward {
  checkNinjaBatch('chunkedForward', p, Xb, Yb);
  const n = Xb.shape[0];
  const emb = p.C.index(Xb);
  const embcat = emb.view(n, -1);
  // Linear layer 1
  const hprebn = embcat.matmul(p.W1).add(p.b1);
  // BatchNorm layer
  const bnmeani = hprebn.sum(0, true).mul(1 / n);
  const bndiff = hprebn.sub(bnmeani);
  const bndiff2 = bndiff.pow(2);
  const bnvar = bndiff2.sum(0, true).mul(1 / (n - 1));
  const bnvarInv = bnvar.add(NINJA_BN_EPS).pow(-0.5);
  const bnraw = bndiff.mul(bnvarInv);
  const hpreact = p.bngain.mul(bnraw).add(p.bnbias);
  // Non-linearity
  const h = hpreact.tanh();
  // Linear layer 2
  const logits = h.matmul(p.W2).add(p.b2);
  // Cross-entropy, step by step (same as F.crossEntropy(logits, Yb))
  const logitMaxes = logits.max(1, true);
  const normLogits = logits.sub(logitMaxes);
  const counts = normLogits.exp();
  const countsSum = counts.sum(1, true);
  const countsSumInv = countsSum.pow(-1);
  const probs = counts.mul(countsSumInv);
  const logprobs = probs.log();
  const loss = logprobs.index([arange(n), Yb]).mean().neg();
  const fwd: ChunkedForward = {
    n, Yb, emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvarInv, bnraw, hpreact, h, logits,
    logitMaxes, normLogits, counts, countsSum, countsSumInv, probs, logprobs, loss,
  };
  for (const t of [logprobs, probs, counts, countsSum, countsSumInv, normLogits, logitMaxes, logits, h, hpreact, bnraw,
    bnvarInv, bnvar, bndiff2, bndiff, hprebn, bnmeani, embcat, emb]) {
    t.retainGrad();
  }
  return fwd;
}

/** The hand-written gradient of the loss with respect to every intermediate and parameter. */
export interface ManualGrads {
  dlogprobs: Tensor;
  dprobs: Tensor;
  dcountsSumInv: Tensor;
  dcountsSum: Tensor;
  dcounts: Tensor;
  dnormLogits: Tensor;
  dlogitMaxes: Tensor;
  dlogits: Tensor;
  dh: Tensor;
  dW2: Tensor;
  db2: Tensor;
  dhpreact: Tensor;
  dbngain: Tensor;
  dbnbias: Tensor;
  dbnraw: Tensor;
  dbnvarInv: Tensor;
  dbnvar: Tensor;
  dbndiff2: Tensor;
  dbndiff: Tensor;
  dbnmeani: Tensor;
  dhprebn: Tensor;
  dembcat: Tensor;
  dW1: Tensor;
  db1: Tensor;
  demb: Tensor;
  dC: Tensor;
}

/**
 * Exercise 1: backpropagate through exactly all of the variables of `chunkedForward`, one by one,
 * as the lecture writes it (no graph is recorded). Each line is the chain rule for one forward line:
 * a broadcast in the forward pass becomes a sum in the backward pass and vice versa, a variable used
 * twice gets both contributions (`+=`), the max routes its gradient through a one-hot of the argmax,
 * and the embedding lookup scatter-adds rows back into dC.
 */
export function manualBackward(p: NinjaParams, f: ChunkedForward, Xb: Tensor): ManualGrads {
  return noGrad(() => {
    const { n } = f;
    const V = p.sizes.vocabSize;
    const dtype = f.logits.dtype;
    const { Yb } = f;
    // loss = -mean(logprobs[range(n), Yb]): -1/n at each picked element, 0 elsewhere. The lecture
    // writes `dlogprobs[range(n), Yb] = -1.0/n` into zeros; a scaled one-hot holds the same values.
    const dlogprobs = oneHot(Yb, V, { dtype }).mul(-1.0 / n);
    const dprobs = f.probs.rdiv(1.0).mul(dlogprobs);
    const dcountsSumInv = f.counts.mul(dprobs).sum(1, true);
    let dcounts = f.countsSumInv.mul(dprobs);
    const dcountsSum = f.countsSum.pow(-2).neg().mul(dcountsSumInv);
    dcounts = dcounts.add(onesLike(f.counts).mul(dcountsSum));
    const dnormLogits = f.counts.mul(dcounts);
    let dlogits = dnormLogits.clone();
    const dlogitMaxes = dnormLogits.neg().sum(1, true);
    dlogits = dlogits.add(oneHot(f.logits.maxWithIndices(1).indices, V, { dtype }).mul(dlogitMaxes));
    const dh = dlogits.matmul(p.W2.T);
    const dW2 = f.h.T.matmul(dlogits);
    const db2 = dlogits.sum(0);
    // (1.0 - h**2) * dh. pow(h, 2) is h·h (PyTorch's special case, not powf), the very product of
    // autograd's tanh backward 1 - y·y, so the rows from here down are bit-exact too.
    const dhpreact = f.h.pow(2).rsub(1.0).mul(dh);
    const dbngain = f.bnraw.mul(dhpreact).sum(0, true);
    const dbnraw = p.bngain.mul(dhpreact);
    const dbnbias = dhpreact.sum(0, true);
    let dbndiff = f.bnvarInv.mul(dbnraw);
    const dbnvarInv = f.bndiff.mul(dbnraw).sum(0, true);
    const dbnvar = f.bnvar.add(NINJA_BN_EPS).pow(-1.5).mul(-0.5).mul(dbnvarInv);
    const dbndiff2 = onesLike(f.bndiff2).mul(1.0 / (n - 1)).mul(dbnvar);
    dbndiff = dbndiff.add(f.bndiff.mul(2).mul(dbndiff2));
    let dhprebn = dbndiff.clone();
    const dbnmeani = dbndiff.neg().sum(0);
    dhprebn = dhprebn.add(onesLike(f.hprebn).mul(dbnmeani).mul(1.0 / n));
    const dembcat = dhprebn.matmul(p.W1.T);
    const dW1 = f.embcat.T.matmul(dhprebn);
    const db1 = dhprebn.sum(0);
    const demb = dembcat.view([...f.emb.shape]);
    const dC = embeddingGradLoop(p.C, Xb, demb);
    return {
      dlogprobs, dprobs, dcountsSumInv, dcountsSum, dcounts, dnormLogits, dlogitMaxes, dlogits, dh, dW2, db2,
      dhpreact, dbngain, dbnbias, dbnraw, dbnvarInv, dbnvar, dbndiff2, dbndiff, dbnmeani, dhprebn, dembcat,
      dW1, db1, demb, dC,
    };
  });
}

/**
 * The embedding gradient as the lecture writes it, a double loop over the batch:
 * `for k, j: dC[Xb[k, j]] += demb[k, j]`. (indexAdd in src/ops/index-add.ts does it in one call.)
 */
export function embeddingGradLoop(C: Tensor, Xb: Tensor, demb: Tensor): Tensor {
  return noGrad(() => {
    const dC = zerosLike(C.detach());
    const ids = Xb.contiguous().flat();
    const [rows, cols] = Xb.shape;
    for (let k = 0; k < rows; k++) {
      for (let j = 0; j < cols; j++) {
        const ix = ids[k * cols + j];
        dC.select(0, ix).add_(demb.select(0, k).select(0, j));
      }
    }
    return dC;
  });
}

/** One row of the lecture's comparison table. */
export interface CmpResult {
  name: string;
  /** torch.all(dt == t.grad). */
  exact: boolean;
  /** torch.allclose(dt, t.grad) (rtol 1e-5, atol 1e-8). */
  approximate: boolean;
  /** (dt - t.grad).abs().max().item(). */
  maxdiff: number;
  /** The printed line. */
  line: string;
}

/** Python's repr() of a float: the shortest round-trip digits, in fixed notation when the decimal
 *  exponent is in [-4, 16), else as 1.5e-09 (at least two exponent digits). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, expStr] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  const point = exp + 1; // digits before the decimal point
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${e}`;
}

/** `{str(b):5s}`. */
const pyBool = (b: boolean) => (b ? 'True' : 'False').padEnd(5);

/**
 * The lecture's `cmp(s, dt, t)`: compare a hand-written gradient dt with autograd's t.grad and print
 * `f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}'`.
 * The shapes broadcast, as torch's comparisons do (db1 is [64] and b1.grad [64]; dbnmeani is [64]
 * and bnmeani.grad [1, 64]). Pass `print: null` to only get the result.
 */
export function cmp(name: string, dt: Tensor, t: Tensor, print: ((line: string) => void) | null = console.log): CmpResult {
  if (!(dt instanceof Tensor) || !(t instanceof Tensor)) throw new TypeError(`cmp(${name}): dt and t must be Tensors`);
  const g = t.grad;
  if (g === null) throw new Error(`cmp(${name}): t.grad is null; run backward() (and retainGrad() on intermediates) first`);
  const { exact, approximate, maxdiff } = noGrad(() => {
    const eq = dt.eq(g);
    return {
      exact: eq.numel() === 0 || eq.min().item() === 1,
      approximate: allclose(dt, g),
      maxdiff: dt.sub(g).abs().max().item(),
    };
  });
  const line = `${name.padEnd(15)} | exact: ${pyBool(exact)} | approximate: ${pyBool(approximate)} | maxdiff: ${pyFloatRepr(maxdiff)}`;
  print?.(line);
  return { name, exact, approximate, maxdiff, line };
}

/** The 26 rows of exercise 1's table in the lecture's order: [name, hand-written, autograd's tensor]. */
export function exercise1Rows(p: NinjaParams, f: ChunkedForward, d: ManualGrads): [string, Tensor, Tensor][] {
  return [
    ['logprobs', d.dlogprobs, f.logprobs], ['probs', d.dprobs, f.probs], ['counts_sum_inv', d.dcountsSumInv, f.countsSumInv],
    ['counts_sum', d.dcountsSum, f.countsSum], ['counts', d.dcounts, f.counts], ['norm_logits', d.dnormLogits, f.normLogits],
    ['logit_maxes', d.dlogitMaxes, f.logitMaxes], ['logits', d.dlogits, f.logits], ['h', d.dh, f.h], ['W2', d.dW2, p.W2],
    ['b2', d.db2, p.b2], ['hpreact', d.dhpreact, f.hpreact], ['bngain', d.dbngain, p.bngain], ['bnbias', d.dbnbias, p.bnbias],
    ['bnraw', d.dbnraw, f.bnraw], ['bnvar_inv', d.dbnvarInv, f.bnvarInv], ['bnvar', d.dbnvar, f.bnvar],
    ['bndiff2', d.dbndiff2, f.bndiff2], ['bndiff', d.dbndiff, f.bndiff], ['bnmeani', d.dbnmeani, f.bnmeani],
    ['hprebn', d.dhprebn, f.hprebn], ['embcat', d.dembcat, f.embcat], ['W1', d.dW1, p.W1], ['b1', d.db1, p.b1],
    ['emb', d.demb, f.emb], ['C', d.dC, p.C],
  ];
}

/**
 * Exercise 2: the backward of cross-entropy in one go. d loss / d logits = (softmax(logits) -
 * onehot(Yb)) / n: `dlogits = F.softmax(logits, 1); dlogits[range(n), Yb] -= 1; dlogits /= n`.
 * (Subtracting a one-hot subtracts 1 at the targets and 0 elsewhere: the same floats as the lecture's
 * in-place `-= 1`.)
 */
export function crossEntropyBackward(logits: Tensor, Yb: Tensor): Tensor {
  if (!(logits instanceof Tensor) || logits.ndim !== 2) throw new TypeError(`crossEntropyBackward: logits must be [n, classes], got ${logits instanceof Tensor ? fmtShape(logits.shape) : typeof logits}`);
  const [n, V] = logits.shape;
  if (!(Yb instanceof Tensor) || Yb.dtype !== 'int32' || Yb.ndim !== 1 || Yb.shape[0] !== n) {
    throw new TypeError(`crossEntropyBackward: Yb must be an int32 tensor of ${n} class ids for logits ${fmtShape(logits.shape)}`);
  }
  return noGrad(() => logits.detach().softmax(1).sub(oneHot(Yb, V, { dtype: logits.dtype })).div(n));
}

/**
 * Exercise 3, forward: BatchNorm in one expression with the unbiased variance, as the lecture's
 * `bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias`.
 */
export function batchNormForwardFast(hprebn: Tensor, bngain: Tensor, bnbias: Tensor): Tensor {
  return bngain
    .mul(hprebn.sub(hprebn.mean(0, true)))
    .div(hprebn.var(0, { keepdim: true, unbiased: true }).add(NINJA_BN_EPS).sqrt())
    .add(bnbias);
}

/**
 * Exercise 3, backward: d loss / d hprebn from d loss / d hpreact in one expression (n rows, Bessel's
 * correction in the variance):
 *   dhprebn = bngain·bnvar_inv/n · (n·dhpreact - dhpreact.sum(0) - n/(n-1)·bnraw·(dhpreact·bnraw).sum(0))
 */
export function batchNormBackward(dhpreact: Tensor, bngain: Tensor, bnvarInv: Tensor, bnraw: Tensor): Tensor {
  if (!(dhpreact instanceof Tensor) || dhpreact.ndim !== 2) throw new TypeError('batchNormBackward: dhpreact must be [n, channels]');
  const n = dhpreact.shape[0];
  if (n < 2) throw new RangeError(`batchNormBackward: needs at least 2 rows (the unbiased variance divides by n - 1), got ${n}`);
  return noGrad(() =>
    bngain
      .mul(bnvarInv)
      .div(n)
      .mul(dhpreact.mul(n).sub(dhpreact.sum(0)).sub(bnraw.mul(n / (n - 1)).mul(dhpreact.mul(bnraw).sum(0)))),
  );
}

/**
 * The lecture's picture of exercise 2's gradient, `plt.figure(figsize=(4, 4)); plt.imshow(dlogits, cmap='gray')`:
 * one cell per element of a 2-D tensor, black at its minimum and white at its maximum, row 0 at the
 * top, ticks every 5 as matplotlib draws them. Writes `<base>.svg` and `<base>.png`.
 */
export async function plotGrayImage(t: Tensor, base: string, options: { title?: string } = {}): Promise<{ svg: string; png: string }> {
  const op = 'plotGrayImage';
  if (!(t instanceof Tensor) || t.ndim !== 2 || t.numel() === 0) {
    throw new TypeError(`${op}: expected a non-empty 2-D tensor, got ${t instanceof Tensor ? fmtShape(t.shape) : typeof t}`);
  }
  if (typeof base !== 'string' || base.length === 0) throw new TypeError(`${op}: base must be a path without extension (writes <base>.svg and <base>.png)`);
  const [rows, cols] = t.shape;
  const data = t.detach().contiguous().flat();
  let min = Infinity;
  let max = -Infinity;
  const values: { x0: number; x1: number; y0: number; y1: number; v: number }[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (!Number.isFinite(v)) throw new RangeError(`${op}: element [${i}, ${j}] is ${v}; only finite values can be drawn`);
      min = Math.min(min, v);
      max = Math.max(max, v);
      values.push({ x0: j - 0.5, x1: j + 0.5, y0: i - 0.5, y1: i + 0.5, v });
    }
  }
  if (min === max) max = min + 1; // a constant image is drawn black, as imshow does
  // A 4x4-inch figure at 100 dpi leaves about 308 px for the taller side of the image.
  const cell = 308 / Math.max(rows, cols);
  const ticks = (n: number) => Array.from({ length: Math.floor((n - 1) / 5) + 1 }, (_, k) => 5 * k);
  const axis = (n: number) => ({ values: ticks(n), title: null, grid: false, tickSize: 4, labelFontSize: 10, domain: false });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: { text: options.title, fontSize: 13, anchor: 'start' as const } } : {}),
    width: Math.round(cols * cell),
    height: Math.round(rows * cell),
    data: { values },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'x0', type: 'quantitative', scale: { domain: [-0.5, cols - 0.5], nice: false, zero: false }, axis: axis(cols) },
      x2: { field: 'x1' },
      y: { field: 'y0', type: 'quantitative', scale: { domain: [-0.5, rows - 0.5], nice: false, zero: false, reverse: true }, axis: axis(rows) },
      y2: { field: 'y1' },
      color: { field: 'v', type: 'quantitative', scale: { domain: [min, max], range: ['#000000', '#ffffff'], interpolate: 'rgb' }, legend: null },
    },
    config: { font: 'DejaVu Sans', view: { stroke: '#000000', strokeWidth: 1 } },
  };
  return writeChart(spec as unknown as VegaLiteSpec, base);
}
