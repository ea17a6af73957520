// Finite-difference gradient checking, as torch.autograd.gradcheck: compare the analytic gradient
// of sum(fn(inputs) · probe) with central differences, in float64.
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from './grad-mode.js';

export interface GradcheckOptions {
  eps?: number; // finite-difference step (default 1e-6)
  atol?: number; // default 1e-5
  rtol?: number; // default 1e-3
}

export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  /** Where the worst disagreement was: input number, flat element, analytic and numeric values. */
  worst: { input: number; element: number; analytic: number; numeric: number } | null;
}

/** Check d(sum(fn(...inputs) * probe))/d(input) for every float64 input that requires grad.
 *  A fixed pseudo-random probe weights the outputs so that every output element matters. */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  for (const [i, x] of inputs.entries()) {
    if (x.requiresGrad && x.dtype !== 'float64') {
      throw new Error(`gradcheck: input ${i} requires grad but has dtype ${x.dtype}; gradcheck needs float64 inputs`);
    }
  }
  const out0 = fn(...inputs);
  const probeData = new Float64Array(out0.numel());
  let s = 12345;
  for (let i = 0; i < probeData.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    probeData[i] = 0.5 + s / 0x7fffffff; // in [0.5, 1.5): no cancellations
  }
  const probe = new Tensor(probeData, [...out0.shape]);
  const scalar = (): number => noGrad(() => fn(...inputs).double().mul(probe).sum().item());
  for (const x of inputs) x.grad = null;
  fn(...inputs).double().mul(probe).sum().backward();
  let maxAbsError = 0;
  let worst: GradcheckResult['worst'] = null;
  let ok = true;
  inputs.forEach((x, xi) => {
    if (!x.requiresGrad) return;
    if (!x.isContiguous()) throw new Error(`gradcheck: input ${xi} must be contiguous`);
    const data = x.flat();
    const analytic = x.grad ? x.grad.contiguous().flat() : new Float64Array(data.length);
    for (let e = 0; e < data.length; e++) {
      const orig = data[e];
      data[e] = orig + eps;
      const plus = scalar();
      data[e] = orig - eps;
      const minus = scalar();
      data[e] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(analytic[e] - numeric);
      if (err > atol + rtol * Math.abs(numeric)) ok = false;
      if (err > maxAbsError || worst === null) {
        maxAbsError = Math.max(maxAbsError, err);
        worst = { input: xi, element: e, analytic: analytic[e], numeric };
      }
    }
  });
  return { ok, maxAbsError, worst };
}
