// makemore data pipeline: read a word list, split it the way the lectures do, and build the
// (context -> next character) examples and bigram pairs as flat Int32Arrays.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PyRandom } from '../random/pyrandom.js';
import { STOP_TOKEN, encodeWord, type Vocabulary } from './vocab.js';

const BUNDLED_NAMES = join('data', 'names.txt');

/**
 * Absolute path of the bundled `data/names.txt`. Found by walking up from this module, so it works
 * from `src/makemore/` (tsx, vitest) and from `dist/src/makemore/` (compiled) alike.
 */
export function defaultWordsPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    const candidate = join(dir, BUNDLED_NAMES);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `readWords: cannot find the bundled ${BUNDLED_NAMES} above ${dirname(fileURLToPath(import.meta.url))}; pass a path`,
  );
}

/** Split text into trimmed, non-empty lines (any of \n, \r\n, \r ends a line). */
export function parseWords(text: string): string[] {
  const words: string[] = [];
  for (const line of text.split(/\r\n|\n|\r/)) {
    const w = line.trim();
    if (w.length > 0) words.push(w);
  }
  return words;
}

/**
 * Read a UTF-8 word list, one word per line; lines are trimmed and empty lines dropped.
 * Without a path, reads the bundled names.txt (32033 names).
 */
export function readWords(path?: string): string[] {
  const file = resolve(path ?? defaultWordsPath());
  let bytes: Buffer;
  try {
    if (statSync(file).isDirectory()) throw new Error(`readWords: "${file}" is a directory, not a word list`);
    bytes = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new Error(`readWords: word list "${file}" does not exist`);
    if (err.code === 'EACCES') throw new Error(`readWords: permission denied reading "${file}"`);
    if (err.message?.startsWith('readWords:')) throw err;
    throw new Error(`readWords: cannot read "${file}": ${err.message}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new Error(`readWords: "${file}" is not valid UTF-8 (first bad byte at offset ${at})`);
  }
  const words = parseWords(text);
  if (words.length === 0) {
    throw new Error(
      bytes.length === 0 ? `readWords: word list "${file}" is empty` : `readWords: word list "${file}" has no words (only blank lines)`,
    );
  }
  return words;
}

/** Offset of the first byte of the first invalid UTF-8 sequence (the lead byte of a broken one). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  // The valid prefix may end inside a sequence that the next byte breaks: the bad sequence
  // starts at its lead byte.
  let start = lo;
  while (start > 0 && lo - start < 3 && (bytes[start - 1] & 0xc0) === 0x80) start--;
  const lead = start - 1;
  if (lead >= 0 && bytes[lead] >= 0xc0) {
    const need = bytes[lead] >= 0xf0 ? 4 : bytes[lead] >= 0xe0 ? 3 : 2;
    if (lo - lead < need) return lead;
  }
  return lo;
}

export interface SplitOptions {
  /** Seed of Python's `random.seed(seed)` before `random.shuffle(words)`. Default 42. */
  seed?: number;
  /** End of the training part as a fraction of the words: n1 = floor(train·n). Default 0.8. */
  train?: number;
  /** End of the dev part as a fraction of the words: n2 = floor(dev·n). Default 0.9 (so 10% dev, 10% test). */
  dev?: number;
}

export interface WordSplit {
  train: string[];
  dev: string[];
  test: string[];
}

/**
 * The lectures' 80/10/10 split: shuffle a copy with Python's `random.seed(42); random.shuffle(words)`,
 * then cut at int(0.8·n) and int(0.9·n). The input array is not modified.
 */
export function splitWords(words: readonly string[], options: SplitOptions = {}): WordSplit {
  const { seed = 42, train = 0.8, dev = 0.9 } = options;
  if (!Array.isArray(words)) throw new TypeError(`splitWords: expected an array of words, got ${typeof words}`);
  if (!(Number.isFinite(train) && Number.isFinite(dev) && 0 <= train && train <= dev && dev <= 1)) {
    throw new RangeError(`splitWords: need 0 <= train <= dev <= 1 (cumulative fractions), got train=${train}, dev=${dev}`);
  }
  const shuffled = words.slice();
  new PyRandom(seed).shuffle(shuffled);
  const n = shuffled.length;
  const n1 = Math.floor(train * n);
  const n2 = Math.floor(dev * n);
  return { train: shuffled.slice(0, n1), dev: shuffled.slice(n1, n2), test: shuffled.slice(n2) };
}

export interface ContextDataset {
  /** rows × blockSize token ids, row-major: row r is the context before target Y[r]. */
  X: Int32Array;
  /** The next token for each row (0 = end of word). */
  Y: Int32Array;
  rows: number;
  blockSize: number;
}

function checkVocab(op: string, vocab: Vocabulary): void {
  if (vocab === null || typeof vocab !== 'object' || typeof (vocab as Vocabulary).indexOf !== 'function') {
    throw new TypeError(`${op}: expected a Vocabulary, got ${vocab === null ? 'null' : typeof vocab}`);
  }
}

function encodeAll(op: string, words: readonly string[], vocab: Vocabulary): Int32Array[] {
  if (!Array.isArray(words)) throw new TypeError(`${op}: expected an array of words, got ${typeof words}`);
  checkVocab(op, vocab);
  return words.map((w, i) => encodeWord(vocab, w, op, i));
}

/**
 * Context windows as the lectures build them: the context starts as blockSize start tokens (0),
 * each character of `word + '.'` is a target, and the context slides by one after each target.
 * Every word contributes len(word) + 1 rows.
 */
export function buildContexts(words: readonly string[], vocab: Vocabulary, blockSize: number): ContextDataset {
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`buildContexts: block size must be an integer >= 1, got ${blockSize}`);
  }
  const encoded = encodeAll('buildContexts', words, vocab);
  let rows = 0;
  for (const ids of encoded) rows += ids.length + 1;
  const X = new Int32Array(rows * blockSize);
  const Y = new Int32Array(rows);
  const context = new Int32Array(blockSize);
  let r = 0;
  for (const ids of encoded) {
    context.fill(STOP_TOKEN);
    for (let i = 0; i <= ids.length; i++) {
      const target = i < ids.length ? ids[i]! : STOP_TOKEN;
      X.set(context, r * blockSize);
      Y[r] = target;
      r++;
      context.copyWithin(0, 1);
      context[blockSize - 1] = target;
    }
  }
  return { X, Y, rows, blockSize };
}

export interface BigramPairs {
  /** First token of each bigram (0 = start). */
  xs: Int32Array;
  /** Second token of each bigram (0 = end). */
  ys: Int32Array;
}

/** All bigrams of `'.' + word + '.'` for every word, in order: the neural bigram's inputs and targets. */
export function bigramPairs(words: readonly string[], vocab: Vocabulary): BigramPairs {
  return bigramPairsFor('bigramPairs', words, vocab);
}

/** `bigramPairs` with errors attributed to the calling op (`countBigrams`, `averageNll`, ...). */
export function bigramPairsFor(op: string, words: readonly string[], vocab: Vocabulary): BigramPairs {
  const encoded = encodeAll(op, words, vocab);
  let n = 0;
  for (const ids of encoded) n += ids.length + 1;
  const xs = new Int32Array(n);
  const ys = new Int32Array(n);
  let k = 0;
  for (const ids of encoded) {
    let prev = STOP_TOKEN;
    for (let i = 0; i <= ids.length; i++) {
      const next = i < ids.length ? ids[i]! : STOP_TOKEN;
      xs[k] = prev;
      ys[k] = next;
      k++;
      prev = next;
    }
  }
  return { xs, ys };
}
