// Every op at the tensor level, run on the same float32 inputs under the native backend (Rust, f32)
// and the reference backend (TypeScript loops that accumulate in f64 and round on store), forward
// and backward. This catches what the kernel conformance suite cannot: the tensor layer's wiring of
// strides, transpose flags, batch strides, broadcasting and the backward passes on each backend.
// Then the fused ops against their composed twins (crossEntropy, batchNorm, conv1d).
//
// Tolerances follow from float32 arithmetic, not from observed results (u = 2^-24):
//   - data movement and selection (views, copies, gathers, cat, max/min, comparisons): exact;
//   - one rounded operation per element (plus a few ulp for SIMD exp/log/tanh): rtol 1e-5;
//   - a sum of k terms: additionally 2·k·u·Σ|terms|, the worst case for float32 summation in any
//     order. Σ|terms| ("magnitude") is computed by running the same multilinear op on |inputs|
//     and |probe| in float64, which turns every sum into a sum of absolute values;
//   - ops with internal reductions that are not multilinear (softmax, cross-entropy, batch norm,
//     variance): relative to the tensor's scale, 1e-5 + 4·k·u with k the reduction length;
//   - integer-valued inputs whose sums are exact in float32 must match bit for bit, which catches a
//     dropped or doubled term that a tolerance could hide.
// Shapes: the innermost (SIMD) dimension runs over 0, 1 and the SIMD-width edges, outer dims are
// random, and each op has one large case (large enough to take the threaded paths).
import { describe, expect, it } from 'vitest';
import { F, Tensor, arange, cat, noGrad, stack, tensor, zeros } from '../index.js';
import { getBackend, withBackend, type BackendName } from '../src/backend/index.js';
import { nativeAvailable, nativeBackend } from '../src/backend/native.js';

const U = 2 ** -24;
const SIZES = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];
const NONZERO = SIZES.filter((s) => s > 0);

describe('the two backends are the two implementations', () => {
  it('native is the Rust addon and reference the TypeScript loops (the addon must be built)', () => {
    expect(nativeAvailable(), 'native/ferrograd.node does not load: run `npm run build:native`').toBe(true);
    expect(withBackend('native', () => getBackend())).toBe(nativeBackend);
    expect(withBackend('reference', () => getBackend().name)).toBe('reference');
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded data.

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
}

function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** How an input is filled: standard normal, positive (|normal| + 0.5), small integers in [-4, 4]
 *  (sums exact in float32), or int32 class ids in [0, ids). */
type Kind = 'normal' | 'positive' | 'ints' | 'special' | { ids: number };

interface Spec {
  shape: number[];
  kind?: Kind;
  grad?: boolean;
}

const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function fill(rng: Rng, spec: Spec): Float32Array | Int32Array {
  const n = numel(spec.shape);
  const kind = spec.kind ?? 'normal';
  if (typeof kind === 'object') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = rng.int(0, kind.ids);
    return out;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'ints') out[i] = rng.int(-4, 5);
    else if (kind === 'special') {
      // Mostly normal values with NaN, ±Infinity and -0 sprinkled in (about one in eight).
      const r = rng.next();
      out[i] = r < 0.03 ? NaN : r < 0.06 ? Infinity : r < 0.09 ? -Infinity : r < 0.12 ? -0 : rng.normal();
    }
    else if (kind === 'positive') out[i] = Math.abs(rng.normal()) + 0.5;
    else out[i] = rng.normal();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running one case on a backend.

interface Outcome {
  outs: { shape: number[]; dtype: string; data: Float64Array }[];
  grads: ({ shape: number[]; data: Float64Array } | null)[];
}

type OpFn = (...xs: Tensor[]) => Tensor | Tensor[];

const asF64 = (t: Tensor): Float64Array => Float64Array.from(t.contiguous().toArray() as ArrayLike<number>);

/** Builds the inputs from `data` (copied, so that runs never share storage), runs fn, and
 *  backpropagates `probe` from the first output when it requires grad. With `abs`, inputs and probe
 *  are replaced by their absolute values in float64: the magnitude pass. */
function runCase(be: BackendName, specs: Spec[], data: (Float32Array | Int32Array)[], probeFor: (n: number) => Float32Array, fn: OpFn, abs = false): Outcome {
  return withBackend(be, () => {
    const xs = specs.map((s, i) => {
      const d = data[i];
      if (d instanceof Int32Array) return tensor(d.slice(), { shape: s.shape });
      const t = abs ? tensor(Float64Array.from(d, Math.abs), { shape: s.shape }) : tensor(d.slice(), { shape: s.shape });
      return s.grad === false ? t : t.requiresGrad_();
    });
    const res = fn(...xs);
    const outs = Array.isArray(res) ? res : [res];
    const first = outs[0];
    if (first.requiresGrad) {
      const p = probeFor(first.numel());
      const probe = tensor(abs ? Float64Array.from(p, Math.abs) : p.slice(), { shape: [...first.shape] }).to(first.dtype);
      first.backward(probe);
    }
    return {
      outs: outs.map((o) => ({ shape: [...o.shape], dtype: o.dtype, data: asF64(o) })),
      grads: xs.map((x) => (x.grad ? { shape: [...x.grad.shape], data: asF64(x.grad) } : null)),
    };
  });
}

/** Tolerance for element i of a tensor: `exact`, or rtol·|ref| + atol·scale + 2·k·u·mag. */
type Tol =
  | { exact: true }
  | { rtol?: number; atol?: number; k?: number; abs?: number };

function compareArrays(what: string, got: Float64Array, ref: Float64Array, tol: Tol, mag: Float64Array | null): void {
  expect(got.length, `${what}: length`).toBe(ref.length);
  let scale = 0;
  for (const v of ref) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  scale = Math.max(scale, 1e-30);
  for (let i = 0; i < ref.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (Number.isNaN(r) || Number.isNaN(g)) {
      if (!(Number.isNaN(r) && Number.isNaN(g))) throw new Error(`${what}[${i}]: native ${g}, reference ${r}`);
      continue;
    }
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (g !== r) throw new Error(`${what}[${i}]: native ${g}, reference ${r}`);
      continue;
    }
    if ('exact' in tol) {
      // Exact includes the sign of zero (-0 and +0 differ under 1/x, sign, atan2).
      const show = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
      if (!Object.is(g, r)) throw new Error(`${what}[${i}]: native ${show(g)} !== reference ${show(r)} (exact match required)`);
      continue;
    }
    const bound = (tol.rtol ?? 1e-5) * Math.abs(r) + (tol.atol ?? 1e-6) * scale + 2 * (tol.k ?? 0) * U * (mag ? Math.abs(mag[i]) : scale) + (tol.abs ?? 0);
    if (!(Math.abs(g - r) <= bound)) {
      throw new Error(`${what}[${i}]: native ${g}, reference ${r}, |diff| ${Math.abs(g - r)} > bound ${bound}`);
    }
  }
}

interface CaseOpts {
  /** Tolerance of the outputs and of the gradients (defaults to the outputs'). */
  tol: Tol;
  gradTol?: Tol;
  /** The op is multilinear in its float inputs, so running it on |inputs| gives Σ|terms|. */
  linear?: boolean;
}

function check(name: string, specs: Spec[], fn: OpFn, opts: CaseOpts): void {
  const rng = new Rng(seedOf(name));
  const data = specs.map((s) => fill(rng, s));
  // One probe per possible output shape is generated lazily from the first output's size.
  // With integer-valued inputs the probe is integer-valued too, so that gradients stay exact.
  const intsOnly = specs.every((s) => s.kind === 'ints' || typeof s.kind === 'object');
  // The probe depends only on the case and the output size, so every run gets the same one.
  const probeFor = (n: number): Float32Array => {
    const p = new Float32Array(n);
    const r = new Rng(seedOf(name) ^ 0x5bd1e995);
    for (let i = 0; i < n; i++) p[i] = intsOnly ? r.int(-4, 5) : r.normal();
    return p;
  };
  const nat = runCase('native', specs, data, probeFor, fn);
  const ref = runCase('reference', specs, data, probeFor, fn);
  const mag = opts.linear ? runCase('reference', specs, data, probeFor, fn, true) : null;
  expect(nat.outs.length).toBe(ref.outs.length);
  nat.outs.forEach((o, j) => {
    expect(o.shape, `${name}: output ${j} shape`).toEqual(ref.outs[j].shape);
    expect(o.dtype, `${name}: output ${j} dtype`).toBe(ref.outs[j].dtype);
    const tol = o.dtype === 'int32' ? ({ exact: true } as Tol) : opts.tol;
    compareArrays(`${name}: output ${j}`, o.data, ref.outs[j].data, tol, mag ? mag.outs[j].data : null);
  });
  nat.grads.forEach((g, j) => {
    const r = ref.grads[j];
    if (r === null || g === null) {
      expect(g === null, `${name}: grad ${j} present on one backend only`).toBe(r === null);
      return;
    }
    expect(g.shape).toEqual(r.shape);
    compareArrays(`${name}: grad of input ${j}`, g.data, r.data, opts.gradTol ?? opts.tol, mag ? mag.grads[j]!.data : null);
  });
}

function cases(title: string, list: [string, () => void][]): void {
  describe(title, () => {
    // Large cases get a generous guard against a hang on a loaded machine (not a speed check).
    for (const [name, body] of list) it(name, { timeout: name.startsWith('large') ? 600_000 : 60_000 }, body);
  });
}

/** Random small outer dims for size n, reproducible per (op, n). */
function dims(op: string, n: number, count: number, lo = 1, hi = 6): number[] {
  const r = new Rng(seedOf(`${op}/${n}`));
  return Array.from({ length: count }, () => r.int(lo, hi + 1));
}

// ---------------------------------------------------------------------------------------------
// Elementwise.

const ELEMENTWISE_TOL: Tol = { rtol: 1e-5, atol: 1e-6 };

const UNARY: [string, (x: Tensor) => Tensor, Kind][] = [
  ['neg', (x) => x.neg(), 'normal'],
  ['exp', (x) => x.exp(), 'normal'],
  ['log', (x) => x.log(), 'positive'],
  ['tanh', (x) => x.tanh(), 'normal'],
  ['relu', (x) => x.relu(), 'normal'],
  ['sqrt', (x) => x.sqrt(), 'positive'],
  ['abs', (x) => x.abs(), 'normal'],
  ['sigmoid', (x) => x.sigmoid(), 'normal'],
  ['square', (x) => x.square(), 'normal'],
  ['sign', (x) => x.sign(), 'normal'],
  ['pow 2', (x) => x.pow(2), 'normal'],
  ['pow -0.5', (x) => x.pow(-0.5), 'positive'],
  ['pow 3 via tensor chain (x * x * x)', (x) => x.mul(x).mul(x), 'normal'],
  ['clamp', (x) => x.clamp(-0.5, 0.7), 'normal'],
  ['scalar operands', (x) => x.mul(-3).add(2.5).sub(1).div(4).rsub(1).rdiv(3), 'positive'],
];

for (const [op, f, kind] of UNARY) {
  const list: [string, () => void][] = SIZES.map((n) => {
    const [a, b] = dims(op, n, 2);
    return [`[${a}, ${b}, ${n}]`, () => check(`${op} ${n}`, [{ shape: [a, b, n], kind }], f, { tol: ELEMENTWISE_TOL })];
  });
  list.push([`large [1024, 257] on a transposed view`, () => check(`${op} large`, [{ shape: [1024, 257], kind }], (x) => f(x.T), { tol: ELEMENTWISE_TOL })]);
  cases(`unary ${op}`, list);
}

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, Kind, Kind][] = [
  ['add', (a, b) => a.add(b), 'normal', 'normal'],
  ['add alpha', (a, b) => a.add(b, -0.75), 'normal', 'normal'],
  ['sub', (a, b) => a.sub(b), 'normal', 'normal'],
  ['mul', (a, b) => a.mul(b), 'normal', 'normal'],
  ['div', (a, b) => a.div(b), 'normal', 'positive'],
  ['pow', (a, b) => a.pow(b), 'positive', 'normal'],
  ['maximum', (a, b) => a.maximum(b), 'normal', 'normal'],
  ['minimum', (a, b) => a.minimum(b), 'normal', 'normal'],
];

const COMPARE: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['gt', (a, b) => a.gt(b)],
  ['le', (a, b) => a.le(b)],
  ['eq', (a, b) => a.eq(b)],
];

for (const [op, f, ka, kb] of BINARY) {
  const list: [string, () => void][] = [];
  for (const n of SIZES) {
    const [a, b] = dims(op, n, 2);
    // The gradient of a broadcast operand sums over the broadcast dims (k terms).
    list.push([`[${a}, ${n}] op [${n}]`, () => check(`${op} row ${n}`, [{ shape: [a, n], kind: ka }, { shape: [n], kind: kb }], f, { tol: ELEMENTWISE_TOL, gradTol: { rtol: 1e-5, atol: 1e-6, k: a } })]);
    list.push([`[${a}, 1, ${n}] op [${b}, ${n}]`, () => check(`${op} outer ${n}`, [{ shape: [a, 1, n], kind: ka }, { shape: [b, n], kind: kb }], f, { tol: ELEMENTWISE_TOL, gradTol: { rtol: 1e-5, atol: 1e-6, k: Math.max(a, b) } })]);
    list.push([`[${n}, ${a}]ᵀ op [${a}, 1]`, () => check(`${op} strided ${n}`, [{ shape: [n, a], kind: ka }, { shape: [a, 1], kind: kb }], (x, y) => f(x.T, y), { tol: ELEMENTWISE_TOL, gradTol: { rtol: 1e-5, atol: 1e-6, k: n } })]);
  }
  list.push(['large [64, 1, 513] op [48, 513]', () => check(`${op} large`, [{ shape: [64, 1, 513], kind: ka }, { shape: [48, 513], kind: kb }], f, { tol: ELEMENTWISE_TOL, gradTol: { rtol: 1e-5, atol: 1e-6, k: 64 } })]);
  cases(`binary ${op} with broadcasting`, list);
}

for (const [op, f] of COMPARE) {
  const list: [string, () => void][] = SIZES.map((n) => {
    const [a] = dims(op, n, 1);
    // Integer data makes ties (eq/le) actually happen.
    return [`[${a}, ${n}] vs [${n}]`, () => check(`${op} ${n}`, [{ shape: [a, n], kind: 'ints', grad: false }, { shape: [n], kind: 'ints', grad: false }], f, { tol: { exact: true } })];
  });
  list.push(['large [2048, 513] vs [513]', () => check(`${op} large`, [{ shape: [2048, 513], kind: 'ints', grad: false }, { shape: [513], kind: 'ints', grad: false }], f, { tol: { exact: true } })]);
  cases(`comparison ${op}`, list);
}

cases('in-place updates (optimizer steps) on views', [
  ...NONZERO.map((n): [string, () => void] => [
    `p.sub_(g, lr) / mul_ / add_ broadcast on [${n}, 5] and its transpose`,
    () =>
      check(`inplace ${n}`, [{ shape: [n, 5], grad: false }, { shape: [n, 5], grad: false }, { shape: [5], grad: false }], (p, g, b) => {
        p.sub_(g, 0.1);
        p.T.mul_(1.5);
        p.add_(b);
        p.T.select(0, 1).fill_(2);
        return p;
      }, { tol: ELEMENTWISE_TOL }),
  ]),
  ['large axpy [1 << 20]', () => check('inplace large', [{ shape: [1 << 20], grad: false }, { shape: [1 << 20], grad: false }], (p, g) => p.sub_(g, 0.01), { tol: ELEMENTWISE_TOL })],
]);

// NaN, ±Infinity and -0 must come out the same on both backends (PyTorch propagates NaN through
// max/min/maximum/relu/clamp and sums; a SIMD max that drops NaN would be a silent wrong answer).
{
  const SPECIAL: [string, (x: Tensor, y: Tensor) => Tensor | Tensor[]][] = [
    ['exp, tanh, sigmoid, abs, sign, relu, sqrt', (x) => [x.exp(), x.tanh(), x.sigmoid(), x.abs(), x.sign(), x.relu(), x.sqrt()]],
    ['maximum / minimum / clamp', (x, y) => [x.maximum(y), x.minimum(y), x.clamp(-0.5, 0.5)]],
    ['comparisons', (x, y) => [x.gt(y), x.eq(y), x.ne(y), x.le(0)]],
    ['add / mul / div', (x, y) => [x.add(y), x.mul(y), x.div(y)]],
    ['max / min over the last dim (values and indices)', (x) => {
      const a = x.maxWithIndices(-1);
      const b = x.minWithIndices(-1);
      return [a.values, a.indices, b.values, b.indices];
    }],
    ['argmax over everything', (x) => x.argmax()],
    ['sum over the last dim', (x) => x.sum(-1)],
    ['softmax / logSoftmax over the last dim', (x) => [x.softmax(-1), x.logSoftmax(-1)]],
  ];
  for (const [op, f] of SPECIAL) {
    const list: [string, () => void][] = NONZERO.map((n) => {
      const [a] = dims(op, n, 1, 2, 6);
      const specs: Spec[] = [{ shape: [a, n], kind: 'special', grad: false }, { shape: [a, n], kind: 'special', grad: false }];
      return [`[${a}, ${n}]`, () => check(`special ${op} ${n}`, specs, f, { tol: op.startsWith('max') || op.startsWith('argmax') || op.startsWith('comp') ? { exact: true } : { rtol: 1e-5, atol: 1e-6, k: n } })];
    });
    list.push(['large [64, 1031]', () => check(`special ${op} large`, [{ shape: [64, 1031], kind: 'special', grad: false }, { shape: [64, 1031], kind: 'special', grad: false }], f, { tol: op.startsWith('max') || op.startsWith('argmax') || op.startsWith('comp') ? { exact: true } : { rtol: 1e-5, atol: 1e-6, k: 1031 } })]);
    cases(`NaN / Infinity / -0: ${op}`, list);
  }
}

// ---------------------------------------------------------------------------------------------
// Reductions.

const REDUCTIONS: [string, (x: Tensor) => Tensor | Tensor[], (shape: number[]) => number, boolean][] = [
  // [name, fn, number of terms per output, linear?]
  ['sum all', (x) => x.sum(), (s) => numel(s), true],
  ['sum last dim', (x) => x.sum(-1), (s) => s[2], true],
  ['sum dim 0 keepdim', (x) => x.sum(0, true), (s) => s[0], true],
  ['sum dims [0, 2]', (x) => x.sum([0, 2]), (s) => s[0] * s[2], true],
  ['mean last dim', (x) => x.mean(-1), (s) => s[2], true],
  ['mean dims [0, 1]', (x) => x.mean([0, 1]), (s) => s[0] * s[1], true],
];

for (const [op, f, terms, linear] of REDUCTIONS) {
  const list: [string, () => void][] = SIZES.map((n) => {
    const [a, b] = dims(op, n, 2);
    const shape = [a, b, n];
    return [`[${a}, ${b}, ${n}]`, () => {
      check(`${op} ${n}`, [{ shape }], f, { tol: { rtol: 2e-6, atol: 0, k: terms(shape) }, linear });
      check(`${op} ints ${n}`, [{ shape, kind: 'ints' }], f, { tol: op.startsWith('sum') ? { exact: true } : { rtol: 2e-6, atol: 0 } });
    }];
  });
  const big = [32, 129, 257];
  list.push([`large [${big}]`, () => check(`${op} large`, [{ shape: big }], f, { tol: { rtol: 2e-6, atol: 0, k: terms(big) }, linear })]);
  cases(`reduction ${op}`, list);
}

const SELECT_REDUCTIONS: [string, (x: Tensor) => Tensor | Tensor[]][] = [
  ['max(dim) values and indices', (x) => { const r = x.maxWithIndices(-1); return [r.values, r.indices]; }],
  ['min(dim 0, keepdim) values and indices', (x) => { const r = x.minWithIndices(0, true); return [r.values, r.indices]; }],
  ['max() of all', (x) => x.max()],
  ['argmax(dim 1)', (x) => x.argmax(1)],
  ['argmin() of all', (x) => x.argmin()],
];

for (const [op, f] of SELECT_REDUCTIONS) {
  const list: [string, () => void][] = NONZERO.map((n) => {
    const [a, b] = dims(op, n, 2);
    return [`[${a}, ${b}, ${n}]`, () => check(`${op} ${n}`, [{ shape: [a, b, n] }], f, { tol: { exact: true } })];
  });
  list.push(['large [300, 17, 257]', () => check(`${op} large`, [{ shape: [300, 17, 257] }], f, { tol: { exact: true } })]);
  cases(`reduction ${op}`, list);
}

// Variance is not multilinear: its error is relative to its scale, growing with the reduced length.
for (const [op, f, terms] of [
  ['var(dim -1) unbiased', (x: Tensor) => x.var(-1), (s: number[]) => s[2]],
  ['var(dim 0, biased)', (x: Tensor) => x.var(0, { unbiased: false }), (s: number[]) => s[0]],
  ['std(dims [0, 1], keepdim)', (x: Tensor) => x.std([0, 1], { keepdim: true }), (s: number[]) => s[0] * s[1]],
] as [string, (x: Tensor) => Tensor, (s: number[]) => number][]) {
  const varTol = (k: number): Tol => ({ rtol: 1e-5 + 8 * k * U, atol: 1e-6 + 8 * k * U });
  const list: [string, () => void][] = NONZERO.map((n) => {
    const shape = [...dims(op, n, 2, 2, 6), n];
    return [`[${shape}]`, () => check(`${op} ${n}`, [{ shape }], f, { tol: varTol(terms(shape)) })];
  });
  const big = [64, 64, 129];
  list.push([`large [${big}]`, () => check(`${op} large`, [{ shape: big }], f, { tol: varTol(terms(big)) })]);
  cases(`reduction ${op}`, list);
}

// ---------------------------------------------------------------------------------------------
// Matrix products (including transposed views, batches and broadcast batches).

type MatCase = [string, Spec[], OpFn, number];

function matmulCases(n: number): MatCase[] {
  const [m, p, b] = dims('matmul', n, 3, 1, 9);
  const kk = n;
  return [
    [`[${m}, ${kk}] @ [${kk}, ${p}]`, [{ shape: [m, kk] }, { shape: [kk, p] }], (x, y) => x.matmul(y), kk + m + p],
    [`[${n}, ${m}]ᵀ @ [${n}, ${n}]`, [{ shape: [n, m] }, { shape: [n, n] }], (x, y) => x.T.matmul(y), n + m],
    [`[${m}, ${kk}] @ [${p}, ${kk}]ᵀ`, [{ shape: [m, kk] }, { shape: [p, kk] }], (x, y) => x.matmul(y.T), kk + m + p],
    [`[${kk}, ${m}]ᵀ @ [${p}, ${kk}]ᵀ`, [{ shape: [kk, m] }, { shape: [p, kk] }], (x, y) => x.T.matmul(y.T), kk + m + p],
    [`batched [${b}, ${m}, ${kk}] @ [${b}, ${kk}, ${n}]`, [{ shape: [b, m, kk] }, { shape: [b, kk, n] }], (x, y) => x.matmul(y), kk + m + n],
    [`batched transposed [${b}, ${kk}, ${m}]ᵀ @ [${b}, ${n}, ${kk}]ᵀ`, [{ shape: [b, kk, m] }, { shape: [b, n, kk] }], (x, y) => x.transpose(1, 2).matmul(y.transpose(1, 2)), kk + m + n],
    [`[${b}, ${m}, ${kk}] @ [${kk}, ${p}] (emb @ W)`, [{ shape: [b, m, kk] }, { shape: [kk, p] }], (x, y) => x.matmul(y), kk + b * m + p],
    [`broadcast batch [1, ${m}, ${kk}] @ [${b}, ${kk}, ${p}]`, [{ shape: [1, m, kk] }, { shape: [b, kk, p] }], (x, y) => x.matmul(y), b * (kk + p) + m],
    [`broadcast batch [${b}, ${m}, ${kk}] @ [1, ${kk}, ${p}]`, [{ shape: [b, m, kk] }, { shape: [1, kk, p] }], (x, y) => x.matmul(y), b * (kk + m) + p],
    [`4-D [2, ${b}, ${m}, ${kk}] @ [${b}, ${kk}, ${p}]`, [{ shape: [2, b, m, kk] }, { shape: [b, kk, p] }], (x, y) => x.matmul(y), 2 * (kk + m) + p],
    [`vector @ matrix [${kk}] @ [${kk}, ${p}]`, [{ shape: [kk] }, { shape: [kk, p] }], (x, y) => x.matmul(y), kk + p],
    [`matrix @ vector [${m}, ${kk}] @ [${kk}]`, [{ shape: [m, kk] }, { shape: [kk] }], (x, y) => x.matmul(y), kk + m],
    [`dot [${kk}] @ [${kk}]`, [{ shape: [kk] }, { shape: [kk] }], (x, y) => x.matmul(y), kk],
    [`column slice [${m}, ${2 * kk}][:, ::2] @ [${kk}, ${p}]`, [{ shape: [m, 2 * kk] }, { shape: [kk, p] }], (x, y) => x.slice(1, 0, undefined, 2).matmul(y), kk + m + p],
  ];
}

{
  const list: [string, () => void][] = [];
  for (const n of SIZES) {
    for (const [label, specs, f, k] of matmulCases(n)) {
      list.push([`${label}`, () => {
        check(`matmul ${label}`, specs, f, { tol: { rtol: 2e-6, atol: 0, k }, linear: true });
        // Integer-valued operands: every product and partial sum is exact in float32.
        check(`matmul ints ${label}`, specs.map((s) => ({ ...s, kind: 'ints' as Kind })), f, { tol: { exact: true } });
      }]);
    }
  }
  list.push(['large [300, 257] @ [257, 200]', () => check('matmul large', [{ shape: [300, 257] }, { shape: [257, 200] }], (x, y) => x.matmul(y), { tol: { rtol: 2e-6, atol: 0, k: 300 + 257 + 200 }, linear: true })]);
  list.push(['large transposed [257, 300]ᵀ @ [200, 257]ᵀ', () => check('matmul large T', [{ shape: [257, 300] }, { shape: [200, 257] }], (x, y) => x.T.matmul(y.T), { tol: { rtol: 2e-6, atol: 0, k: 300 + 257 + 200 }, linear: true })]);
  list.push(['large batched [8, 64, 130] @ [130, 96] ints (exact)', () => check('matmul large ints', [{ shape: [8, 64, 130], kind: 'ints' }, { shape: [130, 96], kind: 'ints' }], (x, y) => x.matmul(y), { tol: { exact: true } })]);
  cases('matmul', list);
}

// ---------------------------------------------------------------------------------------------
// Indexing and gathers.

{
  const list: [string, () => void][] = [];
  for (const n of SIZES) {
    const [rows, b, ctx] = dims('index', n, 3, 1, 9);
    const V = rows + 3;
    // Embedding lookup C[X]: repeated rows accumulate in backward (at most b·ctx terms).
    list.push([`embedding C[${V}, ${n}] .index(X[${b}, ${ctx}])`, () => check(`embedding ${n}`, [{ shape: [V, n] }, { shape: [b, ctx], kind: { ids: V } }], (C, X) => C.index(X), { tol: { exact: true }, gradTol: { rtol: 1e-6, atol: 0, k: b * ctx }, linear: true })]);
    // Pick one element per row: probs[arange(r), Y].
    list.push([`pairs P[${rows}, ${n}] .index([arange, Y])`, () => {
      if (n === 0) {
        // No valid column exists; an empty index list is the only valid pick.
        check('pairs empty', [{ shape: [rows, 0] }], (P) => P.index([arange(0), tensor([], { dtype: 'int32' })]), { tol: { exact: true } });
        return;
      }
      check(`pairs ${n}`, [{ shape: [rows, n] }, { shape: [rows], kind: { ids: n } }], (P, Y) => P.index([arange(rows), Y]), { tol: { exact: true } });
    }]);
    list.push([`leading null P[${b}, ${rows + 1}, ${n}] .index([null, ix])`, () => check(`null index ${n}`, [{ shape: [b, rows + 1, n] }, { shape: [5], kind: { ids: rows + 1 } }], (P, ix) => P.index([null, ix]), { tol: { exact: true }, gradTol: { rtol: 1e-6, atol: 0, k: 5 }, linear: true })]);
  }
  list.push(['large embedding C[10000, 64] .index(X[2048, 8])', () => check('embedding large', [{ shape: [10000, 64] }, { shape: [2048, 8], kind: { ids: 10000 } }], (C, X) => C.index(X), { tol: { exact: true }, gradTol: { rtol: 1e-6, atol: 0, k: 64 }, linear: true })]);
  list.push(['large embedding with heavy repetition C[27, 65] .index(X[8192, 3])', () => check('embedding repeat', [{ shape: [27, 65] }, { shape: [8192, 3], kind: { ids: 27 } }], (C, X) => C.index(X), { tol: { exact: true }, gradTol: { rtol: 1e-6, atol: 0, k: 8192 * 3 }, linear: true })]);
  cases('index / gather', list);
}

// ---------------------------------------------------------------------------------------------
// Views, copies and joins: pure data movement, so exact.

{
  const list: [string, () => void][] = [];
  for (const n of SIZES) {
    const [a, b] = dims('copy', n, 2);
    list.push([`permute + contiguous [${a}, ${b}, ${n}]`, () => check(`permute ${n}`, [{ shape: [a, b, n] }], (x) => x.permute(2, 0, 1).contiguous(), { tol: { exact: true } })]);
    list.push([`slice with step + clone [${a}, ${n}]`, () => check(`slice ${n}`, [{ shape: [a, n] }], (x) => x.slice(1, 1, undefined, 2).clone(), { tol: { exact: true } })]);
    list.push([`expand + contiguous [${n}] -> [${a}, ${n}] (backward sums ${a})`, () => check(`expand ${n}`, [{ shape: [n] }], (x) => x.expand(a, n).contiguous(), { tol: { exact: true }, gradTol: { rtol: 1e-6, atol: 0, k: a }, linear: true })]);
    list.push([`cat dim 1 of [${a}, ${n}], [${a}, ${b}]ᵀ-view, [${a}, 1]`, () => check(`cat ${n}`, [{ shape: [a, n] }, { shape: [b, a] }, { shape: [a, 1] }], (x, y, z) => cat([x, y.T, z], 1), { tol: { exact: true } })]);
    list.push([`cat dim 0 of [${a}, ${n}], [${b}, ${n}]`, () => check(`cat0 ${n}`, [{ shape: [a, n] }, { shape: [b, n] }], (x, y) => cat([x, y], 0), { tol: { exact: true } })]);
    list.push([`stack dim -1 of two [${a}, ${n}]`, () => check(`stack ${n}`, [{ shape: [a, n] }, { shape: [a, n] }], (x, y) => stack([x, y], -1), { tol: { exact: true } })]);
  }
  list.push(['large permute [64, 128, 129]', () => check('permute large', [{ shape: [64, 128, 129] }], (x) => x.permute(1, 2, 0).contiguous(), { tol: { exact: true } })]);
  list.push(['large cat [1000, 300] + [1000, 257]', () => check('cat large', [{ shape: [1000, 300] }, { shape: [1000, 257] }], (x, y) => cat([x, y], 1), { tol: { exact: true } })]);
  cases('views, copies, cat and stack', list);
}

// ---------------------------------------------------------------------------------------------
// Softmax, cross-entropy, batch norm, conv1d.

const rowTol = (cols: number): Tol => ({ rtol: 1e-5 + 4 * cols * U, atol: 1e-6 + 4 * cols * U });

{
  const list: [string, () => void][] = [];
  for (const n of SIZES) {
    const [r, b] = dims('softmax', n, 2);
    list.push([`softmax last dim [${r}, ${b}, ${n}]`, () => check(`softmax ${n}`, [{ shape: [r, b, n] }], (x) => x.softmax(-1), { tol: rowTol(n) })]);
    list.push([`logSoftmax last dim [${r}, ${n}]`, () => check(`logSoftmax ${n}`, [{ shape: [r, n] }], (x) => x.logSoftmax(-1), { tol: rowTol(n) })]);
    list.push([`softmax dim 0 [${n}, ${r}]`, () => check(`softmax0 ${n}`, [{ shape: [n, r] }], (x) => x.softmax(0), { tol: rowTol(n) })]);
    list.push([`logSoftmax of large logits [${r}, ${n}] * 40`, () => check(`logSoftmax big ${n}`, [{ shape: [r, n] }], (x) => x.mul(40).logSoftmax(-1), { tol: rowTol(n) })]);
  }
  list.push(['large softmax [4096, 65]', () => check('softmax large', [{ shape: [4096, 65] }], (x) => x.softmax(-1), { tol: rowTol(65) })]);
  list.push(['large logSoftmax [1024, 1000]', () => check('logSoftmax large', [{ shape: [1024, 1000] }], (x) => x.logSoftmax(-1), { tol: rowTol(1000) })]);
  cases('softmax / logSoftmax', list);
}

{
  const list: [string, () => void][] = [];
  const ce = (opts?: F.CrossEntropyOptions) => (x: Tensor, y: Tensor) => F.crossEntropy(x, y, opts);
  for (const n of NONZERO) {
    const [rows] = dims('ce', n, 1, 1, 40);
    const tol = rowTol(rows + n);
    list.push([`mean over [${rows}, ${n}]`, () => check(`ce ${n}`, [{ shape: [rows, n] }, { shape: [rows], kind: { ids: n } }], ce(), { tol })]);
    // Logits up to 30·7 in size: each row's log-sum-exp carries an absolute error of a few ulp of
    // that size (a loss of 1e-13 may come out as 0 in float32), summed over the rows.
    const absSum = 8 * rows * (n + 2) * U * 30 * 7;
    list.push([`sum over [${rows}, ${n}] of large logits`, () => check(`ce sum ${n}`, [{ shape: [rows, n] }, { shape: [rows], kind: { ids: n } }], (x, y) => F.crossEntropy(x.mul(30), y, { reduction: 'sum' }), { tol: { ...tol, abs: absSum } })]);
    list.push([`ignoreIndex and 'none' over [${rows}, ${n}]`, () => check(`ce none ${n}`, [{ shape: [rows, n] }, { shape: [rows], kind: { ids: n } }], (x, y) => {
      const t = y.clone();
      noGrad(() => t.slice(0, 0, undefined, 3).fill_(-100)); // every third target ignored
      return [F.crossEntropy(x, t, { reduction: 'none' }), F.crossEntropy(x, t)];
    }, { tol })]);
    list.push([`on a transposed view [${n}, ${rows}]ᵀ`, () => check(`ce T ${n}`, [{ shape: [n, rows] }, { shape: [rows], kind: { ids: n } }], (x, y) => F.crossEntropy(x.T, y), { tol })]);
  }
  list.push(['empty batch [0, 27] gives NaN on both', () => check('ce empty', [{ shape: [0, 27] }, { shape: [0], kind: { ids: 27 } }], ce(), { tol: rowTol(27) })]);
  list.push(['large [8192, 27] (makemore batch)', () => check('ce large', [{ shape: [8192, 27] }, { shape: [8192], kind: { ids: 27 } }], ce(), { tol: rowTol(8192 + 27) })]);
  list.push(['large [1024, 1000]', () => check('ce large wide', [{ shape: [1024, 1000] }, { shape: [1024], kind: { ids: 1000 } }], ce(), { tol: rowTol(1024 + 1000) })]);
  cases('crossEntropy', list);
}

{
  const list: [string, () => void][] = [];
  // Running statistics are inputs that the op updates in place: return them as extra outputs.
  const bnTrain = (correction: number) => (x: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor) => {
    const out = F.batchNorm(x, { weight: w, bias: b, runningMean: rm, runningVar: rv, correction, momentum: 0.1 });
    return [out, rm.detach().clone(), rv.detach().clone()];
  };
  const bnEval = (x: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor) => F.batchNorm(x, { weight: w, bias: b, runningMean: rm, runningVar: rv, training: false });
  const specs = (shape: number[]): Spec[] => {
    const c = shape[shape.length - 1];
    return [{ shape }, { shape: [c] }, { shape: [c] }, { shape: [c], grad: false }, { shape: [c], kind: 'positive', grad: false }];
  };
  for (const c of SIZES) {
    const [n] = dims('bn', c, 1, 2, 40);
    const tol = rowTol(n);
    list.push([`train [${n}, ${c}] (biased)`, () => check(`bn ${c}`, specs([n, c]), bnTrain(0), { tol })]);
    list.push([`train [${n}, ${c}] (unbiased, as the lectures)`, () => check(`bn1 ${c}`, specs([n, c]), bnTrain(1), { tol })]);
    list.push([`train [${n}, 3, ${c}] over dims (0, 1)`, () => check(`bn3 ${c}`, specs([n, 3, c]), bnTrain(0), { tol: rowTol(3 * n) })]);
    list.push([`eval [${n}, ${c}]`, () => check(`bn eval ${c}`, specs([n, c]), bnEval, { tol: rowTol(n) })]);
  }
  list.push(['train with a constant column (zero variance)', () => check('bn const', specs([16, 9]), (x, w, b, rm, rv) => bnTrain(0)(x.mul(tensor([1, 1, 1, 0, 1, 1, 1, 1, 1])), w, b, rm, rv), { tol: rowTol(16) })]);
  list.push(['large train [1024, 200] (unbiased)', () => check('bn large', specs([1024, 200]), bnTrain(1), { tol: rowTol(1024) })]);
  list.push(['large train [4096, 100] with offset data', () => check('bn large offset', specs([4096, 100]), (x, w, b, rm, rv) => bnTrain(0)(x.add(5), w, b, rm, rv), { tol: rowTol(4096 * 8) })]);
  cases('batchNorm', list);
}

{
  const list: [string, () => void][] = [];
  const conv = (opts: F.Conv1dOptions) => (x: Tensor, w: Tensor, b: Tensor) => F.conv1d(x, w, b, opts);
  for (const t of SIZES) {
    const [batch, cin, cout] = dims('conv', t, 3, 1, 5);
    const k = 3;
    const kTerms = cin * k + batch * t + cout * k;
    if (t >= k) list.push([`valid [${batch}, ${cin}, ${t}] * [${cout}, ${cin}, ${k}]`, () => check(`conv ${t}`, [{ shape: [batch, cin, t] }, { shape: [cout, cin, k] }, { shape: [cout] }], conv({}), { tol: { rtol: 2e-6, atol: 0, k: kTerms }, linear: true })]);
    list.push([`causal dilation 2 [${batch}, ${cin}, ${t}] * [${cout}, ${cin}, ${k}]`, () => check(`conv causal ${t}`, [{ shape: [batch, cin, t] }, { shape: [cout, cin, k] }, { shape: [cout] }], conv({ padding: 'causal', dilation: 2 }), { tol: { rtol: 2e-6, atol: 0, k: kTerms }, linear: true })]);
    list.push([`causal ints (exact) [${batch}, ${cin}, ${t}]`, () => check(`conv ints ${t}`, [{ shape: [batch, cin, t], kind: 'ints' }, { shape: [cout, cin, k], kind: 'ints' }, { shape: [cout], kind: 'ints' }], conv({ padding: 'causal' }), { tol: { exact: true } })]);
    list.push([`input channels = ${t}: [2, ${t}, 9] * [4, ${t}, 2]`, () => check(`conv cin ${t}`, [{ shape: [2, t, 9] }, { shape: [4, t, 2] }, { shape: [4] }], conv({}), { tol: { rtol: 2e-6, atol: 0, k: 2 * t + 2 * 8 + 4 * 2 }, linear: true })]);
  }
  list.push(['large [32, 24, 200] * [48, 24, 3] dilation 4 causal', () => check('conv large', [{ shape: [32, 24, 200] }, { shape: [48, 24, 3] }, { shape: [48] }], conv({ padding: 'causal', dilation: 4 }), { tol: { rtol: 2e-6, atol: 0, k: 24 * 3 + 32 * 200 + 48 * 3 }, linear: true })]);
  cases('conv1d', list);
}

// ---------------------------------------------------------------------------------------------
// Fused against composed.

const BOTH: BackendName[] = ['native', 'reference'];

function rand32(seed: string, shape: number[], kind: Kind = 'normal'): Float32Array | Int32Array {
  return fill(new Rng(seedOf(seed)), { shape, kind });
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.toArray();
  const y = b.toArray();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

const maxAbs = (t: Tensor): number => t.abs().max().item();

describe('fused crossEntropy against logSoftmax + pick + mean', () => {
  const shapes: [number, number][] = [[1, 1], [5, 27], [32, 27], [17, 65], [1024, 27], [256, 1000]];
  for (const be of BOTH) {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [rows, cols] of shapes) {
        it(`${be} ${dtype} [${rows}, ${cols}]`, () => {
          withBackend(be, () => {
            const xData = rand32(`ce fused ${rows} ${cols}`, [rows, cols]);
            const y = tensor(rand32(`ce fused y ${rows} ${cols}`, [rows], { ids: cols }), { shape: [rows] });
            const x1 = tensor(xData.slice(), { shape: [rows, cols] }).mul(3).to(dtype).detach().requiresGrad_();
            const x2 = tensor(x1.toArray().slice(), { shape: [rows, cols] }).requiresGrad_();
            const fused = F.crossEntropy(x1, y);
            const composed = x2.logSoftmax(-1).index([arange(rows), y]).mean().neg();
            fused.backward();
            composed.backward();
            // float64: both are exact to rounding; float32: the composed version rounds after each op.
            const tol = dtype === 'float64' ? 1e-12 : 1e-5 + 8 * cols * U;
            expect(Math.abs(fused.item() - composed.item())).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(composed.item())));
            expect(maxDiff(x1.grad!, x2.grad!)).toBeLessThanOrEqual(tol / rows);
            // The gradient rows sum to zero (softmax minus one-hot).
            expect(maxAbs(x1.grad!.sum(1))).toBeLessThan(dtype === 'float64' ? 1e-15 * cols : 4 * cols * U);
          });
        });
      }
    }
  }
});

describe('fused batchNorm (correction: 1) against the lecture\'s composed formula', () => {
  // makemore part 3: bngain * (h - h.mean(0, keepdim)) / sqrt(h.var(0, keepdim) + eps) + bnbias
  const composedBn = (x: Tensor, gain: Tensor, bias: Tensor, eps: number): Tensor => {
    const mean = x.mean(0, true);
    const v = x.var(0, { keepdim: true });
    return gain.mul(x.sub(mean).div(v.add(eps).sqrt())).add(bias);
  };
  const shapes: [number, number][] = [[2, 1], [32, 64], [33, 17], [200, 9], [1024, 100]];
  for (const be of BOTH) {
    for (const dtype of ['float64', 'float32'] as const) {
      for (const [n, c] of shapes) {
        it(`${be} ${dtype} [${n}, ${c}]`, () => {
          withBackend(be, () => {
            const build = (seed: string, shape: number[], add = 0): Tensor =>
              tensor(rand32(seed, shape) as Float32Array, { shape }).add(add).to(dtype).detach().requiresGrad_();
            const xa = build(`bn fused x ${n} ${c}`, [n, c], 0.5);
            const ga = build(`bn fused g ${n} ${c}`, [1, c], 1);
            const ba = build(`bn fused b ${n} ${c}`, [1, c]);
            const [xb, gb, bb] = [xa, ga, ba].map((t) => t.detach().clone().requiresGrad_());
            const eps = 1e-5;
            const fused = F.batchNorm(xa, { weight: ga, bias: ba, correction: 1, eps });
            const composed = composedBn(xb, gb, bb, eps);
            const probe = tensor(rand32(`bn fused probe ${n} ${c}`, [n, c]) as Float32Array, { shape: [n, c] }).to(dtype);
            fused.backward(probe);
            composed.backward(probe);
            const tol = dtype === 'float64' ? 1e-10 : 1e-5 + 8 * n * U;
            expect(maxDiff(fused, composed)).toBeLessThanOrEqual(tol * Math.max(1, maxAbs(composed)));
            expect(maxDiff(xa.grad!, xb.grad!)).toBeLessThanOrEqual(tol * Math.max(1, maxAbs(xb.grad!)));
            expect(maxDiff(ga.grad!, gb.grad!)).toBeLessThanOrEqual(tol * Math.max(1, maxAbs(gb.grad!)));
            expect(maxDiff(ba.grad!, bb.grad!)).toBeLessThanOrEqual(tol * Math.max(1, maxAbs(bb.grad!)));
          });
        });
      }
    }
  }
});

describe('fused conv1d against a composed version from index + matmul', () => {
  /** im2col with index: xpad[b, i, t + j·d] gathered as [b, cin, tout, k], then one matmul. */
  const composedConv = (x: Tensor, w: Tensor, b: Tensor | null, dilation: number, causal: boolean): Tensor => {
    const [batch, cin, tin] = x.shape;
    const [cout, , k] = w.shape;
    const span = dilation * (k - 1);
    const xp = causal ? cat([zeros([batch, cin, span], { dtype: x.dtype }), x], 2) : x;
    const tout = xp.shape[2] - span;
    const ids: number[][] = [];
    for (let t = 0; t < tout; t++) ids.push(Array.from({ length: k }, (_, j) => t + j * dilation));
    const cols = xp.index([null, null, tensor(ids, { dtype: 'int32' })]); // [batch, cin, tout, k]
    const flat = cols.permute(0, 2, 1, 3).reshape(batch, tout, cin * k);
    const out = flat.matmul(w.reshape(cout, cin * k).T).permute(0, 2, 1); // [batch, cout, tout]
    return b ? out.add(b.unsqueeze(-1)) : out;
  };
  const configs: [number[], number[], number, boolean][] = [
    [[1, 1, 3], [1, 1, 3], 1, false],
    [[2, 3, 10], [4, 3, 2], 1, false],
    [[2, 3, 8], [5, 3, 3], 2, true],
    [[4, 16, 33], [8, 16, 2], 1, false],
    [[3, 8, 17], [6, 8, 3], 4, true],
    [[32, 24, 64], [48, 24, 2], 2, true],
  ];
  for (const be of BOTH) {
    for (const dtype of ['float64', 'float32'] as const) {
      for (const [xs, ws, dilation, causal] of configs) {
        it(`${be} ${dtype} x[${xs}] w[${ws}] dilation ${dilation}${causal ? ' causal' : ''}`, () => {
          withBackend(be, () => {
            const make = (seed: string, shape: number[]): Tensor => tensor(rand32(seed, shape) as Float32Array, { shape }).to(dtype).detach().requiresGrad_();
            const xa = make(`conv x ${xs}`, xs);
            const wa = make(`conv w ${ws}`, ws);
            const ba = make(`conv b ${ws}`, [ws[0]]);
            const [xb, wb, bb] = [xa, wa, ba].map((t) => t.detach().clone().requiresGrad_());
            const fused = F.conv1d(xa, wa, ba, { dilation, padding: causal ? 'causal' : 'valid' });
            const composed = composedConv(xb, wb, bb, dilation, causal);
            expect(fused.shape).toEqual(composed.shape);
            const probe = tensor(rand32(`conv probe ${xs}`, [...fused.shape]) as Float32Array, { shape: [...fused.shape] }).to(dtype);
            fused.backward(probe);
            composed.backward(probe);
            const terms = ws[1] * ws[2] + xs[0] * xs[2] + ws[0] * ws[2];
            const tol = dtype === 'float64' ? 1e-12 * terms : 4 * terms * U;
            // Scaled by the magnitude of the terms: |x|·|w| sums are at most terms · max|x| · max|w|.
            const scale = (t: Tensor): number => Math.max(1, maxAbs(t));
            expect(maxDiff(fused, composed)).toBeLessThanOrEqual(tol * scale(composed) * 4);
            expect(maxDiff(xa.grad!, xb.grad!)).toBeLessThanOrEqual(tol * scale(xb.grad!) * 4);
            expect(maxDiff(wa.grad!, wb.grad!)).toBeLessThanOrEqual(tol * scale(wb.grad!) * 4);
            expect(maxDiff(ba.grad!, bb.grad!)).toBeLessThanOrEqual(tol * scale(bb.grad!) * 4);
          });
        });
      }
    }
  }
});
