// makemore part 3: the notebook's own layers (makemore.lecture), Model 1 (MLP + inline BatchNorm),
// the deep BatchNorm network, the diagnostics and the bonus std studies. Numbers from
// reference/lectures.md §6 and the notebook's printed outputs. Expected step-0 losses are derived
// independently: the same forward written with raw tensor ops in float64 on the reference backend.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { F, Generator, Tensor, arange, gradcheck, noGrad, randint, randn, tensor } from '../index.js';
import {
  DEEP_LECTURE, LOSS_LOG, MODEL1_LECTURE, Part3DeepNet, Part3Mlp, STD_STUDY_LECTURE, createPart3DeepNet, createPart3Mlp,
  deepNetStats, formatDeepNetStats, lectureSplits, linearBatchNormStdStudy, linearStdStudy, tanhOutputs,
} from '../src/makemore/part3.js';
import * as lecture from '../src/makemore/lecture-layers.js';
import {
  UpdateRatioTracker, activationStats, formatExp, formatSigned, plotDistributions, plotSaturation, plotUpdateRatios, saturationMask, weightGradStats,
} from '../src/viz/diagnostics.js';

const SEED = 2147483647;
const HEAVY = 600_000;
const splits = lectureSplits();
const { train, dev } = splits;
const bits = (t: Tensor) => Array.from(t.detach().contiguous().toArray());
const ones32 = (n: number) => tensor(new Float32Array(n).fill(1));
const zeros32 = (n: number) => tensor(new Float32Array(n));
const tmp = mkdtempSync(join(tmpdir(), 'ferrograd-part3-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Mean NLL of targets Y under float64 logits, with a hand-written max-shifted log-softmax. */
function nll64(logits: Tensor, Y: Tensor): number {
  const shifted = logits.sub(logits.max(1, true));
  const logp = shifted.sub(shifted.exp().sum(1, true).log());
  return logp.index([arange(Y.shape[0]!), Y]).mean().neg().item();
}

describe('makemore.lecture layers', () => {
  it('Linear: weight [in, out] = randn / sqrt(fan_in), bias zeros or none; forward x @ W + b', () => {
    const lin = new lecture.Linear(30, 200, { generator: new Generator().manualSeed(SEED) });
    expect(lin.weight.shape).toEqual([30, 200]);
    expect(bits(lin.weight)).toEqual(bits(randn([30, 200], { generator: new Generator().manualSeed(SEED) }).div(Math.sqrt(30))));
    expect(bits(lin.bias!)).toEqual(new Array(200).fill(0));
    expect(lin.parameters()).toEqual([lin.weight, lin.bias]);
    expect(Object.keys(lin.stateDict())).toEqual(['weight', 'bias']);
    const noBias = new lecture.Linear(4, 3, { bias: false });
    expect(noBias.bias).toBeNull();
    expect(noBias.numParameters()).toBe(12);
    const x = randn([5, 4]);
    noGrad(() => noBias.weight.copy_(tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]])));
    const y = noBias.forward(x);
    expect(y.shape).toEqual([5, 3]);
    expect(noBias.out).toBe(y);
    const xs = x.toArray();
    expect(y.toArray()[0]).toBeCloseTo(xs[0]! + xs[3]!, 6);
    expect(() => noBias.forward(randn([2, 6]))).toThrow('lecture.Linear: input has 6 features but the layer expects 4 (input [2, 6], weight [4, 3])');
    // 3-D input (part 5): the product runs over the last dim.
    expect(noBias.forward(randn([2, 5, 4])).shape).toEqual([2, 5, 3]);
  });

  it('BatchNorm1d: gamma/beta parameters, running buffers in the state dict, unbiased batch variance in training', () => {
    const bn = new lecture.BatchNorm1d(3);
    expect(bn.parameters()).toEqual([bn.gamma, bn.beta]);
    expect(Object.keys(bn.stateDict())).toEqual(['gamma', 'beta', 'runningMean', 'runningVar']);
    expect(bn.buffers()).toEqual([bn.runningMean, bn.runningVar]);
    bn.double();
    const x = randn([6, 3], { generator: new Generator().manualSeed(1) }).double().mul(3).add(2);
    const y = bn.forward(x);
    // The notebook's formula, written out in float64.
    const mean = x.mean(0, true);
    const varU = x.sub(mean).square().sum(0, true).div(5);
    const expected = x.sub(mean).div(varU.add(1e-5).sqrt());
    const diff = Math.max(...Array.from(y.sub(expected).abs().toArray() as Float64Array));
    expect(diff).toBeLessThan(1e-12);
    // running = 0.9 * [0, 1] + 0.1 * [batch mean, unbiased batch var]
    const rm = bn.runningMean.toArray() as Float64Array;
    const rv = bn.runningVar.toArray() as Float64Array;
    const m = mean.toArray() as Float64Array;
    const v = varU.toArray() as Float64Array;
    for (let c = 0; c < 3; c++) {
      expect(rm[c]).toBeCloseTo(0.1 * m[c]!, 12);
      expect(rv[c]).toBeCloseTo(0.9 + 0.1 * v[c]!, 12);
    }
    // Eval mode normalises with the running statistics and leaves them alone.
    bn.eval();
    const z = bn.forward(x);
    const ze = x.sub(bn.runningMean).div(bn.runningVar.add(1e-5).sqrt());
    expect(Math.max(...Array.from(z.sub(ze).abs().toArray() as Float64Array))).toBeLessThan(1e-12);
    expect(Array.from(bn.runningMean.toArray())).toEqual(Array.from(rm));
    expect(() => bn.forward(randn([4, 5]).double())).toThrow('lecture.BatchNorm1d: expected input [N, 3] or [N, T, 3] (channels last), got [4, 5]');
  });

  it('BatchNorm1d on [N, T, C] normalises over dims (0, 1), and its gradients match finite differences (float64)', () => {
    const bn = new lecture.BatchNorm1d(4, { momentum: 0.2 }).double();
    noGrad(() => {
      bn.gamma.copy_(tensor([0.5, 1.5, -1, 2], { dtype: 'float64' }));
      bn.beta.copy_(tensor([0.1, -0.2, 0.3, 0], { dtype: 'float64' }));
    });
    const x = randn([3, 5, 4], { generator: new Generator().manualSeed(7) }).double().requiresGrad_();
    const y = bn.forward(x);
    const flat = x.detach().reshape([15, 4]);
    const mean = flat.mean(0, true);
    const varU = flat.var(0, { keepdim: true });
    const expected = flat.sub(mean).div(varU.add(1e-5).sqrt()).mul(bn.gamma.detach()).add(bn.beta.detach()).reshape([3, 5, 4]);
    expect(Math.max(...Array.from(y.detach().sub(expected).abs().toArray() as Float64Array))).toBeLessThan(1e-12);
    expect(Array.from(bn.runningMean.toArray() as Float64Array).map((v, c) => v - 0.2 * (mean.toArray() as Float64Array)[c]!).every((d) => Math.abs(d) < 1e-12)).toBe(true);
    const r = gradcheck((xi, g, b) => { void g; void b; return bn.forward(xi).mul(tensor([1, -2, 3, 0.5], { dtype: 'float64' })).sum(); }, [x, bn.gamma, bn.beta]);
    expect(r.ok, JSON.stringify(r.worst)).toBe(true);
    const x2 = randn([2, 3, 4], { generator: new Generator().manualSeed(8) }).double().requiresGrad_();
    expect(gradcheck((xi) => bn.forward(xi).square().sum(), [x2]).ok).toBe(true);
  });

  it('Tanh, Embedding, FlattenConsecutive and Sequential: shapes, parameters, train/eval through the tree', () => {
    const emb = new lecture.Embedding(27, 24, { generator: new Generator().manualSeed(42) });
    expect(bits(emb.weight)).toEqual(bits(randn([27, 24], { generator: new Generator().manualSeed(42) })));
    const ix = tensor([[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 26]], { dtype: 'int32' });
    expect(emb.forward(ix).shape).toEqual([2, 8, 24]);
    expect(() => emb.forward(tensor([[27]], { dtype: 'int32' }))).toThrow('lecture.Embedding: index 27 at position 0 is out of range for 27 embeddings (input [1, 1])');
    const fc = new lecture.FlattenConsecutive(2);
    expect(fc.forward(randn([4, 8, 24])).shape).toEqual([4, 4, 48]);
    expect(new lecture.FlattenConsecutive(8).forward(randn([4, 8, 24])).shape).toEqual([4, 192]);
    expect(() => fc.forward(randn([4, 3, 2]))).toThrow('lecture.FlattenConsecutive: T = 3 (input [4, 3, 2]) is not divisible by n = 2');
    const t = new lecture.Tanh();
    const x = tensor([-100, 0, 0.5]);
    expect(Array.from(t.forward(x).toArray())).toEqual(Array.from(x.tanh().toArray()));
    // Part 5's hierarchical WaveNet-style network from these layers: 76,579 parameters.
    const g = new Generator().manualSeed(42);
    const model = new lecture.Sequential([
      new lecture.Embedding(27, 24, { generator: g }),
      new lecture.FlattenConsecutive(2), new lecture.Linear(48, 128, { bias: false, generator: g }), new lecture.BatchNorm1d(128), new lecture.Tanh(),
      new lecture.FlattenConsecutive(2), new lecture.Linear(256, 128, { bias: false, generator: g }), new lecture.BatchNorm1d(128), new lecture.Tanh(),
      new lecture.FlattenConsecutive(2), new lecture.Linear(256, 128, { bias: false, generator: g }), new lecture.BatchNorm1d(128), new lecture.Tanh(),
      new lecture.Linear(128, 27, { generator: g }),
    ]);
    expect(model.numParameters()).toBe(76579);
    expect(model.layers).toHaveLength(14);
    expect([...model.namedParameters()].slice(0, 4).map(([k]) => k)).toEqual(['0.weight', '2.weight', '3.gamma', '3.beta']);
    const shapes: number[][] = [];
    let h: Tensor = ix;
    for (const layer of model.layers) {
      h = layer.forward(h);
      shapes.push([...h.shape]);
    }
    expect(shapes[13]).toEqual([2, 27]);
    expect(shapes.slice(1, 5)).toEqual([[2, 4, 48], [2, 4, 128], [2, 4, 128], [2, 4, 128]]);
    model.eval();
    expect([...model.modules()].every((m) => !m.training)).toBe(true);
    model.train();
    expect((model.layers[3] as lecture.BatchNorm1d).training).toBe(true);
  });
});

describe('Model 1: MLP with the init fixes and inline BatchNorm', () => {
  it('has the notebook\'s 12,097 parameters in its order C, W1, W2, b2, bngain, bnbias, and its running buffers', () => {
    const m = createPart3Mlp();
    expect(m.numParameters()).toBe(12097);
    expect([...m.namedParameters()].map(([k, p]) => [k, p.shape])).toEqual([
      ['C', [27, 10]], ['W1', [30, 200]], ['W2', [200, 27]], ['b2', [27]], ['bngain', [1, 200]], ['bnbias', [1, 200]],
    ]);
    expect(Object.keys(m.stateDict())).toEqual(['C', 'W1', 'W2', 'b2', 'bngain', 'bnbias', 'bnmeanRunning', 'bnstdRunning']);
    // The loss-log variants keep b1 (the notebook drew it before removing it).
    expect(new Part3Mlp({ init: LOSS_LOG[0]!.init, batchNorm: false }).numParameters()).toBe(11897);
  });

  it('its seeded step-0 loss equals an independent float64 forward of the same draws (3.3239 as the notebook prints)', () => {
    const g = new Generator().manualSeed(SEED);
    const model = new Part3Mlp({ generator: g });
    const init = model.parameters().map((p) => p.detach().clone());
    const { losses } = model.fit(train, { steps: 1, lr: 0.1, generator: g });
    // Independent: the same seeded draws, then the forward in float64 with hand-written softmax.
    const h = new Generator().manualSeed(SEED);
    const C = randn([27, 10], { generator: h }).double();
    const W1 = randn([30, 200], { generator: h }).mul(5 / 3).div(Math.sqrt(30)).double();
    const W2 = randn([200, 27], { generator: h }).mul(0.01).double();
    randn([27], { generator: h });
    expect(bits(init[1]!)).toEqual(bits(W1.float()));
    const ix = randint(0, train.X.shape[0]!, [32], { generator: h });
    const hpre = C.index(train.X.index(ix)).view(32, 30).matmul(W1);
    const hbn = hpre.sub(hpre.mean(0, true)).div(hpre.std(0, { keepdim: true }));
    const expected = nll64(hbn.tanh().matmul(W2), train.Y.index(ix));
    expect(Math.abs(losses[0]! - expected)).toBeLessThan(1e-6);
    expect(losses[0]!.toFixed(4)).toBe('3.3239');
    // And to the last bit, the notebook's lines as raw float32 tensor ops (the float32 emulation).
    const f = (t: Tensor) => t.float();
    const h32 = f(C).index(train.X.index(ix)).view(32, 30).matmul(f(W1));
    const bn32 = ones32(200).mul(h32.sub(h32.mean(0, true))).div(h32.std(0, { keepdim: true })).add(zeros32(200));
    expect(F.crossEntropy(bn32.tanh().matmul(f(W2)).add(zeros32(27)), train.Y.index(ix)).item()).toBe(losses[0]);
    // Below the 27.88 of the unscaled init and near log(27) = 3.2958, the uniform guess.
    expect(Math.abs(losses[0]! - Math.log(27))).toBeLessThan(0.05);
  });

  it('logs the notebook\'s 2.0322 at step 10000 (the seeded run follows it), and evaluates with the running statistics', () => {
    const g = new Generator().manualSeed(SEED);
    const model = new Part3Mlp({ generator: g });
    const { losses } = model.fit(train, { steps: 10001, lr: 0.1, generator: g });
    expect(losses[10000]!.toFixed(4)).toBe(MODEL1_LECTURE.log[1]!.toFixed(4));
    expect(model.training).toBe(true);
    const val = model.evaluate(dev);
    expect(model.training).toBe(true);
    const viaStats = noGrad(() => {
      model.eval();
      const logits = model.forward(dev.X, { stats: { mean: model.bnmeanRunning!, std: model.bnstdRunning! } });
      model.train();
      return F.crossEntropy(logits, dev.Y).item();
    });
    expect(val).toBe(viaStats);
    expect(val).toBeLessThan(2.4);
    const cal = model.calibrate(train);
    expect(cal.mean.shape).toEqual([1, 200]);
    // The running estimates (momentum 0.001 over 10k steps) are close to the full-set statistics.
    expect(Math.abs(model.evaluate(dev, { stats: cal }) - val)).toBeLessThan(0.02);
  }, HEAVY);

  it('the loss-log variants start where the notebook says: the unscaled init is confidently wrong (~27), the fixes near 3.3', () => {
    const starts = LOSS_LOG.map((v) => {
      const g = new Generator().manualSeed(SEED);
      return new Part3Mlp({ init: v.init, batchNorm: v.batchNorm, generator: g }).fit(train, { steps: 1, lr: 0.1, generator: g }).losses[0]!;
    });
    expect(starts[0]!.toFixed(4)).toBe('27.8817');
    for (const s of starts.slice(1)) expect(Math.abs(s - Math.log(27))).toBeLessThan(0.05);
  });

  it('the tanh saturation of the unscaled init: most hidden units at |h| > 0.99, far fewer after the fix', () => {
    const sat = LOSS_LOG.slice(0, 3).map((v) => {
      const m = new Part3Mlp({ init: v.init, batchNorm: false, generator: new Generator().manualSeed(SEED) });
      noGrad(() => m.forward(train.X.narrow(0, 0, 32)));
      return saturationMask(m.h!, 0.99).saturated;
    });
    expect(sat[0]).toBeGreaterThan(50);
    expect(sat[1]).toBeGreaterThan(50); // W2 scaling does not touch the hidden layer
    expect(sat[2]).toBeLessThan(5);
  });
});

describe('the deep network (5 x [Linear, BatchNorm1d, Tanh] + Linear + BatchNorm1d)', () => {
  it('has 47,024 parameters, C first and then the layers, with the last gamma scaled by 0.1', () => {
    const net = createPart3DeepNet();
    expect(net.numParameters()).toBe(47024);
    expect(net.layers.layers.map((l) => l.constructor.name)).toEqual([
      ...Array.from({ length: 5 }, () => ['Linear', 'BatchNorm1d', 'Tanh']).flat(), 'Linear', 'BatchNorm1d',
    ]);
    const names = [...net.namedParameters()].map(([k]) => k);
    expect(names.slice(0, 4)).toEqual(['C', 'layers.0.weight', 'layers.1.gamma', 'layers.1.beta']);
    expect(Array.from((net.layers.at(-1) as lecture.BatchNorm1d).gamma.toArray())).toEqual(new Array(27).fill(Math.fround(0.1)));
    expect(new Part3DeepNet({ batchNorm: false }).numParameters()).toBe(270 + 3100 + 4 * 10100 + 2727);
  });

  it('its seeded step-0 loss equals an independent float64 forward of the same draws (3.2870)', () => {
    const g = new Generator().manualSeed(SEED);
    const net = new Part3DeepNet({ generator: g });
    const { losses } = net.fit(train, { steps: 1, lr: 0.1, generator: g });
    const h = new Generator().manualSeed(SEED);
    const C = randn([27, 10], { generator: h }).double();
    const dims = [[30, 100], [100, 100], [100, 100], [100, 100], [100, 100], [100, 27]] as const;
    const Ws = dims.map(([a, b]) => randn([a, b], { generator: h }).div(Math.sqrt(a)).double());
    const ix = randint(0, train.X.shape[0]!, [32], { generator: h });
    let x = C.index(train.X.index(ix)).view(32, 30);
    Ws.forEach((W, k) => {
      x = x.matmul(W);
      x = x.sub(x.mean(0, true)).div(x.var(0, { keepdim: true }).add(1e-5).sqrt());
      x = k < 5 ? x.tanh() : x.mul(Math.fround(0.1));
    });
    const expected = nll64(x, train.Y.index(ix));
    expect(Math.abs(losses[0]! - expected)).toBeLessThan(1e-6);
    expect(losses[0]!.toFixed(4)).toBe('3.2870');
    // To the last bit: the notebook's BatchNorm1d lines (mean, var, sqrt, divide) in float32,
    // against the fused F.batchNorm inside the layers.
    let y = C.float().index(train.X.index(ix)).view(32, 30);
    Ws.forEach((W, k) => {
      y = y.matmul(W.float());
      const xhat = y.sub(y.mean(0, true)).div(y.var(0, { keepdim: true }).add(1e-5).sqrt());
      y = (k < 5 ? ones32(W.shape[1]!) : ones32(27).mul(0.1)).mul(xhat).add(zeros32(W.shape[1]!));
      if (k < 5) y = y.tanh();
    });
    expect(F.crossEntropy(y, train.Y.index(ix)).item()).toBe(losses[0]);
  });

  it('after the notebook\'s 1001 steps: train/val within 0.01 of 2.4003 / 2.3982, its tables and samples, update ratios', async () => {
    const g = new Generator().manualSeed(SEED);
    const net = new Part3DeepNet({ generator: g });
    const params = net.parameters();
    const tracker = new UpdateRatioTracker(params.map((p, i) => ({ label: `param ${i}`, tensor: p })));
    net.fit(train, { steps: 1001, lr: 0.1, generator: g, updateRatios: tracker });
    expect(tracker.history).toHaveLength(1001);
    const stats = deepNetStats(net);
    expect(stats.activations.map((s) => s.index)).toEqual([2, 5, 8, 11, 14]);
    const lines = formatDeepNetStats(stats);
    // The activation table as the notebook prints it (2 decimals), line for line.
    expect(lines.activations).toEqual(DEEP_LECTURE.activations);
    // Gradient and weight-gradient tables: the stds and ratios to 4 significant digits (the
    // near-zero means are float32 noise whose sign the reductions' order decides).
    const sci = (line: string) => [...line.matchAll(/(\d\.\d{6}e[+-]\d\d)/g)].map((m) => Number(m[1]));
    const close = (a: number[], b: number[]) => a.length === b.length && a.every((x, k) => Math.abs(x / b[k]! - 1) < 1e-4);
    lines.gradients.forEach((l, k) => expect(close(sci(l), sci(DEEP_LECTURE.gradients[k]!)), `${l}\n${DEEP_LECTURE.gradients[k]}`).toBe(true));
    lines.weightGradients.forEach((l, k) => {
      expect(l.slice(0, 17)).toBe(DEEP_LECTURE.weightGradients[k]!.slice(0, 17));
      expect(close(sci(l), sci(DEEP_LECTURE.weightGradients[k]!)), `${l}\n${DEEP_LECTURE.weightGradients[k]}`).toBe(true);
    });
    expect(stats.activations.every((s) => s.std > 0.6 && s.std < 0.7 && s.saturated < 3)).toBe(true);
    // Update:data ratios of the 2-D weights at lr 0.1: about 10^-2.2 here, within an order of
    // magnitude of the 1e-3 guide line (the plot shows them above it).
    const last = tracker.history[1000]!;
    for (const [i, p] of params.entries()) if (p.ndim === 2) expect(Math.abs(last[i]! + 2.5)).toBeLessThan(1);
    const trainLoss = net.evaluate(train);
    const valLoss = net.evaluate(dev);
    expect(Math.abs(trainLoss - DEEP_LECTURE.train)).toBeLessThan(0.01);
    expect(Math.abs(valLoss - DEEP_LECTURE.val)).toBeLessThan(0.01);
    expect(net.training).toBe(true);
    // The notebook's 20 samples, seed 2147483647 + 10, name for name.
    expect(net.sample(20, new Generator().manualSeed(SEED + 10), splits.vocab)).toEqual(DEEP_LECTURE.samples);
    // The diagnostics charts are written, SVG and PNG.
    const acts = tanhOutputs(net);
    const files = [
      await plotDistributions(acts, join(tmp, 'act'), { title: 'activation distribution' }),
      await plotUpdateRatios(tracker, join(tmp, 'ud'), { only: params.flatMap((p, i) => (p.ndim === 2 ? [i] : [])) }),
      await plotSaturation(acts[0]!.tensor, join(tmp, 'sat'), { threshold: 0.97 }),
    ];
    for (const f of files) {
      expect(readFileSync(f.svg, 'utf8')).toMatch(/^<svg/);
      expect(Array.from(readFileSync(f.png).subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
  }, HEAVY);
});

describe('bonus: the std studies', () => {
  it('Linear: c = b @ a has std ~sqrt(1000) = 31 forward and a.grad too (the notebook\'s printed values)', () => {
    const r = linearStdStudy();
    for (const [k, v] of Object.entries(STD_STUDY_LECTURE.linear)) expect(Math.abs(r[k as keyof typeof r] / v - 1), k).toBeLessThan(1e-5);
  });

  it('Linear + BatchNorm: the output std is 1 and the gradients come back ~1/31 (the notebook\'s printed values)', () => {
    const r = linearBatchNormStdStudy();
    for (const [k, v] of Object.entries(STD_STUDY_LECTURE.linearBatchNorm)) expect(Math.abs(r[k as keyof typeof r] / v - 1), k).toBeLessThan(1e-5);
  });
});

describe('diagnostics (src/viz/diagnostics)', () => {
  it('saturation %, mean and std as the notebook computes them', () => {
    const t = tensor([0.5, 0.98, -0.99, 1, 0.97, -0.2, 0, 0.3]);
    const [s] = activationStats([{ label: 't', tensor: t }]);
    expect(s!.saturated).toBe(37.5);
    expect(s!.mean).toBeCloseTo((0.5 + 0.98 - 0.99 + 1 + 0.97 - 0.2 + 0.3) / 8, 6);
    expect(s!.std).toBeCloseTo(t.double().std().item(), 6);
    const m = saturationMask(tensor([[1, 0.995], [0, -1]]), 0.99);
    expect(Array.from(m.mask)).toEqual([1, 1, 0, 1]);
    expect(m.deadColumns).toEqual([1]);
    expect(m.saturated).toBe(75);
    expect(() => saturationMask(tensor([1, 2]))).toThrow('saturationMask: expected a 2-D tensor [examples, neurons], got shape [2]');
  });

  it('grad:data ratio and update:data ratio', () => {
    const p = tensor([1, 2, 3, 4], { requiresGrad: true });
    p.mul(tensor([0.1, -0.1, 0.2, 0])).sum().backward();
    const [w] = weightGradStats([{ label: 'p', tensor: p }]);
    const gStd = tensor([0.1, -0.1, 0.2, 0]).double().std().item();
    const pStd = tensor([1, 2, 3, 4]).double().std().item();
    expect(w!.gradToData).toBeCloseTo(gStd / pStd, 6);
    const tr = new UpdateRatioTracker([{ label: 'p', tensor: p }]);
    expect(tr.record(0.1)[0]).toBeCloseTo(Math.log10((0.1 * gStd) / pStd), 6);
    expect(() => weightGradStats([{ label: 'q', tensor: tensor([1, 2]) }])).toThrow("weightGradStats: 'q' has no gradient (run backward() first)");
  });

  it('prints numbers as Python\'s %+.2f and %e do', () => {
    expect(formatExp(2.640702e-3)).toBe('2.640702e-03');
    expect(formatExp(0.1160106)).toBe('1.160106e-01');
    expect(formatExp(31.01)).toBe('3.101000e+01');
    expect(formatSigned(-1e-9, 2)).toBe('-0.00');
    expect(formatSigned(1e-9, 6)).toBe('+0.000000');
    expect(formatSigned(0.000246, 6)).toBe('+0.000246');
  });
});
