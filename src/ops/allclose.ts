// isclose / allclose with torch's semantics: |a - b| <= atol + rtol·|b| elementwise (b is the
// reference), with broadcasting; equal values (including infinities of the same sign) are close,
// NaN is close to nothing unless equalNan. The arithmetic runs in the inputs' dtype, as in PyTorch,
// so a float32 comparison rounds the tolerance as torch.allclose does. Used by makemore part 4's cmp.
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/grad-mode.js';

export interface CloseOptions {
  /** Relative tolerance (default 1e-5, as torch). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8, as torch). */
  atol?: number;
  /** Count NaN as equal to NaN (default false). */
  equalNan?: boolean;
}

function tolerances(op: string, a: unknown, b: unknown, opts: CloseOptions): { rtol: number; atol: number; equalNan: boolean } {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new Error(`${op}: both arguments must be Tensors`);
  if (a.dtype !== b.dtype) throw new Error(`${op}: expected both tensors to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  for (const [name, v] of [['rtol', rtol], ['atol', atol]] as const) {
    if (typeof v !== 'number' || !(v >= 0)) throw new Error(`${op}: ${name} must be a number >= 0, got ${String(v)}`);
  }
  return { rtol, atol, equalNan: opts.equalNan ?? false };
}

/** torch.isclose: a 0/1 mask (float) of where a is close to b. */
export function isclose(a: Tensor, b: Tensor, opts: CloseOptions = {}): Tensor {
  const { rtol, atol, equalNan } = tolerances('isclose', a, b, opts);
  return noGrad(() => {
    const x = a.detach();
    const y = b.detach();
    const err = x.sub(y).abs();
    // An infinite error is never within tolerance (inf vs -inf), even when the tolerance is infinite.
    const within = err.le(y.abs().mul(rtol).add(atol)).mul(err.lt(Infinity));
    let close = within.maximum(x.eq(y));
    if (equalNan) close = close.maximum(x.ne(x).mul(y.ne(y)));
    return close;
  });
}

/** torch.allclose: whether every element of a is close to b (true for empty tensors). */
export function allclose(a: Tensor, b: Tensor, opts: CloseOptions = {}): boolean {
  const close = isclose(a, b, opts);
  return close.numel() === 0 || close.min().item() === 1;
}
