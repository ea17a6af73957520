// The makemore command's data: any UTF-8 word list, one item per line, read the way makemore.py
// reads it (lines split as Python's str.splitlines, stripped, empty ones dropped), a vocabulary in
// which every character is an ordinary token, and makemore.py's train/test split.
//
// Characters are Unicode code points, as Python's str is: the vocabulary, the longest-word length
// and every token id are the ones makemore.py computes for the same file, so checkpoints convert
// between the two one to one. (Grapheme clusters would keep a base letter and its combining marks
// together, but every distinct cluster would then be a token of its own, and makemore.py's models
// would no longer line up.) A combining mark is thus a token; text is not normalised (NFC or NFD
// files keep their own code points).
//
// The start/stop token is id 0 and is not a character of the data: '.' is an ordinary character
// here, unlike the lectures' Vocabulary (src/makemore/vocab.ts), which reserves '.'.
import { closeSync, openSync, readSync, fstatSync, statSync } from 'node:fs';
import { Generator } from '../random/generator.js';
import { CommandError } from './errors.js';
import { firstInvalidUtf8 } from '../makemore/data.js';

/** Python's str.splitlines boundaries (\r\n first, so it counts once). */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

export function parseWordList(text: string): string[] {
  const words: string[] = [];
  for (const line of text.split(LINE_BREAK)) {
    const w = line.trim();
    if (w.length > 0) words.push(w);
  }
  return words;
}

/** Reads a word list or throws a CommandError saying what is wrong with the file. */
export function readWordList(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CommandError(`the word list ${path} does not exist`);
    if (code === 'EACCES') throw new CommandError(`cannot read the word list ${path}: permission denied`);
    throw new CommandError(`cannot read the word list ${path}: ${(e as Error).message}`);
  }
  if (st.isDirectory()) throw new CommandError(`the word list ${path} is a directory, not a file`);
  if (!st.isFile()) throw new CommandError(`the word list ${path} is not a regular file`);
  let bytes: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      bytes = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, bytes, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      bytes = bytes.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CommandError(`cannot read the word list ${path}: ${code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  if (bytes.length === 0) throw new CommandError(`the word list ${path} is empty`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new CommandError(`the word list ${path} looks like a binary file (a zero byte at offset ${nul}), not text`);
  let text: string;
  try {
    // A BOM is dropped (ignoreBOM false); invalid sequences throw instead of becoming U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new CommandError(`the word list ${path} is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)})`);
  }
  const words = parseWordList(text);
  if (words.length === 0) throw new CommandError(`the word list ${path} has no words (only blank lines)`);
  return words;
}


/** Code points of a word (what Python's len and iteration count). */
export function codePoints(word: string): string[] {
  return Array.from(word);
}

/** Token 0 = start/stop; tokens 1..V-1 = the distinct characters in code-point order (Python's
 *  sorted(set(...))), as makemore.py's CharDataset. */
export class CharVocabulary {
  readonly chars: readonly string[];
  private readonly stoi: Map<string, number>;

  constructor(chars: readonly string[]) {
    this.chars = Object.freeze([...chars]);
    this.stoi = new Map(chars.map((c, i) => [c, i + 1]));
  }

  static fromWords(words: readonly string[]): CharVocabulary {
    const seen = new Set<string>();
    for (const w of words) for (const c of codePoints(w)) seen.add(c);
    return new CharVocabulary([...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** Characters + the start/stop token. */
  get size(): number {
    return this.chars.length + 1;
  }

  has(ch: string): boolean {
    return this.stoi.has(ch);
  }

  /** Token ids of a word; throws naming the first character that is not in the vocabulary. */
  encode(word: string, what = 'word'): Int32Array {
    const cps = codePoints(word);
    const out = new Int32Array(cps.length);
    cps.forEach((c, i) => {
      const id = this.stoi.get(c);
      if (id === undefined) throw new CommandError(`${what} ${JSON.stringify(word)} has the character ${describeChar(c)}, which is not in the model's vocabulary`);
      out[i] = id;
    });
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i] - 1];
    return s;
  }

  equals(other: CharVocabulary): boolean {
    return this.chars.length === other.chars.length && this.chars.every((c, i) => c === other.chars[i]);
  }

  /** The characters for the header: all of them when there are few, else the first and last ones
   *  and how many are left out. Invisible ones (spaces, marks) are shown by name. */
  summary(max = 80): string {
    const show = (cs: readonly string[]) => cs.map(visibleChar).join('');
    if (this.chars.length <= max) return show(this.chars);
    const head = this.chars.slice(0, max - 20);
    const tail = this.chars.slice(-20);
    return `${show(head)} … ${show(tail)} (${this.chars.length - head.length - tail.length} more not shown)`;
  }
}

export function describeChar(ch: string): string {
  return `${visibleChar(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** A character as the header shows it: spaces and other invisible code points by their code. */
function visibleChar(ch: string): string {
  if (ch === ' ') return '␠';
  if (/[\p{White_Space}\p{Cc}\p{Cf}\p{M}]/u.test(ch)) return `<U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`;
  return ch;
}

export interface WordSplit {
  train: string[];
  test: string[];
}

/** makemore.py's split: test = the last min(1000, ⌊10%⌋) of torch.randperm(n) drawn from the
 *  seeded generator, train = the rest. With fewer than 10 words 10% rounds to 0, where
 *  makemore.py would train on nothing; one test word is kept instead. */
export function splitWordList(words: readonly string[], generator: Generator): WordSplit {
  if (words.length < 2) {
    throw new CommandError(`the word list has ${words.length} word${words.length === 1 ? '' : 's'}; at least 2 are needed (one to train on, one to test on)`);
  }
  const testSize = Math.max(1, Math.min(1000, Math.floor(words.length * 0.1)));
  const rp = generator.randperm(words.length);
  const cut = words.length - testSize;
  const train = Array.from(rp.subarray(0, cut), (i) => words[i]);
  const test = Array.from(rp.subarray(cut), (i) => words[i]);
  if (train.length === 0 || test.length === 0) throw new CommandError(`the split of ${words.length} words left the ${train.length === 0 ? 'training' : 'test'} set empty`);
  return { train, test };
}

/** Words as makemore.py's CharDataset rows: x = [0, w..., 0 pad], y = [w..., 0, -1 pad], each
 *  of length `length` (longest word + 1). */
export interface EncodedWords {
  count: number;
  length: number;
  x: Int32Array;
  y: Int32Array;
  /** Characters per word. */
  lengths: Int32Array;
}

export function encodeWords(words: readonly string[], vocab: CharVocabulary, length: number): EncodedWords {
  const n = words.length;
  const x = new Int32Array(n * length);
  const y = new Int32Array(n * length).fill(-1);
  const lengths = new Int32Array(n);
  words.forEach((w, r) => {
    const ids = vocab.encode(w);
    if (ids.length + 1 > length) throw new CommandError(`word ${JSON.stringify(w)} has ${ids.length} characters, more than the model's longest ${length - 1}`);
    lengths[r] = ids.length;
    x.set(ids, r * length + 1);
    y.set(ids, r * length);
    y[r * length + ids.length] = 0;
  });
  return { count: n, length, x, y, lengths };
}
