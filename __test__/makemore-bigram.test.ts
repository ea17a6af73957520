import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Vocabulary,
  averageNll,
  bigramProbabilities,
  countBigrams,
  plotBigramCounts,
  plotEmbedding2d,
  plotLearningRateSweep,
  plotLossCurve,
  readWords,
  sampleWords,
} from '../src/makemore/index.js';
import { Generator } from '../src/random/generator.js';

const SEED = 2147483647;
const words = readWords();
const vocab = Vocabulary.fromWords(words);
const V = vocab.size;
const { counts } = countBigrams(words, vocab);
const at = (a: string, b: string) => counts[vocab.stoi(a) * V + vocab.stoi(b)]!;

describe('countBigrams', () => {
  it('is 27x27 and holds every one of the 228146 bigrams', () => {
    expect(counts.length).toBe(27 * 27);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(228146);
  });

  it('agrees with a string-keyed dictionary count, cell by cell (627 distinct bigrams)', () => {
    const dict = new Map<string, number>();
    for (const w of words) {
      const chs = ['.', ...w, '.'];
      for (let i = 0; i + 1 < chs.length; i++) {
        const key = chs[i]! + chs[i + 1]!;
        dict.set(key, (dict.get(key) ?? 0) + 1);
      }
    }
    expect(dict.size).toBe(627);
    expect(counts.filter((c) => c > 0).length).toBe(627);
    for (const a of vocab.chars) for (const b of vocab.chars) expect(at(a, b)).toBe(dict.get(a + b) ?? 0);
  });

  it("matches plain string facts: 'n.' = words ending in n, '.k' = words starting with k, rows/columns of '.'", () => {
    expect(at('n', '.')).toBe(words.filter((w) => w.endsWith('n')).length);
    expect(at('.', 'k')).toBe(words.filter((w) => w.startsWith('k')).length);
    expect(at('.', '.')).toBe(0);
    let row0 = 0;
    let col0 = 0;
    for (let j = 0; j < V; j++) row0 += counts[j]!;
    for (let i = 0; i < V; i++) col0 += counts[i * V]!;
    expect(row0).toBe(32033);
    expect(col0).toBe(32033);
    const occurrences = (s: string) => words.reduce((n, w) => n + (w.split(s).length - 1), 0);
    expect(at('a', 'n')).toBe(occurrences('an'));
    expect(at('r', 'i')).toBe(occurrences('ri'));
  });

  it('reproduces the lecture: top ten bigrams and the start row', () => {
    const top = [['n', '.', 6763], ['a', '.', 6640], ['a', 'n', 5438], ['.', 'a', 4410], ['e', '.', 3983],
      ['a', 'r', 3264], ['e', 'l', 3248], ['r', 'i', 3033], ['n', 'a', 2977], ['.', 'k', 2963]] as const;
    for (const [a, b, n] of top) expect(at(a, b)).toBe(n);
    const sorted = Array.from(counts).sort((x, y) => y - x).slice(0, 10);
    expect(sorted).toEqual(top.map((t) => t[2]));
  });

  it('names the op, the word and the character when a word does not fit the vocabulary', () => {
    expect(() => countBigrams(['ann', 'Bob'], vocab)).toThrow(
      /countBigrams: character 'B' \(U\+0042\) at position 0 in "Bob" \(word 1\) is not in the vocabulary/,
    );
    expect(() => countBigrams(['a.b'], vocab)).toThrow(/countBigrams: word 0 "a\.b" contains '\.' at position 1/);
    expect(Array.from(counts.subarray(0, 27))).toEqual([
      0, 4410, 1306, 1542, 1690, 1531, 417, 669, 874, 591, 2422, 2963, 1572, 2538, 1146, 394, 515, 92, 1639, 2055, 1308, 78,
      376, 307, 134, 535, 929,
    ]);
  });
});

describe('bigramProbabilities', () => {
  it("normalises row 0 as the lecture's p (0.1377 for 'a', ... )", () => {
    const P = bigramProbabilities(counts, V, 0);
    expect(P).toBeInstanceOf(Float32Array);
    const p = Array.from(P.subarray(0, 27), (x) => Number(x.toFixed(4)));
    expect(p).toEqual([
      0, 0.1377, 0.0408, 0.0481, 0.0528, 0.0478, 0.013, 0.0209, 0.0273, 0.0184, 0.0756, 0.0925, 0.0491, 0.0792, 0.0358,
      0.0123, 0.0161, 0.0029, 0.0512, 0.0642, 0.0408, 0.0024, 0.0117, 0.0096, 0.0042, 0.0167, 0.029,
    ]);
  });

  it('adds the smoothing before normalising, in float32, and every row sums to 1', () => {
    const P = bigramProbabilities(counts, V, 1);
    expect(P[0]).toBe(Math.fround(1 / (32033 + 27)));
    expect(P[vocab.stoi('a')]).toBe(Math.fround(4411 / (32033 + 27)));
    for (let i = 0; i < V; i++) {
      let s = 0;
      for (let j = 0; j < V; j++) s += P[i * V + j]!;
      expect(s).toBeCloseTo(1, 5);
    }
    const half = bigramProbabilities([1, 3, 0, 0], 2, 0.5);
    expect(Array.from(half)).toEqual([1.5 / 5, 3.5 / 5, 0.5, 0.5].map(Math.fround));
  });

  it('rejects a wrong size, a bad smoothing, negative counts and an all-zero row', () => {
    expect(() => bigramProbabilities(new Int32Array(26 * 27), 27)).toThrow(
      'bigramProbabilities: counts has 702 entries, expected 27x27 = 729',
    );
    expect(() => bigramProbabilities(counts, V, -1)).toThrow(/smoothing must be a finite number >= 0, got -1/);
    expect(() => bigramProbabilities(counts, V, NaN)).toThrow(/smoothing must be a finite number >= 0, got NaN/);
    expect(() => bigramProbabilities([1, -2, 3, 4], 2)).toThrow(/counts\[0, 1\] = -2/);
    expect(() => bigramProbabilities([1, 2, 0, 0], 2, 0)).toThrow(/row 1 sums to 0.*would be NaN/);
  });
});

describe('sampleWords', () => {
  const P = bigramProbabilities(counts, V, 1);

  it('draws the lecture samples with seed 2147483647', () => {
    const g = new Generator().manualSeed(SEED);
    expect(sampleWords(P, V, 5, g, vocab)).toEqual(['mor.', 'axx.', 'minaymoryles.', 'kondlaisah.', 'anchshizarie.']);
  });

  it("draws 'm' first from the unsmoothed start row, and continues the same stream across calls", () => {
    const g = new Generator().manualSeed(SEED);
    const p0 = bigramProbabilities(counts, V, 0).subarray(0, 27);
    expect(vocab.itos(g.multinomial(p0, 1, true)[0]!)).toBe('m');
    const g1 = new Generator().manualSeed(SEED);
    const g2 = new Generator().manualSeed(SEED);
    const five = sampleWords(P, V, 5, g1, vocab);
    const split = [...sampleWords(P, V, 2, g2, vocab), ...sampleWords(P, V, 3, g2, vocab)];
    expect(split).toEqual(five);
    expect(sampleWords(P, V, 0, g1, vocab)).toEqual([]);
  });

  it('only emits what P allows: a deterministic chain gives one word', () => {
    const v = Vocabulary.fromWords(['ab']);
    // . -> a -> b -> .
    const chain = new Float32Array([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    expect(sampleWords(chain, 3, 3, new Generator().manualSeed(1), v)).toEqual(['ab.', 'ab.', 'ab.']);
  });

  it('rejects a vocabulary of the wrong size, bad rows, bad counts, a missing generator, and never hangs', () => {
    const g = new Generator().manualSeed(SEED);
    const small = Vocabulary.fromWords(['abc']);
    expect(() => sampleWords(P, V, 1, g, small)).toThrow('sampleWords: P is 27x27 but the vocabulary has 4 tokens (4 tokens: .abc)');
    expect(() => sampleWords(P.subarray(0, 700), V, 1, g, vocab)).toThrow(/P has 700 entries, expected 27x27 = 729/);
    expect(() => sampleWords(P, V, -1, g, vocab)).toThrow(/count must be an integer >= 0, got -1/);
    expect(() => sampleWords(P, V, 1, undefined as unknown as Generator, vocab)).toThrow(/expected a Generator/);
    const bad = P.slice();
    bad[2 * V + 3] = NaN;
    expect(() => sampleWords(bad, V, 1, g, vocab)).toThrow(/P\[2, 3\] \(bc\) = NaN/);
    const dead = P.slice();
    dead.fill(0, 5 * V, 6 * V);
    expect(() => sampleWords(dead, V, 1, g, vocab)).toThrow(/row 5 \('e'\) of P sums to 0/);
    const v = Vocabulary.fromWords(['a']);
    const loop = new Float32Array([0, 1, 0, 1]); // . -> a -> a -> a ...
    expect(() => sampleWords(loop, 2, 1, g, v, { maxLength: 50 })).toThrow(
      /sample 0 reached 50 characters without drawing the end token/,
    );
  });
});

describe('averageNll', () => {
  it('gives log-likelihood -559951.5625 and nll 2.4543562 with +1 smoothing (float32 running sum)', () => {
    const r = averageNll(bigramProbabilities(counts, V, 1), V, words, vocab);
    expect(r.count).toBe(228146);
    expect(r.logLikelihood).toBe(-559951.5625);
    expect(r.nll).toBe(Math.fround(2.4543562));
  });

  it('gives -559891.75 and 2.4540941 without smoothing', () => {
    const r = averageNll(bigramProbabilities(counts, V, 0), V, words, vocab);
    expect(r.logLikelihood).toBe(-559891.75);
    expect(r.nll).toBe(Math.fround(2.4540941));
  });

  it('scores a single word, and gives Infinity for an unseen bigram without smoothing', () => {
    expect(averageNll(bigramProbabilities(counts, V, 1), V, ['andrejq'], vocab).nll).toBeCloseTo(3.4834, 4);
    const r = averageNll(bigramProbabilities(counts, V, 0), V, ['andrejq'], vocab);
    expect(r.nll).toBe(Infinity);
    // Hand-computed: -mean(log P) over . e / e m / m m / m a / a . from the count table.
    const P = bigramProbabilities(counts, V, 1);
    const pairs = ['.e', 'em', 'mm', 'ma', 'a.'];
    const expected = -pairs.reduce((s, b) => s + Math.log(P[vocab.stoi(b[0]!) * V + vocab.stoi(b[1]!)]!), 0) / 5;
    expect(averageNll(P, V, ['emma'], vocab).nll).toBeCloseTo(expected, 5);
  });

  it('rejects characters outside the vocabulary, an empty list and a mismatched P', () => {
    const P = bigramProbabilities(counts, V, 1);
    expect(() => averageNll(P, V, ['emma', 'chloé'], vocab)).toThrow(
      /averageNll: character 'é' \(U\+00E9\) at position 4 in "chloé" \(word 1\) is not in the vocabulary/,
    );
    expect(() => averageNll(P, V, [], vocab)).toThrow(/averageNll: no bigrams to score/);
    expect(() => averageNll(P, 26, words, vocab)).toThrow(/P has 729 entries, expected 26x26 = 676/);
    const bad = P.slice();
    bad[vocab.stoi('e')] = 2;
    expect(() => averageNll(bad, V, ['emma'], vocab)).toThrow(/P\[0, 5\] \(\.e\) = 2 is not a probability/);
  });
});

describe('plots', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferrograd-plots-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const isPng = (p: string) => {
    const b = readFileSync(p);
    return b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && statSync(p).size > 1000;
  };
  const texts = (svg: string) => Array.from(svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g), (m) => m[1]);

  it('draws the heat map with every bigram and its count', async () => {
    const out = await plotBigramCounts(counts, vocab, join(dir, 'counts'));
    expect(isPng(out.png)).toBe(true);
    const labels = texts(readFileSync(out.svg, 'utf8'));
    for (const a of vocab.chars) for (const b of vocab.chars) expect(labels).toContain(a + b);
    expect(labels).toContain('6763');
    expect(labels).toContain('5438');
    expect(labels.filter((t) => t === '0').length).toBeGreaterThanOrEqual(729 - 627);
  });

  it('draws the loss curve in log10, the lr sweep and the embedding with character labels', async () => {
    const steps = Array.from({ length: 3000 }, (_, i) => i);
    const losses = steps.map((i) => 1 + 9 * Math.exp(-i / 300));
    const loss = await plotLossCurve(steps, losses, join(dir, 'loss'), { average: 100, title: 'a test run' });
    expect(isPng(loss.png)).toBe(true);
    const lossSvg = readFileSync(loss.svg, 'utf8');
    expect(texts(lossSvg)).toContain('a test run');
    expect(texts(lossSvg)).toContain('log10(loss)');
    // log10 of losses in [1, 10] lies in [0, 1], so the y axis must not reach 2.
    expect(texts(lossSvg)).not.toContain('2.0');
    const lin = await plotLossCurve(steps, losses, join(dir, 'loss-lin'), { log10: false });
    expect(texts(readFileSync(lin.svg, 'utf8'))).toContain('loss');

    const lre = Array.from({ length: 200 }, (_, i) => -3 + (3 * i) / 199);
    const lr = await plotLearningRateSweep(lre, lre.map((e) => 2.5 + (e + 1) ** 2), join(dir, 'lr'));
    expect(isPng(lr.png)).toBe(true);

    const emb = await plotEmbedding2d(vocab.chars.map((c, i) => ({ char: c, x: Math.cos(i), y: Math.sin(i) })), join(dir, 'emb'));
    expect(isPng(emb.png)).toBe(true);
    const embLabels = texts(readFileSync(emb.svg, 'utf8'));
    for (const c of vocab.chars) expect(embLabels).toContain(c);
  });

  it('rejects mismatched or unplottable data', async () => {
    await expect(plotBigramCounts(counts.subarray(0, 10), vocab, join(dir, 'x'))).rejects.toThrow(
      /plotBigramCounts: counts has 10 entries, expected 27x27 = 729/,
    );
    await expect(plotLossCurve([0, 1], [1], join(dir, 'x'))).rejects.toThrow(
      'plotLossCurve: steps and losses must have the same length, got 2 and 1',
    );
    await expect(plotLossCurve([0, 1], [1, 0], join(dir, 'x'))).rejects.toThrow(/losses\[1\] = 0 at step 1; log10 needs losses > 0/);
    await expect(plotLossCurve([], [], join(dir, 'x'))).rejects.toThrow(/nothing to plot/);
    await expect(plotLearningRateSweep([0, 1], [1, NaN], join(dir, 'x'))).rejects.toThrow(/losses\[1\] = NaN is not a finite number/);
    await expect(plotEmbedding2d([{ char: 'a', x: 0, y: Infinity }], join(dir, 'x'))).rejects.toThrow(
      /points\[0\] \('a'\) has a non-finite coordinate/,
    );
    await expect(plotEmbedding2d([], join(dir, 'x'))).rejects.toThrow(/non-empty array/);
  });
});
