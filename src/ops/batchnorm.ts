// Fused batch normalisation (F.batchNorm), channels last: x [N, C] is normalised over dim 0 and
// x [N, T, C] over dims (0, 1), as in the lectures' BatchNorm1d. Training mode uses the batch
// statistics and updates running statistics in place; eval mode uses the running statistics.
// The backward is the closed form derived in makemore part 4 ("backprop ninja").
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloatUninit, isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { record } from './record.js';
import { bumpVersion } from '../autograd/version.js';
import { BinaryOp, type FloatArray } from '../backend/backend.js';

export interface BatchNormOptions {
  weight?: Tensor | null; // gamma [C]
  bias?: Tensor | null; // beta [C]
  runningMean?: Tensor | null; // [C], updated in place in training mode
  runningVar?: Tensor | null; // [C], updated in place in training mode (with the unbiased batch variance)
  training?: boolean; // default true
  momentum?: number; // default 0.1: running = (1 - momentum)·running + momentum·batch
  eps?: number; // default 1e-5
  /** Variance used to normalise: 0 = biased (PyTorch's BatchNorm), 1 = unbiased (the lectures' x.var()). */
  correction?: number;
}

function checkVector(name: string, t: Tensor | null | undefined, c: number, dtype: string): void {
  if (t === null || t === undefined) return;
  if (!(t instanceof Tensor)) throw new Error(`batchNorm: ${name} must be a Tensor`);
  if (t.numel() !== c) throw new Error(`batchNorm: ${name} should have ${c} elements (one per channel), got shape ${fmtShape(t.shape)}`);
  if (t.dtype !== dtype) throw new Error(`batchNorm: ${name} has dtype ${t.dtype} but input has ${dtype}`);
}

/** The elements of a [C] parameter as one contiguous float array (a copy only when it is strided). */
function contiguousData(t: Tensor): FloatArray {
  return (t.isContiguous() ? t : t.detach().contiguous()).flatFloat();
}

/**
 * running = (1 - momentum)·running + momentum·(scale·stat), in place, exactly as
 * `running.mul_(1 - momentum).add_(stat·scale, momentum)` computes it (the same kernels, the same
 * version bumps), without the tensor wrappers: this runs on every training step.
 */
function updateRunning(running: Tensor, stat: FloatArray, scale: number, momentum: number): void {
  if (!running.isContiguous()) {
    noGrad(() => {
      const s = new Tensor(stat, running.shape);
      running.mul_(1 - momentum).add_(scale === 1 ? s : s.mul(scale), momentum);
    });
    return;
  }
  const r = running.flatFloat();
  bumpVersion(running.data);
  if (r.length === 0) return;
  const be = backendFor(running.dtype);
  be.scalarInplace(BinaryOp.Mul, r, 1 - momentum);
  // Multiplying by 1 is exact, so the unbiased correction of a biased variance is skipped when 1.
  let s = stat;
  if (scale !== 1) {
    s = allocFloatUninit(running.dtype as FloatDType, stat.length);
    be.binaryScalar(BinaryOp.Mul, stat, scale, false, s);
  }
  bumpVersion(running.data);
  be.axpy(momentum, s, r);
}

export function batchNorm(input: Tensor, opts: BatchNormOptions = {}): Tensor {
  const training = opts.training ?? true;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  const correction = opts.correction ?? 0;
  if (!(input instanceof Tensor)) throw new Error('batchNorm: input must be a Tensor');
  if (!isFloat(input.dtype)) throw new Error(`batchNorm: expected a floating point input, got ${input.dtype}`);
  if (input.ndim !== 2 && input.ndim !== 3) {
    throw new Error(`batchNorm: expected 2D [N, C] or 3D [N, T, C] input (channels last), got ${fmtShape(input.shape)}`);
  }
  // As torch.nn.functional.batch_norm: eps > 0 when training, >= 0 with running statistics.
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0 || (training && eps === 0)) {
    throw new Error(`batchNorm: eps must be a finite number ${training ? '> 0 when training' : '>= 0'}, got ${eps}`);
  }
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`batchNorm: momentum must be in [0, 1], got ${momentum}`);
  if (correction !== 0 && correction !== 1) throw new Error(`batchNorm: correction must be 0 or 1, got ${correction}`);
  const c = input.shape[input.ndim - 1];
  // Rows per channel: every dim but the last (also right when there are no channels).
  let n = 1;
  for (let i = 0; i < input.ndim - 1; i++) n *= input.shape[i];
  const { weight, bias, runningMean, runningVar } = opts;
  checkVector('weight', weight, c, input.dtype);
  checkVector('bias', bias, c, input.dtype);
  checkVector('runningMean', runningMean, c, input.dtype);
  checkVector('runningVar', runningVar, c, input.dtype);
  if (!training && (!runningMean || !runningVar)) {
    throw new Error('batchNorm: eval mode (training: false) needs runningMean and runningVar');
  }
  if (training && n <= 1) {
    // As PyTorch: one value per channel has no spread to normalise by (and NaN with correction 1).
    throw new Error(`batchNorm: expected more than 1 value per channel when training, got input size ${fmtShape(input.shape)}`);
  }
  const x = input.contiguous();
  const dtype = x.dtype as FloatDType;
  const be = backendFor(dtype);
  const gamma = weight ? contiguousData(weight) : null;
  const beta = bias ? contiguousData(bias) : null;
  // The kernel writes every output (the statistics in training mode; eval mode reads them, set below).
  const mean = allocFloatUninit(dtype, c);
  const vari = allocFloatUninit(dtype, c);
  const invstd = allocFloatUninit(dtype, c);
  if (!training) {
    mean.set(runningMean!.contiguous().flat() as Float32Array);
    vari.set(runningVar!.contiguous().flat() as Float32Array);
  }
  const out = new Tensor(allocFloatUninit(dtype, x.numel()), x.shape);
  if (x.numel() > 0 || !training) {
    be.batchNormForward(x.flatFloat(), n, c, gamma, beta, eps, correction, training, out.flatFloat(), mean, vari, invstd);
  }
  if (training) {
    // Running variance tracks the unbiased estimate, as PyTorch does.
    if (runningMean) updateRunning(runningMean, mean, 1, momentum);
    if (runningVar) updateRunning(runningVar, vari, (n - correction) / Math.max(n - 1, 1), momentum);
  }
  const inputs = [x, weight ?? null, bias ?? null];
  return record(out, 'BatchNormBackward', inputs, (g) => {
    const gc = g.contiguous();
    const needX = x.requiresGrad;
    const needW = !!weight && weight.requiresGrad;
    const needB = !!bias && bias.requiresGrad;
    if (!training) {
      // Eval mode is an affine map per channel: dx = g·gamma·invstd; dgamma = Σ g·xhat; dbeta = Σ g.
      const inv = new Tensor(invstd, [c]);
      const scale = gamma ? inv.mul(new Tensor(gamma, [c])) : inv;
      const xhat = x.detach().sub(new Tensor(mean, [c])).mul(inv);
      const dims = x.ndim === 3 ? [0, 1] : [0];
      return [
        needX ? gc.mul(scale) : null,
        needW ? gc.mul(xhat).sum(dims).reshape([...weight!.shape]) : null,
        needB ? gc.sum(dims).reshape([...bias!.shape]) : null,
      ];
    }
    const dx = needX ? new Tensor(allocFloatUninit(dtype, x.numel()), x.shape) : null;
    const dgamma = needW ? new Tensor(allocFloatUninit(dtype, c), weight!.shape) : null;
    const dbeta = needB ? new Tensor(allocFloatUninit(dtype, c), bias!.shape) : null;
    be.batchNormBackward(
      x.flatFloat(), gc.flatFloat(), n, c, mean, invstd, gamma, correction,
      dx ? dx.flatFloat() : null, dgamma ? dgamma.flatFloat() : null, dbeta ? dbeta.flatFloat() : null,
    );
    return [dx, dgamma, dbeta];
  }, [x, weight]); // the statistics are private copies; the bias is never read
}
