// nn.Module: member discovery, traversal names, modes, gradients, state dicts and their errors,
// and printing, checked against what PyTorch 2.15 gives for the same modules (fixture from
// scripts/fixtures/torch_init.py: reprs, state-dict keys, parameter and module names, and
// load_state_dict's messages).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor, manualSeed, nn, randn, tensor, zeros, ones } from '../index.js';

const FIX = JSON.parse(readFileSync(new URL('./fixtures/torch_init.json', import.meta.url), 'utf8'));

class Net extends nn.Module {
  fc = new nn.Linear(2, 2);
  blocks = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2), new nn.Tanh(), new nn.Linear(2, 2)]);
  seq = new nn.Sequential(new nn.Linear(2, 2, { bias: false }), new nn.Sequential(new nn.Tanh()), new nn.Dropout(0.2));
  forward(x: Tensor): Tensor {
    let h = this.fc.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.seq.forward(h);
  }
}

const REPR_CASES: Record<string, () => nn.Module> = {
  Net: () => new Net(),
  'Linear(30, 200)': () => new nn.Linear(30, 200),
  'Linear(3, 4, bias=False)': () => new nn.Linear(3, 4, { bias: false }),
  'Embedding(27, 10, padding_idx=-1)': () => new nn.Embedding(27, 10, { paddingIdx: -1 }),
  'BatchNorm1d(200)': () => new nn.BatchNorm1d(200),
  'BatchNorm1d(5, momentum=None, affine=False)': () => new nn.BatchNorm1d(5, { momentum: null, affine: false }),
  'BatchNorm1d(5, bias=False, track_running_stats=False)': () => new nn.BatchNorm1d(5, { bias: false, trackRunningStats: false }),
  'LayerNorm(8)': () => new nn.LayerNorm(8),
  'LayerNorm([2, 3], elementwise_affine=False)': () => new nn.LayerNorm([2, 3], { elementwiseAffine: false }),
  'LayerNorm(4, bias=False, eps=1e-6)': () => new nn.LayerNorm(4, { bias: false, eps: 1e-6 }),
  'Dropout(0.2)': () => new nn.Dropout(0.2),
  'Dropout()': () => new nn.Dropout(),
  'GELU()': () => new nn.GELU(),
  "GELU(approximate='tanh')": () => new nn.GELU({ approximate: 'tanh' }),
  'Flatten()': () => new nn.Flatten(),
  'Flatten(0, 2)': () => new nn.Flatten(0, 2),
  'Identity()': () => new nn.Identity(),
  'Tanh()': () => new nn.Tanh(),
  'ReLU()': () => new nn.ReLU(),
  'Sigmoid()': () => new nn.Sigmoid(),
  'Conv1d(4, 6, 2)': () => new nn.Conv1d(4, 6, 2),
  "Conv1d(4, 6, 3, padding='valid')": () => new nn.Conv1d(4, 6, 3, { padding: 'valid' }),
  'Conv1d(4, 6, 3, stride=2, padding=1)': () => new nn.Conv1d(4, 6, 3, { stride: 2, padding: 1 }),
  "Conv1d(4, 6, 3, dilation=2, padding='same', bias=False)": () => new nn.Conv1d(4, 6, 3, { dilation: 2, padding: 'same', bias: false }),
  'Sequential()': () => new nn.Sequential(),
  'ModuleList()': () => new nn.ModuleList(),
  MLP: () => new nn.Sequential(new nn.Linear(30, 200), new nn.Tanh(), new nn.Linear(200, 27)),
};

describe('Module printing and names match torch', () => {
  it('covers every fixture case', () => {
    expect(Object.keys(REPR_CASES).sort()).toEqual(Object.keys(FIX.repr).sort());
  });
  for (const [name, build] of Object.entries(REPR_CASES)) {
    it(name, () => {
      const want = FIX.repr[name];
      const m = build();
      expect(m.toString()).toBe(want.repr);
      expect(Object.keys(m.stateDict())).toEqual(want.stateKeys);
      expect([...m.namedParameters()].map(([k]) => k)).toEqual(want.paramNames);
      expect([...m.namedModules()].map(([k]) => k)).toEqual(want.moduleNames);
    });
  }

  it('String(module) and template literals print the tree', () => {
    const m = new nn.Sequential(new nn.Linear(30, 200), new nn.Tanh());
    expect(`${m}`).toBe('Sequential(\n  (0): Linear(in_features=30, out_features=200, bias=True)\n  (1): Tanh()\n)');
  });
});

describe('member discovery', () => {
  it('finds parameters, buffers and children in declaration order; plain tensors and arrays are not members', () => {
    class M extends nn.Module {
      scale = new nn.Parameter(ones([3]));
      plain = randn([2]); // not a parameter, as in torch
      list = [new nn.Linear(1, 1)]; // a plain array is not registered, as a Python list
      child = new nn.Linear(3, 1);
      offset = new nn.Parameter(zeros([3]));
      constructor() {
        super();
        this.registerBuffer('stats', zeros([3]));
        this.registerBuffer('scratch', zeros([1]), { persistent: false });
      }
      forward(x: Tensor): Tensor { return this.child.forward(x.mul(this.scale).add(this.offset)); }
    }
    const m = new M();
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['scale', 'offset', 'child.weight', 'child.bias']);
    expect([...m.namedBuffers()].map(([k]) => k)).toEqual(['stats', 'scratch']);
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'offset', 'stats', 'child.weight', 'child.bias']);
    expect([...m.namedChildren()].map(([k]) => k)).toEqual(['child']);
    expect(m.numParameters()).toBe(3 + 3 + 3 + 1);
  });

  it('a null bias is skipped and a Parameter assigned later keeps its place', () => {
    const l = new nn.Linear(3, 2, { bias: false });
    expect(Object.keys(l.stateDict())).toEqual(['weight']);
    l.bias = new nn.Parameter(zeros([2]));
    expect(Object.keys(l.stateDict())).toEqual(['weight', 'bias']);
    expect(l.toString()).toBe('Linear(in_features=3, out_features=2, bias=True)');
  });

  it('shared modules and tied weights are listed once by parameters() but kept under every key by stateDict(), as torch', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(2, 2);
      b = this.a;
      emb = new nn.Embedding(3, 2);
      head = new nn.Linear(2, 3, { bias: false });
      constructor() {
        super();
        this.head.weight = this.emb.weight;
      }
      forward(x: Tensor): Tensor { return x; }
    }
    const t = new Tied();
    expect(Object.keys(t.stateDict())).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias', 'emb.weight', 'head.weight']);
    expect([...t.namedParameters()].map(([k]) => k)).toEqual(['a.weight', 'a.bias', 'emb.weight']);
    expect([...t.namedModules()].map(([k]) => k)).toEqual(['', 'a', 'emb', 'head']);
    expect([...t.namedChildren()].map(([k]) => k)).toEqual(['a', 'emb', 'head']);
    expect(t.numParameters()).toBe(12);
    expect(t.toString()).toContain('(b): Linear(in_features=2, out_features=2, bias=True)');
  });

  it('reassigning a buffer property replaces the buffer', () => {
    const bn = new nn.BatchNorm1d(3);
    const fresh = full3(7);
    bn.running_mean = fresh;
    expect(bn.runningMean).toBe(fresh);
    expect(Array.from(bn.stateDict().running_mean.toArray())).toEqual([7, 7, 7]);
  });

  it('registerParameter / registerModule / getSubmodule / apply', () => {
    class M extends nn.Module {
      forward(x: Tensor): Tensor { return x; }
    }
    const m = new M();
    m.registerParameter('w', new nn.Parameter(ones([2])));
    m.registerModule('inner', new nn.Sequential(new nn.Linear(2, 2), new nn.Tanh()));
    expect(Object.keys(m.stateDict())).toEqual(['w', 'inner.0.weight', 'inner.0.bias']);
    expect(m.getSubmodule('inner.1')).toBeInstanceOf(nn.Tanh);
    expect(m.getSubmodule('')).toBe(m);
    expect(() => m.getSubmodule('inner.5')).toThrow(/has no attribute `5` that is a Module \(path 'inner.5'\)/);
    const order: string[] = [];
    m.apply((mod) => order.push(mod.constructor.name));
    expect(order).toEqual(['Linear', 'Tanh', 'Sequential', 'M']);
  });

  it('Parameter shares storage, requires grad, and prints like torch', () => {
    const t = tensor([1, 2]);
    const p = new nn.Parameter(t);
    expect(p.data).toBe(t.data);
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    expect(new nn.Parameter(t, false).requiresGrad).toBe(false);
    expect(p.toString().startsWith('Parameter containing:\ntensor([1., 2.]')).toBe(true);
    expect(nn.isParameter(p)).toBe(true);
    expect(nn.isParameter(t)).toBe(false);
  });
});

function full3(v: number): Tensor {
  return tensor([v, v, v]);
}

describe('modes and gradients', () => {
  it('train(false) / eval() / train() reach every submodule', () => {
    const net = new Net();
    expect([...net.modules()].every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect([...net.modules()].every((m) => !m.training)).toBe(true);
    net.train();
    expect([...net.modules()].every((m) => m.training)).toBe(true);
    net.train(false);
    expect(net.seq.at(2).training).toBe(false);
    expect(() => net.train('yes' as never)).toThrow(/training mode is expected to be boolean/);
  });

  it('zeroGrad sets gradients to null (torch set_to_none) or zeroes them in place', () => {
    const l = new nn.Linear(3, 2);
    l.forward(randn([4, 3])).sum().backward();
    const g = l.weight.grad!;
    expect(g.abs().sum().item()).toBeGreaterThan(0);
    l.zeroGrad(false);
    expect(l.weight.grad).toBe(g);
    expect(g.abs().sum().item()).toBe(0);
    l.zeroGrad();
    expect(l.weight.grad).toBeNull();
    expect(l.bias!.grad).toBeNull();
  });

  it('requiresGrad_(false) freezes every parameter; numParameters can count only trainable ones', () => {
    const net = new nn.Sequential(new nn.Linear(3, 4), new nn.Linear(4, 1));
    (net.at(0) as nn.Module).requiresGrad_(false);
    expect(net.numParameters()).toBe(16 + 5);
    expect(net.numParameters({ onlyTrainable: true })).toBe(5);
    const y = net.forward(randn([2, 3])).sum();
    y.backward();
    expect((net.at(0) as nn.Linear).weight.grad).toBeNull();
    expect((net.at(1) as nn.Linear).weight.grad).not.toBeNull();
  });

  it('double() converts parameters and buffers, keeps ties, and the model runs in float64', () => {
    class Tied extends nn.Module {
      emb = new nn.Embedding(4, 3);
      bn = new nn.BatchNorm1d(3);
      head = new nn.Linear(3, 4, { bias: false });
      constructor() { super(); this.head.weight = this.emb.weight; }
      forward(ix: Tensor): Tensor { return this.head.forward(this.bn.forward(this.emb.forward(ix))); }
    }
    manualSeed(0);
    const m = new Tied();
    const before = Array.from(m.emb.weight.toArray());
    m.double();
    expect(m.emb.weight.dtype).toBe('float64');
    expect(m.head.weight).toBe(m.emb.weight);
    expect(m.bn.runningMean!.dtype).toBe('float64');
    expect(m.bn.numBatchesTracked!.dtype).toBe('int32');
    expect(Array.from(m.emb.weight.toArray())).toEqual(before);
    const y = m.forward(tensor([0, 1, 2, 3], { dtype: 'int32' }));
    expect(y.dtype).toBe('float64');
    expect(m.parameters().length).toBe(3);
  });
});

describe('stateDict and loadStateDict', () => {
  const build = () => new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3));

  it('round trip: a fresh model loads the state in place and gives the same outputs', () => {
    manualSeed(1);
    const a = build();
    a.forward(randn([8, 4])); // moves the running statistics
    a.eval();
    manualSeed(2);
    const b = build().eval();
    const x = randn([5, 4]);
    expect(Array.from(b.forward(x).toArray())).not.toEqual(Array.from(a.forward(x).toArray()));
    const w = (b.at(0) as nn.Linear).weight;
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect((b.at(0) as nn.Linear).weight).toBe(w); // copied into, not replaced
    expect(Array.from(b.forward(x).toArray())).toEqual(Array.from(a.forward(x).toArray()));
    expect((b.at(1) as nn.BatchNorm1d).numBatchesTracked!.item()).toBe(1);
  });

  it('stateDict values are detached views of the live tensors', () => {
    const l = new nn.Linear(2, 2);
    const sd = l.stateDict();
    expect(sd.weight.requiresGrad).toBe(false);
    expect(sd.weight.data).toBe(l.weight.data);
    expect(l.stateDict({ keepVars: true }).weight).toBe(l.weight);
    expect(Object.keys(l.stateDict({ prefix: 'enc.' }))).toEqual(['enc.weight', 'enc.bias']);
  });

  // The fixture holds torch's messages for the same broken dicts; torch prints shapes as
  // torch.Size([4, 3]), ferrograd as [4, 3].
  const norm = (s: string) => s.replace(/torch\.Size\((\[[^\]]*\])\)/g, '$1');
  const cases: Record<string, (sd: Record<string, Tensor>) => Record<string, Tensor>> = {
    'missing 0.bias': (sd) => { const d = { ...sd }; delete d['0.bias']; return d; },
    'unexpected extra': (sd) => ({ ...sd, extra: zeros([1]), '2.weight': zeros([2]) }),
    'size mismatch 0.weight': (sd) => ({ ...sd, '0.weight': zeros([4, 3]) }),
    'all three': (sd) => {
      const d: Record<string, Tensor> = { ...sd, '0.weight': zeros([4, 3]), '1.weight': zeros([1, 3]), foo: zeros([1]) };
      delete d['0.bias'];
      delete d['1.running_mean'];
      return d;
    },
  };
  for (const [name, make] of Object.entries(cases)) {
    it(`error message as torch: ${name}`, () => {
      const want = FIX.loadErrors[name];
      const m = build();
      const d = make(m.stateDict());
      expect(() => m.loadStateDict(d)).toThrow(norm(want.strict));
      try {
        m.loadStateDict(d);
      } catch (e) {
        expect((e as Error).message).toBe(norm(want.strict));
      }
      if (want.nonStrict.error) {
        expect(() => m.loadStateDict(d, { strict: false })).toThrow(norm(want.nonStrict.error));
      } else {
        expect(m.loadStateDict(d, { strict: false })).toEqual({ missingKeys: want.nonStrict.missing, unexpectedKeys: want.nonStrict.unexpected });
      }
    });
  }

  it('a state dict without num_batches_tracked loads, as torch does for a plain dict', () => {
    const m = build();
    const d = m.stateDict();
    delete d['1.num_batches_tracked'];
    expect(m.loadStateDict(d)).toEqual({ missingKeys: FIX.loadErrors['without num_batches_tracked'].missing, unexpectedKeys: [] });
  });

  it('a refused load changes nothing', () => {
    const m = build();
    const before = Array.from((m.at(0) as nn.Linear).weight.toArray());
    const d = m.stateDict();
    const replacement = { ...d, '0.weight': ones([3, 4]), '1.bias': zeros([7]) };
    expect(() => m.loadStateDict(replacement)).toThrow(/size mismatch for 1.bias/);
    expect(Array.from((m.at(0) as nn.Linear).weight.toArray())).toEqual(before);
  });

  it('float64 values load into float32 parameters; floats never load into the int32 counter', () => {
    const m = build();
    const d = m.stateDict();
    const w64 = randn([3, 4], { dtype: 'float64' });
    m.loadStateDict({ ...d, '0.weight': w64 });
    expect((m.at(0) as nn.Linear).weight.dtype).toBe('float32');
    expect(Array.from((m.at(0) as nn.Linear).weight.toArray())).toEqual(Array.from(w64.float().toArray()));
    expect(() => m.loadStateDict({ ...d, '1.num_batches_tracked': tensor(3) })).toThrow(
      'dtype mismatch for 1.num_batches_tracked: copying a float32 tensor from checkpoint, the dtype in current model is int32.',
    );
  });

  it('bad arguments', () => {
    const m = build();
    expect(() => m.loadStateDict(null as never)).toThrow(/expected a plain object of tensors/);
    expect(() => m.loadStateDict({ ...m.stateDict(), '0.bias': [1, 2, 3] as never })).toThrow(
      /While copying the parameter named "0.bias", expected a Tensor from checkpoint but received Array/,
    );
  });
});

describe('containers', () => {
  it('Sequential: indexing, length, iteration, append, named children', () => {
    const a = new nn.Linear(2, 3);
    const b = new nn.Tanh();
    const s = new nn.Sequential(a, b);
    expect(s.length).toBe(2);
    expect(s.at(0)).toBe(a);
    expect(s.at(-1)).toBe(b);
    expect([...s]).toEqual([a, b]);
    s.append(new nn.Linear(3, 1));
    expect(Object.keys(s.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(s.forward(randn([5, 2])).shape).toEqual([5, 1]);
    expect(() => s.at(3)).toThrow(/Sequential.at: index 3 is out of range for 3 modules/);
    const named = new nn.Sequential({ fc: new nn.Linear(2, 2), act: new nn.ReLU() });
    expect(Object.keys(named.stateDict())).toEqual(['fc.weight', 'fc.bias']);
    expect(named.toString()).toContain('(act): ReLU()');
  });

  it('the same module twice in a Sequential runs twice (torch iterates its entries)', () => {
    const l = new nn.Linear(2, 2);
    const s = new nn.Sequential(l, l);
    const x = randn([3, 2]);
    expect(Array.from(s.forward(x).toArray())).toEqual(Array.from(l.forward(l.forward(x)).toArray()));
    expect(s.parameters().length).toBe(2);
  });

  it('ModuleList: append, extend, insert, iteration; it has no forward', () => {
    const l = new nn.ModuleList([new nn.Linear(1, 1)]);
    l.extend([new nn.Tanh(), new nn.ReLU()]);
    l.insert(1, new nn.Sigmoid());
    expect([...l].map((m) => m.constructor.name)).toEqual(['Linear', 'Sigmoid', 'Tanh', 'ReLU']);
    expect([...l.namedChildren()].map(([k]) => k)).toEqual(['0', '1', '2', '3']);
    expect(l.length).toBe(4);
    expect(() => l.forward()).toThrow(/ModuleList has no forward/);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['Sequential of a non-module', () => new nn.Sequential(new nn.Linear(1, 1), 3 as never), /Sequential: argument 1 is not a Module \(got number\)/],
    ['ModuleList of a tensor', () => new nn.ModuleList([zeros([1]) as never]), /ModuleList.append: argument 0 is not a Module \(got Tensor\)/],
    ['registerBuffer of a number', () => new nn.Linear(1, 1).registerBuffer('x', 3 as never), /cannot assign a number as buffer 'x'/],
    ['registerBuffer over an attribute', () => new nn.Linear(1, 1).registerBuffer('weight', zeros([1])), /attribute 'weight' already exists/],
    ['registerParameter of a plain tensor', () => new nn.Linear(1, 1).registerParameter('p', zeros([1]) as never), /cannot assign a Tensor of shape \[1\] as parameter 'p' \(nn.Parameter or null expected\)/],
    ['dotted name', () => new nn.Linear(1, 1).registerModule('a.b', new nn.Tanh()), /name must be a non-empty string without '.'/],
  ];
  for (const [name, fn, msg] of bad) it(`error: ${name}`, () => expect(fn).toThrow(msg));
});
