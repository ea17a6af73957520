// makemore part 2: the Bengio-style MLP (embedding table, tanh hidden layer, minibatch SGD), the
// learning-rate finder, evaluation over whole splits and sampling. Numbers from reference/lectures.md §5.
import { describe, expect, it } from 'vitest';
import { F, Generator, Tensor, arange, noGrad, randint, randn, tensor } from '../index.js';
import { Vocabulary, buildContexts, readWords, splitWords } from '../src/makemore/index.js';
import { LECTURE_MLP, Mlp, contextTensors, createMlp, stepDecay } from '../src/makemore/mlp.js';
import { learningRateSweep, suggestLearningRate } from '../src/makemore/lr-finder.js';

const SEED = 2147483647;
/** Timeout for whole-data-set tests: seconds on the native backend, minutes on the reference loops of a busy machine. */
const HEAVY = 600_000;
const words = readWords();
const vocab = Vocabulary.fromWords(words);
const split = splitWords(words);
const trainDs = buildContexts(split.train, vocab, 3);
const devDs = buildContexts(split.dev, vocab, 3);
const Xtr = contextTensors(trainDs);
const Xdev = contextTensors(devDs);
const seeded = (opts: Partial<typeof LECTURE_MLP> = {}) => {
  const g = new Generator().manualSeed(SEED);
  return { g, model: createMlp({ ...opts, generator: g }) };
};
const bits = (t: Tensor) => Array.from(t.detach().toArray());

/** The lecture's forward pass written out op by op, with the manual softmax + NLL. */
function lectureLoss(m: Mlp, X: Tensor, Y: Tensor): Tensor {
  const { blockSize, embDim } = m.config;
  const emb = m.C.index(X);
  const h = emb.view(-1, blockSize * embDim).matmul(m.W1).add(m.b1).tanh();
  const logits = h.matmul(m.W2).add(m.b2);
  const counts = logits.exp();
  const prob = counts.div(counts.sum(1, true));
  return prob.index([arange(X.shape[0]!), Y]).log().mean().neg();
}

describe('createMlp: the lecture\'s seeded 11897-parameter model', () => {
  it('has C 27x10, W1 30x200, b1 200, W2 200x27, b2 27: 270+6000+200+5400+27 = 11897 parameters', () => {
    const { model } = seeded();
    expect(model.config).toEqual({ vocabSize: 27, blockSize: 3, embDim: 10, hidden: 200 });
    expect(model.parameters().map((p) => p.shape)).toEqual([[27, 10], [30, 200], [200], [200, 27], [27]]);
    expect(model.numParameters()).toBe(11897);
    for (const p of model.parameters()) {
      expect(p.requiresGrad).toBe(true);
      expect(p.isLeaf).toBe(true);
      expect(p.dtype).toBe('float32');
    }
  });

  it('draws C, W1, b1, W2, b2 with randn from one generator, in that order, unscaled', () => {
    const { model } = seeded();
    const g = new Generator().manualSeed(SEED);
    for (const [p, shape] of [[model.C, [27, 10]], [model.W1, [30, 200]], [model.b1, [200]], [model.W2, [200, 27]], [model.b2, [27]]] as const) {
      expect(bits(p)).toEqual(bits(randn(shape as readonly number[], { generator: g })));
    }
  });

  it('builds the first version of the lecture too: 2-D embeddings, 100 hidden units, 3481 parameters', () => {
    const { model } = seeded({ embDim: 2, hidden: 100 });
    expect(model.W1.shape).toEqual([6, 100]);
    expect(model.numParameters()).toBe(3481);
  });

  it('forward and loss equal the lecture\'s op-by-op computation', () => {
    const { model } = seeded();
    const X = Xdev.X.narrow(0, 0, 64);
    const Y = Xdev.Y.narrow(0, 0, 64);
    const logits = model.forward(X);
    expect(logits.shape).toEqual([64, 27]);
    const fused = model.loss(X, Y);
    const composed = lectureLoss(model, X, Y);
    expect(Math.abs(fused.item() - composed.item()) / composed.item()).toBeLessThan(1e-5);
    // An independent check of the fused float32 kernel: the same forward in float64 on the
    // reference backend, with a hand-written log-softmax (max-shifted), then the NLL of the targets.
    const d = (t: Tensor) => t.detach().double();
    const z = d(model.C).index(X).view(-1, 30).matmul(d(model.W1)).add(d(model.b1)).tanh().matmul(d(model.W2)).add(d(model.b2));
    const shifted = z.sub(z.max(1, true));
    const logp = shifted.sub(shifted.exp().sum(1, true).log());
    const nll64 = logp.index([arange(64), Y]).mean().neg().item();
    expect(Math.abs(fused.item() - nll64) / nll64).toBeLessThan(1e-6);
    expect(Math.abs(F.crossEntropy(logits, Y).item() - nll64) / nll64).toBeLessThan(1e-6);
    // Unscaled randn init makes the first loss far worse than uniform guessing (log 27 = 3.30).
    expect(fused.item()).toBeGreaterThan(Math.log(27));
  });
});

describe('Mlp.trainStep is the lecture\'s loop body', () => {
  it('matches randint minibatch, zero grads, backward, p += -lr * grad, bit for bit over 3 steps', () => {
    const a = seeded();
    const b = seeded();
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) losses.push(a.model.trainStep(Xtr, { lr: 0.1, generator: a.g }));
    const params = b.model.parameters();
    for (let i = 0; i < 3; i++) {
      const ix = randint(0, Xtr.X.shape[0]!, [32], { generator: b.g });
      const loss = F.crossEntropy(b.model.forward(Xtr.X.index(ix)), Xtr.Y.index(ix));
      expect(loss.item()).toBe(losses[i]);
      for (const p of params) p.grad = null;
      loss.backward();
      noGrad(() => {
        for (const p of params) p.add_(p.grad!, -0.1);
      });
    }
    a.model.parameters().forEach((p, k) => expect(bits(p)).toEqual(bits(params[k]!)));
  });

  it('accepts a buildContexts result as well as tensors, and batch sizes other than 32', () => {
    const a = seeded();
    const b = seeded();
    expect(a.model.trainStep(trainDs, { lr: 0.1, batchSize: 7, generator: a.g })).toBe(b.model.trainStep(Xtr, { lr: 0.1, batchSize: 7, generator: b.g }));
  });
});

describe('a short MLP run', () => {
  it('lowers the loss: 600 steps at lr 0.1 roughly halve the dev loss and the minibatch losses fall', () => {
    const { g, model } = seeded();
    const before = model.evaluate(Xdev);
    const { losses } = model.fit(Xtr, { steps: 600, lr: 0.1, generator: g });
    const after = model.evaluate(Xdev);
    expect(losses.length).toBe(600);
    const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean(losses.subarray(500))).toBeLessThan(mean(losses.subarray(0, 100)) / 2);
    expect(after).toBeLessThan(before / 2);
  }, HEAVY);

  it('is repeatable: the same seed gives the same minibatch losses, bit for bit', () => {
    const a = seeded();
    const b = seeded();
    const la = a.model.fit(Xtr, { steps: 20, lr: 0.1, generator: a.g }).losses;
    const lb = b.model.fit(Xtr, { steps: 20, lr: 0.1, generator: b.g }).losses;
    expect(Array.from(la)).toEqual(Array.from(lb));
  });

  it('follows an lr schedule: stepDecay(0.1, 0, 3) for 5 steps leaves the weights of 3 steps at 0.1', () => {
    const lr = stepDecay(0.1, 0.01, 100000);
    expect([lr(0), lr(99999), lr(100000), lr(199999)]).toEqual([0.1, 0.1, 0.01, 0.01]);
    const a = seeded();
    const b = seeded();
    a.model.fit(Xtr, { steps: 5, lr: stepDecay(0.1, 0, 3), generator: a.g });
    b.model.fit(Xtr, { steps: 3, lr: 0.1, generator: b.g });
    a.model.parameters().forEach((p, k) => expect(bits(p)).toEqual(bits(b.model.parameters()[k]!)));
  });

  it('overfits the 32 rows of the first five words down to the floor set by their ambiguous contexts', () => {
    // The lecture's first experiment: 2-D embeddings, 100 hidden units, full batch. Contexts like
    // '...' are followed by several letters, so no model can reach 0; the floor is the conditional
    // entropy of the next letter given the context.
    const ds = buildContexts(words.slice(0, 5), vocab, 3);
    expect(ds.rows).toBe(32);
    const byContext = new Map<string, Map<number, number>>();
    for (let r = 0; r < ds.rows; r++) {
      const key = Array.from(ds.X.subarray(r * 3, r * 3 + 3)).join(',');
      const m = byContext.get(key) ?? new Map<number, number>();
      m.set(ds.Y[r]!, (m.get(ds.Y[r]!) ?? 0) + 1);
      byContext.set(key, m);
    }
    let floor = 0;
    for (const m of byContext.values()) {
      const total = [...m.values()].reduce((a, b) => a + b, 0);
      for (const c of m.values()) floor -= c * Math.log(c / total);
    }
    floor /= ds.rows;
    expect(floor).toBeGreaterThan(0.1);
    const { model } = seeded({ embDim: 2, hidden: 100 });
    const { X, Y } = contextTensors(ds);
    let loss = Infinity;
    for (let k = 0; k < 1000; k++) {
      const l = model.loss(X, Y);
      loss = l.item();
      for (const p of model.parameters()) p.grad = null;
      l.backward();
      noGrad(() => model.parameters().forEach((p) => p.add_(p.grad!, -0.1)));
    }
    expect(loss).toBeGreaterThan(floor - 1e-4);
    expect(loss - floor).toBeLessThan(0.02);
  }, HEAVY);
});

describe('Mlp.evaluate', () => {
  it('is the mean loss over the whole split, in chunks, equal to one full forward pass', () => {
    const { model } = seeded();
    const full = noGrad(() => model.loss(Xdev.X, Xdev.Y).item());
    expect(Xdev.X.shape[0]).toBe(22655);
    expect(Math.abs(model.evaluate(Xdev) - full) / full).toBeLessThan(1e-5);
    expect(model.evaluate(devDs)).toBe(model.evaluate(Xdev));
  }, HEAVY);

  it('records no graph and leaves the gradients alone', () => {
    const { model } = seeded();
    model.evaluate(Xdev);
    for (const p of model.parameters()) expect(p.grad).toBeNull();
  }, HEAVY);
});

describe('Mlp.sample', () => {
  it('draws 20 names with seed 2147483647 + 10, repeatably, from the vocabulary, each ending in "."', () => {
    const { model } = seeded();
    const a = model.sample(20, new Generator().manualSeed(SEED + 10), vocab);
    const b = model.sample(20, new Generator().manualSeed(SEED + 10), vocab);
    expect(a).toHaveLength(20);
    expect(b).toEqual(a);
    for (const w of a) expect(w).toMatch(/^[a-z]*\.$/);
    expect(model.sample(20, new Generator().manualSeed(SEED + 11), vocab)).not.toEqual(a);
  }, HEAVY);

  it('follows the model: a huge output bias on token 0 makes every sample "."', () => {
    const { model } = seeded();
    noGrad(() => {
      model.W2.zero_();
      model.b2.zero_();
      model.b2.add_(tensor([50, ...new Array(26).fill(0)]));
    });
    expect(model.sample(3, new Generator().manualSeed(1), vocab)).toEqual(['.', '.', '.']);
  });

  it('gives the 2-D embedding coordinates of every character for the scatter plot', () => {
    const { model } = seeded({ embDim: 2, hidden: 100 });
    const pts = model.embedding2d(vocab);
    const c = bits(model.C);
    expect(pts).toHaveLength(27);
    expect(pts[1]).toEqual({ char: 'a', x: c[2], y: c[3] });
    expect(() => seeded({ embDim: 1 }).model.embedding2d(vocab)).toThrow('Mlp.embedding2d: the embedding has 1 dimension; a scatter plot needs 2');
  });
});

describe('learningRateSweep', () => {
  it('steps through lr = 10 ** linspace(-3, 0, 1000), increasing, from 0.001 to 1', () => {
    const seen: number[] = [];
    const sweep = learningRateSweep((lr, i) => {
      seen.push(i);
      return lr;
    });
    expect(seen).toHaveLength(1000);
    expect(sweep.exponents[0]).toBe(-3);
    expect(sweep.exponents[999]).toBe(0);
    expect(sweep.exponents[500]).toBeCloseTo(-3 + (3 * 500) / 999, 6);
    expect(sweep.lrs[0]).toBeCloseTo(0.001, 9);
    expect(sweep.lrs[999]).toBe(1);
    for (let i = 1; i < 1000; i++) expect(sweep.lrs[i]!).toBeGreaterThan(sweep.lrs[i - 1]!);
    expect(Array.from(sweep.losses)).toEqual(Array.from(sweep.lrs));
    expect(sweep.divergedAt).toBeNull();
  });

  it('stops at the first non-finite loss and reports where', () => {
    const sweep = learningRateSweep((lr) => (lr > 0.5 ? NaN : 1), { steps: 100 });
    expect(sweep.divergedAt).not.toBeNull();
    expect(sweep.losses.length).toBe(sweep.divergedAt);
    expect(sweep.lrs[sweep.lrs.length - 1]!).toBeLessThanOrEqual(0.5);
  });

  it('suggests the bottom of a noisy valley and the span of rates within 10% of it', () => {
    // Loss 1 + (e + 1.2)^2 plus alternating noise: the smoothed minimum is near exponent -1.2, about 1,
    // and the running mean stays below 1.1 for |e + 1.2| < sqrt(0.1).
    const sweep = learningRateSweep((lr, i) => 1 + (Math.log10(lr) + 1.2) ** 2 + (i % 2 ? 0.3 : -0.3));
    const s = suggestLearningRate(sweep);
    expect(Math.abs(s.exponent + 1.2)).toBeLessThan(0.05);
    expect(Math.abs(s.smoothedLoss - 1)).toBeLessThan(0.01);
    expect(s.lr).toBe(sweep.lrs[s.index]);
    expect(Math.abs(s.valley.fromExponent - (-1.2 - Math.sqrt(0.1)))).toBeLessThan(0.03);
    expect(Math.abs(s.valley.toExponent - (-1.2 + Math.sqrt(0.1)))).toBeLessThan(0.03);
    expect(() => suggestLearningRate(sweep, { tolerance: -1 })).toThrow('suggestLearningRate: tolerance must be a finite number >= 0, got -1');
  });

  it('on the seeded MLP puts the valley within a factor of ~3 of the lecture\'s choice, 0.1', () => {
    const { g, model } = seeded();
    const sweep = learningRateSweep((lr) => model.trainStep(Xtr, { lr, generator: g }));
    expect(sweep.divergedAt).toBeNull();
    const s = suggestLearningRate(sweep);
    expect(s.exponent).toBeGreaterThan(-1.5);
    expect(s.exponent).toBeLessThan(-0.5);
    // The smoothed loss at the far right (lr near 1) is above the valley: too big a step hurts.
    const tail = sweep.losses.subarray(950).reduce((a, b) => a + b, 0) / 50;
    expect(tail).toBeGreaterThan(s.smoothedLoss);
  }, HEAVY);

  it('rejects bad ranges', () => {
    expect(() => learningRateSweep(() => 1, { start: 0, end: -3 })).toThrow('learningRateSweep: need finite exponents with start < end, got start=0, end=-3');
    expect(() => learningRateSweep(() => 1, { steps: 1 })).toThrow('learningRateSweep: steps must be an integer >= 2, got 1');
    expect(() => learningRateSweep((() => 'x') as unknown as () => number, { steps: 2 })).toThrow('learningRateSweep: step 0 returned string');
  });
});

describe('Mlp errors', () => {
  const { model } = seeded();
  it('rejects bad sizes and generators', () => {
    expect(() => createMlp({ hidden: 0 })).toThrow('createMlp: hidden must be an integer >= 1, got 0');
    expect(() => createMlp({ blockSize: 2.5 })).toThrow('createMlp: blockSize must be an integer >= 1, got 2.5');
    expect(() => createMlp({ generator: 42 as unknown as Generator })).toThrow('createMlp: generator must be a Generator');
  });

  it('names the op, the expected shape and the bad token', () => {
    expect(() => model.forward(tensor([[1, 2]], { dtype: 'int32' }))).toThrow('Mlp.forward: X must have shape [n, 3] (blockSize 3), got [1, 2]');
    expect(() => model.forward(tensor([[1, 2, 3]]))).toThrow('Mlp.forward: X must hold int32 token ids, got dtype float32');
    expect(() => model.forward(tensor([[0, 0, 1], [0, 27, 2]], { dtype: 'int32' }))).toThrow(
      'Mlp.forward: X[1, 1] = 27 is not a token id of a 27-token vocabulary (valid: 0..26)',
    );
    expect(() => model.loss(Xdev.X.narrow(0, 0, 4), Xdev.Y.narrow(0, 0, 3))).toThrow("Mlp.loss: Y must have shape [4] to match X's 4 rows, got [3]");
    expect(() => model.trainStep({ X: Xtr.X, Y: Xdev.Y }, { lr: 0.1 })).toThrow(`Mlp.trainStep: Y must have shape [182625] to match X's 182625 rows, got [22655]`);
    expect(() => model.evaluate(buildContexts([], vocab, 3))).toThrow('Mlp.evaluate: the split is empty (0 rows)');
    expect(() => model.trainStep(null as unknown as typeof Xtr, { lr: 0.1 })).toThrow('Mlp.trainStep: expected { X, Y } tensors or a buildContexts(...) result, got null');
  });

  it('rejects bad step settings before changing any weight', () => {
    const before = model.parameters().map(bits);
    expect(() => model.trainStep(Xtr, { lr: NaN })).toThrow('Mlp.trainStep: lr must be a finite number, got NaN');
    expect(() => model.trainStep(Xtr, { lr: 0.1, batchSize: 0 })).toThrow('Mlp.trainStep: batchSize must be an integer >= 1, got 0');
    expect(() => model.fit(Xtr, { steps: 3, lr: () => Infinity })).toThrow(
      'Mlp.fit: lr must be a finite number (the schedule returned it for step 0), got Infinity',
    );
    expect(() => stepDecay(0.1, 0.01, -1)).toThrow('stepDecay: decayAt must be an integer >= 0, got -1');
    model.parameters().forEach((p, k) => expect(bits(p)).toEqual(before[k]));
  });

  it('stops with a clear error when training diverges instead of carrying NaN on', () => {
    const { g, model: m } = seeded();
    expect(() => m.fit(Xtr, { steps: 50, lr: 1e37, generator: g })).toThrow(/Mlp\.fit: the minibatch loss became (NaN|Infinity) at step \d+ \(lr 1e\+37\); training diverged/);
  });

  it('refuses to sample with a vocabulary of another size', () => {
    expect(() => model.sample(1, new Generator(), Vocabulary.fromWords(['xy']))).toThrow('Mlp.sample: the model has 27 tokens but the vocabulary has 3');
  });
});
