// nn.init: in-place initialisers with torch.nn.init's formulas, drawing from a Generator (the
// global one by default) exactly as torch's uniform_ / normal_ consume its stream. Bounds and
// standard deviations are computed in doubles (as Python does) and rounded only where torch's
// kernels round: uniform_ on a float32 tensor rounds from/to to float32 and works in float32
// range (the recipe in shared/reference/torch-init.md); float64 tensors take 53-bit draws.
import { Tensor } from '../tensor/tensor.js';
import { isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import { Generator, defaultGenerator } from '../random/generator.js';
import { bumpVersion } from '../autograd/version.js';

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type FanMode = 'fan_in' | 'fan_out';

function checkTensor(op: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new Error(`${op}: expected a Tensor, got ${typeof t}`);
  if (!isFloat(t.dtype)) throw new Error(`${op}: expected a floating point tensor, got dtype ${t.dtype}`);
}

function pickGenerator(op: string, g: Generator | undefined): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator)) throw new Error(`${op}: generator must be a Generator`);
  return g;
}

/** Fill t (any layout) through a contiguous scratch when it is a strided view. */
function fillWith(t: Tensor, fill: (out: Float32Array | Float64Array) => void): Tensor {
  noGrad(() => {
    if (t.isContiguous()) {
      fill(t.flat() as Float32Array | Float64Array);
      return;
    }
    const scratch = new Tensor(t.dtype === 'float64' ? new Float64Array(t.numel()) : new Float32Array(t.numel()), [...t.shape]);
    fill(scratch.flat() as Float32Array | Float64Array);
    t.detach().copy_(scratch);
  });
  bump(t);
  return t;
}

/** Mark an in-place write (so a graph that saw the old values refuses to backpropagate). */
function bump(t: Tensor): void {
  bumpVersion(t.data);
}

/** U(a, b) in place. */
export function uniform_(t: Tensor, a = 0, b = 1, opts: { generator?: Generator } = {}): Tensor {
  checkTensor('uniform_', t);
  const g = pickGenerator('uniform_', opts.generator);
  return fillWith(t, (out) => g.fillRand(out, a, b, t.dtype as FloatDType));
}

/** N(mean, std²) in place. */
export function normal_(t: Tensor, mean = 0, std = 1, opts: { generator?: Generator } = {}): Tensor {
  checkTensor('normal_', t);
  const g = pickGenerator('normal_', opts.generator);
  return fillWith(t, (out) => g.fillRandn(out, mean, std, t.dtype as FloatDType));
}

export function constant_(t: Tensor, value: number): Tensor {
  checkTensor('constant_', t);
  if (typeof value !== 'number') throw new Error(`constant_: value must be a number, got ${typeof value}`);
  noGrad(() => t.detach().fill_(value));
  return t;
}

export const zeros_ = (t: Tensor): Tensor => constant_(t, 0);
export const ones_ = (t: Tensor): Tensor => constant_(t, 1);

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): tanh 5/3, relu √2,
 *  leaky_relu √(2 / (1 + slope²)) with slope `param` (default 0.01), selu 3/4, others 1. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`calculateGain: negative_slope ${String(param)} is not a valid number`);
      return Math.sqrt(2.0 / (1 + slope * slope));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (receptive = product of dims 2..). */
export function calculateFanInAndFanOut(t: Tensor, op = 'init'): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new Error(`${op}: fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got ${fmtShape(t.shape)})`);
  }
  let receptive = 1;
  for (let d = 2; d < t.ndim; d++) receptive *= t.shape[d];
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function correctFan(t: Tensor, mode: FanMode, op: string): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new Error(`${op}: mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, op);
  return mode === 'fan_in' ? fanIn : fanOut;
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

/** He uniform: U(-bound, bound), bound = √3 · gain / √fan. torch.nn.Linear uses a = √5. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTensor('kaimingUniform_', t);
  if (t.numel() === 0) return t; // torch warns and does nothing
  const fan = correctFan(t, opts.mode ?? 'fan_in', 'kaimingUniform_');
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  const std = gain / Math.sqrt(fan);
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound, { generator: opts.generator });
}

/** He normal: N(0, (gain / √fan)²). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTensor('kaimingNormal_', t);
  if (t.numel() === 0) return t;
  const fan = correctFan(t, opts.mode ?? 'fan_in', 'kaimingNormal_');
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return normal_(t, 0, gain / Math.sqrt(fan), { generator: opts.generator });
}

/** Glorot uniform: U(-a, a), a = √3 · gain · √(2 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, opts: { gain?: number; generator?: Generator } = {}): Tensor {
  checkTensor('xavierUniform_', t);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, 'xavierUniform_');
  const std = (opts.gain ?? 1) * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(t, -a, a, { generator: opts.generator });
}

/** Glorot normal: N(0, gain² · 2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, opts: { gain?: number; generator?: Generator } = {}): Tensor {
  checkTensor('xavierNormal_', t);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, 'xavierNormal_');
  const std = (opts.gain ?? 1) * Math.sqrt(2.0 / (fanIn + fanOut));
  return normal_(t, 0, std, { generator: opts.generator });
}
