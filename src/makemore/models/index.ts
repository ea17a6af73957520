// The `makemore --type` models: makemore.py's six (same state-dict keys, shapes and layouts, so
// checkpoints convert to its model.pt) and the lectures' three (parts 3 and 5).
import type { Generator } from '../../random/generator.js';
import { Bigram } from './bigram.js';
import { MLP } from './mlp.js';
import { RNN } from './rnn.js';
import { BoW } from './bow.js';
import { Transformer } from './transformer.js';
import { MlpBn } from './mlp-bn.js';
import { WaveNet } from './wavenet.js';
import { ConvNet } from './conv.js';
import type { LanguageModel, ModelConfig } from './types.js';

export type { LanguageModel, ModelConfig } from './types.js';
export { Bigram, MLP, RNN, BoW, Transformer, MlpBn, WaveNet, ConvNet };

export const MAKEMORE_PY_TYPES = ['bigram', 'mlp', 'rnn', 'gru', 'bow', 'transformer'] as const;
export const LECTURE_TYPES = ['mlp-bn', 'wavenet', 'conv'] as const;
export const MODEL_TYPES = [...MAKEMORE_PY_TYPES, ...LECTURE_TYPES] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export function isModelType(s: string): s is ModelType {
  return (MODEL_TYPES as readonly string[]).includes(s);
}

export function isLectureType(t: ModelType): boolean {
  return (LECTURE_TYPES as readonly string[]).includes(t);
}

/** The sizes a type uses when the flags do not say: makemore.py's ModelConfig defaults for its
 *  six; part 3's (10-dim embeddings, 200 hidden, 3 characters) and part 5's (24, 128, 8). */
export function defaultSizes(type: ModelType): { nEmbd: number; nEmbd2: number; contextSize: number } {
  if (type === 'mlp-bn') return { nEmbd: 10, nEmbd2: 200, contextSize: 3 };
  if (type === 'wavenet' || type === 'conv') return { nEmbd: 24, nEmbd2: 128, contextSize: 8 };
  return { nEmbd: 64, nEmbd2: 64, contextSize: 0 };
}

export function createModel(type: ModelType, config: ModelConfig, generator: Generator): LanguageModel {
  switch (type) {
    case 'bigram': return new Bigram(config);
    case 'mlp': return new MLP(config, generator);
    case 'rnn': return new RNN(config, generator, 'rnn');
    case 'gru': return new RNN(config, generator, 'gru');
    case 'bow': return new BoW(config, generator);
    case 'transformer': return new Transformer(config, generator);
    case 'mlp-bn': return new MlpBn(config, generator);
    case 'wavenet': return new WaveNet(config, generator);
    case 'conv': return new ConvNet(config, generator);
  }
}
