// nn.LayerNorm: normalise over the trailing normalizedShape dims; weight ones and bias zeros.
import { Tensor } from '../tensor/tensor.js';
import { Module, Parameter, pyFloat, pyTuple } from './module.js';
import { layerNorm, normalizedShapeOf } from '../ops/layernorm.js';
import * as init from './init.js';
import { checkBool, emptyTensor, factoryDtype, pyBool, type FactoryOptions } from './options.js';

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learnable weight (and bias); default true. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether there is a bias; default true. */
  bias?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeOf('LayerNorm', normalizedShape);
    if (this.normalizedShape.length === 0) throw new Error('LayerNorm: normalizedShape must have at least one dimension');
    const eps = opts.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps >= 0)) throw new Error(`LayerNorm: eps must be a non-negative number, got ${String(eps)}`);
    this.eps = eps;
    this.elementwiseAffine = checkBool('LayerNorm', 'elementwiseAffine', opts.elementwiseAffine, true);
    const withBias = checkBool('LayerNorm', 'bias', opts.bias, true);
    const dtype = factoryDtype('LayerNorm', { dtype: opts.dtype });
    this.weight = this.elementwiseAffine ? new Parameter(emptyTensor([...this.normalizedShape], dtype)) : null;
    this.bias = this.elementwiseAffine && withBias ? new Parameter(emptyTensor([...this.normalizedShape], dtype)) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) init.ones_(this.weight);
    if (this.bias) init.zeros_(this.bias);
  }

  forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}, bias=${pyBool(this.bias !== null)}`;
  }
}
