// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_: scale (or clamp)
// the gradients in place. The norm of every gradient is accumulated in double and the total
// rounded to the gradients' dtype, as torch returns it.
import { Tensor } from '../tensor/tensor.js';
import { describe } from './optimizer.js';
import { bumpVersion } from '../autograd/version.js';
import type { FloatArray } from '../backend/backend.js';
import { refuseHostWork, runHostWork } from '../compile/host-work.js';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (instead of scaling by it). Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scale the gradients of `parameters` so that their total norm (of order `normType`, over all
 * gradients seen as one vector) is at most `maxNorm`, in place. Returns the total norm before
 * clipping, as a 0-d tensor (as torch). Parameters without a gradient are skipped.
 * The scale is `min(1, maxNorm / (totalNorm + 1e-6))`.
 */
export function clipGradNorm_(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  { errorIfNonfinite = false }: ClipGradNormOptions = {},
): Tensor {
  const op = 'clipGradNorm_';
  const grads = gradsOf(op, parameters);
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new TypeError(`${op}: maxNorm must be a number, got ${describe(maxNorm)}`);
  if (typeof normType !== 'number' || Number.isNaN(normType)) throw new TypeError(`${op}: normType must be a number (2, 1, Infinity, ...), got ${describe(normType)}`);
  const f32 = grads.every((g) => g.dtype === 'float32');
  const out = f32 ? new Float32Array(1) : new Float64Array(1);
  if (grads.length === 0) return new Tensor(out, []);
  const scale = (G: readonly FloatArray[]): number => {
    const r = f32 ? Math.fround : (x: number) => x;
    // Each gradient's norm, rounded as torch.linalg.vector_norm returns it, then the norm of those.
    const total = r(vectorNorm(G.map((x) => r(vectorNorm(x, normType))), normType));
    if (errorIfNonfinite && !Number.isFinite(total)) {
      throw new Error(
        `${op}: the total norm of order ${normType} for gradients from \`parameters\` is non-finite (${total}), so it cannot be clipped; to scale the gradients by the non-finite norm anyway, pass { errorIfNonfinite: false }`,
      );
    }
    // torch: maxNorm / (total + 1e-6) is reciprocal(total + 1e-6) * maxNorm in float32, clamped to 1.
    const coef = Math.min(r(r(1 / r(total + r(1e-6))) * r(maxNorm)), 1);
    for (const x of G) for (let i = 0; i < x.length; i++) x[i] = r(x[i] * coef);
    return total;
  };
  if (grads.every((g) => g.isContiguous())) {
    // A compiled step replays this over the same gradient buffers (host-work.ts).
    const n = grads.length;
    runHostWork({
      name: op,
      arrays: [...grads.map((g) => g.flatFloat()), out],
      reads: grads.map((_, i) => i),
      writes: [...grads.map((_, i) => i), n],
      signature: [maxNorm, normType, errorIfNonfinite, n],
      run: (arrays) => {
        arrays[n][0] = scale(arrays.slice(0, n) as FloatArray[]);
      },
    });
  } else {
    refuseHostWork(`${op} of a non-contiguous gradient inside a compiled function is not supported (its norm is computed in TypeScript over a copy); make the gradients contiguous, or clip outside fn`);
    const copies = grads.map((g) => g.contiguous().flatFloat().slice());
    out[0] = scale(copies);
    grads.forEach((g, k) => g.copy_(new Tensor(copies[k], [...g.shape])));
  }
  for (const g of grads) bumpVersion(g.data);
  return new Tensor(out, []);
}

/** Clamp every gradient element to [-clipValue, clipValue] in place (torch.nn.utils.clip_grad_value_). */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  const op = 'clipGradValue_';
  const grads = gradsOf(op, parameters);
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue) || clipValue < 0) {
    throw new RangeError(`${op}: clipValue must be a number >= 0, got ${describe(clipValue)}`);
  }
  const clamp = (G: FloatArray): void => {
    for (let i = 0; i < G.length; i++) {
      const x = G[i];
      if (x > clipValue) G[i] = clipValue;
      else if (x < -clipValue) G[i] = -clipValue;
    }
  };
  for (const g of grads) {
    if (!g.isContiguous()) {
      g.copy_(g.clamp(-clipValue, clipValue)); // kernels: a compiled step records them
      continue;
    }
    // A compiled step replays this over the same gradient buffer (host-work.ts).
    runHostWork({ name: op, arrays: [g.flatFloat()], reads: [0], writes: [0], signature: [clipValue], run: (a) => clamp(a[0] as FloatArray) });
    bumpVersion(g.data);
  }
}

function gradsOf(op: string, parameters: Tensor | Iterable<Tensor>): Tensor[] {
  const list = parameters instanceof Tensor ? [parameters] : parameters;
  if (list === null || list === undefined || typeof (list as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${op}: parameters must be a Tensor or an iterable of Tensors, got ${describe(parameters)}`);
  }
  const grads: Tensor[] = [];
  let i = 0;
  for (const p of list as Iterable<unknown>) {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: parameters[${i}] is ${describe(p)}, expected a Tensor`);
    if (p.grad !== null) grads.push(p.grad);
    i++;
  }
  return grads;
}

/** ||x||_p accumulated in double: p = Infinity (max |x|), -Infinity (min |x|), 0 (count of
 *  non-zeros), 1, 2, or any other order (sum |x|^p)^(1/p). */
function vectorNorm(x: FloatArray | number[], p: number): number {
  const n = x.length;
  if (p === Infinity) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(x[i]);
      if (a > m || Number.isNaN(a)) m = a;
    }
    return m;
  }
  if (p === -Infinity) {
    let m = Infinity;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(x[i]);
      if (a < m || Number.isNaN(a)) m = a;
    }
    return m;
  }
  let s = 0;
  if (p === 2) for (let i = 0; i < n; i++) s += x[i] * x[i];
  else if (p === 1) for (let i = 0; i < n; i++) s += Math.abs(x[i]);
  else if (p === 0) for (let i = 0; i < n; i++) s += x[i] !== 0 ? 1 : 0;
  else for (let i = 0; i < n; i++) s += Math.abs(x[i]) ** p;
  if (p === 2) return Math.sqrt(s);
  if (p === 1 || p === 0) return s;
  return s ** (1 / p);
}
