// Character vocabulary for makemore: token 0 is the start/stop marker '.', tokens 1..V-1 are the
// distinct characters of the word list in code-point order (what Python's `sorted(set(...))` gives).
// Characters are Unicode code points (`Array.from(word)`), never UTF-16 code units, so the same code
// works for names in any script, emoji included.

/** The reserved start/stop token, shown as '.' exactly as in the lectures. */
export const STOP_CHAR = '.';
export const STOP_TOKEN = 0;

/** `'é' (U+00E9)`: a character as error messages show it. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `'${ch}' (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** A word quoted for an error message, cut short when it is long. */
export function quoteWord(word: string, max = 40): string {
  const cps = Array.from(word);
  return JSON.stringify(cps.length > max ? cps.slice(0, max).join('') + '…' : word);
}

function isSingleCodePoint(ch: unknown): ch is string {
  if (typeof ch !== 'string' || ch.length === 0 || ch.length > 2) return false;
  return Array.from(ch).length === 1;
}

function compareCodePoints(a: string, b: string): number {
  return (a.codePointAt(0) as number) - (b.codePointAt(0) as number);
}

export interface VocabularyJSON {
  /** itos: index -> character; index 0 is '.'. */
  chars: string[];
}

export class Vocabulary {
  /** itos as an array: `chars[0] === '.'`. Frozen; do not mutate. */
  readonly chars: string[];
  readonly size: number;
  private readonly index: Map<string, number>;

  private constructor(chars: string[]) {
    this.chars = Object.freeze(chars.slice()) as string[];
    this.size = chars.length;
    this.index = new Map(chars.map((c, i) => [c, i]));
  }

  /**
   * The vocabulary of a word list: '.' plus every distinct code point, sorted by code point.
   * '.' may not appear in any word because it is the reserved start/stop token.
   */
  static fromWords(words: readonly string[]): Vocabulary {
    if (!Array.isArray(words)) {
      throw new TypeError(`Vocabulary.fromWords: expected an array of strings, got ${typeof words}`);
    }
    const seen = new Set<string>();
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      if (typeof word !== 'string') {
        throw new TypeError(`Vocabulary.fromWords: word ${w} is a ${typeof word}, not a string`);
      }
      const cps = Array.from(word);
      for (let i = 0; i < cps.length; i++) {
        const ch = cps[i]!;
        if (ch === STOP_CHAR) {
          throw new Error(
            `Vocabulary.fromWords: word ${w} ${quoteWord(word)} contains '.' at position ${i}; ` +
              `'.' is reserved as the start/stop token`,
          );
        }
        seen.add(ch);
      }
    }
    if (seen.size === 0) {
      throw new Error(
        `Vocabulary.fromWords: the word list has no characters (${words.length} words, all empty)`,
      );
    }
    return new Vocabulary([STOP_CHAR, ...Array.from(seen).sort(compareCodePoints)]);
  }

  /** Rebuild from `toJSON()` output (e.g. a checkpoint's config). */
  static fromJSON(json: VocabularyJSON): Vocabulary {
    const chars = (json as VocabularyJSON | null)?.chars;
    if (!Array.isArray(chars) || chars.length < 1) {
      throw new Error('Vocabulary.fromJSON: expected { chars: string[] } with at least one entry');
    }
    if (chars[0] !== STOP_CHAR) {
      throw new Error(`Vocabulary.fromJSON: chars[0] must be '.', the start/stop token, got ${JSON.stringify(chars[0])}`);
    }
    const seen = new Set<string>();
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i];
      if (!isSingleCodePoint(ch)) {
        throw new Error(`Vocabulary.fromJSON: chars[${i}] must be a single character, got ${JSON.stringify(ch)}`);
      }
      if (seen.has(ch)) throw new Error(`Vocabulary.fromJSON: chars[${i}] ${describeChar(ch)} appears twice`);
      seen.add(ch);
    }
    return new Vocabulary(chars);
  }

  toJSON(): VocabularyJSON {
    return { chars: this.chars.slice() };
  }

  /** `27 tokens: .abcdefghijklmnopqrstuvwxyz` (long vocabularies are cut short). */
  toString(): string {
    const shown = this.size > 80 ? this.chars.slice(0, 80).join('') + '…' : this.chars.join('');
    return `${this.size} tokens: ${shown}`;
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  /** Token id of `ch`, or -1 when it is not in the vocabulary (no throw, for hot loops). */
  indexOf(ch: string): number {
    return this.index.get(ch) ?? -1;
  }

  /** Token id of one character. */
  stoi(ch: string): number {
    const id = this.index.get(ch);
    if (id === undefined) {
      if (!isSingleCodePoint(ch)) {
        throw new Error(`stoi: expected a single character, got ${JSON.stringify(ch)}`);
      }
      throw new Error(`stoi: character ${describeChar(ch)} is not in the vocabulary (${this})`);
    }
    return id;
  }

  /** Character of one token id. */
  itos(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new RangeError(`itos: token ${i} is out of range for a vocabulary of ${this.size} tokens (valid: 0..${this.size - 1})`);
    }
    return this.chars[i]!;
  }

  /**
   * Token ids of every character of `word`. '.' encodes to 0, so `encode(decode(ids))` round-trips;
   * the dataset builders reject '.' inside words themselves.
   */
  encode(word: string): Int32Array {
    return encodeChars(this, word, 'encode', '');
  }

  /** The string of a sequence of token ids (token 0 decodes to '.'). */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.size) {
        throw new RangeError(
          `decode: token ${id} at position ${i} is out of range for a vocabulary of ${this.size} tokens (valid: 0..${this.size - 1})`,
        );
      }
      s += this.chars[id];
    }
    return s;
  }
}

/**
 * Encode one word of a data set. Unlike `Vocabulary.encode`, a '.' inside the word is an error here:
 * it would be indistinguishable from the start/stop token in the built examples.
 */
export function encodeWord(vocab: Vocabulary, word: string, op: string, wordIndex: number): Int32Array {
  if (typeof word !== 'string') throw new TypeError(`${op}: word ${wordIndex} is a ${typeof word}, not a string`);
  const ids = encodeChars(vocab, word, op, ` (word ${wordIndex})`);
  const dot = ids.indexOf(STOP_TOKEN);
  if (dot >= 0) {
    throw new Error(
      `${op}: word ${wordIndex} ${quoteWord(word)} contains '.' at position ${dot}; '.' is reserved as the start/stop token`,
    );
  }
  return ids;
}

function encodeChars(vocab: Vocabulary, word: string, op: string, where: string): Int32Array {
  if (typeof word !== 'string') throw new TypeError(`${op}: expected a string, got ${typeof word}`);
  const cps = Array.from(word);
  const out = new Int32Array(cps.length);
  for (let i = 0; i < cps.length; i++) {
    const id = vocab.indexOf(cps[i]!);
    if (id < 0) {
      throw new Error(
        `${op}: character ${describeChar(cps[i]!)} at position ${i} in ${quoteWord(word)}${where} ` +
          `is not in the vocabulary (${vocab})`,
      );
    }
    out[i] = id;
  }
  return out;
}
