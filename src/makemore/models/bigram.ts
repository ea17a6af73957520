// makemore.py's Bigram: a [V, V] table of logits, row = previous token, zeros at the start.
import { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/creation.js';
import { Module, Parameter } from '../../nn/module.js';
import type { LanguageModel, ModelConfig } from './types.js';

export class Bigram extends Module implements LanguageModel {
  logits: Parameter;

  constructor(config: ModelConfig) {
    super();
    this.logits = new Parameter(zeros([config.vocabSize, config.vocabSize]));
  }

  contextLength(): number {
    return 1;
  }

  forward(idx: Tensor): Tensor {
    return this.logits.index(idx);
  }
}
