// The autoregressive sampling loop shared by makemore's neural models: start from a context of
// start tokens, ask the model for the next-token distribution, draw one token with
// torch.multinomial's seeded stream, slide the context, and stop at the end token '.'.
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../random/generator.js';
import { STOP_TOKEN, type Vocabulary } from './vocab.js';

export interface SampleLoopOptions {
  /** Number of words to draw. */
  count: number;
  /** Tokens of context the model sees (1 for a bigram). */
  blockSize: number;
  generator: Generator;
  vocab: Vocabulary;
  /**
   * torch.multinomial's `replacement` flag. Part 1 passes `replacement=True`; part 2 leaves the
   * default (False). For one draw both give the same distribution but consume the generator
   * differently, so seeded samples only reproduce with the lecture's choice.
   */
  replacement: boolean;
  /** Longest sample (characters, counting the final '.') before giving up. Default 10000. */
  maxLength?: number;
}

/** The model's next-token probabilities for one context (a [V] or [1, V] tensor, or a plain array). */
export type NextTokenProbabilities = (context: Int32Array) => Tensor | ArrayLike<number>;

function probabilityRow(op: string, p: Tensor | ArrayLike<number>, V: number): ArrayLike<number> {
  let row: ArrayLike<number>;
  if (p instanceof Tensor) {
    const t = p;
    if (t.numel() !== V || !(t.ndim === 1 || (t.ndim === 2 && t.shape[0] === 1))) {
      throw new RangeError(`${op}: the model returned probabilities of shape [${t.shape.join(', ')}], expected [${V}] or [1, ${V}]`);
    }
    row = t.detach().contiguous().flat();
  } else {
    row = p as ArrayLike<number>;
    if (row === null || typeof row !== 'object' || row.length !== V) {
      throw new RangeError(`${op}: the model returned ${row?.length ?? typeof row} probabilities, expected ${V} (one per token)`);
    }
  }
  return row;
}

/**
 * Draw `count` words. Each word ends with '.', as the lectures print `''.join(itos[i] for i in out)`.
 * Every draw goes through `generator.multinomial`, so the same seed and model give the same words.
 */
export function sampleSequences(nextProbabilities: NextTokenProbabilities, options: SampleLoopOptions): string[] {
  const op = 'sampleSequences';
  const { count, blockSize, generator, vocab, replacement, maxLength = 10_000 } = options;
  if (typeof nextProbabilities !== 'function') throw new TypeError(`${op}: expected a function context -> probabilities`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${op}: count must be an integer >= 0, got ${count}`);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`${op}: blockSize must be an integer >= 1, got ${blockSize}`);
  if (generator === null || typeof generator !== 'object' || typeof generator.multinomial !== 'function') {
    throw new TypeError(`${op}: expected a Generator (e.g. new Generator().manualSeed(2147483647 + 10))`);
  }
  if (vocab === null || typeof vocab !== 'object' || typeof vocab.itos !== 'function') {
    throw new TypeError(`${op}: expected a Vocabulary`);
  }
  if (typeof replacement !== 'boolean') throw new TypeError(`${op}: replacement must be true or false, got ${String(replacement)}`);
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`${op}: maxLength must be an integer >= 1, got ${maxLength}`);
  const V = vocab.size;
  const words: string[] = [];
  for (let s = 0; s < count; s++) {
    const context = new Int32Array(blockSize).fill(STOP_TOKEN);
    let word = '';
    for (let len = 1; ; len++) {
      // A copy, so a model that keeps the array cannot see it change under it.
      const row = probabilityRow(op, nextProbabilities(context.slice()), V);
      const ix = generator.multinomial(row, 1, replacement)[0]!;
      word += vocab.itos(ix);
      if (ix === STOP_TOKEN) break;
      if (len >= maxLength) {
        throw new Error(`${op}: sample ${s} reached ${maxLength} characters without drawing the end token '.' (raise maxLength)`);
      }
      context.copyWithin(0, 1);
      context[blockSize - 1] = ix;
    }
    words.push(word);
  }
  return words;
}
