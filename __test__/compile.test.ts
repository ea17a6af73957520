// compile(fn): a recorded training step replayed must give the eager run's bits (losses and
// parameters), record again for new shapes, refuse what it cannot replay with a message that
// names the cause, and allocate no typed arrays once compiled.
import { afterEach, describe, expect, it } from 'vitest';
import {
  F, Generator, Tensor, cat, compile, indexAdd, rand, getBackend, makemore, manualSeed, nn, noGrad, optim, randint, randn, stack, tensor, zeros,
} from '../index.js';
import { loadDataset, makeMlp2, makeMlp3, makeMlp3Nn } from '../bench/mlp.js';
import { indexedStep, message } from './compile-helpers.js';
import { makeWaveNetModule, makeWaveNetRaw } from '../bench/wavenet.js';

const ds3 = loadDataset(3);
const ds8 = loadDataset(8);

const bitsOf = (xs: number[]) => Array.from(new Float64Array(xs), (v) => v);

/** Eager losses of `steps` calls of a fresh step, and the same through compile. */
function eagerAndCompiled(make: () => { step: () => number; params: Tensor[] }, steps: number) {
  const a = make();
  const eager: number[] = [];
  for (let i = 0; i < steps; i++) eager.push(a.step());
  const b = make();
  const c = compile(() => b.step());
  const compiled: number[] = [];
  for (let i = 0; i < steps; i++) compiled.push(c());
  return { eager, compiled, c, paramsEager: a.params, paramsCompiled: b.params };
}

function expectSameBits(x: number[], y: number[]) {
  expect(y.length).toBe(x.length);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) throw new Error(`step ${i}: eager ${x[i]} compiled ${y[i]}`);
  }
}

function expectSameTensors(a: Tensor[], b: Tensor[]) {
  for (let i = 0; i < a.length; i++) {
    const x = new Uint8Array(a[i].contiguous().flat().slice().buffer);
    const y = new Uint8Array(b[i].contiguous().flat().slice().buffer);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(y)), `parameter ${i}`).toBe(0);
  }
}

const threads0 = getBackend().getNumThreads();
afterEach(() => getBackend().setNumThreads(threads0));

describe('compiled steps give the eager bits', () => {
  it('part 3 MLP (BatchNorm, hand-written update): 1,000 steps, with 1 and with 2 threads', () => {
    for (const threads of [1, 2]) {
      getBackend().setNumThreads(threads);
      const r = eagerAndCompiled(() => makeMlp3(ds3, 32), 1000);
      expectSameBits(r.eager, r.compiled);
      expectSameTensors(r.paramsEager, r.paramsCompiled);
      expect(r.c.info.recorded).toBe(2);
      expect(r.c.info.replayed).toBe(998);
    }
    void bitsOf;
  });

  it('part 2 MLP and part 3 with nn modules + optim.SGD', () => {
    for (const make of [() => makeMlp2(ds3, 32), () => makeMlp3Nn(ds3, 32)]) {
      const r = eagerAndCompiled(make, 150);
      expectSameBits(r.eager, r.compiled);
      expectSameTensors(r.paramsEager, r.paramsCompiled);
    }
  });

  it('gradient clipping inside the step (clipGradNorm_, clipGradValue_), active on some steps only', () => {
    const make = () => {
      const g = new Generator().manualSeed(11);
      const net = new nn.Sequential(new nn.Linear(6, 16, { generator: g }), new nn.Tanh(), new nn.Linear(16, 3, { generator: g }));
      const opt = new optim.SGD(net.parameters(), { lr: 0.5 });
      const norms: number[] = [];
      const step = () => {
        // Large inputs now and then: the norm then exceeds maxNorm and clipping scales.
        const big = rand([1], { generator: g }).lt(0.3).mul(19.5).add(0.5);
        const x = randn([8, 6], { generator: g }).mul(big);
        const y = randint(0, 3, [8], { generator: g });
        opt.zeroGrad();
        const loss = F.crossEntropy(net.forward(x), y);
        loss.backward();
        const total = optim.clipGradNorm_(net.parameters(), 1.5);
        optim.clipGradValue_(net.parameters(), 0.2);
        opt.step();
        return [loss.item(), total.item()];
      };
      return { step, params: net.parameters(), norms };
    };
    const a = make();
    const b = make();
    const c = compile(() => b.step());
    const eager: number[] = [];
    const compiled: number[] = [];
    for (let i = 0; i < 60; i++) {
      eager.push(...a.step());
      compiled.push(...(c() as number[]));
    }
    expect(c.info.replayed).toBeGreaterThan(50);
    expectSameBits(eager, compiled);
    expectSameTensors(a.params, b.params);
    const totals = eager.filter((_, i) => i % 2 === 1);
    expect(totals.some((t) => t > 1.5) && totals.some((t) => t < 1.5)).toBe(true);
  });

  it('part 5 WaveNet: makemore.WaveNet + SGD (global generator) and the raw-ops version', () => {
    const mod = () => {
      manualSeed(7);
      return makeWaveNetModule(ds8, 32);
    };
    for (const make of [mod, () => makeWaveNetRaw(ds8, 32)]) {
      const r = eagerAndCompiled(make, 60);
      expectSameBits(r.eager, r.compiled);
      expectSameTensors(r.paramsEager, r.paramsCompiled);
    }
  });

  it('a model with every op family (views, unary, binary, reductions, comparisons, matmul, softmax, indexing, join, norms, conv1d, dropout)', () => {
    const make = () => {
      const g = new Generator().manualSeed(3);
      const emb = new nn.Embedding(11, 6, { generator: g });
      const conv = new nn.Conv1d(6, 8, 2, { padding: 'causal', dilation: 1, generator: g });
      const ln = new nn.LayerNorm(8);
      const bn = new nn.BatchNorm1d(8);
      const lin = new nn.Linear(8, 5, { generator: g });
      const drop = new nn.Dropout(0.25, { generator: g });
      const W = randn([5, 5], { generator: g, requiresGrad: true });
      const model = new nn.ModuleList([emb, conv, ln, bn, lin]);
      const params = [...model.parameters(), W];
      const step = (): number => {
        const X = randint(0, 11, [4, 7], { generator: g });
        const Y = randint(0, 5, [4], { generator: g });
        let h = emb.forward(X).transpose(1, 2); // [4, 6, 7]
        h = conv.forward(h).permute(0, 2, 1).contiguous(); // [4, 7, 8]
        h = ln.forward(h);
        h = h.mul(h.mul(1.702).sigmoid()).add(h.sigmoid().mul(0.1)).sub(h.relu().div(3)).mul(h.tanh().abs().add(1).sqrt());
        h = h.maximum(h.neg().exp().log().square().mul(-1)).minimum(10).clamp(-5, 5);
        const last = h.select(1, 6); // [4, 8]
        const pooled = h.mean(1).add(h.max(1).detach()).add(h.sum(1, true).squeeze(1).div(7)); // [4, 8]
        let z = bn.forward(cat([last, pooled], 0).slice(0, 0, 4).add(stack([pooled, last], 0).sum(0)));
        z = F.dropout(drop.forward(z), 0.1, true, g);
        let logits = lin.forward(z); // [4, 5]
        logits = logits.matmul(W.softmax(0)).add(logits.logSoftmax(-1).mul(0.01));
        const keep = logits.lt(50);
        logits = logits.mul(keep).add(keep.rsub(1).mul(50)).pow(1);
        const picked = logits.index([tensor([0, 1, 2, 3], { dtype: 'int32' }), Y]).sum();
        const loss = F.crossEntropy(logits, Y).add(picked.mul(1e-3)).add(logits.var().mul(1e-3));
        for (const p of params) p.grad = null;
        loss.backward();
        noGrad(() => {
          for (const p of params) p.sub_(p.grad!.mul(0.05));
        });
        return loss.item();
      };
      return { step, params };
    };
    const r = eagerAndCompiled(make, 25);
    expectSameBits(r.eager, r.compiled);
    expectSameTensors(r.paramsEager, r.paramsCompiled);
    expect(r.c.info.replayed).toBe(23);
  });
});

describe('arguments and shapes', () => {
  const model = () => {
    const g = new Generator().manualSeed(5);
    const lin = new nn.Linear(3, 4, { generator: g });
    const opt = new optim.SGD(lin.parameters(), { lr: 0.1, momentum: 0.9 });
    return { opt, step: (x: Tensor, y: Tensor, scale: number): number => {
      const loss = F.crossEntropy(lin.forward(x).mul(scale), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.item();
    } };
  };
  const batches = (n: number, seed: number) => {
    const g = new Generator().manualSeed(seed);
    return { x: randn([n, 3], { generator: g }), y: randint(0, 4, [n], { generator: g }) };
  };

  it('records again for new shapes (and number arguments), and replays each with the eager bits', () => {
    const eager = model();
    const compiledModel = model();
    const c = compile(compiledModel.step);
    const plan = [4, 4, 8, 4, 8, 8, 4, 8, 2, 4, 8, 2, 2, 2, 4, 4];
    plan.forEach((n, i) => {
      const { x, y } = batches(n, i);
      const scale = i % 5 === 4 ? 0.5 : 1;
      // The optimizer's learning rate changed outside fn (as a scheduler does) is live on replay.
      const lr = 0.1 / (1 + i);
      eager.opt.paramGroups[0].lr = lr;
      compiledModel.opt.paramGroups[0].lr = lr;
      expect(Object.is(c(x, y, scale), eager.step(x, y, scale)), `call ${i}`).toBe(true);
    });
    expect(c.info.compiledShapes).toBeGreaterThanOrEqual(3);
    expect(c.info.replayed).toBeGreaterThan(0);
  });

  it("the lectures' loop body (makemore.sgdStep sets the learning rate inside the step), with the 0.1 -> 0.01 switch", () => {
    const make = () => {
      const g = new Generator().manualSeed(2147483647);
      const m = makemore.createPart3Mlp({ generator: g });
      const opt = makemore.lectureSgd(m.parameters());
      const n = ds3.Xtr.shape[0];
      return (lr: number): number => {
        const ix = randint(0, n, [32], { generator: g });
        const loss = F.crossEntropy(m.forward(ds3.Xtr.index(ix)), ds3.Ytr.index(ix));
        return makemore.sgdStep(opt, loss, lr);
      };
    };
    const eager = make();
    const c = compile(make());
    for (let i = 0; i < 120; i++) {
      const lr = i < 60 ? 0.1 : i < 100 ? 0.01 : i % 2 === 0 ? 0.1 : 0.01;
      const want = eager(lr);
      expect(Object.is(c(lr), want), `step ${i}`).toBe(true);
    }
    expect(c.info.compiledShapes).toBe(2);
  });

  it('crossEntropy with ignored targets (padding): the count changes from batch to batch', () => {
    const make = () => {
      const g = new Generator().manualSeed(8);
      const lin = new nn.Linear(3, 6, { generator: g });
      const opt = new optim.SGD(lin.parameters(), { lr: 0.5 });
      return (x: Tensor, y: Tensor): number => {
        const loss = F.crossEntropy(lin.forward(x), y, { ignoreIndex: -1 });
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      };
    };
    const eager = make();
    const c = compile(make());
    const g = new Generator().manualSeed(9);
    for (let i = 0; i < 12; i++) {
      const x = randn([8, 3], { generator: g });
      const y = randint(-1, 6, [8], { generator: g }); // about one in seven ignored
      expect(Object.is(c(x, y), eager(x, y)), `call ${i}`).toBe(true);
    }
    expect(c.info.replayed).toBe(10);
  });

  it('a tensor returned is a copy: the next call does not overwrite it', () => {
    const g = new Generator().manualSeed(1);
    const w = randn([3], { generator: g });
    const c = compile((x: Tensor) => noGrad(() => x.mul(w).exp()));
    const outs = [0, 1, 2, 3].map((k) => c(tensor([k, k, k])));
    outs.forEach((o, k) => expect(Array.from(o.toArray())).toEqual(Array.from(tensor([k, k, k]).mul(w).exp().toArray())));
  });

  it('an in-place change by the caller between calls is seen by the replay', () => {
    const g = new Generator().manualSeed(2);
    const w = randn([3, 3], { generator: g });
    const c = compile((x: Tensor) => x.matmul(w).sum().item());
    const x = randn([2, 3], { generator: g });
    for (let i = 0; i < 4; i++) {
      noGrad(() => w.mul_(1.5));
      expect(c(x)).toBe(x.matmul(w).sum().item());
    }
  });

  it("PyTorch's edge-case gradients (std of a constant row; pow where y = 0, and where x = 0 and y >= 0) are replayed, also when only later data hits them", () => {
    const g = new Generator().manualSeed(3);
    const w = randn([3, 4], { generator: g, requiresGrad: true });
    const e = randn([3, 4], { generator: g, requiresGrad: true });
    const f = (x: Tensor, p: Tensor) => {
      w.grad = null;
      e.grad = null;
      const loss = x.mul(w).std(1).sum().add(p.mul(w).abs().pow(e.mul(p)).sum());
      loss.backward();
      return loss;
    };
    const c = compile(f);
    for (let i = 0; i < 3; i++) c(randn([3, 4], { generator: g }), randn([3, 4], { generator: g }));
    expect(c.info.compiledShapes).toBe(1);
    // Row 0 of x·w is 0 (std 0) and p has zeros (base 0 with exponent 0): only now.
    const x = tensor([[0, 0, 0, 0], [1, -1, 3, 0.5], [0, 1, 0, 1]]);
    const p = tensor([[0, 1, 0, 2], [0.5, 0, -1, 1], [1, 1, 1, 1]]);
    const replayed = c(x, p).item();
    const [gw, ge] = [w.grad!.toArray(), e.grad!.toArray()];
    const eager = f(x, p).item();
    expect(Object.is(replayed, eager)).toBe(true);
    expect(Array.from(gw)).toEqual(Array.from(w.grad!.toArray()));
    expect(Array.from(ge)).toEqual(Array.from(e.grad!.toArray()));
    expect(gw.every(Number.isFinite) && ge.every(Number.isFinite)).toBe(true);
    expect([gw[0], gw[2]]).toEqual([0, 0]); // where both the std of a 0 row and 0^0 give 0
  });

  it("TypeScript work of the ops (F.embedding's ids, to(int32), per-row crossEntropy's targets, indexAdd's check) redone on each call's data", () => {
    const g = new Generator().manualSeed(8);
    const w = randn([5, 3], { generator: g, requiresGrad: true });
    const f = (ids: Tensor, v: Tensor, y: Tensor) => {
      w.grad = null;
      const h = F.embedding(ids, w);
      const scaled = h.sum(1).mul(v.mul(3).to('int32').float());
      const perRow = F.crossEntropy(h, y, { reduction: 'none', ignoreIndex: 2 });
      const added = indexAdd(zeros([5, 3]), 0, ids, h);
      const loss = scaled.sum().add(perRow.sum()).add(added.tanh().sum());
      loss.backward();
      return loss;
    };
    const c = compile(f);
    // The first recordings see the same data: their constants would agree.
    const int = (xs: number[]) => tensor(xs, { dtype: 'int32' });
    const same = [int([0, 1, 1]), tensor([0.5, -1, 2]), int([0, 2, 1])] as const;
    for (let i = 0; i < 3; i++) c(...same);
    for (const [ids, v, y] of [[[2, 3, 4], [1, 2, -0.7], [1, 1, 2]], [[4, 4, 0], [-2, 0.1, 1], [2, 0, 0]], [[1, 2, 0], [1, 1, 1], [0, 1, 2]]]) {
      const a = [int(ids), tensor(v), int(y)] as const;
      const replayed = c(...a).item();
      const gw = w.grad!.toArray();
      expect(Object.is(replayed, f(...a).item())).toBe(true);
      expect(Array.from(gw)).toEqual(Array.from(w.grad!.toArray()));
    }
    expect(c.info.replayed).toBeGreaterThan(2);
    expect(() => c(int([0, 7, 1]), same[1], same[2])).toThrow(/^embedding: index 7 \(at position 1 of input \[3\]\) is out of range for 5 embeddings/);
    expect(() => c(same[0], tensor([0, NaN, 1]), same[2])).toThrow(/^to\(int32\): cannot convert non-finite value NaN at element 1/);
    expect(() => c(same[0], same[1], int([0, 3, 1]))).toThrow(/^crossEntropy: target 3 at position 1 is out of bounds for 3 classes/);
  });

  it('where and maskedFill of int32 tensors (a TypeScript loop, redone as host work), with a broadcast condition', () => {
    const g = new Generator().manualSeed(2);
    const w = randn([3], { generator: g });
    const f = (ix: Tensor, m: Tensor) => {
      const picked = ix.where(m.gt(0), ix.neg()).maskedFill(ix.eq(2), 7); // m [1, 3] broadcasts over [2, 3]
      return picked.float().mul(w).sum();
    };
    const c = compile(f);
    for (let i = 0; i < 6; i++) {
      const ix = randint(-3, 4, [2, 3], { generator: g });
      const m = randn([1, 3], { generator: g });
      expect(Object.is(c(ix, m).item(), f(ix, m).item())).toBe(true);
    }
    expect(c.info.replayed).toBeGreaterThan(2);
  });

  it('refuses arguments that are not tensors, numbers, strings or booleans', () => {
    const c = compile((o: unknown) => o);
    expect(() => c({})).toThrow(/compile: argument 0 is a object; a compiled function takes tensors, numbers/);
  });
});

describe('refusals', () => {
  const setup = () => {
    const g = new Generator().manualSeed(9);
    const w = randn([4, 3], { generator: g, requiresGrad: true });
    const x = randn([5, 4], { generator: g });
    return { g, w, x };
  };
  const callTimes = (f: () => unknown, n: number) => {
    for (let i = 0; i < n; i++) f();
  };

  it('a value read with item() and not returned', () => {
    const { w, x } = setup();
    const c = compile(() => {
      let y = x.matmul(w);
      if (y.max().item() > 1e9) y = y.div(2);
      return y.sum().item();
    });
    expect(() => c()).toThrow(/compile: fn read the value .* with item\(\) and did not return it/);
  });

  it('control flow that changes between calls (a different tensor program)', () => {
    const { w, x } = setup();
    let k = 0;
    const c = compile(() => {
      let y = x.matmul(w);
      if (k++ % 2 === 1) y = y.tanh();
      return y.sum().item();
    });
    expect(() => callTimes(c, 3)).toThrow(/compile: (fn performed \d+ operations on one call and \d+ on the next|operation \d+ of fn was \w+ on one call and \w+ on the next)/);
  });

  it('a shape that depends on data', () => {
    const { w, x } = setup();
    let calls = 0; // stands for a value read from data (reads with toArray() are refused)
    const c = compile(() => {
      const n = 1 + (calls++ % 3);
      return x.slice(0, 0, n).matmul(w).sum().item();
    });
    expect(() => callTimes(c, 3)).toThrow(/compile: operation \d+ of fn \(\w+\) differs between two calls/);
  });

  it('Math.random and generators that return JavaScript values', () => {
    const { w, x } = setup();
    const c = compile(() => x.mul(Math.random()).matmul(w).sum().item());
    expect(() => c()).toThrow(/compile: Math\.random\(\) was called inside a compiled function/);
    const g = new Generator().manualSeed(1);
    const c2 = compile(() => x.index(tensor(Array.from(g.randperm(5)), { dtype: 'int32' })).matmul(w).sum().item());
    expect(() => c2()).toThrow(/compile: Generator\.randperm inside a compiled function is not supported/);
  });

  it('values made in JavaScript from data (not through a recorded op)', () => {
    const { w, x } = setup();
    const g = new Generator().manualSeed(4);
    const c = compile(() => {
      const noise = new Float32Array(20);
      g.fillRandn(noise); // recorded: the draw is replayed
      const jitter = new Float32Array(20);
      for (let i = 0; i < 20; i++) jitter[i] = noise[i] * 2; // made in TypeScript: not recorded
      return x.add(new Tensor(jitter, [5, 4])).matmul(w).sum().item();
    });
    expect(() => callTimes(c, 3)).toThrow(/compile: an input of binary \(operation \d+ of fn, reading step#\d+\(Float32Array 20\)\) was filled in JavaScript inside fn with different values on two calls/);
  });

  it('state replaced on every call instead of updated in place', () => {
    const { w, x } = setup();
    let running = zeros([3]);
    const c = compile(() => {
      const y = x.matmul(w);
      noGrad(() => {
        running = running.mul(0.9).add(y.mean(0).mul(0.1));
      });
      return y.sum().item();
    });
    expect(() => callTimes(c, 3)).toThrow(/compile: operation \d+ of fn \(\w+\) differs between two calls .*state replaced on each call/);
  });

  it('state changed in TypeScript inside fn (the verification replay catches it)', () => {
    const { w, x } = setup();
    const c = compile(() => {
      const v = x.matmul(w).sum().item();
      (w.data as Float32Array)[0] += 1;
      return v;
    });
    expect(() => callTimes(c, 2)).toThrow(/compile: a replayed step does not reproduce the eager call: state .* differs \(fn changes it in TypeScript/);
  });

  it('a gradient edited in TypeScript after backward (the verification replay catches it)', () => {
    const { w, x } = setup();
    const c = compile(() => {
      w.grad = null;
      const loss = x.matmul(w).tanh().sum();
      loss.backward();
      (w.grad!.data as Float32Array)[0] = 0; // the replay would leave it as the kernels wrote it
      return loss;
    });
    expect(() => callTimes(c, 3)).toThrow(/compile: a replayed step does not reproduce the eager call: gradient .* differs/);
  });

  it('values read into JavaScript with toArray() or tolist()', () => {
    const { w, x } = setup();
    const c = compile(() => tensor(Array.from(x.matmul(w).toArray(), (v) => 2 * v), { dtype: 'float32' }));
    expect(() => c()).toThrow(/compile: fn read the values of a tensor \(shape \[5, 3\]\) into JavaScript with toArray\(\)/);
    const c2 = compile(() => x.matmul(w).sum(0).mul((x.tolist() as number[][]).length));
    expect(() => c2()).toThrow(/with tolist\(\)/);
  });

  it('a tensor fn returns that TypeScript filled with different values on two calls', () => {
    const { w, x } = setup();
    let k = 0;
    const c = compile(() => {
      k++;
      return { y: x.matmul(w).sum(), k: tensor([k, 2 * k]) };
    });
    expect(() => callTimes(c, 4)).toThrow(/compile: a tensor fn returns \(step#\d+\(Float32Array 2\)\) was filled in JavaScript inside fn with different values on two calls/);
  });

  it('clipGradNorm_ of a non-contiguous gradient', () => {
    const { w, x } = setup();
    const c = compile(() => {
      const loss = x.matmul(w).sum();
      loss.backward();
      w.grad = w.grad!.T.contiguous().T; // same values, transposed strides
      optim.clipGradNorm_([w], 1);
      return loss;
    });
    expect(() => c()).toThrow(/compile: clipGradNorm_ of a non-contiguous gradient inside a compiled function is not supported/);
  });

  it('index and target checks keep holding in replayed steps, with the eager messages', () => {
    const { f, c, X, Y } = indexedStep();
    expect(c.info.replayed).toBe(1);
    const badX = X.clone();
    (badX.data as Int32Array)[5] = 30;
    expect(message(() => c(badX, Y))).toBe(message(() => f(badX, Y)));
    expect(message(() => c(badX, Y))).toMatch(/^index: index 30 is out of bounds for dimension 0 with size 27/);
    const badY = Y.clone();
    (badY.data as Int32Array)[2] = 27;
    expect(message(() => c(X, badY))).toBe(message(() => f(X, badY)));
    expect(message(() => c(X, badY))).toMatch(/^crossEntropy: target 27 at position 2 is out of bounds for 27 classes/);
    // and the compiled function still works afterwards
    expect(c(X, Y)).toBe(f(X, Y));
  });
});

describe('no allocation after warm-up', () => {
  it('a compiled nn + optim.SGD step constructs no typed arrays and no buffers', () => {
    const t = makeMlp3Nn(ds3, 32);
    const c = compile(() => t.step());
    for (let i = 0; i < 5; i++) c();
    const g = globalThis as unknown as Record<string, unknown>;
    const names = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'Uint32Array', 'ArrayBuffer'];
    const saved = names.map((k) => g[k]);
    let count = 0;
    names.forEach((k, i) => {
      const Real = saved[i] as new (...a: unknown[]) => object;
      const proxy: unknown = new Proxy(Real, {
        construct(target, args, nt) {
          count++;
          return Reflect.construct(target, args, nt === proxy ? target : nt);
        },
      });
      g[k] = proxy;
    });
    const slow = Buffer.allocUnsafeSlow;
    const unsafe = Buffer.allocUnsafe;
    (Buffer as { allocUnsafeSlow: unknown }).allocUnsafeSlow = (n: number) => (count++, slow(n));
    (Buffer as { allocUnsafe: unknown }).allocUnsafe = (n: number) => (count++, unsafe(n));
    try {
      for (let i = 0; i < 200; i++) c();
    } finally {
      names.forEach((k, i) => {
        g[k] = saved[i];
      });
      (Buffer as { allocUnsafeSlow: unknown }).allocUnsafeSlow = slow;
      (Buffer as { allocUnsafe: unknown }).allocUnsafe = unsafe;
    }
    expect(count).toBe(0);
    expect(c.info.replayed).toBe(203);
  });
});
