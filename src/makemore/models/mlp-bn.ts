// makemore part 3's network, `--type mlp-bn`: the embeddings of the last contextSize characters
// (3), one hidden layer Linear (no bias, Kaiming gain 5/3) -> BatchNorm1d -> tanh, and an output
// layer scaled by 0.01 (the "fix softmax confidently wrong" step), in the lecture's own layers.
import { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh, scaleParameter_ } from '../lecture-layers.js';
import type { Generator } from '../../random/generator.js';
import { contextRows, scatterRows } from './fixed-context.js';
import type { LanguageModel, ModelConfig } from './types.js';

export class MlpBn extends Module implements LanguageModel {
  readonly contextSize: number;
  net: Sequential;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.contextSize = config.contextSize;
    const fanIn = config.contextSize * config.nEmbd;
    const hidden = new Linear(fanIn, config.nEmbd2, { bias: false, generator });
    scaleParameter_(hidden.weight, 5 / 3); // tanh gain: randn·(5/3)/√fan_in
    const out = new Linear(config.nEmbd2, config.vocabSize, { generator });
    scaleParameter_(out.weight, 0.01);
    this.net = new Sequential([
      new Embedding(config.vocabSize, config.nEmbd, { generator }),
      new FlattenConsecutive(config.contextSize),
      hidden,
      new BatchNorm1d(config.nEmbd2),
      new Tanh(),
      out,
    ]);
  }

  contextLength(): number {
    return this.contextSize;
  }

  forward(idx: Tensor): Tensor {
    const rows = contextRows(idx, this.contextSize);
    return scatterRows(this.net.forward(rows.contexts), rows);
  }
}
