import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Vocabulary,
  bigramPairs,
  buildContexts,
  defaultWordsPath,
  readWords,
  splitWords,
} from '../src/makemore/index.js';

const LETTERS = '.abcdefghijklmnopqrstuvwxyz';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ferrograd-mm-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function tmpFile(name: string, content: string | Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

/** Independent row builder: slide a window over the padded string. */
function contextsBySlicing(words: string[], blockSize: number): { ctx: string[]; tgt: string[] } {
  const ctx: string[] = [];
  const tgt: string[] = [];
  for (const w of words) {
    const padded = ['.'.repeat(blockSize), ...w, '.'].join('');
    const cps = Array.from(padded);
    for (let i = 0; i + blockSize < cps.length; i++) {
      ctx.push(cps.slice(i, i + blockSize).join(''));
      tgt.push(cps[i + blockSize]!);
    }
  }
  return { ctx, tgt };
}

describe('readWords', () => {
  const words = readWords();

  it('reads the bundled names.txt: 32033 words, lengths 2..15, the first ten as printed in the lecture', () => {
    expect(words.length).toBe(32033);
    const lens = words.map((w) => w.length);
    expect(Math.min(...lens)).toBe(2);
    expect(Math.max(...lens)).toBe(15);
    expect(words.slice(0, 10)).toEqual([
      'emma', 'olivia', 'ava', 'isabella', 'sophia', 'charlotte', 'mia', 'amelia', 'harper', 'evelyn',
    ]);
    expect(defaultWordsPath().endsWith(join('data', 'names.txt'))).toBe(true);
  });

  it('trims lines, drops empty ones, accepts \\n, \\r\\n and \\r, strips a BOM, keeps non-ASCII code points', () => {
    const p = tmpFile('mixed.txt', '\uFEFF  zoë \r\n\r\n\tjosé\n\n   \rnaïve\n😀x\n');
    expect(readWords(p)).toEqual(['zoë', 'josé', 'naïve', '😀x']);
  });

  it('reports a missing file, an empty file, a blank file, a directory and invalid UTF-8 by name', () => {
    const missing = join(tmp, 'nope.txt');
    expect(() => readWords(missing)).toThrow(/readWords: word list ".*nope\.txt" does not exist/);
    const empty = tmpFile('empty.txt', '');
    expect(() => readWords(empty)).toThrow(/readWords: word list ".*empty\.txt" is empty/);
    const blank = tmpFile('blank.txt', '\n  \n\t\r\n');
    expect(() => readWords(blank)).toThrow(/readWords: word list ".*blank\.txt" has no words/);
    const dir = join(tmp, 'adir');
    mkdirSync(dir);
    expect(() => readWords(dir)).toThrow(/readWords: ".*adir" is a directory/);
    const bad = tmpFile('bad.txt', new Uint8Array([0x61, 0x62, 0x0a, 0x63, 0xff, 0x64]));
    expect(() => readWords(bad)).toThrow(/readWords: ".*bad\.txt" is not valid UTF-8 \(first bad byte at offset 4\)/);
  });
});

describe('Vocabulary', () => {
  const words = readWords();
  const vocab = Vocabulary.fromWords(words);

  it("has 27 tokens for names.txt: '.' then a..z, with stoi/itos as in the lecture", () => {
    expect(vocab.size).toBe(27);
    expect(vocab.chars.join('')).toBe(LETTERS);
    expect(vocab.stoi('.')).toBe(0);
    expect(vocab.stoi('a')).toBe(1);
    expect(vocab.stoi('z')).toBe(26);
    expect(vocab.itos(0)).toBe('.');
    expect(vocab.itos(13)).toBe('m');
    for (let i = 0; i < vocab.size; i++) expect(vocab.stoi(vocab.itos(i))).toBe(i);
    expect(String(vocab)).toBe('27 tokens: .abcdefghijklmnopqrstuvwxyz');
  });

  it('sorts by code point, counting astral characters as one character (not UTF-16 units)', () => {
    // U+FF5A 'ｚ' < U+1F600 '😀' by code point, but '😀' starts with the surrogate 0xD83D < 0xFF5A.
    const v = Vocabulary.fromWords(['😀ｚ', 'é', 'b', 'ｚa']);
    expect(v.chars).toEqual(['.', 'a', 'b', 'é', 'ｚ', '😀']);
    expect(Array.from(v.encode('😀é'))).toEqual([5, 3]);
    expect(v.decode([5, 1, 0])).toBe('😀a.');
  });

  it('encode/decode round-trip any string over the vocabulary', () => {
    expect(Array.from(vocab.encode('emma'))).toEqual([5, 13, 13, 1]);
    expect(vocab.decode(vocab.encode('emma'))).toBe('emma');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 26 }), { maxLength: 30 }), (ids) => {
        const s = vocab.decode(ids);
        expect(Array.from(vocab.encode(s))).toEqual(ids);
      }),
    );
    const uni = Vocabulary.fromWords(['añ😀', 'ß']);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...uni.chars)), (chs) => {
        const s = chs.join('');
        expect(uni.decode(uni.encode(s))).toBe(s);
        expect(uni.encode(s).length).toBe(chs.length);
      }),
    );
  });

  it('survives JSON and refuses malformed JSON', () => {
    const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(vocab)));
    expect(back.chars).toEqual(vocab.chars);
    expect(back.stoi('q')).toBe(17);
    expect(() => Vocabulary.fromJSON({ chars: ['a', 'b'] })).toThrow(/chars\[0\] must be '\.'/);
    expect(() => Vocabulary.fromJSON({ chars: ['.', 'a', 'a'] })).toThrow(/chars\[2\] 'a' \(U\+0061\) appears twice/);
    expect(() => Vocabulary.fromJSON({ chars: ['.', 'ab'] })).toThrow(/chars\[1\] must be a single character/);
    expect(() => Vocabulary.fromJSON({} as never)).toThrow(/expected \{ chars: string\[\] \}/);
  });

  it('gives clear errors for unknown characters, bad ids and reserved or missing input', () => {
    expect(() => vocab.encode('josé')).toThrow(
      `encode: character 'é' (U+00E9) at position 3 in "josé" is not in the vocabulary (27 tokens: .abcdefghijklmnopqrstuvwxyz)`,
    );
    expect(() => vocab.encode('Emma')).toThrow(/'E' \(U\+0045\) at position 0 in "Emma"/);
    expect(() => vocab.stoi('é')).toThrow(/stoi: character 'é' \(U\+00E9\) is not in the vocabulary/);
    expect(() => vocab.stoi('ab')).toThrow(/stoi: expected a single character, got "ab"/);
    expect(() => vocab.itos(27)).toThrow(/itos: token 27 is out of range for a vocabulary of 27 tokens \(valid: 0\.\.26\)/);
    expect(() => vocab.itos(-1)).toThrow(/itos: token -1 is out of range/);
    expect(() => vocab.decode([1, 2, 30])).toThrow(/decode: token 30 at position 2 is out of range/);
    expect(() => vocab.decode([1.5])).toThrow(/decode: token 1.5 at position 0/);
    expect(() => Vocabulary.fromWords(['ann', 'mr.x'])).toThrow(
      /Vocabulary.fromWords: word 1 "mr.x" contains '\.' at position 2; '\.' is reserved as the start\/stop token/,
    );
    expect(() => Vocabulary.fromWords([])).toThrow(/no characters/);
    expect(() => Vocabulary.fromWords(['a', 3 as unknown as string])).toThrow(/word 1 is a number, not a string/);
  });
});

describe('splitWords', () => {
  const words = readWords();
  const split = splitWords(words);

  it("reproduces random.seed(42); random.shuffle(words): 25626/3203/3204 words, first words yuheng, diondre, ...", () => {
    expect([split.train.length, split.dev.length, split.test.length]).toEqual([25626, 3203, 3204]);
    expect(split.train.slice(0, 10)).toEqual([
      'yuheng', 'diondre', 'xavien', 'jori', 'juanluis', 'erandi', 'phia', 'samatha', 'phoenix', 'emmelynn',
    ]);
  });

  it('is a permutation of the input and leaves the input alone', () => {
    expect(words[0]).toBe('emma');
    const all = [...split.train, ...split.dev, ...split.test];
    expect(all.slice().sort()).toEqual(words.slice().sort());
    const other = splitWords(words, { seed: 43 });
    expect(other.train.slice(0, 10)).not.toEqual(split.train.slice(0, 10));
    expect(splitWords(words).dev).toEqual(split.dev);
  });

  it('cuts at floor(train*n) and floor(dev*n) for other fractions, and rejects bad ones', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `w${i}`);
    const s = splitWords(ten, { train: 0.5, dev: 0.75 });
    expect([s.train.length, s.dev.length, s.test.length]).toEqual([5, 2, 3]);
    expect(() => splitWords(ten, { train: 0.9, dev: 0.8 })).toThrow(/need 0 <= train <= dev <= 1.*train=0.9, dev=0.8/);
    expect(() => splitWords(ten, { train: -0.1 })).toThrow(/splitWords/);
    expect(() => splitWords(ten, { dev: 1.5 })).toThrow(/splitWords/);
  });
});

describe('buildContexts', () => {
  const words = readWords();
  const vocab = Vocabulary.fromWords(words);
  const split = splitWords(words);

  it('gives 182625 / 22655 / 22866 rows for block sizes 3 and 8, and 228146 rows for all words', () => {
    for (const blockSize of [3, 8]) {
      const rows = [split.train, split.dev, split.test].map((ws) => buildContexts(ws, vocab, blockSize).rows);
      expect(rows).toEqual([182625, 22655, 22866]);
    }
    const all = buildContexts(words, vocab, 3);
    expect(all.rows).toBe(228146);
    expect(all.X.length).toBe(228146 * 3);
    expect(all.Y.length).toBe(228146);
  });

  it('matches an independent sliding-window construction row by row', () => {
    for (const blockSize of [1, 3, 8]) {
      const ws = split.train.slice(0, 500);
      const { X, Y, rows } = buildContexts(ws, vocab, blockSize);
      const ref = contextsBySlicing(ws, blockSize);
      expect(rows).toBe(ref.ctx.length);
      for (let r = 0; r < rows; r++) {
        expect(vocab.decode(X.subarray(r * blockSize, (r + 1) * blockSize))).toBe(ref.ctx[r]);
        expect(vocab.itos(Y[r]!)).toBe(ref.tgt[r]);
      }
    }
  });

  it("builds part 5's first rows from yuheng (block size 8)", () => {
    const { X, Y } = buildContexts(split.train, vocab, 8);
    const row = (r: number) => vocab.decode(X.subarray(r * 8, r * 8 + 8));
    expect(row(0)).toBe('........');
    expect(vocab.itos(Y[0]!)).toBe('y');
    expect(row(6)).toBe('..yuheng');
    expect(Y[6]).toBe(0);
    expect(row(7)).toBe('........');
    expect(vocab.itos(Y[7]!)).toBe('d');
  });

  it('works for any vocabulary, counting code points', () => {
    const ws = ['zoë', '😀'];
    const v = Vocabulary.fromWords(ws);
    const { X, Y, rows } = buildContexts(ws, v, 2);
    expect(rows).toBe(6);
    expect(v.decode(X.subarray(4, 6))).toBe('zo');
    expect(v.decode(X.subarray(6, 8))).toBe('oë');
    expect(v.decode(X.subarray(8, 10))).toBe('..');
    expect(v.decode(Y)).toBe('zoë.😀.');
  });

  it('rejects block sizes below 1, non-integers, unknown characters and the reserved token', () => {
    for (const bs of [0, -1, 2.5, NaN]) {
      expect(() => buildContexts(['emma'], vocab, bs)).toThrow(`buildContexts: block size must be an integer >= 1, got ${bs}`);
    }
    expect(() => buildContexts(['emma', 'zoë'], vocab, 3)).toThrow(
      /buildContexts: character 'ë' \(U\+00EB\) at position 2 in "zoë" \(word 1\) is not in the vocabulary/,
    );
    expect(() => buildContexts(['a.b'], vocab, 3)).toThrow(/buildContexts: word 0 "a.b" contains '\.' at position 1/);
  });
});

describe('bigramPairs', () => {
  const words = readWords();
  const vocab = Vocabulary.fromWords(words);

  it('gives the lecture pairs for "emma" and 228146 bigrams for names.txt', () => {
    const { xs, ys } = bigramPairs(['emma'], vocab);
    expect(Array.from(xs)).toEqual([0, 5, 13, 13, 1]);
    expect(Array.from(ys)).toEqual([5, 13, 13, 1, 0]);
    const all = bigramPairs(words, vocab);
    expect(all.xs.length).toBe(228146);
    expect(all.ys.length).toBe(228146);
    // Each word starts once and ends once.
    expect(all.xs.filter((x) => x === 0).length).toBe(words.length);
    expect(all.ys.filter((y) => y === 0).length).toBe(words.length);
  });

  it('names the word with a character outside the vocabulary', () => {
    expect(() => bigramPairs(['ann', 'bo', 'Zed'], vocab)).toThrow(/bigramPairs: character 'Z' \(U\+005A\) at position 0 in "Zed" \(word 2\)/);
  });
});
