// Finite-difference gradient checking, as torch.autograd.gradcheck, in float64.
//
// Full mode (the default, as PyTorch's fast_mode=False) compares every entry of each input's
// Jacobian: the numeric one column by column from central differences, the analytic one row by
// row from one backward pass per output element. It costs 2 forward passes per input element
// plus one backward pass per output element, and names the entry at fault.
// Fast mode (fastMode: true, PyTorch's fast_mode=True) compares one number per input: vᵀ J u for
// random unit vectors u (over the input) and v (over the output), the numeric side from a central
// difference along u, the analytic side from one backward pass with v. It costs 2 forward passes
// per input and one backward pass; a wrong Jacobian slips through only if its error happens to be
// orthogonal to the random directions.
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../random/generator.js';
import { noGrad } from './grad-mode.js';

export interface GradcheckOptions {
  eps?: number; // finite-difference step (default 1e-6)
  atol?: number; // default 1e-5
  rtol?: number; // default 1e-3
  /** Check one random direction per input instead of the full Jacobian (default false). */
  fastMode?: boolean;
  /** Seed of the random directions of fast mode (default 0). */
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  mode: 'full' | 'fast';
  maxAbsError: number;
  /** The worst disagreement: input number, and in full mode the input element and the output
   *  element of the Jacobian entry (null in fast mode, which compares a projection). */
  worst: { input: number; element: number | null; output: number | null; analytic: number; numeric: number } | null;
}

/** Check the gradient of fn with respect to every input that requires grad (float64, contiguous). */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const checked = inputs.flatMap((x, i) => (x.requiresGrad ? [i] : []));
  if (checked.length === 0) throw new Error('gradcheck: expected at least one input tensor that requires grad');
  for (const i of checked) {
    const x = inputs[i];
    if (x.dtype !== 'float64') throw new Error(`gradcheck: input ${i} requires grad but has dtype ${x.dtype}; gradcheck needs float64 inputs`);
    if (!x.isContiguous()) throw new Error(`gradcheck: input ${i} must be contiguous`);
  }
  const evaluate = (): Float64Array => noGrad(() => fn(...inputs).double().contiguous().toArray() as Float64Array);
  const result: GradcheckResult = { ok: true, mode: opts.fastMode ? 'fast' : 'full', maxAbsError: 0, worst: null };
  const compare = (input: number, element: number | null, output: number | null, analytic: number, numeric: number): void => {
    const err = Math.abs(analytic - numeric);
    // NaN on either side is a failure, never a pass.
    if (!(err <= atol + rtol * Math.abs(numeric))) result.ok = false;
    if (result.worst === null || err > result.maxAbsError || Number.isNaN(err)) {
      result.maxAbsError = Number.isNaN(err) ? NaN : Math.max(result.maxAbsError, err);
      result.worst = { input, element, output, analytic, numeric };
    }
  };
  if (opts.fastMode) fast(fn, inputs, checked, eps, opts.seed ?? 0, evaluate, compare);
  else full(fn, inputs, checked, eps, evaluate, compare);
  return result;
}

type Compare = (input: number, element: number | null, output: number | null, analytic: number, numeric: number) => void;

/** The output of fn(...inputs) as float64, with its graph. */
function forward(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): Tensor {
  for (const x of inputs) x.grad = null;
  return fn(...inputs).double();
}

/** The gradient of <y, w> with respect to each checked input (zeros where there is no path). */
function vjp(y: Tensor, w: Float64Array, inputs: Tensor[], checked: number[]): Float64Array[] {
  for (const i of checked) inputs[i].grad = null;
  if (y.requiresGrad) y.backward(new Tensor(w, [...y.shape]));
  return checked.map((i) => {
    const g = inputs[i].grad;
    return g ? (g.contiguous().toArray() as Float64Array) : new Float64Array(inputs[i].numel());
  });
}

function full(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], checked: number[], eps: number, evaluate: () => Float64Array, compare: Compare): void {
  // Analytic Jacobian, one row (output element) per backward pass: analytic[k][j * n + e].
  const y = forward(fn, inputs);
  const m = y.numel();
  const analytic = checked.map((i) => new Float64Array(m * inputs[i].numel()));
  const onehot = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    onehot.fill(0);
    onehot[j] = 1;
    const rows = vjp(y, onehot, inputs, checked);
    rows.forEach((row, k) => analytic[k].set(row, j * row.length));
  }
  for (const i of checked) inputs[i].grad = null;
  // Numeric Jacobian, one column (input element) per pair of forward passes.
  checked.forEach((i, k) => {
    const data = inputs[i].flat();
    const n = data.length;
    for (let e = 0; e < n; e++) {
      const orig = data[e];
      data[e] = orig + eps;
      const plus = evaluate();
      data[e] = orig - eps;
      const minus = evaluate();
      data[e] = orig;
      for (let j = 0; j < m; j++) compare(i, e, j, analytic[k][j * n + e], (plus[j] - minus[j]) / (2 * eps));
    }
  });
}

/** A random unit vector (entries uniform in [-1, 1) before normalising). */
function randomUnit(g: Generator, n: number): Float64Array {
  const v = new Float64Array(n);
  g.fillRand(v, -1, 1, 'float64');
  let norm = 0;
  for (const a of v) norm += a * a;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < n; i++) v[i] /= norm;
  return v;
}

function fast(
  fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], checked: number[], eps: number, seed: number,
  evaluate: () => Float64Array, compare: Compare,
): void {
  const g = new Generator(seed);
  const y = forward(fn, inputs);
  const v = randomUnit(g, y.numel());
  const grads = vjp(y, v, inputs, checked);
  for (const i of checked) inputs[i].grad = null;
  checked.forEach((i, k) => {
    const data = inputs[i].flat();
    const u = randomUnit(g, data.length);
    const orig = Float64Array.from(data);
    for (let e = 0; e < data.length; e++) data[e] = orig[e] + eps * u[e];
    const plus = evaluate();
    for (let e = 0; e < data.length; e++) data[e] = orig[e] - eps * u[e];
    const minus = evaluate();
    data.set(orig);
    let numeric = 0;
    for (let j = 0; j < v.length; j++) numeric += v[j] * ((plus[j] - minus[j]) / (2 * eps));
    let analytic = 0;
    for (let e = 0; e < data.length; e++) analytic += grads[k][e] * u[e];
    compare(i, null, null, analytic, numeric);
  });
}
