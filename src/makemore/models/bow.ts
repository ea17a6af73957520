// makemore.py's bag of words: token + position embeddings, one block that adds the uniform
// average of all positions so far (CausalBoW) and then a tanh MLP, and a linear head.
import { Tensor } from '../../tensor/tensor.js';
import { arange, zeros } from '../../tensor/creation.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import type { Generator } from '../../random/generator.js';
import { futureMask, trilOnes } from './causal-mask.js';
import type { LanguageModel, ModelConfig } from './types.js';

export class CausalBoW extends Module {
  readonly blockSize: number;
  declare bias: Tensor;

  constructor(config: ModelConfig) {
    super();
    this.blockSize = config.blockSize;
    this.registerBuffer('bias', trilOnes(config.blockSize, [1]));
  }

  forward(x: Tensor): Tensor {
    const T = x.shape[1];
    // softmax of zeros over the past = 1/(t+1) on positions <= t: the running mean.
    const att = zeros([T, T]).maskedFill(futureMask(T), -Infinity).softmax(-1);
    return att.matmul(x);
  }
}

/** makemore.py's ModuleDict(c_fc, c_proj): the names are the state-dict keys. */
class BoWMlp extends Module {
  c_fc: Linear;
  c_proj: Linear;
  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.c_fc = new Linear(config.nEmbd, config.nEmbd2, { generator });
    this.c_proj = new Linear(config.nEmbd2, config.nEmbd, { generator });
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(this.c_fc.forward(x).tanh());
  }
}

export class BoWBlock extends Module {
  cbow: CausalBoW;
  mlp: BoWMlp;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.cbow = new CausalBoW(config);
    this.mlp = new BoWMlp(config, generator);
  }

  forward(x: Tensor): Tensor {
    const y = x.add(this.cbow.forward(x));
    return y.add(this.mlp.forward(y));
  }
}

export class BoW extends Module implements LanguageModel {
  readonly blockSize: number;
  wte: Embedding;
  wpe: Embedding;
  context_block: BoWBlock;
  lm_head: Linear;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.blockSize = config.blockSize;
    this.wte = new Embedding(config.vocabSize, config.nEmbd, { generator });
    this.wpe = new Embedding(config.blockSize, config.nEmbd, { generator });
    this.context_block = new BoWBlock(config, generator);
    this.lm_head = new Linear(config.nEmbd, config.vocabSize, { generator });
  }

  contextLength(): number {
    return this.blockSize;
  }

  forward(idx: Tensor): Tensor {
    const T = idx.shape[1];
    if (T > this.blockSize) throw new Error(`bow: cannot forward a sequence of length ${T}, the block size is only ${this.blockSize}`);
    const x = this.wte.forward(idx).add(this.wpe.forward(arange(0, T, 1, { dtype: 'int32' })));
    return this.lm_head.forward(this.context_block.forward(x));
  }
}
