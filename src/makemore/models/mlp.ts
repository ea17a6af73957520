// makemore.py's MLP (Bengio et al. 2003): the embeddings of the blockSize previous tokens,
// concatenated, through Linear -> tanh -> Linear. Before the start of the sequence it reads a
// special <BLANK> token (id = vocabSize), hence the vocabSize + 1 rows of wte.
import { Tensor } from '../../tensor/tensor.js';
import { cat } from '../../ops/join.js';
import { Module } from '../../nn/module.js';
import { Embedding } from '../../nn/embedding.js';
import { Linear } from '../../nn/linear.js';
import { Tanh } from '../../nn/activation.js';
import { Sequential } from '../../nn/container.js';
import type { Generator } from '../../random/generator.js';
import type { LanguageModel, ModelConfig } from './types.js';

export class MLP extends Module implements LanguageModel {
  readonly blockSize: number;
  readonly vocabSize: number;
  wte: Embedding;
  mlp: Sequential;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.blockSize = config.blockSize;
    this.vocabSize = config.vocabSize;
    this.wte = new Embedding(config.vocabSize + 1, config.nEmbd, { generator });
    this.mlp = new Sequential(
      new Linear(config.blockSize * config.nEmbd, config.nEmbd2, { generator }),
      new Tanh(),
      new Linear(config.nEmbd2, config.vocabSize, { generator }),
    );
  }

  contextLength(): number {
    return this.blockSize;
  }

  forward(idx: Tensor): Tensor {
    const [B, T] = idx.shape as [number, number];
    const K = this.blockSize;
    // makemore.py rolls idx right k times (k = 0..K-1), blanking what falls off the start, and
    // concatenates the K embeddings; one lookup of [B, T, K] indices is the same, k fastest. The
    // lookup is tensor ops (no read of idx in TypeScript, so compile can replay it): idx flattened
    // with the blank token appended (position B·T), indexed by where each context token sits,
    // which depends on the shape only.
    const pos = new Int32Array(B * T * K);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < K; k++) pos[(b * T + t) * K + k] = t - k >= 0 ? b * T + t - k : B * T;
      }
    }
    const blank = new Tensor(Int32Array.of(this.vocabSize), [1]);
    const tokens = cat([idx.reshape([B * T]), blank], 0).index(new Tensor(pos, [B * T * K]));
    const emb = this.wte.forward(tokens.view([B, T, K])); // [B, T, K, nEmbd]
    return this.mlp.forward(emb.reshape([B, T, K * this.wte.embeddingDim]));
  }
}
