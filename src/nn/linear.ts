// nn.Linear: y = x Wᵀ + b with weight [out, in], initialised as torch does (kaiming_uniform_ with
// a = √5, then the bias from U(-1/√fan_in, 1/√fan_in), weight drawn first).
import { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';
import { linear } from '../ops/linear.js';
import * as init from './init.js';
import type { Generator } from '../random/generator.js';
import { checkBool, checkSize, emptyTensor, factoryDtype, factoryGenerator, pyBool, type FactoryOptions } from './options.js';

export interface LinearOptions extends FactoryOptions {
  bias?: boolean;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = checkSize('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkSize('Linear', 'outFeatures', outFeatures);
    const dtype = factoryDtype('Linear', opts);
    this.weight = new Parameter(emptyTensor([outFeatures, inFeatures], dtype));
    this.bias = checkBool('Linear', 'bias', opts.bias, true) ? new Parameter(emptyTensor([outFeatures], dtype)) : null;
    this.resetParameters(factoryGenerator('Linear', opts.generator));
  }

  /** torch's reset_parameters: the default initialisation, drawn again. */
  resetParameters(generator?: Generator): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias !== null) {
      const fanIn = this.weight.shape[1];
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound, { generator });
    }
  }

  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}
