// nn.BatchNorm1d with torch's semantics: input [N, C] or [N, C, L] (channels in dim 1), batch
// statistics in training (biased variance to normalise, unbiased into running_var), running
// statistics in eval. Runs on the fused channels-last F.batchNorm; [N, C, L] goes through a
// transposed view. momentum null = cumulative moving average (factor 1 / num_batches_tracked).
import { Tensor } from '../tensor/tensor.js';
import { Module, Parameter, pyFloat } from './module.js';
import { batchNorm } from '../ops/batchnorm.js';
import { noGrad } from '../autograd/grad-mode.js';
import { fmtShape } from '../tensor/shape.js';
import { bumpVersion } from '../autograd/version.js';
import * as init from './init.js';
import { checkBool, checkSize, emptyTensor, factoryDtype, pyBool, type FactoryOptions } from './options.js';

export interface BatchNormOptions extends Omit<FactoryOptions, 'generator'> {
  eps?: number;
  /** Weight of the new batch in the running statistics; null = cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learnable per-channel weight (and bias); default true. */
  affine?: boolean;
  /** With affine, whether there is a bias (torch 2.15's bias=...); default true. */
  bias?: boolean;
  /** Keep running_mean / running_var for eval mode; default true. */
  trackRunningStats?: boolean;
  /** Accepted for a uniform constructor signature; BatchNorm draws nothing. */
  generator?: unknown;
}

export class BatchNorm1d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  // Buffers, registered under torch's state-dict names (camelCase getters below).
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  /** int32 here (torch: int64). */
  declare num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const op = this.constructor.name;
    this.numFeatures = checkSize(op, 'numFeatures', numFeatures);
    const eps = opts.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0)) throw new Error(`${op}: eps must be a positive number, got ${String(eps)}`);
    this.eps = eps;
    const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) {
      throw new Error(`${op}: momentum must be a number in [0, 1] or null, got ${String(momentum)}`);
    }
    this.momentum = momentum;
    this.affine = checkBool(op, 'affine', opts.affine, true);
    const withBias = checkBool(op, 'bias', opts.bias, true);
    this.trackRunningStats = checkBool(op, 'trackRunningStats', opts.trackRunningStats, true);
    const dtype = factoryDtype(op, { dtype: opts.dtype });
    this.weight = this.affine ? new Parameter(emptyTensor([numFeatures], dtype)) : null;
    this.bias = this.affine && withBias ? new Parameter(emptyTensor([numFeatures], dtype)) : null;
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', emptyTensor([numFeatures], dtype));
      this.registerBuffer('running_var', emptyTensor([numFeatures], dtype));
      this.registerBuffer('num_batches_tracked', new Tensor(new Int32Array(1), []));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  get runningMean(): Tensor | null {
    return this.running_mean;
  }

  get runningVar(): Tensor | null {
    return this.running_var;
  }

  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    init.zeros_(this.running_mean!);
    init.ones_(this.running_var!);
    noGrad(() => this.num_batches_tracked!.zero_());
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  protected checkInput(input: Tensor): void {
    const op = this.constructor.name;
    if (!(input instanceof Tensor)) throw new Error(`${op}: input must be a Tensor`);
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new Error(`${op}: expected 2D or 3D input [N, C] or [N, C, L] (got ${input.ndim}D input ${fmtShape(input.shape)})`);
    }
    if (input.shape[1] !== this.numFeatures) {
      throw new Error(
        `${op}: input has ${input.shape[1]} channels in dim 1 but the layer expects ${this.numFeatures} (input ${fmtShape(input.shape)}, ${op}(${this.numFeatures}))`,
      );
    }
  }

  forward(input: Tensor): Tensor {
    this.checkInput(input);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.num_batches_tracked) {
      const nbt = this.num_batches_tracked;
      (nbt.data as Int32Array)[nbt.offset] += 1;
      bumpVersion(nbt.data);
      if (this.momentum === null) factor = 1 / nbt.item();
    }
    // Batch statistics when training, or when there are no running statistics to use.
    const useBatchStats = this.training || (this.running_mean === null && this.running_var === null);
    const opts = {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.running_mean, // null without trackRunningStats
      runningVar: this.running_var,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    };
    if (input.ndim === 2) return batchNorm(input, opts);
    return batchNorm(input.transpose(1, 2), opts).transpose(1, 2);
  }

  protected override optionalStateKeys(): string[] {
    return this.trackRunningStats ? ['num_batches_tracked'] : [];
  }

  override extraRepr(): string {
    return (
      `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, ` +
      `affine=${pyBool(this.affine)}, bias=${pyBool(this.bias !== null)}, track_running_stats=${pyBool(this.trackRunningStats)}`
    );
  }
}
