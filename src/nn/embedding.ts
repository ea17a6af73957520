// nn.Embedding: a lookup table weight [num, dim] drawn from N(0, 1) as torch does; the padding
// row (if any) starts at zero and gets no gradient.
import { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';
import { embedding, normPaddingIdx } from '../ops/embedding.js';
import { noGrad } from '../autograd/grad-mode.js';
import * as init from './init.js';
import type { Generator } from '../random/generator.js';
import { checkSize, emptyTensor, factoryDtype, factoryGenerator, type FactoryOptions } from './options.js';

export interface EmbeddingOptions extends FactoryOptions {
  paddingIdx?: number | null;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = checkSize('Embedding', 'numEmbeddings', numEmbeddings);
    this.embeddingDim = checkSize('Embedding', 'embeddingDim', embeddingDim);
    this.paddingIdx = normPaddingIdx('Embedding', opts.paddingIdx, numEmbeddings);
    this.weight = new Parameter(emptyTensor([numEmbeddings, embeddingDim], factoryDtype('Embedding', opts)));
    this.resetParameters(factoryGenerator('Embedding', opts.generator));
  }

  resetParameters(generator?: Generator): void {
    init.normal_(this.weight, 0, 1, { generator });
    if (this.paddingIdx !== null) noGrad(() => this.weight.select(0, this.paddingIdx!).fill_(0));
  }

  forward(input: Tensor): Tensor {
    return embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
