// Autograd against PyTorch where it is easy to get wrong silently: which in-place changes after a
// forward pass make backward refuse (only the tensors a backward reads, as PyTorch's saved
// tensors), the edge gradients of pow, std/var and clamp, and cat of empty parts. The expected
// answers come from torch (scripts/fixtures/torch_edges.py -> __test__/fixtures/torch_edges.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { F, Tensor, cat, indexAdd, noGrad, tensor, where, zeros } from '../index.js';

type Num = number | string;
interface SavedCase { raises: boolean; message?: string }
interface Fixture {
  saved: Record<string, SavedCase>;
  pow: { base: number[]; exponent: number[]; out: Num[]; gradBase: Num[]; gradExponent: Num[] };
  spread: Record<string, { x: number | number[] | number[][]; out: Num[]; grad: Num[] }>;
  clamp: { x: Num[]; cases: Record<string, { min: number | null; max: number | null; out: Num[]; grad: Num[] }> };
}
const FX = JSON.parse(readFileSync(new URL('./fixtures/torch_edges.json', import.meta.url), 'utf8')) as Fixture;
const dec = (v: Num): number => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : (v as number));
const decAll = (vs: Num[]): number[] => vs.map(dec);

const leaf = (...vals: number[]): Tensor => tensor(vals, { requiresGrad: true });
const f32 = (...vals: number[]): Tensor => tensor(vals);

/** The same programs as saved_cases() in the fixture script, in ferrograd. */
const SAVED_CASES: Record<string, () => void> = {
  'exp output changed': () => {
    const x = leaf(1, 2, 3); const y = x.exp();
    noGrad(() => y.mul_(0));
    y.sum().backward();
  },
  'tanh output changed': () => {
    const x = leaf(1, 2, 3); const y = x.tanh(); const z = y.sum();
    noGrad(() => y.zero_());
    z.backward();
  },
  'sigmoid output changed': () => {
    const x = leaf(1, 2, 3); const y = x.sigmoid(); const z = y.sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'sqrt output changed': () => {
    const x = leaf(1, 2, 3); const y = x.sqrt(); const z = y.sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'softmax output changed': () => {
    const x = leaf(1, 2, 3); const y = x.softmax(-1); const z = y.mul(f32(1, 2, 3)).sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'logSoftmax output changed': () => {
    const x = leaf(1, 2, 3); const y = x.logSoftmax(-1); const z = y.mul(f32(1, 2, 3)).sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'pow by a number: output changed': () => {
    const x = leaf(1, 2, 3); const y = x.pow(2); const z = y.sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'pow by a tensor: output changed': () => {
    const x = leaf(1, 2, 3); const e = leaf(0.5, 1.5, 2); const y = x.pow(e); const z = y.sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'pow by a tensor: exponent changed': () => {
    const x = leaf(1, 2, 3); const e = f32(0.5, 1.5, 2); const z = x.pow(e).sum();
    e.add_(1);
    z.backward();
  },
  'div: output changed': () => {
    const a = leaf(1, 2, 3); const b = leaf(2, 4, 5); const y = a.div(b); const z = y.sum();
    noGrad(() => y.add_(1));
    z.backward();
  },
  'div: numerator changed, only the numerator requires grad': () => {
    const a = leaf(1, 2, 3); const a2 = a.mul(1); const b = f32(2, 4, 5); const z = a2.div(b).sum();
    noGrad(() => a2.add_(1));
    z.backward();
  },
  'div: denominator changed': () => {
    const a = leaf(1, 2, 3); const b = f32(2, 4, 5); const z = a.div(b).sum();
    b.add_(1);
    z.backward();
  },
  'mul: the other factor changed': () => {
    const a = leaf(1, 2, 3); const b = f32(2, 4, 5); const z = a.mul(b).sum();
    b.add_(1);
    z.backward();
  },
  'mul: a factor changed whose value the backward does not need': () => {
    const a = leaf(1, 2, 3); const a2 = a.mul(1); const b = f32(2, 4, 5); const z = a2.mul(b).sum();
    noGrad(() => a2.add_(1));
    z.backward();
  },
  'mul: a leaf used twice changed': () => {
    const w = leaf(1, 2, 3); const y = w.mul(w).sum();
    noGrad(() => w.add_(1));
    y.backward();
  },
  'mul: a non-leaf factor changed': () => {
    const w = leaf(1, 2, 3); const h = w.mul(2); const y = h.mul(h).sum();
    noGrad(() => h.add_(1));
    y.backward();
  },
  'add: an input changed': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.add(f32(1, 1, 1)).sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'sub: an input changed': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.sub(f32(1, 1, 1)).sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'neg: the input changed': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.neg().sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'view: the input changed': () => {
    const x = leaf(1, 2, 3, 4); const h = x.mul(1); const z = h.view(2, 2).mul(2).sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'expand: the input changed': () => {
    const x = leaf(1, 2); const h = x.mul(1); const z = h.view(2, 1).expand(2, 3).mul(2).sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'sum: the input changed': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'mean: the input changed': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.mean();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'exp: the input changed (the backward reads only the output)': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.exp().sum();
    noGrad(() => h.mul_(0));
    z.backward();
  },
  'log: the input changed': () => {
    const x = leaf(1, 2, 3); const h = x.mul(1); const z = h.log().sum();
    noGrad(() => h.add_(1));
    z.backward();
  },
  'matmul: the right operand changed': () => {
    const a = leaf(1, 2, 3, 4).view(2, 2); const b = tensor([[1, 0], [2, 1]]); const z = a.matmul(b).sum();
    b.add_(1);
    z.backward();
  },
  'matmul: the left operand changed, only it requires grad': () => {
    const a0 = leaf(1, 2, 3, 4); const a = a0.view(2, 2).mul(1); const b = tensor([[1, 0], [2, 1]]); const z = a.matmul(b).sum();
    noGrad(() => a.add_(1));
    z.backward();
  },
  'crossEntropy: the target changed': () => {
    const x = tensor([[1, 2, 3], [0.5, 0.1, 0.2]], { requiresGrad: true }); const t = tensor([0, 2], { dtype: 'int32' });
    const loss = F.crossEntropy(x, t);
    t.add_(0);
    loss.backward();
  },
  'crossEntropy: the logits changed': () => {
    const x = tensor([[1, 2, 3], [0.5, 0.1, 0.2]], { requiresGrad: true }); const h = x.mul(1); const t = tensor([0, 2], { dtype: 'int32' });
    const loss = F.crossEntropy(h, t);
    noGrad(() => h.mul_(0));
    loss.backward();
  },
  'max: output changed': () => {
    const x = leaf(1, 3, 2); const m = x.max();
    noGrad(() => m.add_(1));
    m.backward();
  },
  'clamp: the input changed': () => {
    const x = leaf(1, 3, 2); const h = x.mul(1); const z = h.clamp(0, 2.5).sum();
    noGrad(() => h.add_(1));
    z.backward();
  },
};

/** The ops other parts added (composed ones inherit their primitives' saved tensors). For these
 *  the message's producer may differ (PyTorch's fused kernels have other intermediate ops). */
const OTHER_OPS: Record<string, () => void> = {
  'where: an operand changed': () => {
    const a = leaf(1, 2, 3); const a2 = a.mul(1); const cond = tensor([1, 0, 1]);
    const z = where(cond, a2, f32(0, 0, 0)).sum();
    noGrad(() => a2.add_(1));
    z.backward();
  },
  'embedding: the weight changed': () => {
    const w = tensor([[1, 2], [3, 4], [5, 6]], { requiresGrad: true }); const w2 = w.mul(1);
    const z = F.embedding(tensor([0, 2, 2], { dtype: 'int32' }), w2).sum();
    noGrad(() => w2.add_(1));
    z.backward();
  },
  'indexAdd: the index changed': () => indexAddCase('index').run(),
  'indexAdd: the source changed': () => indexAddCase('source').run(),
  'gelu: the input changed': () => {
    const x = leaf(1, -2, 0.5); const h = x.mul(1); const z = F.gelu(h).sum();
    noGrad(() => h.add_(1));
    z.backward();
  },
  'linear: the weight changed': () => {
    const x = tensor([[1, 2]], { requiresGrad: true }); const w = tensor([[0.5, -1], [2, 1]], { requiresGrad: true });
    const z = F.linear(x, w).sum();
    noGrad(() => w.add_(1));
    z.backward();
  },
  'layerNorm: the input changed': () => layerNormCase(true).run(),
};

/** Where ferrograd's backward does not read what PyTorch's saves, it accepts the change, and the
 *  gradient is still the one of the unchanged forward pass (checked below). */
const ACCEPTED_HERE: Record<string, string> = {
  'indexAdd: the source changed': 'the backward reads only the index',
  'layerNorm: the input changed': 'composed: its primitives read only intermediates',
};

function indexAddCase(change: 'index' | 'source' | 'none'): { run: () => void; grad: () => number[] } {
  const s0 = tensor([[1, 1], [1, 1]], { requiresGrad: true });
  return {
    run() {
      const src = s0.mul(1); const idx = tensor([0, 2], { dtype: 'int32' });
      const z = indexAdd(zeros([3, 2]), 0, idx, src).mul(tensor([[1, 2], [3, 4], [5, 6]])).sum();
      if (change === 'index') idx.add_(0);
      if (change === 'source') noGrad(() => src.add_(1));
      z.backward();
    },
    grad: () => Array.from(s0.grad!.toArray()),
  };
}

function layerNormCase(change: boolean): { run: () => void; grad: () => number[] } {
  const x = tensor([[1, 2, 4]], { requiresGrad: true });
  return {
    run() {
      const h = x.mul(1); const z = F.layerNorm(h, [3]).mul(f32(1, 2, 3)).sum();
      if (change) noGrad(() => h.add_(1));
      z.backward();
    },
    grad: () => Array.from(x.grad!.toArray()),
  };
}

/** PyTorch's message in ferrograd's words: "[torch.FloatTensor [3]], which is output 0 of Pow1," ->
 *  "[float32 tensor of shape [3]], which is output 0 of Pow,". */
function expectedMessage(torchMessage: string): RegExp {
  const m = /^(one of the variables needed for gradient computation has been modified by an inplace operation): \[torch\.(\w+)Tensor \[([\d, ]*)\]\](?:, which is output 0 of ([A-Za-z]+?)\d*,)? (is at version \d+; expected version \d+ instead)\.$/.exec(torchMessage);
  if (!m) throw new Error(`unexpected torch message: ${torchMessage}`);
  const dtype = { Float: 'float32', Double: 'float64', Long: 'int32', Int: 'int32' }[m[2]];
  const shape = m[3] === '' ? '[]' : `[${m[3]}]`;
  const esc = (s: string): string => s.replace(/[[\]().]/g, '\\$&');
  const producer = m[4] ? `, which is output 0 of ${m[4]},` : '';
  return new RegExp(`^backward: ${esc(m[1])}: ${esc(`[${dtype} tensor of shape ${shape}]`)}${producer} ${m[5]} \\(\\w+Backward reads it`);
}

describe('saved tensors: backward refuses exactly the in-place changes PyTorch refuses', () => {
  it('the fixture and this file list the same cases', () => {
    expect([...Object.keys(SAVED_CASES), ...Object.keys(OTHER_OPS)].sort()).toEqual(Object.keys(FX.saved).sort());
  });
  for (const [name, want] of Object.entries(FX.saved)) {
    if (!(name in SAVED_CASES)) continue;
    it(`${name}: ${want.raises ? 'refused' : 'accepted'}`, () => {
      const run = SAVED_CASES[name];
      if (want.raises) expect(run).toThrow(expectedMessage(want.message!));
      else expect(run).not.toThrow();
    });
  }

  for (const [name, want] of Object.entries(FX.saved)) {
    if (!(name in OTHER_OPS)) continue;
    const here = ACCEPTED_HERE[name];
    it(`${name}: ${here ? `accepted (PyTorch refuses; ${here})` : want.raises ? 'refused' : 'accepted'}`, () => {
      const run = OTHER_OPS[name];
      if (want.raises && !here) expect(run).toThrow(/^backward: one of the variables needed for gradient computation has been modified by an inplace operation: .* is at version 1; expected version 0 instead/);
      else expect(run).not.toThrow();
    });
  }

  it('where PyTorch refuses but ferrograd accepts, the gradient is the unchanged forward pass\'s', () => {
    const changed = indexAddCase('source');
    changed.run();
    const plain = indexAddCase('none');
    plain.run();
    expect(changed.grad()).toEqual(plain.grad());
    const ln = layerNormCase(true);
    ln.run();
    const lnPlain = layerNormCase(false);
    lnPlain.run();
    expect(ln.grad()).toEqual(lnPlain.grad());
  });

  it('exp: the gradient read from the output is not silently zero', () => {
    const x = leaf(1, 2, 3);
    const y = x.exp();
    noGrad(() => y.mul_(0));
    expect(() => y.sum().backward()).toThrow(/output 0 of Exp, is at version 1; expected version 0 instead \(ExpBackward reads it/);
    expect(x.grad).toBeNull();
  });

  it('a change through another view of the saved storage counts (views share the version)', () => {
    const x = leaf(1, 2, 3, 4);
    const h = x.mul(1);
    const z = h.view(2, 2).log().sum();
    noGrad(() => h.slice(0, 1, 2).mul_(5));
    expect(() => z.backward()).toThrow(/\[float32 tensor of shape \[2, 2\]\], which is output 0 of View, is at version 1; expected version 0/);
  });

  it('a graph PyTorch accepts gives the right gradient after the unread input changed', () => {
    // z = sum(2 h + c): dz/dx = 2 whatever h holds later.
    const x = leaf(1, 2, 3);
    const h = x.mul(1);
    const z = h.mul(2).add(tensor([5, 5, 5])).sum();
    noGrad(() => h.fill_(100));
    z.backward();
    expect(Array.from(x.grad!.toArray())).toEqual([2, 2, 2]);
  });

  it('an input that did not require grad when the op ran gets no gradient later (fixed edges, as PyTorch)', () => {
    const a = leaf(1, 2, 3);
    const b = f32(4, 5, 6);
    const z = a.mul(b).sum();
    b.requiresGrad = true;
    z.backward();
    expect(Array.from(a.grad!.toArray())).toEqual([4, 5, 6]);
    expect(b.grad).toBeNull();
  });
});

describe('edge gradients as PyTorch', () => {
  it('pow with a tensor exponent at base 0 and exponent 0', () => {
    const { base, exponent } = FX.pow;
    const b = tensor(base, { dtype: 'float64', requiresGrad: true });
    const e = tensor(exponent, { dtype: 'float64', requiresGrad: true });
    const y = b.pow(e);
    y.sum().backward();
    expectClose(Array.from(y.toArray()), decAll(FX.pow.out));
    expectClose(Array.from(b.grad!.toArray()), decAll(FX.pow.gradBase));
    expectClose(Array.from(e.grad!.toArray()), decAll(FX.pow.gradExponent));
  });

  it('pow at base 0 in float32 too (the native kernels)', () => {
    const b = tensor([0, 0, 0], { requiresGrad: true });
    const e = tensor([0, 1, 2], { requiresGrad: true });
    b.pow(e).sum().backward();
    expect(Array.from(b.grad!.toArray())).toEqual([0, 1, 0]);
    expect(Array.from(e.grad!.toArray())).toEqual([0, 0, 0]);
  });

  for (const [name, c] of Object.entries(FX.spread)) {
    it(`std/var: ${name}`, () => {
      const x = tensor(c.x as number[], { dtype: 'float64', requiresGrad: true });
      const fn = SPREAD_CASES[name];
      expect(fn, `no ferrograd twin for "${name}"`).toBeDefined();
      const y = fn(x);
      y.sum().backward();
      expectClose(Array.from(y.toArray()), decAll(c.out));
      expectClose(Array.from(x.grad!.toArray()), decAll(c.grad));
    });
  }

  for (const [name, c] of Object.entries(FX.clamp.cases)) {
    it(`clamp ${name}: the gradient is 0 at a bound`, () => {
      const x = tensor(decAll(FX.clamp.x), { dtype: 'float64', requiresGrad: true });
      const y = x.clamp(c.min ?? undefined, c.max ?? undefined);
      y.sum().backward();
      expectClose(Array.from(y.toArray()), decAll(c.out));
      expect(Array.from(x.grad!.toArray())).toEqual(decAll(c.grad));
    });
  }
});

const SPREAD_CASES: Record<string, (x: Tensor) => Tensor> = {
  'std of a constant': (x) => x.std(),
  'var of a constant': (x) => x.var(),
  'std of a constant, correction 0': (x) => x.std(undefined, { correction: 0 }),
  'std over dim 1, one constant row': (x) => x.std(1),
  'std over dim 0 keepdim, one constant column': (x) => x.std(0, { keepdim: true }),
  'std of one element (no degrees of freedom)': (x) => x.std(),
  'std of zeros': (x) => x.std(),
};

function expectClose(got: number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    if (Number.isNaN(want[i])) expect(g, `element ${i}`).toBeNaN();
    else if (!Number.isFinite(want[i])) expect(g, `element ${i}`).toBe(want[i]);
    else expect(Math.abs(g - want[i]), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[i])));
  });
}

describe('cat of empty 1-D parts', () => {
  it('returns a new tensor, not one of its inputs', () => {
    const e = tensor([]);
    const out = cat([e, e]);
    expect(out).not.toBe(e);
    expect(out.data).not.toBe(e.data);
    expect(out.shape).toEqual([0]);
    expect(cat([e]).data).not.toBe(e.data);
  });

  it('promotes the dtype across the empty parts, as torch.cat', () => {
    expect(cat([tensor([], { dtype: 'int32' }), tensor([], { dtype: 'float64' })]).dtype).toBe('float64');
    expect(cat([tensor([], { dtype: 'float64' }), tensor([1, 2])]).dtype).toBe('float64');
  });

  it('records the graph: empty parts get empty gradients, the others their slice', () => {
    const e = tensor([], { requiresGrad: true });
    const y = tensor([1, 2], { requiresGrad: true });
    const z = cat([e, y, e]);
    expect(z.gradFn?.name).toBe('CatBackward');
    z.mul(tensor([3, 4])).sum().backward();
    expect(e.grad?.shape).toEqual([0]);
    expect(Array.from(y.grad!.toArray())).toEqual([3, 4]);
    const only = cat([e, e]);
    expect(only.requiresGrad).toBe(true);
  });
});
