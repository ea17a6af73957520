// makemore part 5's hierarchical network, `--type wavenet`: the last contextSize (8) characters
// are fused two at a time, log2(contextSize) times (FlattenConsecutive(2) -> Linear without bias
// -> BatchNorm1d -> tanh), then a Linear to the vocabulary scaled by 0.1. Part 5's sizes
// (nEmbd 24, hidden 128) give its 76,579 parameters on names.
import { Tensor } from '../../tensor/tensor.js';
import { Module } from '../../nn/module.js';
import { BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh, scaleParameter_ } from '../lecture-layers.js';
import type { Generator } from '../../random/generator.js';
import { contextRows, scatterRows } from './fixed-context.js';
import type { LanguageModel, ModelConfig } from './types.js';

export function checkPowerOfTwo(type: string, contextSize: number): number {
  const levels = Math.log2(contextSize);
  if (!Number.isInteger(levels) || levels < 1) {
    throw new Error(`${type}: --block-size must be a power of two >= 2 (the context is fused two at a time), got ${contextSize}`);
  }
  return levels;
}

export class WaveNet extends Module implements LanguageModel {
  readonly contextSize: number;
  net: Sequential;

  constructor(config: ModelConfig, generator: Generator) {
    super();
    this.contextSize = config.contextSize;
    const levels = checkPowerOfTwo('wavenet', config.contextSize);
    const layers: Module[] = [new Embedding(config.vocabSize, config.nEmbd, { generator })];
    for (let l = 0; l < levels; l++) {
      const fanIn = 2 * (l === 0 ? config.nEmbd : config.nEmbd2);
      layers.push(new FlattenConsecutive(2), new Linear(fanIn, config.nEmbd2, { bias: false, generator }), new BatchNorm1d(config.nEmbd2), new Tanh());
    }
    const out = new Linear(config.nEmbd2, config.vocabSize, { generator });
    scaleParameter_(out.weight, 0.1);
    layers.push(out);
    this.net = new Sequential(layers);
  }

  contextLength(): number {
    return this.contextSize;
  }

  forward(idx: Tensor): Tensor {
    const rows = contextRows(idx, this.contextSize);
    return scatterRows(this.net.forward(rows.contexts), rows);
  }
}
