// What every `makemore --type` model shares: its configuration (makemore.py's ModelConfig plus the
// lecture models' sizes) and the interface the command trains, evaluates and samples through.
//
// Every model reads a batch of token sequences idx [B, T] (token 0 = start/stop, as makemore.py's
// CharDataset) and returns logits [B, T, V]: position t predicts token t+1. The lecture models that
// look at a fixed context (mlp-bn, wavenet) build that context for each position themselves.
import type { Tensor } from '../../tensor/tensor.js';
import type { Module } from '../../nn/module.js';
import type { Generator } from '../../random/generator.js';

export interface ModelConfig {
  /** Tokens, the start/stop token included. */
  vocabSize: number;
  /** Longest sequence the model reads (makemore.py: longest word + 1). */
  blockSize: number;
  nLayer: number;
  nEmbd: number;
  nEmbd2: number;
  nHead: number;
  /** Characters of context of the fixed-context lecture models (mlp-bn 3, wavenet and conv 8). */
  contextSize: number;
  /** Transformer only: dropout on the embeddings and after each residual branch (minGPT's
   *  embd/resid dropout; makemore.py removed it). 0 (default) = none. No parameters. */
  dropout?: number;
}

export interface LanguageModel extends Module {
  forward(idx: Tensor): Tensor;
  /** How many previous tokens the model can use; sampling crops its context to this. */
  contextLength(): number;
}

export type ModelFactory = (config: ModelConfig, generator: Generator) => LanguageModel;

/** Validity of each position of a padded batch: position 0 (the start token) and every
 *  non-zero token. Positions after a word's stop token hold 0 and are padding (targets -1). */
export function validPositions(idx: Tensor): Uint8Array {
  const [B, T] = idx.shape as [number, number];
  const d = idx.contiguous().flat();
  const valid = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) valid[b * T + t] = t === 0 || d[b * T + t] !== 0 ? 1 : 0;
  }
  return valid;
}
