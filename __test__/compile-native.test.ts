// compile's native tape executor (crates/node/src/tape.rs, src/compile/native-plan.ts): a replayed
// step runs its kernels in native segments, one N-API call each, between the host ops that stay in
// TypeScript. It must give the same bits as the kernel-by-kernel replay and as eager (1 and 2
// threads), re-plan for new shapes and new argument arrays, surface an error inside a segment as
// the eager message naming the op (and keep working after it), and refuse memory that was
// detached under it.
import { afterEach, describe, expect, it } from 'vitest';
import { F, Generator, compile, getBackend, nn, noGrad, optim, randint, randn, type Tensor } from '../index.js';
import { nativeAvailable, nativeTapeExecutor } from '../src/backend/native.js';
import { _setNativeReplay } from '../src/compile/tape.js';
import { loadDataset, makeMlp3, makeMlp3Nn } from '../bench/mlp.js';
import { makeWaveNetModule } from '../bench/wavenet.js';
import { indexedStep, message } from './compile-helpers.js';

const ds3 = loadDataset(3);
const ds8 = loadDataset(8);
const threads0 = getBackend().getNumThreads();
afterEach(() => {
  getBackend().setNumThreads(threads0);
  _setNativeReplay(true);
});

function run(make: () => { step: () => number; params: Tensor[] }, steps: number, nativeReplay: boolean) {
  _setNativeReplay(nativeReplay);
  const t = make();
  const c = compile(() => t.step());
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(c());
  _setNativeReplay(true);
  const params = t.params.map((p) => Buffer.from(new Uint8Array(p.contiguous().flat().slice().buffer)));
  return { losses, params, info: { ...c.info } };
}

function expectSame(a: ReturnType<typeof run>, b: ReturnType<typeof run>) {
  expect(b.losses.length).toBe(a.losses.length);
  a.losses.forEach((v, i) => {
    if (!Object.is(v, b.losses[i])) throw new Error(`step ${i}: ${v} vs ${b.losses[i]}`);
  });
  a.params.forEach((p, i) => expect(Buffer.compare(p, b.params[i]), `parameter ${i}`).toBe(0));
}


describe.runIf(nativeAvailable())('native tape segments', () => {
  it('part 3 MLP, its nn + optim.SGD twin and the WaveNet: native segments give the kernel-by-kernel bits, on 1 and 2 threads', () => {
    const cases = [
      { make: () => makeMlp3(ds3, 32), steps: 300 },
      { make: () => makeMlp3Nn(ds3, 32), steps: 100 },
      { make: () => makeWaveNetModule(ds8, 32), steps: 60 },
    ];
    for (const threads of [1, 2]) {
      getBackend().setNumThreads(threads);
      for (const { make, steps } of cases) {
        const byKernel = run(make, steps, false);
        const native = run(make, steps, true);
        expectSame(byKernel, native);
        expect(byKernel.info.segments).toBe(0);
        // The random draw stays in TypeScript; index, every kernel and the loss value run in one
        // native call, and optim.SGD's step (guarded by its options) in a second one.
        expect(native.info.segments).toBe(make === cases[0].make ? 1 : 2);
        expect(native.info.replayed).toBe(steps - 2);
      }
    }
  });

  it("optim.SGD's native step follows an lr changed outside fn (a schedule) and gives way to SGD.step() when another option changes, with the eager bits", () => {
    const make = () => {
      const g = new Generator().manualSeed(21);
      const model = new nn.Sequential(new nn.Linear(6, 16, { generator: g }), new nn.Tanh(), new nn.Linear(16, 5, { generator: g }));
      const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
      const X = randn([8, 6], { generator: g });
      const Y = randint(0, 5, [8], { generator: g });
      const step = () => {
        const loss = F.crossEntropy(model.forward(X), Y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      };
      // Counts SGD.step()'s own updates (compile hooks step() itself while recording).
      let updates = 0;
      const o = opt as unknown as { updateGroup: (g: unknown) => void };
      const update = o.updateGroup.bind(opt);
      o.updateGroup = (group) => (updates++, update(group));
      return { step, opt, params: model.parameters(), updates: () => updates };
    };
    const a = make();
    const b = make();
    const c = compile(() => b.step());
    for (let i = 0; i < 40; i++) {
      if (i >= 10 && i < 30) for (const o of [a.opt, b.opt]) o.paramGroups[0].lr = 0.1 * 0.97 ** i; // native: lr is read each replay
      if (i === 30) for (const o of [a.opt, b.opt]) o.paramGroups[0].weightDecay = 1e-2; // SGD.step() from here on
      const e = a.step();
      expect(Object.is(c(), e), `step ${i}`).toBe(true);
    }
    expect(b.updates()).toBe(40 - c.info.replayed + 10);
    expect(c.info.segments).toBe(2);
    a.params.forEach((p, i) => expect(Buffer.compare(Buffer.from(p.flat().slice().buffer), Buffer.from(b.params[i].flat().slice().buffer)), `parameter ${i}`).toBe(0));
    // The gradients are the step's, as after an eager step.
    b.params.forEach((p, i) => expect([...p.grad!.flat()]).toEqual([...a.params[i].grad!.flat()]));
  });

  describe("optim.Adam / AdamW's step as native adamStep steps", () => {
    /** The makemore command's schedule: linear warmup, then cosine to a tenth. */
    const cosine = (step: number, steps: number, lr = 3e-3, warmup = 20) =>
      step < warmup ? (lr * (step + 1)) / warmup : lr / 10 + (lr - lr / 10) * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / (steps - warmup)));
    const make = (adam: (params: Tensor[]) => optim.Adam) => {
      const g = new Generator().manualSeed(31);
      const model = new nn.Sequential(new nn.Linear(6, 16, { generator: g }), new nn.Tanh(), new nn.Linear(16, 5, { generator: g }));
      const opt = adam(model.parameters());
      // Counts Adam.step()'s own updates (compile hooks step() itself while recording).
      let stepCalls = 0;
      const o = opt as unknown as { updateGroup: (g: unknown) => void };
      const update = o.updateGroup.bind(opt);
      o.updateGroup = (group) => (stepCalls++, update(group));
      const step = (X: Tensor, Y: Tensor) => {
        const loss = F.crossEntropy(model.forward(X), Y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      };
      return { step, opt, params: model.parameters(), stepCalls: () => stepCalls };
    };
    const bitsOf = (t: Tensor) => Buffer.from(new Uint8Array(t.contiguous().flat().slice().buffer));
    const expectSameState = (a: optim.Adam, b: optim.Adam) => {
      const sa = a.stateDict();
      const sb = b.stateDict();
      expect(Object.keys(sb.state)).toEqual(Object.keys(sa.state));
      for (const [k, e] of Object.entries(sa.state)) {
        const f = sb.state[Number(k)];
        expect(f.step, `state[${k}].step`).toBe(e.step);
        for (const key of ['expAvg', 'expAvgSq', 'maxExpAvgSq'] as const) {
          if (e[key] === undefined) continue;
          expect(Buffer.compare(bitsOf(e[key] as Tensor), bitsOf(f[key] as Tensor)), `state[${k}].${key}`).toBe(0);
        }
      }
    };
    const cases: [string, (params: Tensor[]) => optim.Adam][] = [
      ['AdamW (the makemore command\'s)', (p) => new optim.AdamW(p, { lr: 3e-3, weightDecay: 0.1, betas: [0.9, 0.99], eps: 1e-8 })],
      ['Adam with L2 weight decay and amsgrad', (p) => new optim.Adam(p, { lr: 3e-3, weightDecay: 1e-2, amsgrad: true })],
    ];

    it.each(cases)('%s with a warmup + cosine schedule set before every step: the eager bits over 200 steps, natively (no step() call per replay)', (_, adam) => {
      const steps = 200;
      const g = new Generator().manualSeed(32);
      const a = make(adam);
      const b = make(adam);
      const c = compile(b.step);
      for (let i = 0; i < steps; i++) {
        const lr = cosine(i, steps);
        for (const o of [a.opt, b.opt]) for (const group of o.paramGroups) group.lr = lr;
        const X = randn([8, 6], { generator: g });
        const Y = randint(0, 5, [8], { generator: g });
        const e = a.step(X, Y);
        expect(Object.is(c(X, Y), e), `step ${i}`).toBe(true);
      }
      expect(c.info.replayed).toBeGreaterThan(steps - 5);
      expect(c.info.segments).toBe(2);
      // Every replay ran the update natively: step() ran only in the recorded calls.
      expect(b.stepCalls()).toBe(steps - c.info.replayed);
      a.params.forEach((p, i) => expect(Buffer.compare(bitsOf(p), bitsOf(b.params[i])), `parameter ${i}`).toBe(0));
      b.params.forEach((p, i) => expect(Buffer.compare(bitsOf(p.grad!), bitsOf(a.params[i].grad!)), `gradient ${i}`).toBe(0));
      expectSameState(a.opt, b.opt);
      expect((b.opt.state.get(b.params[0]) as { step: number }).step).toBe(steps);
    });

    it('resuming from a state dict, a changed option and an lr Adam refuses: the eager bits and messages, native again afterwards', () => {
      const g = new Generator().manualSeed(33);
      const a = make(cases[0][1]);
      const b = make(cases[0][1]);
      const c = compile(b.step);
      const batch = () => [randn([8, 6], { generator: g }), randint(0, 5, [8], { generator: g })] as const;
      let saved: ReturnType<optim.Adam['stateDict']> | null = null;
      for (let i = 0; i < 60; i++) {
        if (i === 20) saved = a.opt.stateDict();
        if (i === 30) for (const o of [a.opt, b.opt]) o.loadStateDict(saved!); // back to step 20's moments and counts
        if (i === 40) for (const o of [a.opt, b.opt]) o.paramGroups[0].weightDecay = 0.5;
        if (i === 45) for (const o of [a.opt, b.opt]) o.paramGroups[0].betas = [0.8, 0.95];
        const [X, Y] = batch();
        const e = a.step(X, Y);
        expect(Object.is(c(X, Y), e), `step ${i}`).toBe(true);
        expectSameState(a.opt, b.opt);
      }
      // Each change ran Adam.step() once (the plan is made again), then the update was native again.
      expect(b.stepCalls()).toBe(60 - c.info.replayed + 3);
      const [X, Y] = batch();
      for (const o of [a.opt, b.opt]) o.paramGroups[0].lr = -1;
      expect(message(() => c(X, Y))).toBe(message(() => a.step(X, Y)));
      expect(message(() => c(X, Y))).toMatch(/^AdamW.*learning rate/);
    });
  });

  it('records again for new shapes and new argument arrays, each replayed natively with the eager bits', () => {
    const g = new Generator().manualSeed(11);
    const C = randn([27, 4], { generator: g, requiresGrad: true });
    const W = randn([12, 27], { generator: g, requiresGrad: true });
    const f = (X: Tensor, Y: Tensor, lr: number) => {
      const logits = C.index(X).view(-1, 12).matmul(W).tanh().mul(2);
      const loss = F.crossEntropy(logits, Y);
      C.grad = null;
      W.grad = null;
      loss.backward();
      noGrad(() => {
        C.sub_(C.grad!, lr);
        W.sub_(W.grad!, lr);
      });
      return loss.item();
    };
    const c = compile(f, { verify: true });
    // The eager twin on copies of the parameters.
    const C2 = C.detach().clone().requiresGrad_(true);
    const W2 = W.detach().clone().requiresGrad_(true);
    const fe = (X: Tensor, Y: Tensor, lr: number) => {
      const loss = F.crossEntropy(C2.index(X).view(-1, 12).matmul(W2).tanh().mul(2), Y);
      C2.grad = null;
      W2.grad = null;
      loss.backward();
      noGrad(() => {
        C2.sub_(C2.grad!, lr);
        W2.sub_(W2.grad!, lr);
      });
      return loss.item();
    };
    for (const batch of [4, 7, 4, 7, 1]) {
      for (let i = 0; i < 4; i++) {
        const X = randint(0, 27, [batch, 3], { generator: g });
        const Y = randint(0, 27, [batch], { generator: g });
        expect(Object.is(c(X, Y, 0.1), fe(X, Y, 0.1))).toBe(true);
      }
    }
    expect(c.info.compiledShapes).toBe(3);
    expect(c.info.segments).toBe(1);
    expect(c.info.replayed).toBeGreaterThan(10);
  });

  it('new argument tensors of the same shapes each call (as the makemore command passes its batches): the steps that read them are stored again, the plan is kept, the bits are eager', () => {
    const g = new Generator().manualSeed(12);
    const C = randn([27, 4], { generator: g, requiresGrad: true });
    const W = randn([12, 27], { generator: g, requiresGrad: true });
    const body = (C: Tensor, W: Tensor) => (X: Tensor, Y: Tensor) => {
      const loss = F.crossEntropy(C.index(X).view(-1, 12).matmul(W).tanh(), Y, { ignoreIndex: -1 });
      C.grad = null;
      W.grad = null;
      loss.backward();
      noGrad(() => {
        C.sub_(C.grad!, 0.1);
        W.sub_(W.grad!, 0.1);
      });
      return loss.item();
    };
    const c = compile(body(C, W));
    const fe = body(C.detach().clone().requiresGrad_(true), W.detach().clone().requiresGrad_(true));
    const exec = nativeTapeExecutor()!;
    const create = exec.tapeCreate;
    let creates = 0;
    exec.tapeCreate = (steps) => (creates++, create.call(exec, steps));
    try {
      for (let i = 0; i < 30; i++) {
        const X = randint(0, 27, [5, 3], { generator: g });
        const Y = randint(-1, 27, [5], { generator: g }); // some ignored targets: the count changes
        expect(Object.is(c(X, Y), fe(X, Y)), `call ${i}`).toBe(true);
      }
    } finally {
      exec.tapeCreate = create;
    }
    expect(c.info.segments).toBe(1);
    expect(creates).toBe(1);
  });

  it('an error inside a segment is the eager message naming the op, and the next replay still works (1 and 2 threads)', () => {
    for (const threads of [1, 2]) {
      getBackend().setNumThreads(threads);
      const { f, c, X, Y } = indexedStep();
      expect(c.info.segments).toBe(1);
      // The same arrays, changed in place between calls: the replay reads them in its segment.
      const x = X.data as Int32Array;
      const y = Y.data as Int32Array;
      x[5] = -28;
      const eagerX = message(() => f(X, Y));
      expect(eagerX).toMatch(/^index: index -28 is out of bounds for dimension 0 with size 27/);
      expect(message(() => c(X, Y))).toBe(eagerX);
      x[5] = -1; // negative indices count from the end, as eager
      expect(c(X, Y)).toBe(f(X, Y));
      y[3] = 27;
      const eagerY = message(() => f(X, Y));
      expect(eagerY).toMatch(/^crossEntropy: target 27 at position 3 is out of bounds for 27 classes/);
      expect(message(() => c(X, Y))).toBe(eagerY);
      y[3] = 26;
      expect(c(X, Y)).toBe(f(X, Y));
      expect(c.info.recorded).toBe(2);
    }
  });

  it("nn.Embedding's id check runs in the segment too, with its eager message", () => {
    const g = new Generator().manualSeed(8);
    const emb = new nn.Embedding(10, 3, { generator: g });
    const f = (X: Tensor) => {
      const loss = emb.forward(X).tanh().sum();
      emb.weight.grad = null;
      loss.backward();
      return loss.item();
    };
    const c = compile(f);
    const X = randint(0, 10, [4, 2], { generator: g });
    for (let i = 0; i < 3; i++) c(X);
    expect(c.info.segments).toBe(1);
    (X.data as Int32Array)[7] = 10;
    const eager = message(() => f(X));
    expect(eager).toMatch(/^embedding: index 10 \(at position 7 of input \[4, 2\]\) is out of range for 10 embeddings/);
    expect(message(() => c(X))).toBe(eager);
    (X.data as Int32Array)[7] = 9;
    expect(c(X)).toBe(f(X));
  });

  it('a parameter whose memory was detached under the tape is refused with a clear error, not read', () => {
    const g = new Generator().manualSeed(3);
    const W = randn([5, 3], { generator: g, requiresGrad: true });
    const f = (X: Tensor) => {
      const loss = X.matmul(W).tanh().sum();
      W.grad = null;
      loss.backward();
      return loss.item();
    };
    const c = compile(f);
    const X = randn([2, 5], { generator: g });
    for (let i = 0; i < 3; i++) c(X);
    const buf = W.data.buffer;
    structuredClone(buf, { transfer: [buf] });
    expect(W.data.byteLength).toBe(0);
    expect(message(() => c(X))).toMatch(/^compile: a Float32Array of the compiled step \(60 bytes when recorded, 0 now\) was detached or resized/);
  });
});
