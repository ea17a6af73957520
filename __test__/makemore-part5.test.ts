// makemore part 5: the hierarchical WaveNet (makemore.WaveNet on the notebook's own layers), the
// dim-0 BatchNorm of the notebook's bug, the experiment log's models, and the same network as
// dilated causal convolutions (WaveNetConv). Figures from reference/lectures.md §8. The seeded
// step-0 loss is checked against a forward written here in plain float64 loops over the same
// weights, and against PyTorch 2.15's value for the same seed (torch_mlp.py's WaveNet, run once).
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, gradcheck, manualSeed, noGrad, randint, randn, tensor } from '../index.js';
import {
  BatchNorm1dDim0, EXPERIMENT_LOG, WAVENET_LECTURE, WaveNet, createWaveNet, part5Lr, smoothedLog10Loss,
} from '../src/makemore/part5.js';
import { IGNORE_INDEX, WaveNetConv, WordSequences, createWaveNetConv, linearToKernel } from '../src/makemore/wavenet-conv.js';
import { lectureSplits } from '../src/makemore/part3.js';
import { buildContexts, splitWords } from '../src/makemore/data.js';
import * as lecture from '../src/makemore/lecture-layers.js';

const splits = lectureSplits({ blockSize: 8 });
const parts = splitWords(splits.words);
const vocab = splits.vocab;
const f64 = (t: Tensor) => Float64Array.from(t.detach().contiguous().toArray() as ArrayLike<number>);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
/** PyTorch 2.15 (CPU): torch.manual_seed(42), the notebook's model, first randint batch: F.cross_entropy. */
const TORCH_STEP0 = 3.3167154788970947;

describe('FlattenConsecutive and BatchNorm1d over (0, 1), as the WaveNet uses them', () => {
  it('FlattenConsecutive(2): [B, 8, 24] -> [B, 4, 48] -> ... -> [B, 256] (squeezed), consecutive pairs side by side', () => {
    const x = randn([3, 8, 24], { generator: new Generator().manualSeed(1) });
    const f = new lecture.FlattenConsecutive(2);
    const y = f.forward(x);
    expect(y.shape).toEqual([3, 4, 48]);
    // y[b, i] = cat(x[b, 2i], x[b, 2i + 1])
    const xs = f64(x);
    const ys = f64(y);
    for (const [b, i, c] of [[0, 0, 0], [1, 3, 23], [2, 2, 24], [2, 1, 47]] as const) {
      const src = c < 24 ? (b * 8 + 2 * i) * 24 + c : (b * 8 + 2 * i + 1) * 24 + (c - 24);
      expect(ys[(b * 4 + i) * 48 + c]).toBe(xs[src]);
    }
    expect(f.forward(randn([3, 2, 128])).shape).toEqual([3, 256]);
    expect(() => f.forward(randn([3, 3, 4]))).toThrow('lecture.FlattenConsecutive: T = 3 (input [3, 3, 4]) is not divisible by n = 2');
  });

  it('FlattenConsecutive + Linear + BatchNorm1d(0, 1) + Tanh: gradients match finite differences (float64)', () => {
    const g = new Generator().manualSeed(5);
    const flat = new lecture.FlattenConsecutive(2);
    const lin = new lecture.Linear(6, 4, { bias: false, generator: g });
    const bn = new lecture.BatchNorm1d(4);
    lin.double();
    bn.double();
    const x = randn([3, 4, 3], { generator: g }).double().requiresGrad_();
    const w = randn([3, 2, 4], { generator: g }).double();
    const r = gradcheck((xi, W, gamma, beta) => {
      void W; void gamma; void beta;
      const h = bn.forward(lin.forward(flat.forward(xi))).tanh(); // [3, 2, 4]
      return h.mul(w).sum();
    }, [x, lin.weight, bn.gamma, bn.beta]);
    expect(r.ok, JSON.stringify(r.worst)).toBe(true);
  });

  it('BatchNorm1d on [B, T, C] uses one mean/variance per channel over B·T rows; BatchNorm1dDim0 (the bug) one per (t, c)', () => {
    const x = randn([5, 4, 3], { generator: new Generator().manualSeed(2) }).mul(2).add(1).double();
    const fixed = new lecture.BatchNorm1d(3).double();
    const bug = new BatchNorm1dDim0(3).double();
    const yf = f64(fixed.forward(x));
    const yb = f64(bug.forward(x));
    const xs = f64(x);
    const stats = (rows: number[]) => {
      const m = rows.reduce((a, r) => a + xs[r]!, 0) / rows.length;
      const v = rows.reduce((a, r) => a + (xs[r]! - m) ** 2, 0) / (rows.length - 1); // unbiased, as x.var()
      return { m, v };
    };
    for (let c = 0; c < 3; c++) {
      const all = [];
      for (let b = 0; b < 5; b++) for (let t = 0; t < 4; t++) all.push((b * 4 + t) * 3 + c);
      const s = stats(all);
      for (const r of all) expect(yf[r]).toBeCloseTo((xs[r]! - s.m) / Math.sqrt(s.v + 1e-5), 10);
      expect((fixed.runningMean.toArray() as Float64Array)[c]).toBeCloseTo(0.1 * s.m, 12);
      expect((fixed.runningVar.toArray() as Float64Array)[c]).toBeCloseTo(0.9 + 0.1 * s.v, 12);
      for (let t = 0; t < 4; t++) {
        const rows = [0, 1, 2, 3, 4].map((b) => (b * 4 + t) * 3 + c);
        const st = stats(rows);
        for (const r of rows) expect(yb[r]).toBeCloseTo((xs[r]! - st.m) / Math.sqrt(st.v + 1e-5), 10);
        expect((bug.runningMean.toArray() as Float64Array)[t * 3 + c]).toBeCloseTo(0.1 * st.m, 12);
      }
    }
    // The notebook's tell-tale: the buggy layer's running statistics became per position.
    expect(fixed.runningMean.shape).toEqual([3]);
    expect(bug.runningMean.shape).toEqual([12]);
    expect(() => bug.forward(randn([5, 2, 3]).double())).toThrow('BatchNorm1dDim0: the running statistics have 4 positions (from an earlier input) but input [5, 2, 3] has 2');
    // Eval mode: the per-position running statistics normalise.
    bug.eval();
    const ye = f64(bug.forward(x));
    const rm = bug.runningMean.toArray() as Float64Array;
    const rv = bug.runningVar.toArray() as Float64Array;
    expect(ye[(2 * 4 + 3) * 3 + 1]).toBeCloseTo((xs[(2 * 4 + 3) * 3 + 1]! - rm[3 * 3 + 1]!) / Math.sqrt(rv[3 * 3 + 1]! + 1e-5), 10);
  });

  it('BatchNorm1dDim0: gradients match finite differences (float64), gamma and beta shared over positions', () => {
    const bug = new BatchNorm1dDim0(3).double();
    noGrad(() => { bug.gamma.copy_(tensor([0.5, -1, 2], { dtype: 'float64' })); bug.beta.copy_(tensor([0.1, 0, -0.3], { dtype: 'float64' })); });
    const x = randn([4, 2, 3], { generator: new Generator().manualSeed(3) }).double().requiresGrad_();
    const w = randn([4, 2, 3], { generator: new Generator().manualSeed(4) }).double();
    const r = gradcheck((xi, g, b) => { void g; void b; return bug.forward(xi).mul(w).sum(); }, [x, bug.gamma, bug.beta]);
    expect(r.ok, JSON.stringify(r.worst)).toBe(true);
  });
});

describe('WaveNet (the hierarchical model)', () => {
  it('has the notebook\'s 76,579 parameters: 648 + 6144 + 256 + 32768 + 256 + 32768 + 256 + 3483, last weight scaled by 0.1', () => {
    manualSeed(42);
    const model = new WaveNet();
    expect(model.numParameters()).toBe(WAVENET_LECTURE.parameters);
    expect(model.parameters().map((p) => p.numel())).toEqual([648, 6144, 128, 128, 32768, 128, 128, 32768, 128, 128, 3456, 27]);
    // The init order: Embedding, then the Linear weights in order, all from the global generator.
    const g = new Generator().manualSeed(42);
    const emb = randn([27, 24], { generator: g });
    const w1 = randn([48, 128], { generator: g }).div(Math.sqrt(48));
    randn([256, 128], { generator: g });
    randn([256, 128], { generator: g });
    const w4 = randn([128, 27], { generator: g }).div(Math.sqrt(128)).mul(0.1);
    const layers = model.layers.layers;
    expect(f64((layers[0] as lecture.Embedding).weight)).toEqual(f64(emb));
    expect(f64((layers[2] as lecture.Linear).weight)).toEqual(f64(w1));
    expect(f64((layers[13] as lecture.Linear).weight)).toEqual(f64(w4));
    expect(model.forward(splits.train.X.slice(0, 0, 4)).shape).toEqual([4, 27]);
  });

  it('the experiment log\'s models: 12,097 / 22,097 / 22,397 / 22,397 / 76,579 parameters', () => {
    expect(EXPERIMENT_LOG.map((e) => new WaveNet({ ...e.config, generator: new Generator() }).numParameters())).toEqual([12097, 22097, 22397, 22397, 76579]);
    expect(() => new WaveNet({ flatten: [2, 2] })).toThrow('WaveNet: the flatten factors [2, 2] multiply to 4, but blockSize is 8');
    expect(() => createWaveNet().forward(tensor([[0, 1, 2]], { dtype: 'int32' }))).toThrow('WaveNet.forward: X must have shape [n, 8] (blockSize 8), got [1, 3]');
    expect(() => createWaveNet().forward(tensor([[0, 0, 0, 0, 0, 0, 0, 27]], { dtype: 'int32' }))).toThrow('X[0, 7] = 27 is not a token id of a 27-token vocabulary');
  });

  it('the seeded step-0 loss (manualSeed(42), init, randint) equals a plain float64 forward of the same weights and torch\'s 3.31672', () => {
    const model = createWaveNet();
    const n = splits.train.X.shape[0]!;
    const ix = randint(0, n, [32]); // the first draw after the init, as the notebook's loop
    const Xb = splits.train.X.index(ix);
    const Yb = splits.train.Y.index(ix);
    const loss = model.loss(Xb, Yb).item();
    // Independent: loops in float64 over the float32 weights (no library op).
    const L = model.layers.layers;
    const emb = f64((L[0] as lecture.Embedding).weight);
    const Ws = [2, 6, 10, 13].map((k) => f64((L[k] as lecture.Linear).weight));
    const b4 = f64((L[13] as lecture.Linear).bias!);
    const X = Xb.flat() as Int32Array;
    const Y = Yb.flat() as Int32Array;
    const B = 32;
    let h: Float64Array[][] = []; // [B][T] -> vector
    for (let b = 0; b < B; b++) h.push(Array.from({ length: 8 }, (_, t) => emb.slice(X[b * 8 + t]! * 24, X[b * 8 + t]! * 24 + 24)));
    for (let level = 0; level < 3; level++) {
      const W = Ws[level]!;
      const fanIn = h[0]![0]!.length * 2;
      const pre = h.map((seq) => Array.from({ length: seq.length / 2 }, (_, i) => {
        const z = new Float64Array(128);
        const cat = [...seq[2 * i]!, ...seq[2 * i + 1]!];
        for (let o = 0; o < 128; o++) { let s = 0; for (let k = 0; k < fanIn; k++) s += cat[k]! * W[k * 128 + o]!; z[o] = s; }
        return z;
      }));
      const rows = pre.flat();
      const mean = new Float64Array(128);
      const vr = new Float64Array(128);
      for (const r of rows) for (let c = 0; c < 128; c++) mean[c] += r[c]! / rows.length;
      for (const r of rows) for (let c = 0; c < 128; c++) vr[c] += (r[c]! - mean[c]!) ** 2 / (rows.length - 1);
      h = pre.map((seq) => seq.map((r) => r.map((v, c) => Math.tanh((v - mean[c]!) / Math.sqrt(vr[c]! + 1e-5)))));
    }
    let total = 0;
    for (let b = 0; b < B; b++) {
      const x = h[b]![0]!;
      const logits = Array.from({ length: 27 }, (_, o) => { let s = b4[o]!; for (let k = 0; k < 128; k++) s += x[k]! * Ws[3]![k * 27 + o]!; return s; });
      const mx = Math.max(...logits);
      const lse = mx + Math.log(logits.reduce((a, l) => a + Math.exp(l - mx), 0));
      total += lse - logits[Y[b]!]!;
    }
    const expected = total / B;
    expect(Math.abs(loss - expected)).toBeLessThan(2e-6);
    expect(Math.abs(loss - TORCH_STEP0)).toBeLessThan(1e-6);
    expect(Math.abs(expected - TORCH_STEP0)).toBeLessThan(2e-6);
  });

  it('a short seeded run lowers the loss, evaluates in eval mode, and samples names ending in "."', () => {
    const model = createWaveNet();
    const { losses } = model.fit(splits.train, { steps: 300, lr: part5Lr(300) });
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(losses[0]).toBeGreaterThan(3.2);
    expect(mean(losses.slice(-50))).toBeLessThan(2.6);
    const dev = { X: splits.dev.X.slice(0, 0, 3000), Y: splits.dev.Y.slice(0, 0, 3000) };
    const val = model.evaluate(dev);
    expect(val).toBeLessThan(2.6);
    expect(model.training).toBe(true); // evaluate() restores the mode
    // Chunking is exact: one pass over the 3000 rows gives the same mean.
    model.eval();
    const onePass = noGrad(() => model.loss(dev.X, dev.Y).item());
    model.train();
    expect(Math.abs(val - onePass)).toBeLessThan(1e-5);
    const names = model.sample(5, vocab, new Generator().manualSeed(1));
    expect(names).toHaveLength(5);
    for (const w of names) expect(w).toMatch(/^[a-z]*\.$/);
  });

  it('the dim-0 BatchNorm model (the notebook\'s bug) trains too, with per-position running statistics', () => {
    const entry = EXPERIMENT_LOG.find((e) => e.key === 'hierarchical')!;
    manualSeed(42);
    const model = new WaveNet(entry.config);
    const { losses } = model.fit(splits.train, { steps: 200, lr: 0.1 });
    expect(losses.slice(-20).reduce((s, v) => s + v, 0) / 20).toBeLessThan(losses[0]! - 0.5);
    const bns = model.layers.layers.filter((l) => l instanceof BatchNorm1dDim0) as BatchNorm1dDim0[];
    expect(bns.map((b) => b.runningMean.numel())).toEqual([4 * 68, 2 * 68, 68]);
  });

  it('lr schedule and the smoothed curve: 0.1 then 0.01 from 3/4; means of log10 loss over blocks of 1000', () => {
    const lr = part5Lr();
    expect([lr(0), lr(149999), lr(150000), lr(199999)]).toEqual([0.1, 0.1, 0.01, 0.01]);
    const losses = Float32Array.from({ length: 2500 }, (_, i) => (i < 1000 ? 10 : 100));
    expect(Array.from(smoothedLog10Loss(losses))).toEqual([1, 2]);
  });
});

describe('WaveNetConv: the same model as dilated causal convolutions', () => {
  const words = parts.dev.slice(0, 64);
  const seqs = new WordSequences(words, vocab);
  const ctx = buildContexts(words, vocab, 8);

  it('WordSequences: start tokens then the word (right-aligned); targets ignored before a shorter word, then its characters and "."', () => {
    const s = new WordSequences(['ab', 'c', 'abcd'], vocab);
    const b = s.range(0, 2); // padded to the longest of these two, not of all words
    expect(b.X.shape).toEqual([2, 10]);
    expect(Array.from(b.X.flat())).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(Array.from(b.Y.flat())).toEqual([1, 2, 0, IGNORE_INDEX, 3, 0]);
    expect(b.examples).toBe(5);
    expect(seqs.examples).toBe(ctx.rows);
    expect(new WordSequences(parts.dev, vocab).examples).toBe(splits.dev.X.shape[0]);
    expect(() => s.batch([0, 3])).toThrow('WordSequences.batch: row 3 at position 1 is out of range for 3 words');
  });

  it('linearToKernel: Linear [2C, H] rows 0..C-1 become tap 0 (the older input), rows C..2C-1 tap 1', () => {
    const W = tensor([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]); // C = 3, H = 2
    const k = linearToKernel(W, 3);
    expect(k.shape).toEqual([2, 3, 2]);
    // k[o, c, j] = W[j·3 + c, o]
    expect(Array.from(k.flat())).toEqual([1, 7, 3, 9, 5, 11, 2, 8, 4, 10, 6, 12]);
    expect(() => linearToKernel(W, 2)).toThrow('linearToKernel: expected a Linear weight [4, H] (two groups of 2 inputs), got [6, 2]');
  });

  it('with the hierarchical model\'s weights (after training, eval mode) every position\'s logits agree to 1e-5, both implementations', () => {
    const model = createWaveNet();
    model.fit(splits.train, { steps: 100, lr: 0.1 }); // running statistics and weights away from the init
    const conv = WaveNetConv.fromHierarchical(model);
    model.eval();
    conv.eval();
    const hier = f64(noGrad(() => model.forward(tensor(ctx.X, { shape: [ctx.rows, 8] }))));
    const batch = seqs.range(0, words.length);
    const P = batch.Y.shape[1]!;
    for (const impl of ['conv1d', 'unfold'] as const) {
      conv.impl = impl;
      const out = noGrad(() => conv.forward(batch.X));
      expect(out.shape).toEqual([words.length, P, 27]);
      const c = f64(out);
      // Gather the positions that are examples (word w, position t <= len) in buildContexts' order.
      const picked = new Float64Array(ctx.rows * 27);
      let r = 0;
      for (let w = 0; w < words.length; w++) {
        const first = P - 1 - seqs.lengths[w]!; // right-aligned: the word's positions are the last len + 1
        for (let t = first; t < P; t++, r++) picked.set(c.subarray((w * P + t) * 27, (w * P + t + 1) * 27), r * 27);
      }
      expect(r).toBe(ctx.rows);
      expect(maxAbsDiff(picked, hier)).toBeLessThanOrEqual(1e-5);
    }
    // Sampling: the same probabilities (the unfolded convolution computes them bit for bit), so the same names.
    conv.impl = 'unfold';
    expect(conv.sample(8, vocab, new Generator().manualSeed(11))).toEqual(model.sample(8, vocab, new Generator().manualSeed(11)));
    // The split loss over every position equals the hierarchical one.
    const hv = model.evaluate({ X: tensor(ctx.X, { shape: [ctx.rows, 8] }), Y: tensor(ctx.Y, { shape: [ctx.rows] }) });
    expect(Math.abs(conv.evaluate(seqs) - hv)).toBeLessThan(1e-5);
    // Training mode: BatchNorm's batch statistics cover different sets (32 x 4 pairs vs every
    // position of every word, padding included), so the outputs differ.
    model.train();
    conv.train();
    const hTrain = f64(noGrad(() => model.forward(tensor(ctx.X, { shape: [ctx.rows, 8] }))));
    const cTrain = f64(noGrad(() => conv.forward(batch.X)));
    expect(maxAbsDiff(cTrain.subarray(0, 27), hTrain.subarray(0, 27))).toBeGreaterThan(1e-3);
  });

  it('a fresh WaveNetConv has the hierarchical init (same seed, same draws), and the two implementations train identically', () => {
    const a = createWaveNetConv();
    const h = createWaveNet();
    const L = h.layers.layers;
    expect(f64(a.embedding.weight)).toEqual(f64((L[0] as lecture.Embedding).weight));
    expect(f64(a.conv(1).weight)).toEqual(f64(linearToKernel((L[6] as lecture.Linear).weight, 128)));
    expect(f64(a.head.weight)).toEqual(f64((L[13] as lecture.Linear).weight));
    manualSeed(42);
    const fresh = new WaveNetConv();
    expect(f64(fresh.conv(2).weight)).toEqual(f64(linearToKernel((L[10] as lecture.Linear).weight, 128)));
    expect(a.numParameters()).toBe(76579);
    const train = new WordSequences(parts.train.slice(0, 4000), vocab);
    const runs = (['conv1d', 'unfold'] as const).map((impl) => {
      const m = createWaveNetConv();
      m.impl = impl;
      return m.fit(train, { steps: 30, batchWords: 16, lr: 0.1, generator: new Generator().manualSeed(7) });
    });
    expect(maxAbsDiff(runs[0]!.losses, runs[1]!.losses)).toBeLessThan(1e-4);
    const l = runs[1]!.losses;
    expect(l[0]).toBeGreaterThan(3.2);
    expect((l[27]! + l[28]! + l[29]!) / 3).toBeLessThan(l[0]! - 0.4);
    expect(runs[1]!.examples).toBeGreaterThan(30 * 16 * 3);
  });

  it('trains on every position of each word: a short run lowers the loss over the val words', () => {
    const conv = createWaveNetConv();
    conv.impl = 'unfold';
    const before = conv.evaluate(seqs);
    conv.fit(new WordSequences(parts.train, vocab), { steps: 150, batchWords: 32, lr: 0.1 });
    const after = conv.evaluate(seqs);
    expect(before).toBeGreaterThan(3.2);
    expect(after).toBeLessThan(2.6);
    const a = conv.sample(3, vocab, new Generator().manualSeed(3));
    for (const w of a) expect(w).toMatch(/^[a-z]*\.$/);
    expect(() => conv.forward(tensor([[0, 0, 0]], { dtype: 'int32' }))).toThrow('WaveNetConv.forward: sequences of 3 tokens are shorter than the receptive field of 8 (input [1, 3])');
  });

  it('weightDecay: one step is SGD with an L2 term, p -= lr·(g + wd·p), on the same draws as without it', () => {
    const train = new WordSequences(parts.train.slice(0, 2000), vocab);
    const [plain, decayed] = [0, 0.5].map((weightDecay) => {
      const m = createWaveNetConv();
      m.fit(train, { steps: 1, batchWords: 8, lr: 0.1, weightDecay, generator: new Generator().manualSeed(5) });
      return m;
    });
    const init = createWaveNetConv();
    for (const pick of [(m: WaveNetConv) => m.embedding.weight, (m: WaveNetConv) => m.conv(1).weight, (m: WaveNetConv) => m.head.weight]) {
      const [a, b, p0] = [plain!, decayed!, init].map((m) => f64(pick(m)));
      const want = p0.map((v) => -0.1 * 0.5 * v);
      expect(maxAbsDiff(b.map((v, i) => v - a[i]!), want)).toBeLessThan(1e-6);
      expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(1e-3);
    }
    expect(() => init.fit(train, { steps: 1, lr: 0.1, weightDecay: -1 })).toThrow('WaveNetConv.fit: weightDecay must be a finite number >= 0, got -1');
  });
});
