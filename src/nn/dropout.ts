// nn.Dropout: F.dropout in training mode, the identity in eval mode. The mask is drawn from the
// module's generator (option) or the global one, so a seed fixes it.
import { Tensor } from '../tensor/tensor.js';
import { Module, pyFloat } from './module.js';
import { dropout } from '../ops/dropout.js';
import type { Generator } from '../random/generator.js';
import { factoryGenerator } from './options.js';

export class Dropout extends Module {
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`Dropout: dropout probability has to be between 0 and 1, but got ${String(p)}`);
    this.p = p;
    this.generator = opts.generator === undefined ? undefined : factoryGenerator('Dropout', opts.generator);
  }

  forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training, this.generator);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}
