// compile covers the ops that used to compute in TypeScript (where, maskedFill, F.gelu, the
// max/min(dim) backward: now kernels, recorded like every other), and with them every model of
// makemore.py the command trains: compiled steps give the eager loss bits, with 1 and 2 threads,
// replayed natively.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { F, Generator, Tensor, compile, getBackend, nn, noGrad, optim, randint, randn } from '../index.js';
import { createModel, type ModelType } from '../src/makemore/models/index.js';
import { crossEntropy } from '../src/ops/cross-entropy.js';
import { nativeBackend } from '../src/backend/native.js';

const threads0 = getBackend().getNumThreads();
afterEach(() => getBackend().setNumThreads(threads0));

function expectSameBits(eager: number[], compiled: number[]) {
  expect(compiled.length).toBe(eager.length);
  for (let i = 0; i < eager.length; i++) {
    if (!Object.is(eager[i], compiled[i])) throw new Error(`step ${i}: eager ${eager[i]}, compiled ${compiled[i]}`);
  }
}

function expectSameTensors(a: Tensor[], b: Tensor[]) {
  for (let i = 0; i < a.length; i++) {
    const x = Buffer.from(new Uint8Array(a[i].contiguous().flat().slice().buffer));
    const y = Buffer.from(new Uint8Array(b[i].contiguous().flat().slice().buffer));
    expect(x.equals(y), `parameter ${i}`).toBe(true);
  }
}

/** `steps` eager calls of a fresh step, then `steps` calls of another fresh one through compile. */
function eagerAndCompiled<A extends unknown[]>(make: () => { step: (...a: A) => number; params: Tensor[]; args: () => A }, steps: number) {
  const a = make();
  const eager: number[] = [];
  for (let i = 0; i < steps; i++) eager.push(a.step(...a.args()));
  const b = make();
  const c = compile(b.step);
  const compiled: number[] = [];
  for (let i = 0; i < steps; i++) compiled.push(c(...b.args()));
  return { eager, compiled, info: c.info, paramsEager: a.params, paramsCompiled: b.params };
}

describe('ops that were TypeScript loops replay from the tape', () => {
  const make = () => {
    const g = new Generator().manualSeed(12);
    const W1 = randn([6, 16], { generator: g, requiresGrad: true });
    const W2 = randn([16, 5], { generator: g, requiresGrad: true });
    const gelu = new nn.GELU({ approximate: 'tanh' });
    const params = [W1, W2];
    const opt = new optim.SGD(params, { lr: 0.05 });
    const step = (X: Tensor, Y: Tensor): number => {
      let h = X.matmul(W1); // [8, 16]
      // where with a data-dependent condition, a broadcast operand and a number.
      h = h.where(h.gt(0), h.mul(0.5)).add(h.where(h.lt(-1), 0.25).mul(0.1));
      h = F.gelu(h).add(gelu.forward(h).mul(0.5));
      // max/min over a dim, their gradients routed to the winners (no detach).
      const peak = h.view([8, 4, 4]).max(2).add(h.view([8, 4, 4]).min(1)); // [8, 4]
      let logits = h.matmul(W2).add(peak.sum(1, true).mul(0.01)); // [8, 5]
      // maskedFill with -inf before a softmax: the masked columns get no probability nor gradient.
      const mask = new Tensor(Float32Array.of(0, 0, 0, 0, 1), [1, 5]);
      logits = logits.maskedFill(mask, -Infinity);
      const loss = F.crossEntropy(logits, Y).add(logits.softmax(-1).max(1).mean().mul(0.1));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    };
    const args = (): [Tensor, Tensor] => [randn([8, 6], { generator: g }), randint(0, 4, [8], { generator: g })];
    return { step, params, args };
  };

  it('where, maskedFill, F.gelu / nn.GELU (both forms) and max/min(dim) with their backward: 30 steps, the eager bits, on 1 and 2 threads', () => {
    for (const threads of [1, 2]) {
      getBackend().setNumThreads(threads);
      const r = eagerAndCompiled(make, 30);
      expectSameBits(r.eager, r.compiled);
      expectSameTensors(r.paramsEager, r.paramsCompiled);
      expect(r.info.recorded).toBe(2);
      expect(r.info.replayed).toBe(28);
      expect(r.info.segments).toBeGreaterThan(0);
    }
  });
});

describe("makemore.py's models compile", () => {
  const V = 9;
  const T = 7;
  const B = 4;
  const make = (type: ModelType) => () => {
    const g = new Generator().manualSeed(21);
    const config = { vocabSize: V, blockSize: T, nLayer: 1, nEmbd: 8, nEmbd2: 12, nHead: 2, contextSize: 0, dropout: 0 };
    const model = createModel(type, config, g);
    const opt = new optim.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.01, betas: [0.9, 0.99], eps: 1e-8 });
    // The command's step (src/cli/train.ts): padding targets are -1 and ignored.
    const step = (x: Tensor, y: Tensor): number => {
      const logits = model.forward(x);
      const loss = crossEntropy(logits.reshape([y.shape[0], V]), y, { ignoreIndex: -1 });
      model.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    };
    const args = (): [Tensor, Tensor] => {
      const x = randint(0, V, [B, T], { generator: g });
      const y = randint(0, V, [B * T], { generator: g });
      noGrad(() => {
        const d = y.data as Int32Array;
        for (let i = 0; i < d.length; i++) if (d[i] === 0) d[i] = -1; // about one in nine ignored
      });
      return [x, y];
    };
    return { step, params: model.parameters(), args };
  };

  it.each(['bigram', 'mlp', 'rnn', 'gru', 'bow', 'transformer'] as const)('%s: 12 steps with AdamW, the eager loss bits and weights, on 1 and 2 threads', (type) => {
    for (const threads of [1, 2]) {
      getBackend().setNumThreads(threads);
      const r = eagerAndCompiled(make(type), 12);
      expectSameBits(r.eager, r.compiled);
      expectSameTensors(r.paramsEager, r.paramsCompiled);
      // A third recording when the first call made state lazily (AdamW's moments, a cached mask).
      expect(r.info.recorded).toBeLessThanOrEqual(3);
      expect(r.info.recorded + r.info.replayed).toBe(12);
    }
  });
});

describe("the verification replay restores the optimizer's state in place", () => {
  it("AdamW over three argument shapes, interleaved: every replay keeps the native update (Adam.step runs only in recorded calls), the eager bits", () => {
    const make = () => {
      const g = new Generator().manualSeed(33);
      const model = createModel('bow', { vocabSize: 9, blockSize: 6, nLayer: 1, nEmbd: 8, nEmbd2: 12, nHead: 2, contextSize: 0, dropout: 0 }, g);
      const opt = new optim.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.01, betas: [0.9, 0.99], eps: 1e-8 });
      const step = (x: Tensor, y: Tensor): number => {
        const loss = crossEntropy(model.forward(x).reshape([y.shape[0], 9]), y);
        model.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      };
      // Batch lengths 4, 5, 6 as the command meets them: each new one is recorded and verified
      // while the others' tapes hold native plans over the same moments.
      const lengths = [4, 4, 4, 4, 5, 5, 5, 5, 4, 6, 6, 6, 6, 4, 5, 4, 5, 6, 4, 5, 6];
      let i = 0;
      const args = (): [Tensor, Tensor] => {
        const T = lengths[i++ % lengths.length];
        return [randint(0, 9, [3, T], { generator: g }), randint(0, 9, [3 * T], { generator: g })];
      };
      return { step, params: model.parameters(), args, steps: lengths.length };
    };
    // Adam.step() calls the adamStep kernel from TypeScript once per parameter; a replay's native
    // update runs inside the addon's tape and does not.
    const kernel = vi.spyOn(nativeBackend, 'adamStep');
    const { steps, params } = make();
    const r = eagerAndCompiled(make, steps);
    const kernelCalls = kernel.mock.calls.length;
    kernel.mockRestore();
    expectSameBits(r.eager, r.compiled);
    expectSameTensors(r.paramsEager, r.paramsCompiled);
    expect(r.info.compiledShapes).toBe(3);
    expect(r.info.recorded + r.info.replayed).toBe(steps);
    // The intermediates share memory (buffer-sharing.ts), in one arena for the three shapes.
    expect(r.info.arenaBytes).toBeGreaterThan(0);
    expect(r.info.arenaBytes).toBeLessThan(0.6 * r.info.separateBytes);
    // Eager: every call; compiled: the recorded calls only (a replay that found its plan stale
    // would run Adam.step() once more).
    expect(kernelCalls).toBe((steps + r.info.recorded) * params.length);
  });
});

describe('intermediates share memory', () => {
  const make = (shareBuffers: boolean) => {
    const g = new Generator().manualSeed(44);
    const W1 = randn([10, 32], { generator: g, requiresGrad: true });
    const W2 = randn([32, 32], { generator: g, requiresGrad: true });
    const W3 = randn([32, 4], { generator: g, requiresGrad: true });
    const params = [W1, W2, W3];
    // A hand-written update: the gradients are read by kernels only, and left in .grad.
    const step = (x: Tensor, y: Tensor): number => {
      const h = x.matmul(W1).tanh().matmul(W2).relu().add(x.matmul(W1).sigmoid()).matmul(W3);
      const loss = F.crossEntropy(h, y);
      for (const p of params) p.grad = null;
      loss.backward();
      noGrad(() => {
        for (const p of params) p.sub_(p.grad!.mul(0.1));
      });
      return loss.item();
    };
    const args = (): [Tensor, Tensor] => [randn([16, 10], { generator: g }), randint(0, 4, [16], { generator: g })];
    return { step, params, args, c: compile(step, { shareBuffers }) };
  };

  it("a deep enough step needs less arena than its buffers laid out one by one; the eager losses, weights and .grad, and { shareBuffers: false } gives the same bits", () => {
    const eager = make(true);
    const shared = make(true);
    const separate = make(false);
    const le: number[] = [];
    const ls: number[] = [];
    const lp: number[] = [];
    for (let i = 0; i < 15; i++) {
      le.push(eager.step(...eager.args()));
      ls.push(shared.c(...shared.args()));
      lp.push(separate.c(...separate.args()));
    }
    expectSameBits(le, ls);
    expectSameBits(le, lp);
    expectSameTensors(eager.params, shared.params);
    expectSameTensors(eager.params.map((p) => p.grad!), shared.params.map((p) => p.grad!));
    expect(shared.c.info.replayed).toBe(13);
    expect(shared.c.info.arenaBytes).toBeGreaterThan(0);
    expect(shared.c.info.arenaBytes).toBeLessThan(shared.c.info.separateBytes);
    expect(separate.c.info.arenaBytes).toBe(0);
  });
  it('a tensor fn keeps from a recorded call (a saved layer output) throws when read once its memory is shared; with { shareBuffers: false } it holds the last step', () => {
    const run = (shareBuffers: boolean) => {
      const g = new Generator().manualSeed(45);
      const W = randn([10, 8], { generator: g, requiresGrad: true });
      const saved: { out: Tensor | null } = { out: null };
      const step = (x: Tensor, y: Tensor): number => {
        const h = x.matmul(W).tanh();
        saved.out = h;
        const loss = F.crossEntropy(h, y);
        W.grad = null;
        loss.backward();
        return loss.item();
      };
      const c = compile(step, { shareBuffers });
      const x = randn([6, 10], { generator: g });
      const y = randint(0, 8, [6], { generator: g });
      for (let i = 0; i < 4; i++) c(x, y);
      return { c, saved, x, W };
    };
    const shared = run(true);
    expect(shared.c.info.replayed).toBeGreaterThan(0);
    expect(() => shared.saved.out!.flat()).toThrow(/compile: a tensor of shape \[6, 8\] computed inside the compiled function and not returned by it is no longer valid.*shareBuffers: false/);
    const separate = run(false);
    const want = noGrad(() => separate.x.matmul(separate.W).tanh());
    expect(Array.from(separate.saved.out!.flat())).toEqual(Array.from(want.flat()));
  });
  it('the same for a tensor outside any backward graph (a forward-only fn, as for sampling)', () => {
    const g = new Generator().manualSeed(46);
    const W = randn([10, 8], { generator: g });
    const saved: { out: Tensor | null } = { out: null };
    const c = compile((x: Tensor) => {
      const h = x.matmul(W).tanh();
      saved.out = h;
      return h.softmax(1).sum(0);
    });
    for (let i = 0; i < 4; i++) c(randn([6, 10], { generator: g }));
    expect(c.info.replayed).toBeGreaterThan(0);
    expect(c.info.arenaBytes).toBeGreaterThan(0);
    expect(() => saved.out!.flat()).toThrow(/compile: a tensor of shape \[6, 8\] computed inside the compiled function and not returned by it is no longer valid/);
  });
});
