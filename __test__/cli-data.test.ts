// The makemore command's data: any UTF-8 list (every character an ordinary token, '.' included;
// spaces, uppercase, any script, combining marks, emoji; CRLF and a BOM), makemore.py's split,
// and the header that describes the list.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/makemore.js';
import { CharVocabulary, parseWordList, readWordList, splitWordList } from '../src/cli/words.js';
import { Generator } from '../src/random/generator.js';
import { defaultWordsPath } from '../src/makemore/data.js';
import { capture } from './cli-helpers.js';


const tmp = () => mkdtempSync(join(tmpdir(), 'makemore-data-'));

describe('reading a word list', () => {
  it('splits lines as Python does (\\n, \\r\\n, \\r, \\u2028), strips them, drops empty ones, drops a BOM', () => {
    const dir = tmp();
    const file = join(dir, 'w.txt');
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Mr. Mime\r\n  Pedro R. Fernández  \r\n\r\nA.I.M.\rzoë\u2028last\n')]));
    expect(readWordList(file)).toEqual(['Mr. Mime', 'Pedro R. Fernández', 'A.I.M.', 'zoë', 'last']);
    expect(parseWordList('a\n\n  \nb')).toEqual(['a', 'b']);
  });

  it("builds makemore.py's vocabulary: code points sorted, '.' and ' ' ordinary characters, token 0 for start/stop", () => {
    const v = CharVocabulary.fromWords(['Mr. Mime', 'A.I.M.', 'Ωμέγα', '😀x']);
    expect(v.chars).toEqual([...new Set([...'Mr. Mime', ...'A.I.M.', ...'Ωμέγα', '😀', 'x'])].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
    expect(v.chars[0]).toBe(' ');
    expect(v.size).toBe(v.chars.length + 1);
    const ids = v.encode('Mr. Mime');
    expect(ids.every((i) => i >= 1)).toBe(true);
    expect(v.decode(ids)).toBe('Mr. Mime');
    // An emoji is one code point (two UTF-16 units), as in Python.
    expect(v.encode('😀x')).toHaveLength(2);
  });

  it('a combining mark is a token of its own (code points, as Python counts them)', () => {
    const decomposed = 'e\u0301'; // é as e + COMBINING ACUTE ACCENT
    const v = CharVocabulary.fromWords([decomposed, 'e']);
    expect(v.chars).toEqual(['e', '\u0301']);
    expect(v.encode(decomposed)).toEqual(new Int32Array([1, 2]));
    expect(v.summary()).toBe('e<U+0301>');
  });

  it("splits as makemore.py: test = the last min(1000, 10%) of torch.randperm after manual_seed(3407)", () => {
    const words = readWordList(defaultWordsPath());
    const { train, test } = splitWordList(words, new Generator().manualSeed(3407));
    expect([train.length, test.length]).toEqual([31033, 1000]);
    // torch.manual_seed(3407); torch.randperm(32033): first [18545, 10853, 360], last [30618, 16636, 29400].
    expect(train.slice(0, 3)).toEqual(['apollo', 'jayliani', 'cassidy']);
    expect(test.slice(-3)).toEqual(['doruk', 'jholie', 'jvion']);
    const small = splitWordList(Array.from({ length: 57 }, (_, i) => `w${i}`), new Generator().manualSeed(1));
    expect([small.train.length, small.test.length]).toEqual([52, 5]);
    // Below 10 words 10% rounds to 0 (makemore.py would then train on nothing): one test word.
    const tiny = splitWordList(['ab', 'cd', 'ef'], new Generator().manualSeed(1));
    expect([tiny.train.length, tiny.test.length]).toEqual([2, 1]);
  });
});

describe('training on lists nobody tuned for', () => {
  const lists: Record<string, string[]> = {
    'dots and spaces': ['Mr. Mime', 'Pedro R. Fernández', 'A.I.M.', 'St. John', 'Dr. No', 'J. R. R. Tolkien', 'Mt. Fuji', 'U.S.A.', 'e.g.', 'i.e. this'],
    'uppercase and non-Latin scripts': ['Москва', 'Київ', '東京', '서울', 'القاهرة', 'Αθήνα', 'תל אביב', 'मुंबई', 'BERLIN', 'Zürich', 'São Paulo', '🙂 smile'],
  };
  for (const [name, base] of Object.entries(lists)) {
    it(`${name}: the header counts the list right, training runs, samples use only its characters`, async () => {
      const dir = tmp();
      const file = join(dir, 'list.txt');
      const words = Array.from({ length: 40 }, (_, i) => base[i % base.length]);
      writeFileSync(file, words.join('\r\n') + '\r\n');
      const out = capture();
      const code = await main(['-i', file, '-o', join(dir, 'out'), '--type', 'bigram', '--max-steps', '60', '--eval-every', '20', '--sample-every', '30', '--learning-rate', '0.1'], out);
      expect(out.stderr.join('\n')).toBe('');
      expect(code).toBe(0);
      const chars = [...new Set(base.flatMap((w) => [...w]))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
      const longest = Math.max(...base.map((w) => [...w].length));
      expect(out.stdout[0]).toBe(`makemore: 40 words from ${file}; longest ${longest} characters; vocabulary ${chars.length + 1} tokens (${chars.length} characters + start/stop)`);
      expect(out.stdout).toContain(`split: 36 train, 4 test words (seed 3407); uniform guess = ln ${chars.length + 1} = ${Math.log(chars.length + 1).toFixed(4)}`);
      const config = JSON.parse(readFileSync(join(dir, 'out', 'config.json'), 'utf8'));
      expect(config.vocabulary).toEqual(chars);
      const samples = readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.kind === 'samples');
      expect(samples.length).toBeGreaterThan(0);
      for (const s of samples.flatMap((m) => m.samples)) {
        for (const c of s.word) expect(chars.join('') + '\ud83d\ude42').toContain(c);
        expect([...s.word].length).toBeLessThanOrEqual(longest);
      }
      // The bigram learns this list: the test loss ends below the uniform guess.
      const evals = readFileSync(join(dir, 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.kind === 'eval');
      expect(Math.min(...evals.map((e) => e.test))).toBeLessThan(Math.log(chars.length + 1));
    });
  }

  it('summarises a vocabulary of hundreds of characters instead of printing it whole', async () => {
    const dir = tmp();
    const file = join(dir, 'cjk.txt');
    const words = Array.from({ length: 60 }, (_, i) => String.fromCodePoint(0x4e00 + i * 5, 0x4e01 + i * 5, 0x4e02 + i * 5, 0x4e03 + i * 5, 0x4e04 + i * 5));
    writeFileSync(file, words.join('\n'));
    const out = capture();
    expect(await main(['-i', file, '-o', join(dir, 'out'), '--type', 'bigram', '--max-steps', '2', '--eval-every', '1'], out)).toBe(0);
    // 300 distinct characters: the first 60 and the last 20 are shown.
    expect(out.stdout[0]).toContain('vocabulary 301 tokens (300 characters + start/stop)');
    const line = out.stdout.find((l) => l.startsWith('characters: '))!;
    expect(line).toMatch(/ … .* \(220 more not shown\)$/);
    expect([...line].length).toBeLessThan(120);
  });
});
