// 1-D convolution (F.conv1d, PyTorch layout [batch, channels, time]) with dilation and either no
// padding ('valid') or causal left padding ('causal': output t sees inputs <= t only), the
// building block of the WaveNet-style model. Forward and backward are single kernel calls.
import { Tensor } from '../tensor/tensor.js';
import { backendFor } from '../backend/index.js';
import { allocFloat, allocFloatUninit, isFloat, type FloatDType } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/shape.js';
import { record } from './record.js';

export interface Conv1dOptions {
  dilation?: number;
  /** 'valid' (default; PyTorch padding=0) or 'causal' (pad dilation·(k-1) on the left only). */
  padding?: 'valid' | 'causal';
}

export function conv1d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}): Tensor {
  const dilation = opts.dilation ?? 1;
  const padding = opts.padding ?? 'valid';
  if (!(input instanceof Tensor) || !(weight instanceof Tensor)) throw new Error('conv1d: input and weight must be Tensors');
  if (!isFloat(input.dtype) || input.dtype !== weight.dtype) {
    throw new Error(`conv1d: input (${input.dtype}) and weight (${weight.dtype}) must be floating point tensors of the same dtype`);
  }
  if (input.ndim !== 3) throw new Error(`conv1d: expected 3D input [batch, in_channels, time], got ${fmtShape(input.shape)}`);
  if (weight.ndim !== 3) throw new Error(`conv1d: expected 3D weight [out_channels, in_channels, kernel], got ${fmtShape(weight.shape)}`);
  if (!Number.isInteger(dilation) || dilation < 1) throw new Error(`conv1d: dilation must be a positive integer, got ${dilation}`);
  if (padding !== 'valid' && padding !== 'causal') throw new Error(`conv1d: padding must be 'valid' or 'causal', got ${String(padding)}`);
  const [batch, cin, tin] = input.shape;
  const [cout, wcin, k] = weight.shape;
  if (wcin !== cin) {
    throw new Error(
      `conv1d: given weight of size ${fmtShape(weight.shape)}, expected input ${fmtShape(input.shape)} to have ${wcin} channels, but got ${cin} channels instead`,
    );
  }
  if (k < 1) throw new Error(`conv1d: kernel size must be at least 1, got weight ${fmtShape(weight.shape)}`);
  if (bias !== null) {
    if (!(bias instanceof Tensor) || bias.ndim !== 1 || bias.shape[0] !== cout || bias.dtype !== input.dtype) {
      throw new Error(`conv1d: expected bias of shape [${cout}] and dtype ${input.dtype}, got ${bias instanceof Tensor ? fmtShape(bias.shape) + ' ' + bias.dtype : typeof bias}`);
    }
  }
  const span = dilation * (k - 1);
  const padLeft = padding === 'causal' ? span : 0;
  const tout = tin + padLeft - span;
  if (tout < 0 || (tout === 0 && tin > 0 && padding === 'valid')) {
    throw new Error(
      `conv1d: input length ${tin} is smaller than the kernel's receptive field ${span + 1} (kernel ${k}, dilation ${dilation})`,
    );
  }
  const x = input.contiguous();
  const w = weight.contiguous();
  const b = bias ? bias.contiguous() : null;
  const dtype = x.dtype as FloatDType;
  const be = backendFor(dtype);
  const out = new Tensor(allocFloatUninit(dtype, batch * cout * tout), [batch, cout, tout]);
  if (out.numel() > 0) {
    be.conv1dForward(x.flatFloat(), batch, cin, tin, w.flatFloat(), cout, k, dilation, padLeft, b ? b.flatFloat() : null, out.flatFloat(), tout);
  }
  return record(out, 'Conv1dBackward', [x, w, b], (g) => {
    const gc = g.contiguous();
    const dx = x.requiresGrad ? new Tensor(allocFloat(dtype, x.numel()), [...x.shape]) : null;
    const dw = w.requiresGrad ? new Tensor(allocFloat(dtype, w.numel()), [...w.shape]) : null;
    if (out.numel() > 0 && (dx || dw)) {
      be.conv1dBackward(x.flatFloat(), batch, cin, tin, w.flatFloat(), cout, k, dilation, padLeft, gc.flatFloat(), tout, dx ? dx.flatFloat() : null, dw ? dw.flatFloat() : null);
    }
    const db = b && b.requiresGrad ? gc.sum([0, 2]) : null;
    return [dx, dw, db];
  }, [x, w]); // the bias gradient needs only g
}
