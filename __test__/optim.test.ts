// optim against PyTorch: every optimizer's trajectory on a fixed gradient sequence, resuming from
// torch's own state dict, clip_grad_norm_, and the lr schedules (fixture written by
// scripts/fixtures/torch_optim.py); plus state-dict round trips, zeroGrad, the no-allocation
// property of step(), and the error table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor, optim, randn, tensor, Generator, makemore, nativeAvailable, withBackend } from '../index.js';
import { versionOf } from '../src/autograd/version.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/torch_optim.json', import.meta.url), 'utf8'));

type FloatArr = Float32Array | Float64Array;
function decode(s: string, dtype = 'float32'): FloatArr {
  const b = Buffer.from(s, 'base64');
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  return dtype === 'float64' ? new Float64Array(ab) : new Float32Array(ab);
}
const INIT = decode(fx.init);
const GRADS = decode(fx.grads);
const STEPS: number = fx.steps;
const MID: number = fx.midStep;
const SKIP = new Set<string>(fx.skip.map((x: number[]) => x.join(',')));
const SHAPES: number[][] = fx.shapes;
const OFFSETS = [0, 12, 16];

const asDtype = (a: ArrayLike<number>, dtype: string): FloatArr => (dtype === 'float64' ? Float64Array.from(a) : Float32Array.from(a));

function makeParams(dtype: string, values: ArrayLike<number> = INIT): Tensor[] {
  return SHAPES.map((s, i) => new Tensor(asDtype(Array.from(values).slice(OFFSETS[i], OFFSETS[i + 1]), dtype), s).requiresGrad_());
}

function setGrads(ps: Tensor[], step: number, skip: boolean, dtype: string): void {
  ps.forEach((p, i) => {
    p.grad = skip && SKIP.has(`${step},${i}`) ? null : new Tensor(asDtype(GRADS.slice(step * 16 + OFFSETS[i], step * 16 + OFFSETS[i + 1]), dtype), [...p.shape]);
  });
}

const flatValues = (ps: Tensor[]): number[] => ps.flatMap((p) => Array.from(p.data));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Case = any;

function build(c: Case, ps: Tensor[]): optim.Optimizer {
  const spec = c.groups ? c.groups.map((g: Case) => ({ ...g, params: g.params.map((i: number) => ps[i]) })) : ps;
  const Ctor = (optim as unknown as Record<string, new (p: unknown, o: unknown) => optim.Optimizer>)[c.optimizer];
  return new Ctor(spec, c.options);
}

/** Largest |got - want| of element j over the trajectory, in ulps of that element's scale
 *  (its largest magnitude over the trajectory): an absolute error measure that does not blow up
 *  when a parameter passes through zero. */
function maxScaledUlps(got: number[][], want: FloatArr, dtype: string): number {
  const ulp = dtype === 'float64' ? 2 ** -52 : 2 ** -23;
  let worst = 0;
  for (let j = 0; j < 16; j++) {
    let scale = 0;
    for (let s = 0; s < got.length; s++) scale = Math.max(scale, Math.abs(want[s * 16 + j]));
    for (let s = 0; s < got.length; s++) worst = Math.max(worst, Math.abs(got[s][j] - want[s * 16 + j]) / (scale * ulp));
  }
  return worst;
}

/** torch's state dict from the fixture, as stateDictFromTorch receives it (tensors shaped as the params). */
function torchStateDict(sd: Case, dtype: string): optim.TorchOptimizerStateDict {
  const state: Record<number, Record<string, Tensor | number>> = {};
  for (const [k, entry] of Object.entries<Case>(sd.state)) {
    state[Number(k)] = {};
    for (const [name, v] of Object.entries<Case>(entry)) {
      state[Number(k)][name] = 'number' in v ? v.number : new Tensor(decode(v.tensor, dtype), SHAPES[Number(k)]);
    }
  }
  return { state, param_groups: sd.param_groups };
}

/** Tolerance of the trajectory comparison, in ulps of each element's scale.
 *  SGD: 0, bit for bit (the same float32 operations in the same order, fused multiply-adds as torch's).
 *  Adam/AdamW in float32: 4. The operations are torch's in its order, but torch's float32 sqrt
 *  (MKL's vectorised one) is not correctly rounded: 1 ulp off for about a fifth of inputs, so a
 *  denominator can differ by 1 ulp and the difference carries on (measured: at most 1.6 ulps).
 *  float64: 8 (torch fuses multiply-adds in double, which plain JS arithmetic cannot; measured 2.9). */
function tolerance(c: Case): number {
  if (c.dtype === 'float64') return 8;
  return c.optimizer === 'SGD' ? 0 : 4;
}

describe('optimizers follow torch.optim on a fixed gradient sequence', () => {
  for (const [name, c] of Object.entries<Case>(fx.optimizers)) {
    it(`${name}: ${STEPS} steps within ${tolerance(c)} ulps of torch's parameters`, () => {
      const ps = makeParams(c.dtype);
      const opt = build(c, ps);
      const traj: number[][] = [];
      for (let s = 0; s < STEPS; s++) {
        setGrads(ps, s, c.skip, c.dtype);
        opt.step();
        traj.push(flatValues(ps));
      }
      const want = decode(c.trajectory, c.dtype);
      if (tolerance(c) === 0) expect(traj.flat()).toEqual(Array.from(want));
      else expect(maxScaledUlps(traj, want, c.dtype)).toBeLessThanOrEqual(tolerance(c));
      // Something did move: the comparison is not between two unchanged copies of INIT.
      expect(traj[STEPS - 1]).not.toEqual(Array.from(asDtype(INIT, c.dtype)));
    });

    it(`${name}: the state dict has torch's layout and values`, () => {
      const ps = makeParams(c.dtype);
      const opt = build(c, ps);
      for (let s = 0; s < STEPS; s++) {
        setGrads(ps, s, c.skip, c.dtype);
        opt.step();
      }
      const mine = optim.stateDictToTorch(opt.stateDict());
      const theirs = torchStateDict(c.finalStateDict, c.dtype);
      expect(Object.keys(mine.state)).toEqual(Object.keys(theirs.state));
      for (const [k, entry] of Object.entries(theirs.state)) {
        const m = mine.state[Number(k)];
        expect(Object.keys(m).sort()).toEqual(Object.keys(entry).sort());
        for (const [key, v] of Object.entries(entry)) {
          if (typeof v === 'number') expect(m[key]).toBe(v);
          else {
            const got = Array.from((m[key] as Tensor).data);
            const want = Array.from(v.data);
            const scale = Math.max(...want.map(Math.abs));
            const ulp = c.dtype === 'float64' ? 2 ** -52 : 2 ** -23;
            got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(Math.max(tolerance(c), 4) * 4 * ulp * scale));
          }
        }
      }
      // Groups: torch's keys, less those choosing torch's kernels, with torch's values.
      const torchOnly = new Set(['foreach', 'capturable', 'differentiable', 'fused']);
      theirs.param_groups.forEach((g, i) => {
        const want = Object.keys(g).filter((k) => !torchOnly.has(k));
        const got = Object.keys(mine.param_groups[i]);
        expect(got.sort()).toEqual(want.sort());
        for (const k of want) expect(mine.param_groups[i][k]).toEqual(g[k]);
      });
    });

    it(`${name}: resumes from torch's state dict after ${MID} steps`, () => {
      const want = decode(c.trajectory, c.dtype);
      const ps = makeParams(c.dtype, want.slice((MID - 1) * 16, MID * 16));
      const opt = build(c, ps);
      opt.loadStateDict(optim.stateDictFromTorch(torchStateDict(c.midStateDict, c.dtype)));
      const traj: number[][] = [];
      for (let s = MID; s < STEPS; s++) {
        setGrads(ps, s, c.skip, c.dtype);
        opt.step();
        traj.push(flatValues(ps));
      }
      const rest = want.slice(MID * 16);
      if (tolerance(c) === 0) expect(traj.flat()).toEqual(Array.from(rest));
      else expect(maxScaledUlps(traj, rest, c.dtype)).toBeLessThanOrEqual(tolerance(c));
    });
  }
});

describe('parameter groups', () => {
  it('fill options a group leaves out from the defaults, and keep each group its own', () => {
    const [a, b] = makeParams('float32');
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.01, momentum: 0.5 }], { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
    expect(opt.paramGroups[0]).toMatchObject({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4, dampening: 0, nesterov: false });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.01, momentum: 0.5, weightDecay: 1e-4 });
    const adam = new optim.Adam([{ params: [a], betas: [0.5, 0.9] }, { params: [b] }]);
    expect(adam.paramGroups[0].betas).toEqual([0.5, 0.9]);
    expect(adam.paramGroups[1]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(new optim.AdamW([a]).paramGroups[0]).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, decoupledWeightDecay: true });
  });

  it('addParamGroup adds parameters that the next step updates', () => {
    const [a, b] = makeParams('float32');
    const opt = new optim.SGD([a], { lr: 0.5 });
    opt.addParamGroup({ params: [b], lr: 0.25 });
    a.grad = tensor(new Array(12).fill(1), { dtype: 'float32' }).view(3, 4);
    b.grad = tensor([2, 2, 2, 2]);
    const before = flatValues([a, b]);
    opt.step();
    const after = flatValues([a, b]);
    // a: lr 0.5 × gradient 1; b: its own lr 0.25 × gradient 2.
    after.forEach((x, i) => expect(x).toBe(i < 12 ? Math.fround(before[i] + Math.fround(-0.5) * 1) : Math.fround(before[i] + Math.fround(-0.25) * 2)));
    expect(after).not.toEqual(before);
  });

  it('take named parameters and keep their names', () => {
    const [a, b] = makeParams('float32');
    const opt = new optim.Adam([['layer.weight', a], ['layer.bias', b]] as [string, Tensor][], { lr: 0.1 });
    expect(opt.paramGroups[0].paramNames).toEqual(['layer.weight', 'layer.bias']);
    expect(opt.stateDict().paramGroups[0].paramNames).toEqual(['layer.weight', 'layer.bias']);
  });
});

/** N steps, save, a fresh optimizer (and fresh parameter tensors), load, N steps == 2N steps. */
function roundTrip(make: (ps: Tensor[]) => optim.Optimizer, withScheduler?: (o: optim.Optimizer) => optim.LRScheduler) {
  const N = MID;
  const ps = makeParams('float32');
  const opt = make(ps);
  const sched = withScheduler?.(opt);
  for (let s = 0; s < 2 * N; s++) {
    setGrads(ps, s, false, 'float32');
    opt.step();
    sched?.step();
  }
  const straight = flatValues(ps);

  const qs = makeParams('float32');
  const first = make(qs);
  const firstSched = withScheduler?.(first);
  for (let s = 0; s < N; s++) {
    setGrads(qs, s, false, 'float32');
    first.step();
    firstSched?.step();
  }
  const saved = first.stateDict();
  const savedSched = firstSched?.stateDict();
  const savedParams = flatValues(qs);
  const entry = (sd: optim.OptimizerStateDict) => Object.entries(sd.state[0]).map(([k, v]) => [k, v instanceof Tensor ? Array.from(v.data) : v]);
  const before = entry(saved);
  // Stepping on must not change what was saved (a snapshot, safe to write out later).
  setGrads(qs, N, false, 'float32');
  first.step();
  expect(entry(saved)).toEqual(before);

  const rs = makeParams('float32', savedParams);
  const resumed = make(rs);
  const resumedSched = withScheduler?.(resumed);
  resumed.loadStateDict(saved);
  if (resumedSched && savedSched) resumedSched.loadStateDict(savedSched);
  for (let s = N; s < 2 * N; s++) {
    setGrads(rs, s, false, 'float32');
    resumed.step();
    resumedSched?.step();
  }
  expect(flatValues(rs)).toEqual(straight);
  if (sched && resumedSched) expect(resumedSched.getLastLr()).toEqual(sched.getLastLr());
}

describe('stateDict / loadStateDict resume bit for bit', () => {
  it('SGD with Nesterov momentum', () => roundTrip((ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })));
  it('Adam with AMSGrad', () => roundTrip((ps) => new optim.Adam(ps, { lr: 0.01, amsgrad: true })));
  it('AdamW with a cosine schedule (optimizer and scheduler both saved)', () =>
    roundTrip((ps) => new optim.AdamW(ps, { lr: 0.02 }), (o) => new optim.CosineAnnealingLR(o, { tMax: 7, etaMin: 1e-3 })));
  it('SGD with StepLR', () => roundTrip((ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }), (o) => new optim.StepLR(o, { stepSize: 3, gamma: 0.5 })));

  it('restores group options (lr, betas) and rejects dicts that do not fit', () => {
    const ps = makeParams('float32');
    const a = new optim.Adam(ps, { lr: 0.01, betas: [0.8, 0.99] });
    setGrads(ps, 0, false, 'float32');
    a.step();
    const sd = a.stateDict();
    const b = new optim.Adam(makeParams('float32'), { lr: 0.5 });
    b.loadStateDict(sd);
    expect(b.paramGroups[0]).toMatchObject({ lr: 0.01, betas: [0.8, 0.99] });
    expect(b.state.size).toBe(2);
    const two = new optim.Adam([{ params: [ps[0]] }, { params: [ps[1]] }]);
    expect(() => two.loadStateDict(sd)).toThrow('Adam.loadStateDict: loaded state dict has a different number of parameter groups (1, optimizer has 2)');
    const one = new optim.Adam([ps[0]]);
    expect(() => one.loadStateDict(sd)).toThrow("doesn't match the size of optimizer's group (paramGroups[0] has 2 params, optimizer's has 1)");
    const swapped = new optim.Adam([ps[1], ps[0]]);
    expect(() => swapped.loadStateDict(sd)).toThrow('Adam.loadStateDict: state[0].expAvg has shape [3, 4] but the parameter has shape [4]');
    const bad = { ...sd, paramGroups: [{ ...sd.paramGroups[0], betas: [1.5, 0.9] }] };
    expect(() => b.loadStateDict(bad)).toThrow('invalid beta parameter at index 0');
    expect(b.paramGroups[0].betas).toEqual([0.8, 0.99]); // a refused dict changes nothing
  });
});

describe('zeroGrad', () => {
  it('sets gradients to null by default', () => {
    const ps = makeParams('float32');
    const opt = new optim.SGD(ps, { lr: 0.1 });
    setGrads(ps, 0, false, 'float32');
    opt.zeroGrad();
    expect(ps.map((p) => p.grad)).toEqual([null, null]);
  });

  it('with setToNone false keeps the gradient buffers and zeroes them, and backward accumulates into them', () => {
    const w = randn([3, 4], { generator: new Generator().manualSeed(3), requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.1 });
    w.mul(w).sum().backward();
    const g = w.grad!;
    const buffer = g.data;
    opt.zeroGrad({ setToNone: false });
    expect(w.grad).toBe(g);
    expect(w.grad!.data).toBe(buffer);
    expect(Array.from(buffer)).toEqual(new Array(12).fill(0));
    w.sum().backward();
    expect(Array.from(w.grad!.data)).toEqual(new Array(12).fill(1));
  });
});

describe('step', () => {
  it('writes in place, bumps the parameter version, and allocates no typed arrays after the first step', () => {
    for (const make of [
      (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 0.01, nesterov: true }),
      (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.01, amsgrad: true }),
    ]) {
      const ps = makeParams('float32');
      const opt = make(ps);
      const storage = ps.map((p) => p.data);
      setGrads(ps, 0, false, 'float32');
      opt.step();
      const buffers = ps.map((p) => Object.values(opt.state.get(p)!).filter((v): v is Tensor => v instanceof Tensor).map((t) => t.data));
      const grads = ps.map((p) => p.grad!);
      let created = 0;
      const Real32 = globalThis.Float32Array;
      const Real64 = globalThis.Float64Array;
      // Count typed arrays made with `new` while stepping (alloc(), clone(), ops' outputs).
      globalThis.Float32Array = class extends Real32 { constructor(...a: unknown[]) { super(...(a as [number])); created++; } } as typeof Float32Array;
      globalThis.Float64Array = class extends Real64 { constructor(...a: unknown[]) { super(...(a as [number])); created++; } } as typeof Float64Array;
      const versions = ps.map((p) => versionOf(p.data));
      try {
        for (let s = 1; s < 5; s++) opt.step();
      } finally {
        globalThis.Float32Array = Real32;
        globalThis.Float64Array = Real64;
      }
      expect(created).toBe(0);
      ps.forEach((p, i) => {
        expect(p.data).toBe(storage[i]);
        expect(p.grad).toBe(grads[i]);
        expect(versionOf(p.data)).toBe(versions[i] + 4);
        const now = Object.values(opt.state.get(p)!).filter((v): v is Tensor => v instanceof Tensor).map((t) => t.data);
        now.forEach((d, k) => expect(d).toBe(buffers[i][k]));
      });
    }
  });

  it('makes a graph that saw the old values refuse to backpropagate', () => {
    const w = randn([4], { generator: new Generator().manualSeed(5), requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.1 });
    const y = w.mul(w).sum(); // MulBackward saved w
    w.grad = tensor([1, 1, 1, 1]);
    opt.step();
    expect(() => y.backward()).toThrow('modified by an inplace operation');
  });

  it('skips parameters without a gradient and returns the closure\'s loss', () => {
    const [a, b] = makeParams('float32');
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    const before = Array.from(b.data);
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = a.mul(a).sum();
      l.backward();
      return l;
    });
    expect(loss).toBeInstanceOf(Tensor);
    expect(Array.from(b.data)).toEqual(before);
    expect(opt.state.has(b)).toBe(false);
    expect(opt.state.get(a)!.step).toBe(1);
  });

  it('fusedMultiplyAdd: false rounds -lr·g first, as the lectures\' p.data += -lr * p.grad does (on either backend)', () => {
    // Native: the addon's axpy; reference: the TypeScript loop. Both must give the float32 formula.
    for (const backend of nativeAvailable() ? (['native', 'reference'] as const) : (['reference'] as const)) {
      const g = new Generator().manualSeed(11);
      const p = randn([1000], { generator: g, requiresGrad: true });
      const q = Float32Array.from(p.data);
      const r = Float32Array.from(p.data);
      for (const maximize of [false, true]) {
        const lectureStep = new optim.SGD([p], { lr: 0.1, fusedMultiplyAdd: false, maximize });
        const negLr = Math.fround(maximize ? 0.1 : -0.1);
        for (let s = 0; s < 3; s++) {
          const grad = randn([1000], { generator: g });
          p.grad = grad;
          withBackend(backend, () => lectureStep.step());
          const G = grad.data;
          for (let i = 0; i < q.length; i++) {
            q[i] = Math.fround(q[i] + Math.fround(negLr * G[i])); // two float32 roundings
            r[i] = Math.fround(r[i] + negLr * G[i]); // one: torch.optim.SGD's fused add_
          }
        }
      }
      expect(Array.from(p.data)).toEqual(Array.from(q));
      // The two roundings are different answers for some elements (so the option matters).
      expect(Array.from(r)).not.toEqual(Array.from(q));
    }
  });
});

describe('clipGradNorm_ against torch.nn.utils.clip_grad_norm_', () => {
  for (const c of fx.clipGradNorm as Case[]) {
    const normType = c.normType === 'inf' ? Infinity : c.normType;
    it(`order ${normType}, maxNorm ${c.maxNorm}`, () => {
      const grads = decode(c.grads);
      const ps = SHAPES.map((s) => new Tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s).requiresGrad_());
      ps.forEach((p, i) => { p.grad = new Tensor(grads.slice(OFFSETS[i], OFFSETS[i + 1]), [...p.shape]); });
      const total = optim.clipGradNorm_(ps, c.maxNorm, normType);
      expect(total.shape).toEqual([]);
      expect(total.dtype).toBe('float32');
      // torch reduces in float32 (vectorised partial sums), ferrograd in double: within 2 ulps.
      expect(Math.abs(total.item() - c.totalNorm)).toBeLessThanOrEqual(2 * 2 ** -23 * c.totalNorm);
      const want = decode(c.clipped);
      const got = flatValues(ps.map((p) => p.grad!));
      const scale = Math.max(...Array.from(want, Math.abs));
      got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(4 * 2 ** -23 * scale));
      if (c.totalNorm <= c.maxNorm) expect(got).toEqual(Array.from(grads)); // not clipped: unchanged
    });
  }

  it('takes one tensor, skips parameters without gradients, and gives 0 for none', () => {
    const p = new Tensor(new Float32Array(2), [2]).requiresGrad_();
    p.grad = tensor([3, 4]);
    expect(optim.clipGradNorm_(p, 1).item()).toBe(5);
    expect(Array.from(p.grad.data)).toEqual([Math.fround(3 * Math.fround(Math.fround(1 / Math.fround(5 + Math.fround(1e-6))))), Math.fround(4 * Math.fround(1 / Math.fround(5 + Math.fround(1e-6))))]);
    const q = new Tensor(new Float32Array(2), [2]).requiresGrad_();
    expect(optim.clipGradNorm_([q], 1).item()).toBe(0);
  });

  it('errorIfNonfinite refuses a NaN or infinite norm; otherwise the gradients are scaled by it, as torch', () => {
    const p = new Tensor(new Float32Array(2), [2]).requiresGrad_();
    p.grad = tensor([Infinity, 1]);
    expect(() => optim.clipGradNorm_([p], 1, 2, { errorIfNonfinite: true })).toThrow(
      'clipGradNorm_: the total norm of order 2 for gradients from `parameters` is non-finite (Infinity), so it cannot be clipped',
    );
    expect(Array.from(p.grad.data)).toEqual([Infinity, 1]); // refused before touching anything
    expect(optim.clipGradNorm_([p], 1).item()).toBe(Infinity);
    expect(Array.from(p.grad.data)).toEqual([NaN, 0]);
  });

  it('clipGradValue_ clamps every element', () => {
    const p = new Tensor(new Float32Array(3), [3]).requiresGrad_();
    p.grad = tensor([-5, 0.5, 7]);
    optim.clipGradValue_([p], 1);
    expect(Array.from(p.grad.data)).toEqual([-1, 0.5, 1]);
  });
});

describe('learning-rate schedules against torch.optim.lr_scheduler', () => {
  const make = (name: string, c: Case, opt: optim.SGD): optim.LRScheduler => {
    const o = c.options;
    switch (c.scheduler) {
      case 'StepLR': return new optim.StepLR(opt, o);
      case 'MultiStepLR': return new optim.MultiStepLR(opt, o);
      case 'CosineAnnealingLR': return new optim.CosineAnnealingLR(opt, o);
      case 'LinearLR': return new optim.LinearLR(opt, o);
      case 'ExponentialLR': return new optim.ExponentialLR(opt, o);
      // The fixture's lambdas, written again here (functions do not travel in JSON).
      case 'LambdaLR': return new optim.LambdaLR(opt, (e) => 0.95 ** e);
      case 'MultiplicativeLR': return new optim.MultiplicativeLR(opt, () => 0.9);
      default: throw new Error(`no scheduler for ${name}`);
    }
  };
  const twoGroups = () => {
    const [a, b] = makeParams('float32');
    return new optim.SGD([{ params: [a] }, { params: [b], lr: 0.05 }], { lr: 0.1, momentum: 0.9 });
  };

  for (const [name, c] of Object.entries<Case>(fx.schedulers)) {
    it(`${name}: the lr of both groups over ${c.lrs.length - 1} steps`, () => {
      const opt = twoGroups();
      const sched = make(name, c, opt);
      const lrs = [sched.getLastLr()];
      for (let s = 1; s < c.lrs.length; s++) {
        opt.step(); // no gradients: nothing moves, only the order matters
        sched.step();
        lrs.push(sched.getLastLr());
      }
      // The same double operations as torch's; Math.cos/pow may differ from C's by an ulp.
      lrs.forEach((row, s) => row.forEach((lr, g) => expect(Math.abs(lr - c.lrs[s][g])).toBeLessThanOrEqual(4 * 2 ** -52 * c.lrs[s][g])));
      expect(opt.paramGroups.map((g) => g.lr)).toEqual(lrs[lrs.length - 1]);
      expect(opt.paramGroups.map((g) => g.initialLr)).toEqual(c.initialLr);
      // State-dict keys: torch's (camelCased), less its internal flags and the lambdas it cannot save.
      const internal = new Set(['_get_lr_called_within_step', '_is_initial', 'lr_lambdas']);
      const want = (c.stateDictKeys as string[]).filter((k) => !internal.has(k)).map((k) => (k === 'T_max' ? 'tMax' : k.replace(/^_/, '').replace(/_([a-z])/g, (_, x: string) => x.toUpperCase())));
      expect(Object.keys(sched.stateDict()).sort()).toEqual(want.sort());
    });
  }

  it('ScheduleLR with makemore\'s stepDecay gives the lecture\'s 0.1 then exactly 0.01', () => {
    const opt = new optim.SGD(makeParams('float32'), { lr: 0.1 });
    const sched = new optim.ScheduleLR(opt, makemore.stepDecay(0.1, 0.01, 3));
    const seen = [opt.paramGroups[0].lr];
    for (let s = 0; s < 5; s++) {
      opt.step();
      sched.step();
      seen.push(opt.paramGroups[0].lr);
    }
    expect(seen).toEqual([0.1, 0.1, 0.1, 0.01, 0.01, 0.01]);
  });

  it('warns once when stepped before the optimizer, as torch does', () => {
    const realEmit = process.emitWarning;
    const emitted: string[] = [];
    process.emitWarning = ((m: string) => { emitted.push(m); }) as typeof process.emitWarning;
    try {
      const opt = new optim.SGD(makeParams('float32'), { lr: 0.1 });
      const sched = new optim.StepLR(opt, { stepSize: 1 });
      sched.step();
      sched.step();
      const ok = new optim.StepLR(new optim.SGD(makeParams('float32'), { lr: 0.1 }), { stepSize: 1 });
      ok.optimizer.step();
      ok.step();
    } finally {
      process.emitWarning = realEmit;
    }
    expect(emitted).toEqual(['StepLR.step() was called before optimizer.step(); call optimizer.step() first, or the first value of the schedule is skipped']);
  });

  it('a second scheduler keeps the first one\'s initialLr', () => {
    const opt = new optim.SGD(makeParams('float32'), { lr: 0.1 });
    opt.step();
    new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 }).step();
    expect(opt.paramGroups[0]).toMatchObject({ lr: 0.05, initialLr: 0.1 });
    const second = new optim.LambdaLR(opt, () => 1);
    expect(second.baseLrs).toEqual([0.1]);
  });
});

describe('errors', () => {
  const p = () => randn([2, 2], { generator: new Generator().manualSeed(1), requiresGrad: true });
  const cases: [string, () => unknown, string][] = [
    ['negative lr', () => new optim.SGD([p()], { lr: -0.1 }), 'SGD: invalid learning rate -0.1 in defaults: must be a finite number >= 0'],
    ['NaN lr', () => new optim.Adam([p()], { lr: NaN }), 'Adam: invalid learning rate NaN in defaults'],
    ['infinite lr', () => new optim.AdamW([p()], { lr: Infinity }), 'AdamW: invalid learning rate Infinity in defaults'],
    ['lr missing', () => new optim.SGD([p()], {} as { lr: number }), 'SGD: lr is required'],
    ['lr NaN in a group', () => new optim.SGD([{ params: [p()], lr: NaN }], { lr: 0.1 }), 'SGD: invalid learning rate NaN in paramGroups[0]'],
    ['negative momentum', () => new optim.SGD([p()], { lr: 0.1, momentum: -0.9 }), 'SGD: invalid momentum value -0.9'],
    ['nesterov without momentum', () => new optim.SGD([p()], { lr: 0.1, nesterov: true }), 'SGD: Nesterov momentum requires a momentum and zero dampening (defaults has momentum 0, dampening 0)'],
    ['beta1 = 1', () => new optim.Adam([p()], { betas: [1, 0.999] }), 'Adam: invalid beta parameter at index 0 in defaults: 1 (must be in [0, 1))'],
    ['beta2 negative', () => new optim.AdamW([p()], { betas: [0.9, -0.1] }), 'AdamW: invalid beta parameter at index 1 in defaults: -0.1'],
    ['betas NaN', () => new optim.Adam([p()], { betas: [NaN, 0.9] }), 'Adam: invalid beta parameter at index 0 in defaults: NaN'],
    ['betas not a pair', () => new optim.Adam([p()], { betas: [0.9] as unknown as [number, number] }), 'Adam: betas in defaults must be a pair [beta1, beta2]'],
    ['negative eps', () => new optim.Adam([p()], { eps: -1 }), 'Adam: invalid epsilon value -1'],
    ['weightDecay NaN', () => new optim.AdamW([p()], { weightDecay: NaN }), 'AdamW: invalid weightDecay value NaN'],
    ['unknown option', () => new optim.SGD([p()], { lr: 0.1, moment: 0.9 } as unknown as { lr: number }), "SGD: unknown option 'moment'"],
    ['unknown group option', () => new optim.Adam([{ params: [p()], beta: 0.9 } as unknown as optim.ParamGroupSpec]), "Adam.addParamGroup: paramGroups[0] has an unknown option 'beta'"],
    ['AdamW decoupledWeightDecay', () => new optim.AdamW([p()], { decoupledWeightDecay: false } as object), 'AdamW: decoupledWeightDecay is always true'],
    ['a number among the params', () => new optim.SGD([p(), 3 as unknown as Tensor], { lr: 0.1 }), 'SGD.addParamGroup: optimizer can only optimize Tensors, but paramGroups[0].params[1] is 3'],
    ['a Tensor instead of a list', () => new optim.SGD(p() as unknown as Tensor[], { lr: 0.1 }), 'SGD: params argument given to the optimizer should be an iterable of Tensors or objects (groups), but got a Tensor'],
    ['no params', () => new optim.Adam([]), 'Adam: optimizer got an empty parameter list'],
    ['params not iterable', () => new optim.Adam(5 as unknown as Tensor[]), 'Adam: params must be an iterable of Tensors or of parameter groups, got 5'],
    ['int param', () => new optim.SGD([tensor([1, 2], { dtype: 'int32' })], { lr: 0.1 }), 'SGD.addParamGroup: paramGroups[0].params[0] has dtype int32; only floating point tensors can be optimized'],
    ['non-leaf param', () => new optim.SGD([p().mul(2)], { lr: 0.1 }), "SGD.addParamGroup: can't optimize a non-leaf Tensor (paramGroups[0].params[0], shape [2, 2], made by MulBackward)"],
    ['non-contiguous param', () => new optim.SGD([randn([2, 3]).T.requiresGrad_()], { lr: 0.1 }), 'SGD.addParamGroup: paramGroups[0].params[0] (shape [3, 2], strides [1, 3]) is not contiguous'],
    ['duplicate in a group', () => { const w = p(); return new optim.SGD([w, w], { lr: 0.1 }); }, 'SGD.addParamGroup: paramGroups[0] contains the same parameter more than once'],
    ['duplicate across groups', () => { const w = p(); return new optim.Adam([{ params: [w] }, { params: [p(), w] }]); }, 'Adam.addParamGroup: some parameters appear in more than one parameter group (paramGroups[1].params[1], shape [2, 2], is already in paramGroups[0])'],
    ['addParamGroup with a known param', () => { const w = p(); const o = new optim.SGD([w], { lr: 0.1 }); o.addParamGroup({ params: [w] }); }, 'SGD.addParamGroup: some parameters appear in more than one parameter group'],
    ['group without params', () => new optim.SGD([{ lr: 0.1 } as unknown as optim.ParamGroupSpec<optim.SGDOptions>], { lr: 0.1 }), "SGD.addParamGroup: the parameter group has no 'params'"],
    ['lr set to NaN before a step', () => { const w = p(); const o = new optim.SGD([w], { lr: 0.1 }); o.paramGroups[0].lr = NaN; w.grad = tensor([[1, 1], [1, 1]]); o.step(); }, 'SGD: invalid learning rate NaN in paramGroups[0]'],
    ['gradient of another shape', () => { const w = p(); const o = new optim.Adam([w]); w.grad = tensor([1, 2]); o.step(); }, 'Adam.step: the gradient has shape [2] but its parameter has shape [2, 2]'],
    ['scheduler without an optimizer', () => new optim.StepLR({} as optim.Optimizer, { stepSize: 1 }), 'StepLR: object is not an Optimizer'],
    ['StepLR stepSize 0', () => new optim.StepLR(new optim.SGD([p()], { lr: 0.1 }), { stepSize: 0 }), 'StepLR: stepSize must be an integer >= 1, got 0'],
    ['CosineAnnealingLR tMax missing', () => new optim.CosineAnnealingLR(new optim.SGD([p()], { lr: 0.1 }), {} as { tMax: number }), 'CosineAnnealingLR: tMax must be an integer >= 1'],
    ['LinearLR startFactor 0', () => new optim.LinearLR(new optim.SGD([p()], { lr: 0.1 }), { startFactor: 0 }), 'LinearLR: startFactor must be in (0, 1], got 0'],
    ['LambdaLR with a number', () => new optim.LambdaLR(new optim.SGD([p()], { lr: 0.1 }), 0.5 as unknown as () => number), 'LambdaLR: lr function 0 is 0.5, expected a function of the step'],
    ['LambdaLR giving NaN', () => new optim.LambdaLR(new optim.SGD([p()], { lr: 0.1 }), () => NaN), 'LambdaLR.step: the schedule gave lr NaN for paramGroups[0] at step 0'],
    ['ScheduleLR giving a negative lr', () => new optim.ScheduleLR(new optim.SGD([p()], { lr: 0.1 }), () => -1), 'ScheduleLR: the schedule gave lr -1 for paramGroups[0] at step 0; it must be a finite number >= 0'],
    ['clipGradNorm_ on numbers', () => optim.clipGradNorm_([1 as unknown as Tensor], 1), 'clipGradNorm_: parameters[0] is 1, expected a Tensor'],
    ['clipGradNorm_ maxNorm NaN', () => optim.clipGradNorm_([p()], NaN), 'clipGradNorm_: maxNorm must be a number, got NaN'],
  ];
  for (const [name, fn, message] of cases) {
    it(name, () => expect(fn).toThrow(message));
  }
});

describe('frozen parameters', () => {
  it('are accepted and left alone, as torch.optim does, and train once unfrozen', () => {
    const frozen = tensor([1, 2]);
    const live = tensor([3, 4]).requiresGrad_();
    const opt = new optim.SGD([frozen, live], { lr: 0.5 });
    live.mul(live).sum().backward();
    opt.step();
    expect(Array.from(frozen.flat())).toEqual([1, 2]);
    expect(Array.from(live.flat())).toEqual([0, 0]);
    frozen.requiresGrad_();
    frozen.sum().backward();
    opt.step();
    expect(Array.from(frozen.flat())).toEqual([0.5, 1.5]);
  });
});
