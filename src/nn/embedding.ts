// nn.Embedding: a lookup table weight [num, dim] drawn from N(0, 1) as torch does; the padding
// row (if any) starts at zero and gets no gradient.
import { Tensor } from '../tensor/tensor.js';
import { Module, Parameter } from './module.js';
import { embedding, normPaddingIdx } from '../ops/embedding.js';
import { noGrad } from '../autograd/grad-mode.js';
import * as init from './init.js';
import { Generator } from '../random/generator.js';
import { fmtShape } from '../tensor/shape.js';
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

  /** torch's Embedding.from_pretrained: a layer over a copy of `embeddings` [num, dim], frozen
   *  (requiresGrad false) unless freeze is false. Draws nothing from the generator. */
  static fromPretrained(embeddings: Tensor, opts: { freeze?: boolean; paddingIdx?: number | null } = {}): Embedding {
    if (!(embeddings instanceof Tensor) || embeddings.ndim !== 2) {
      throw new Error(`Embedding.fromPretrained: embeddings must be a 2-D tensor [num, dim], got ${embeddings instanceof Tensor ? fmtShape(embeddings.shape) : typeof embeddings}`);
    }
    if (embeddings.dtype !== 'float32' && embeddings.dtype !== 'float64') {
      throw new Error(`Embedding.fromPretrained: embeddings must be floating point, got ${embeddings.dtype}`);
    }
    const [num, dim] = embeddings.shape;
    const e = new Embedding(num, dim, { dtype: embeddings.dtype, paddingIdx: opts.paddingIdx, generator: new Generator(0) });
    noGrad(() => e.weight.copy_(embeddings.detach()));
    e.weight.requiresGrad = !(opts.freeze ?? true);
    return e;
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
