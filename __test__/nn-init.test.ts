// Default initialisation and nn.init against PyTorch 2.15 (fixture written by
// scripts/fixtures/torch_init.py). Uniform draws must match bit for bit. Normal draws are compared
// within 2e-6: PyTorch's vectorised (AVX-512/AVX2) normal kernel for tensors of 16+ elements rounds
// its log/sin/cos differently from the scalar recipe ferrograd reproduces (the one the lectures'
// printed numbers come from); the words consumed from the generator are the same, so every later
// draw stays aligned (checked below by uniform draws made after normal ones).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, manualSeed, nn, rand, tensor, zeros } from '../index.js';

interface Enc { shape: number[]; dtype: string; b64: string }
const FIX = JSON.parse(readFileSync(new URL('./fixtures/torch_init.json', import.meta.url), 'utf8'));

function dec(e: Enc): Tensor {
  const buf = Buffer.from(e.b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const arr = e.dtype === 'float64' ? new Float64Array(ab) : new Float32Array(ab);
  return tensor(arr, { shape: e.shape });
}

/** Bit-for-bit equality of two tensors' values (reports the first difference). */
function expectBits(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.shape, what).toEqual(expected.shape);
  expect(actual.dtype, what).toBe(expected.dtype);
  const a = actual.toArray();
  const b = expected.toArray();
  let firstBad = -1;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) { firstBad = i; break; }
  expect(firstBad, `${what}: element ${firstBad} is ${a[firstBad]}, torch has ${b[firstBad]}`).toBe(-1);
}

function maxAbsDiff(actual: Tensor, expected: Tensor): number {
  const a = actual.toArray();
  const b = expected.toArray();
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function stateOf(m: nn.Module): Record<string, Tensor> {
  const sd = m.stateDict();
  // num_batches_tracked is int32 here (int64 in torch); the fixture stores it as float.
  for (const k of Object.keys(sd)) if (sd[k].dtype === 'int32') sd[k] = sd[k].float();
  return sd;
}

const UNIFORM_KEYS = /(^|\.)(weight|bias)$/;

describe('default initialisation matches torch after manual_seed', () => {
  const builders: Record<string, () => nn.Module> = {
    'Linear(30, 200)': () => new nn.Linear(30, 200),
    'Linear(3, 7) seed 2147483647': () => new nn.Linear(3, 7),
    'Linear(3, 4, bias=False)': () => new nn.Linear(3, 4, { bias: false }),
    'Conv1d(4, 6, 2)': () => new nn.Conv1d(4, 6, 2),
    'Embedding(27, 10)': () => new nn.Embedding(27, 10),
    'Embedding(5, 3, padding_idx=1)': () => new nn.Embedding(5, 3, { paddingIdx: 1 }),
    'LayerNorm(8)': () => new nn.LayerNorm(8),
    'BatchNorm1d(5)': () => new nn.BatchNorm1d(5),
    Sequential: () => new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 3), new nn.BatchNorm1d(3)),
    'Linear(6, 5, float64)': () => new nn.Linear(6, 5, { dtype: 'float64' }),
  };
  for (const [name, build] of Object.entries(builders)) {
    it(name, () => {
      const c = FIX.defaults[name];
      expect(c, `fixture case ${name}`).toBeDefined();
      manualSeed(c.seed);
      const m = build();
      const sd = stateOf(m);
      expect(Object.keys(sd)).toEqual(c.keys);
      expect(m.toString()).toBe(c.repr);
      const normal = name.startsWith('Embedding');
      for (const key of c.keys) {
        const want = dec(c.state[key]);
        if (normal && key === 'weight') {
          expect(sd[key].shape).toEqual(want.shape);
          expect(maxAbsDiff(sd[key], want), `${name} ${key}`).toBeLessThan(2e-6);
        } else {
          if (!UNIFORM_KEYS.test(key)) expect(want.numel()).toBeGreaterThan(0);
          expectBits(sd[key], want, `${name} ${key}`);
        }
      }
    });
  }

  it('the padding row of Embedding is zero and the draws around it are torch\'s', () => {
    const c = FIX.defaults['Embedding(5, 3, padding_idx=1)'];
    manualSeed(c.seed);
    const e = new nn.Embedding(5, 3, { paddingIdx: 1 });
    expect(Array.from(e.weight.select(0, 1).toArray())).toEqual([0, 0, 0]);
    // 15 elements < 16: torch's scalar normal path, which ferrograd reproduces exactly.
    expectBits(e.weight.detach(), dec(c.state.weight), 'Embedding(5, 3) weight');
  });

  it('an explicit generator gives the same numbers as the global one with the same seed', () => {
    manualSeed(42);
    const a = new nn.Linear(30, 200);
    const g = new Generator().manualSeed(42);
    manualSeed(999);
    const before = rand([3]);
    manualSeed(999);
    const b = new nn.Linear(30, 200, { generator: g });
    expectBits(b.weight.detach(), a.weight.detach(), 'weight');
    expectBits(b.bias!.detach(), a.bias!.detach(), 'bias');
    // The global stream was not touched by a module built on its own generator.
    expectBits(rand([3]), before, 'global stream');
  });
});

describe('nn.init functions match torch.nn.init', () => {
  it('a sequence of init calls from one seed (uniform bits exact, normal within 2e-6)', () => {
    const I = FIX.init;
    manualSeed(5);
    const checks: [string, Tensor, 'bits' | 'normal'][] = [];
    const a = zeros([5, 7]); nn.init.uniform_(a, -2, 3); checks.push(['uniform_(5x7, -2, 3)', a, 'bits']);
    const b = zeros([4, 5]); nn.init.normal_(b, 1, 0.5); checks.push(['normal_(4x5, 1, 0.5)', b, 'normal']);
    const c = zeros([3, 4]); nn.init.normal_(c); checks.push(['normal_(3x4)', c, 'bits']);
    const d = zeros([16, 9]); nn.init.kaimingUniform_(d, { mode: 'fan_out', nonlinearity: 'relu' });
    checks.push(['kaiming_uniform_(16x9, fan_out, relu)', d, 'bits']);
    const e = zeros([16, 9]); nn.init.kaimingNormal_(e, { a: 0.2, nonlinearity: 'leaky_relu' });
    checks.push(['kaiming_normal_(16x9, a=0.2)', e, 'normal']);
    const f = zeros([10, 20]); nn.init.xavierUniform_(f, { gain: nn.init.calculateGain('tanh') });
    checks.push(['xavier_uniform_(10x20, tanh gain)', f, 'bits']);
    const g = zeros([10, 20]); nn.init.xavierNormal_(g); checks.push(['xavier_normal_(10x20)', g, 'normal']);
    const h = zeros([6, 3, 4]); nn.init.kaimingUniform_(h, { a: Math.sqrt(5) }); checks.push(['kaiming_uniform_(6x3x4, a=sqrt5)', h, 'bits']);
    const i = zeros([5, 7], { dtype: 'float64' }); nn.init.uniform_(i, -1, 1); checks.push(['uniform_(5x7 float64, -1, 1)', i, 'bits']);
    const j = zeros([4, 5]); nn.init.constant_(j, 0.3); checks.push(['constant_(4x5, 0.3)', j, 'bits']);
    const k = zeros([3, 5]); nn.init.uniform_(k, 0, 1, { generator: new Generator().manualSeed(7) });
    checks.push(['uniform_(3x5) generator 7', k, 'bits']);
    checks.push(['global rand(3) after all', rand([3]), 'bits']);
    for (const [name, t, how] of checks) {
      const want = dec(I[name]);
      if (how === 'bits') expectBits(t, want, name);
      else {
        expect(t.shape).toEqual(want.shape);
        expect(maxAbsDiff(t, want), name).toBeLessThan(2e-6);
      }
    }
  });

  it('calculateGain gives torch\'s gains', () => {
    for (const [name, want] of Object.entries(FIX.gains as Record<string, number>)) {
      const [nl, param] = name.split(' ');
      const got = nn.init.calculateGain(nl as nn.init.Nonlinearity, param === undefined ? undefined : Number(param));
      expect(got, name).toBe(want);
    }
  });

  it('init writes in place and works on strided views', () => {
    const t = zeros([4, 6]);
    const view = t.slice(1, 0, 6, 2); // every other column
    const returned = nn.init.ones_(view);
    expect(returned).toBe(view);
    expect(t.sum().item()).toBe(12);
    manualSeed(3);
    nn.init.uniform_(view, 5, 6);
    const vals = Array.from(t.toArray());
    for (let r = 0; r < 4; r++) for (let cIdx = 0; cIdx < 6; cIdx++) {
      const v = vals[r * 6 + cIdx];
      if (cIdx % 2 === 0) expect(v >= 5 && v < 6).toBe(true);
      else expect(v).toBe(0);
    }
    // The same draws as a contiguous fill from the same seed.
    manualSeed(3);
    const dense = zeros([4, 3]);
    nn.init.uniform_(dense, 5, 6);
    expect(Array.from(view.contiguous().toArray())).toEqual(Array.from(dense.toArray()));
  });

  it('init works on parameters that require grad (under noGrad) and refuses stale graphs', () => {
    const p = new nn.Parameter(zeros([3, 3]));
    const y = p.mul(p).sum();
    nn.init.normal_(p);
    expect(() => y.backward()).toThrow(/modified by an inplace operation/);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['kaiming on a 1-D tensor', () => nn.init.kaimingUniform_(zeros([5])), /fan in and fan out can not be computed for tensor with fewer than 2 dimensions \(got \[5\]\)/],
    ['xavier on a 1-D tensor', () => nn.init.xavierNormal_(zeros([5])), /fewer than 2 dimensions/],
    ['bad mode', () => nn.init.kaimingNormal_(zeros([2, 2]), { mode: 'fan_avg' as never }), /mode fan_avg not supported/],
    ['bad nonlinearity', () => nn.init.calculateGain('swish' as never), /unsupported nonlinearity swish/],
    ['int tensor', () => nn.init.uniform_(tensor([1, 2], { dtype: 'int32' })), /uniform_: expected a floating point tensor, got dtype int32/],
    ['low > high', () => nn.init.uniform_(zeros([2]), 1, 0), /expects low <= high/],
    ['negative std', () => nn.init.normal_(zeros([2]), 0, -1), /std >= 0/],
    ['bad generator', () => nn.init.uniform_(zeros([2]), 0, 1, { generator: {} as never }), /generator must be a Generator/],
  ];
  for (const [name, fn, msg] of bad) it(`error: ${name}`, () => expect(fn).toThrow(msg));
});
