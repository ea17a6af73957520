// The counting bigram model of makemore part 1: count every (character, next character) pair,
// normalise the rows into probabilities, sample names from them, and score a data set by its
// average negative log-likelihood. Float32 throughout, matching the lecture's torch code.
import type { Generator } from '../random/generator.js';
import { bigramPairsFor } from './data.js';
import { STOP_TOKEN, type Vocabulary } from './vocab.js';

export interface BigramCounts {
  /** V×V row-major: counts[i*V + j] = how often token j follows token i. Row 0 counts word starts, column 0 word ends. */
  counts: Int32Array;
  size: number;
}

/** `N[ix1, ix2] += 1` over every bigram of `'.' + word + '.'`. */
export function countBigrams(words: readonly string[], vocab: Vocabulary): BigramCounts {
  const { xs, ys } = bigramPairsFor('countBigrams', words, vocab);
  const V = vocab.size;
  const counts = new Int32Array(V * V);
  for (let k = 0; k < xs.length; k++) counts[xs[k]! * V + ys[k]!]! += 1;
  return { counts, size: V };
}

function checkSquare(op: string, name: string, m: ArrayLike<number>, V: number): void {
  if (!Number.isInteger(V) || V < 1) throw new RangeError(`${op}: vocabulary size must be an integer >= 1, got ${V}`);
  if (m === null || typeof m !== 'object' || typeof m.length !== 'number') {
    throw new TypeError(`${op}: ${name} must be an array of ${V}x${V} numbers`);
  }
  if (m.length !== V * V) {
    throw new RangeError(`${op}: ${name} has ${m.length} entries, expected ${V}x${V} = ${V * V}`);
  }
}

/**
 * Row-normalised float32 probabilities: `P = (N + smoothing).float(); P /= P.sum(1, keepdim=True)`.
 * Each entry is fround(fround(n) + fround(smoothing)); the row sum is taken in float64 and rounded
 * to float32 once, which equals torch's float32 sum whenever row totals stay below 2^24 (always so
 * for names.txt), and is the more accurate of the two beyond that. The quotient is the correctly
 * rounded float32 division, as torch computes it.
 */
export function bigramProbabilities(counts: ArrayLike<number>, V: number, smoothing = 1): Float32Array {
  const op = 'bigramProbabilities';
  checkSquare(op, 'counts', counts, V);
  if (!Number.isFinite(smoothing) || smoothing < 0) {
    throw new RangeError(`${op}: smoothing must be a finite number >= 0, got ${smoothing}`);
  }
  const s = Math.fround(smoothing);
  const P = new Float32Array(V * V);
  for (let i = 0; i < V; i++) {
    let sum = 0;
    for (let j = 0; j < V; j++) {
      const n = counts[i * V + j]!;
      if (!Number.isFinite(n) || n < 0) {
        throw new RangeError(`${op}: counts[${i}, ${j}] = ${n}; counts must be finite and >= 0`);
      }
      const v = Math.fround(Math.fround(n) + s);
      P[i * V + j] = v;
      sum += v;
    }
    if (sum === 0) {
      throw new RangeError(
        `${op}: row ${i} sums to 0 (no bigrams start with token ${i} and smoothing is 0); its probabilities would be NaN`,
      );
    }
    const rowSum = Math.fround(sum);
    for (let j = 0; j < V; j++) P[i * V + j] = P[i * V + j]! / rowSum;
  }
  return P;
}

function checkProbabilities(op: string, P: ArrayLike<number>, V: number, vocab: Vocabulary): void {
  checkSquare(op, 'P', P, V);
  if (vocab === null || typeof vocab !== 'object' || typeof vocab.size !== 'number') {
    throw new TypeError(`${op}: expected a Vocabulary, got ${vocab === null ? 'null' : typeof vocab}`);
  }
  if (vocab.size !== V) {
    throw new RangeError(`${op}: P is ${V}x${V} but the vocabulary has ${vocab.size} tokens (${vocab})`);
  }
}

export interface SampleOptions {
  /** Longest sample (characters, including the final '.') before giving up. Default 10000. */
  maxLength?: number;
}

/**
 * Sample `count` words from the bigram model: start at token 0 and draw
 * `multinomial(P[ix], 1, replacement=true, generator)` until token 0 comes out again.
 * Each word ends with '.', as the lecture prints them.
 */
export function sampleWords(
  P: ArrayLike<number>,
  V: number,
  count: number,
  generator: Generator,
  vocab: Vocabulary,
  options: SampleOptions = {},
): string[] {
  const op = 'sampleWords';
  checkProbabilities(op, P, V, vocab);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${op}: count must be an integer >= 0, got ${count}`);
  if (generator === null || typeof generator !== 'object' || typeof generator.multinomial !== 'function') {
    throw new TypeError(`${op}: expected a Generator (e.g. new Generator().manualSeed(2147483647))`);
  }
  const { maxLength = 10_000 } = options;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`${op}: maxLength must be an integer >= 1, got ${maxLength}`);
  // Validate every row once up front so a bad row is reported with its character, not mid-sample.
  for (let i = 0; i < V; i++) {
    let sum = 0;
    for (let j = 0; j < V; j++) {
      const p = P[i * V + j]!;
      if (!(p >= 0) || !Number.isFinite(p)) {
        throw new RangeError(`${op}: P[${i}, ${j}] (${vocab.itos(i)}${vocab.itos(j)}) = ${p}; probabilities must be finite and >= 0`);
      }
      sum += p;
    }
    if (sum === 0) throw new RangeError(`${op}: row ${i} ('${vocab.itos(i)}') of P sums to 0; nothing can follow it`);
  }
  const rows: ArrayLike<number>[] = [];
  for (let i = 0; i < V; i++) {
    rows.push(P instanceof Float32Array || P instanceof Float64Array ? P.subarray(i * V, (i + 1) * V) : Array.from({ length: V }, (_, j) => P[i * V + j]!));
  }
  const out: string[] = [];
  for (let s = 0; s < count; s++) {
    let word = '';
    let ix = STOP_TOKEN;
    for (let len = 1; ; len++) {
      ix = generator.multinomial(rows[ix]!, 1, true)[0]!;
      word += vocab.itos(ix);
      if (ix === STOP_TOKEN) break;
      if (len >= maxLength) {
        throw new Error(
          `${op}: sample ${s} reached ${maxLength} characters without drawing the end token '.'; ` +
            `P must give every reachable row a path to token 0 (or raise maxLength)`,
        );
      }
    }
    out.push(word);
  }
  return out;
}

export interface NllResult {
  /** Sum of log P[x, y] over every bigram, accumulated in float32 (as the lecture's tensor sum). */
  logLikelihood: number;
  /** Average negative log-likelihood: float32(-logLikelihood / count). */
  nll: number;
  /** Number of bigrams scored. */
  count: number;
}

/**
 * Average negative log-likelihood of `words` under P, computed as the lecture's loop does:
 * `log_likelihood += torch.log(P[ix1, ix2])` makes a float32 tensor, so each float32 log-prob is
 * added to a float32 running sum in data order, and `nll / n` is a float32 division. With
 * names.txt and +1 smoothing that gives log_likelihood -559951.5625 and nll 2.4543562 (2.4540941
 * without smoothing); a float64 sum would give 2.4545768. A zero probability gives -Infinity /
 * Infinity, as torch does (e.g. "andrejq" without smoothing).
 */
export function averageNll(P: ArrayLike<number>, V: number, words: readonly string[], vocab: Vocabulary): NllResult {
  const op = 'averageNll';
  checkProbabilities(op, P, V, vocab);
  const { xs, ys } = bigramPairsFor(op, words, vocab);
  if (xs.length === 0) throw new RangeError(`${op}: no bigrams to score (the word list is empty)`);
  let ll = 0;
  for (let k = 0; k < xs.length; k++) {
    const p = P[xs[k]! * V + ys[k]!]!;
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(
        `${op}: P[${xs[k]}, ${ys[k]}] (${vocab.itos(xs[k]!)}${vocab.itos(ys[k]!)}) = ${p} is not a probability`,
      );
    }
    ll = Math.fround(ll + Math.fround(Math.log(Math.fround(p))));
  }
  return { logLikelihood: ll, nll: Math.fround(-ll / xs.length), count: xs.length };
}
