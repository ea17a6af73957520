// makemore part 1, second half: the neural bigram (one-hot @ W, softmax, NLL + L2, gradient
// descent) and the shared sampling loop. Lecture numbers from reference/lectures.md §4.
import { describe, expect, it } from 'vitest';
import { F, Generator, Tensor, arange, noGrad, randn, tensor } from '../index.js';
import {
  Vocabulary,
  averageNll,
  bigramPairs,
  bigramProbabilities,
  countBigrams,
  readWords,
  sampleWords,
} from '../src/makemore/index.js';
import { NeuralBigram, bigramTensors, createNeuralBigram } from '../src/makemore/neural-bigram.js';
import { sampleSequences } from '../src/makemore/sampling.js';

const SEED = 2147483647;
/** Timeout for whole-data-set tests: seconds on the native backend, minutes on the reference loops of a busy machine. */
const HEAVY = 600_000;
const words = readWords();
const vocab = Vocabulary.fromWords(words);
const V = vocab.size;
const seeded = () => createNeuralBigram({ vocabSize: V, generator: new Generator().manualSeed(SEED) });
const emma = bigramTensors(bigramPairs(['emma'], vocab));

/** The lecture's composed objective, op by op, to hold the model's fused loss to. */
function lectureLoss(W: Tensor, xs: Tensor, ys: Tensor, reg: number): Tensor {
  const logits = F.oneHot(xs, V).float().matmul(W);
  const counts = logits.exp();
  const probs = counts.div(counts.sum(1, true));
  const n = xs.shape[0]!;
  return probs.index([arange(n), ys]).log().mean().neg().add(W.pow(2).mean().mul(reg));
}

/** Set W to `values` (row-major V×V) outside the graph. */
function setW(m: NeuralBigram, values: ArrayLike<number>): void {
  noGrad(() => m.W.copy_(tensor(Float32Array.from(values), { shape: [V, V] })));
}

describe('NeuralBigram: the seeded model on "emma"', () => {
  it('draws W = randn((27, 27), generator=g) as a leaf that requires grad', () => {
    const m = seeded();
    const expected = randn([V, V], { generator: new Generator().manualSeed(SEED) });
    expect(m.W.shape).toEqual([V, V]);
    expect(m.W.requiresGrad).toBe(true);
    expect(m.W.isLeaf).toBe(true);
    expect(Array.from(m.W.toArray())).toEqual(Array.from(expected.toArray()));
    expect(m.parameters()).toEqual([m.W]);
  });

  it('gives the lecture\'s initial loss 3.7693049907684326 (no regularisation) from ids or from one-hot rows', () => {
    const m = seeded();
    expect(Array.from(emma.xs.toArray())).toEqual([0, 5, 13, 13, 1]);
    expect(Array.from(emma.ys.toArray())).toEqual([5, 13, 13, 1, 0]);
    const fromIds = m.loss(emma.xs, emma.ys, { regularization: 0 });
    expect(Math.abs(fromIds.loss.item() - 3.7693049907684326)).toBeLessThan(1e-6);
    expect(fromIds.nll).toBe(fromIds.loss.item());
    const xenc = m.encode(emma.xs);
    expect(xenc.shape).toEqual([5, V]);
    expect(xenc.dtype).toBe('float32');
    expect(m.loss(xenc, emma.ys, { regularization: 0 }).loss.item()).toBe(fromIds.loss.item());
  });

  it('reproduces the per-example probabilities the lecture prints', () => {
    const probs = seeded().probabilities(emma.xs);
    expect(probs.shape).toEqual([5, V]);
    const picked = Array.from(probs.index([arange(5), emma.ys]).toArray());
    const printed = [0.012286253273487091, 0.018050702288746834, 0.026691533625125885, 0.07367684692144394, 0.0149775305762887];
    picked.forEach((p, i) => expect(Math.abs(p - printed[i]!) / printed[i]!).toBeLessThan(2e-6));
    for (let r = 0; r < 5; r++) expect(probs.select(0, r).sum().item()).toBeCloseTo(1, 6);
  });

  it('has the same value and gradient as the lecture\'s composed loss, with the 0.01 L2 term', () => {
    const a = seeded();
    const b = seeded();
    const fused = a.loss(emma.xs, emma.ys, { regularization: 0.01 });
    fused.loss.backward();
    const composed = lectureLoss(b.W, emma.xs, emma.ys, 0.01);
    composed.backward();
    expect(Math.abs(fused.loss.item() - composed.item())).toBeLessThan(1e-6);
    // The penalty raises the loss above the nll by 0.01 * mean(W²) (about 0.01 for unit-normal W).
    const penalty = 0.01 * (Array.from(a.W.toArray()).reduce((s, w) => s + w * w, 0) / (V * V));
    expect(fused.loss.item() - fused.nll).toBeCloseTo(penalty, 6);
    const ga = a.W.grad!.toArray();
    const gb = b.W.grad!.toArray();
    let worst = 0;
    for (let i = 0; i < ga.length; i++) worst = Math.max(worst, Math.abs(ga[i]! - gb[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('four steps at lr 0.1 without regularisation reach the printed 3.6891887187957764', () => {
    const m = seeded();
    const { losses } = m.fit(emma.xs, emma.ys, { steps: 5, lr: 0.1, regularization: 0 });
    for (let k = 1; k < 5; k++) expect(losses[k]!).toBeLessThan(losses[k - 1]!);
    expect(Math.abs(losses[4]! - 3.6891887187957764)).toBeLessThan(1e-6);
  });
});

describe('NeuralBigram on the whole of names.txt', () => {
  const all = bigramTensors(bigramPairs(words, vocab));
  const { counts } = countBigrams(words, vocab);

  it('takes the lecture\'s full-batch steps (lr 50, reg 0.01): 3.76862 (nll 3.75895), 3.37881, 3.16109', () => {
    const m = seeded();
    expect(all.xs.shape).toEqual([228146]);
    const xenc = m.encode(all.xs);
    const seen: number[] = [];
    const { losses, nlls } = m.fit(xenc, all.ys, { steps: 3, lr: 50, regularization: 0.01, onStep: (k) => seen.push(k) });
    expect(seen).toEqual([0, 1, 2]);
    // Float64 simulation values from the reference, rounded to 5 decimals.
    expect(Math.abs(losses[0]! - 3.76862)).toBeLessThan(1e-4);
    expect(Math.abs(nlls[0]! - 3.75895)).toBeLessThan(1e-4);
    expect(Math.abs(losses[1]! - 3.37881)).toBeLessThan(1e-4);
    expect(Math.abs(losses[2]! - 3.16109)).toBeLessThan(1e-4);
  }, HEAVY);

  it('with W = log(P) of the smoothed counts its nll is the count model\'s average NLL', () => {
    // softmax(log P) = P, so the network reproduces the count model exactly: the lecture's point
    // that W learns log-counts. The float64 average of -log P over all bigrams:
    const P = bigramProbabilities(counts, V, 1);
    const { xs, ys } = bigramPairs(words, vocab);
    let s = 0;
    for (let k = 0; k < xs.length; k++) s -= Math.log(P[xs[k]! * V + ys[k]!]!);
    const expected = s / xs.length;
    expect(Math.abs(expected - averageNll(P, V, words, vocab).nll)).toBeLessThan(5e-4);
    const m = seeded();
    setW(m, Array.from(P, Math.log));
    const { nll } = m.loss(all.xs, all.ys, { regularization: 0 });
    expect(Math.abs(nll - expected)).toBeLessThan(5e-5);
  }, HEAVY);

  it('samples the count model\'s names (mor. axx. minaymoryles. ...) when W = log(P)', () => {
    const P = bigramProbabilities(counts, V, 1);
    const m = seeded();
    setW(m, Array.from(P, Math.log));
    const fromCounts = sampleWords(P, V, 5, new Generator().manualSeed(SEED), vocab);
    expect(fromCounts).toEqual(['mor.', 'axx.', 'minaymoryles.', 'kondlaisah.', 'anchshizarie.']);
    expect(m.sample(5, new Generator().manualSeed(SEED), vocab)).toEqual(fromCounts);
  }, HEAVY);
});

describe('NeuralBigram training approaches the count model', () => {
  // A few hundred words keep a step cheap; the optimum is the same kind: row-wise log-counts.
  const some = words.slice(0, 300);
  const data = bigramTensors(bigramPairs(some, vocab));
  const { counts } = countBigrams(some, vocab);

  it('its nll falls at every step and ends near the count model\'s (smoothed) nll on the same words', () => {
    const m = seeded();
    const { nlls } = m.fit(data.xs, data.ys, { steps: 300, lr: 50, regularization: 0.01 });
    for (let k = 1; k < nlls.length; k++) expect(nlls[k]!).toBeLessThan(nlls[k - 1]!);
    // Maximum likelihood without smoothing is the floor no model of this form can beat.
    const mle = averageNll(bigramProbabilities(counts, V, 0), V, some, vocab).nll;
    const smoothed = averageNll(bigramProbabilities(counts, V, 1), V, some, vocab).nll;
    const final = nlls[nlls.length - 1]!;
    expect(nlls[0]! - final).toBeGreaterThan(1);
    expect(final).toBeGreaterThan(mle - 1e-4);
    // The L2 term acts like mild smoothing: the trained model ends just above the unsmoothed counts,
    // below the +1-smoothed ones.
    expect(final - mle).toBeLessThan(0.05);
    expect(final).toBeLessThan(smoothed);
  }, HEAVY);

  it('the same seed gives the same losses, bit for bit', () => {
    const a = seeded().fit(data.xs, data.ys, { steps: 5 });
    const b = seeded().fit(data.xs, data.ys, { steps: 5 });
    expect(Array.from(a.losses)).toEqual(Array.from(b.losses));
  });
});

describe('NeuralBigram errors', () => {
  const m = seeded();
  it('rejects a bad vocabulary size or generator', () => {
    expect(() => new NeuralBigram({ vocabSize: 0 })).toThrow('NeuralBigram: vocabSize must be an integer >= 1, got 0');
    expect(() => new NeuralBigram({ vocabSize: 2.5 })).toThrow('vocabSize must be an integer >= 1, got 2.5');
    expect(() => new NeuralBigram({ vocabSize: 27, generator: {} as Generator })).toThrow('NeuralBigram: generator must be a Generator');
  });

  it('names the bad token id, the shape and the op', () => {
    const bad = tensor([0, 5, 30], { dtype: 'int32' });
    expect(() => m.forward(bad)).toThrow('NeuralBigram.forward: xs[2] = 30 is not a token id of a 27-token vocabulary (valid: 0..26)');
    expect(() => m.loss(emma.xs, tensor([1, 2], { dtype: 'int32' }))).toThrow(
      'NeuralBigram.loss: targets must have shape [5] to match 5 inputs, got [2]',
    );
    expect(() => m.loss(emma.xs, tensor([5, 13, 13, 1, -1], { dtype: 'int32' }))).toThrow('NeuralBigram.loss: ys[4] = -1 is not a token id');
    expect(() => m.forward(tensor([[0, 1]], { dtype: 'int32' }))).toThrow('NeuralBigram.forward: token ids must have shape [n], got [1, 2]');
    expect(() => m.forward(randn([4, 26]))).toThrow('NeuralBigram.forward: one-hot input must have shape [n, 27], got [4, 26] (float32)');
    expect(() => m.loss(emma.xs, emma.ys.float())).toThrow('NeuralBigram.loss: targets must be an int32 tensor, got float32');
  });

  it('rejects a non-finite learning rate or a negative penalty before touching W', () => {
    const before = Array.from(m.W.toArray());
    expect(() => m.trainStep(emma.xs, emma.ys, { lr: NaN })).toThrow('NeuralBigram.trainStep: lr must be a finite number, got NaN');
    expect(() => m.trainStep(emma.xs, emma.ys, { regularization: -1 })).toThrow('regularization must be a finite number >= 0, got -1');
    expect(() => m.fit(emma.xs, emma.ys, { steps: -1 })).toThrow('NeuralBigram.fit: steps must be an integer >= 0, got -1');
    expect(Array.from(m.W.toArray())).toEqual(before);
  });

  it('refuses to sample with a vocabulary of another size', () => {
    const small = Vocabulary.fromWords(['ab']);
    expect(() => m.sample(1, new Generator().manualSeed(1), small)).toThrow('NeuralBigram.sample: the model has 27 tokens but the vocabulary has 3');
  });
});

describe('sampleSequences', () => {
  const abc = Vocabulary.fromWords(['abc']); // . a b c

  it('slides a block of start tokens and stops at the end token', () => {
    const contexts: number[][] = [];
    // Deterministic model: after "..." comes a, then b, c, and '.' after c.
    const next = (ctx: Int32Array) => {
      contexts.push(Array.from(ctx));
      const last = ctx[ctx.length - 1]!;
      const p = [0, 0, 0, 0];
      p[last === 3 ? 0 : last + 1] = 1;
      return p;
    };
    const out = sampleSequences(next, { count: 2, blockSize: 3, generator: new Generator().manualSeed(1), vocab: abc, replacement: true });
    expect(out).toEqual(['abc.', 'abc.']);
    expect(contexts.slice(0, 4)).toEqual([[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]]);
  });

  it('accepts [V] and [1, V] tensors and draws the same words for the same seed', () => {
    const probs = tensor([[0.3, 0.3, 0.2, 0.2]]);
    const run = (p: Tensor, seed: number) =>
      sampleSequences(() => p, { count: 8, blockSize: 2, generator: new Generator().manualSeed(seed), vocab: abc, replacement: false });
    const a = run(probs, 7);
    expect(run(probs.view(4), 7)).toEqual(a);
    expect(a.every((w) => /^[abc]*\.$/.test(w))).toBe(true);
    expect(run(probs, 8)).not.toEqual(a);
  });

  it('reports a wrong-sized distribution and a model that never ends', () => {
    const opts = { count: 1, blockSize: 1, generator: new Generator().manualSeed(1), vocab: abc, replacement: true };
    expect(() => sampleSequences(() => [1, 0, 0], opts)).toThrow('sampleSequences: the model returned 3 probabilities, expected 4 (one per token)');
    expect(() => sampleSequences(() => tensor([[0.5, 0.5], [0, 0]]), opts)).toThrow(
      'sampleSequences: the model returned probabilities of shape [2, 2], expected [4] or [1, 4]',
    );
    expect(() => sampleSequences(() => [0, 1, 0, 0], { ...opts, maxLength: 50 })).toThrow(
      "sampleSequences: sample 0 reached 50 characters without drawing the end token '.'",
    );
    expect(() => sampleSequences(() => [1, 0, 0, 0], { ...opts, blockSize: 0 })).toThrow('blockSize must be an integer >= 1, got 0');
  });
});
