// nn.Conv1d: input [N, C_in, L] (or unbatched [C_in, L]) → [N, C_out, L_out], weight [out, in, k],
// initialised as torch does (kaiming_uniform_ with a = √5 and fan_in = in·k, then the bias).
// The kernel (F.conv1d) does dilation with no padding or causal padding; symmetric zero padding
// (a number or 'same') is added here by concatenating zeros, and stride > 1 keeps every
// stride-th output of the stride-1 convolution (the same numbers, at some extra cost).
import { Tensor } from '../tensor/tensor.js';
import { Module, Parameter, pyTuple } from './module.js';
import { conv1d } from '../ops/conv1d.js';
import { cat } from '../ops/join.js';
import { zeros } from '../tensor/creation.js';
import { fmtShape } from '../tensor/shape.js';
import * as init from './init.js';
import type { Generator } from '../random/generator.js';
import { checkBool, checkSize, emptyTensor, factoryDtype, factoryGenerator, pyBool, type FactoryOptions } from './options.js';

export type Conv1dPadding = number | 'valid' | 'same' | 'causal';

export interface Conv1dModuleOptions extends FactoryOptions {
  stride?: number;
  /** Zeros on both sides (a number), 'valid' (0), 'same' (output length = input length, stride 1),
   *  or 'causal' (dilation·(k-1) zeros on the left only; a ferrograd extension). Default 0. */
  padding?: Conv1dPadding;
  dilation?: number;
  bias?: boolean;
}

export class Conv1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: Conv1dPadding;
  readonly dilation: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv1dModuleOptions = {}) {
    super();
    this.inChannels = checkSize('Conv1d', 'inChannels', inChannels, 1);
    this.outChannels = checkSize('Conv1d', 'outChannels', outChannels, 1);
    this.kernelSize = checkSize('Conv1d', 'kernelSize', kernelSize, 1);
    this.stride = checkSize('Conv1d', 'stride', opts.stride ?? 1, 1);
    this.dilation = checkSize('Conv1d', 'dilation', opts.dilation ?? 1, 1);
    const padding = opts.padding ?? 0;
    if (typeof padding === 'number') checkSize('Conv1d', 'padding', padding, 0);
    else if (padding !== 'valid' && padding !== 'same' && padding !== 'causal') {
      throw new Error(`Conv1d: invalid padding string '${String(padding)}', should be one of 'valid', 'same' or 'causal'`);
    }
    if ((padding === 'same' || padding === 'causal') && this.stride !== 1) {
      throw new Error(`Conv1d: padding='${padding}' is not supported for strided convolutions (stride ${this.stride})`);
    }
    this.padding = padding;
    const dtype = factoryDtype('Conv1d', opts);
    this.weight = new Parameter(emptyTensor([outChannels, inChannels, kernelSize], dtype));
    this.bias = checkBool('Conv1d', 'bias', opts.bias, true) ? new Parameter(emptyTensor([outChannels], dtype)) : null;
    this.resetParameters(factoryGenerator('Conv1d', opts.generator));
  }

  resetParameters(generator?: Generator): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias !== null) {
      const fanIn = this.inChannels * this.kernelSize;
      init.uniform_(this.bias, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), { generator });
    }
  }

  /** Zeros to add on the left and right of the time axis. */
  private padAmounts(): [number, number] {
    const span = this.dilation * (this.kernelSize - 1);
    if (typeof this.padding === 'number') return [this.padding, this.padding];
    if (this.padding === 'same') return [Math.floor(span / 2), span - Math.floor(span / 2)];
    return [0, 0];
  }

  forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new Error('Conv1d: input must be a Tensor');
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new Error(`Conv1d: expected 2D (unbatched) or 3D (batched) input [N, C_in, L], got ${fmtShape(input.shape)}`);
    }
    const batched = input.ndim === 3;
    let x = batched ? input : input.unsqueeze(0);
    if (x.shape[1] !== this.inChannels) {
      throw new Error(
        `Conv1d: input has ${x.shape[1]} channels in dim 1 but the layer expects ${this.inChannels} (input ${fmtShape(input.shape)}, weight ${fmtShape(this.weight.shape)})`,
      );
    }
    const [left, right] = this.padAmounts();
    if (left > 0 || right > 0) {
      const [n, c] = x.shape;
      const parts: Tensor[] = [];
      if (left > 0) parts.push(zeros([n, c, left], { dtype: x.dtype }));
      parts.push(x);
      if (right > 0) parts.push(zeros([n, c, right], { dtype: x.dtype }));
      x = cat(parts, 2);
    }
    let y = conv1d(x, this.weight, this.bias, { dilation: this.dilation, padding: this.padding === 'causal' ? 'causal' : 'valid' });
    if (this.stride > 1) y = y.slice(2, 0, undefined, this.stride);
    return batched ? y : y.squeeze(0);
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple([this.kernelSize])}, stride=${pyTuple([this.stride])}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding !== 0) s += `, padding=${pyTuple([this.padding])}`;
    if (this.dilation !== 1) s += `, dilation=${pyTuple([this.dilation])}`;
    if (this.bias === null) s += `, bias=${pyBool(false)}`;
    return s;
  }
}
