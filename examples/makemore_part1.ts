// makemore part 1 (makemore_part1_bigrams.ipynb), reproduced with ferrograd.
//
//   npx tsx examples/makemore_part1.ts            # bundled data/names.txt
//   npx tsx examples/makemore_part1.ts words.txt  # any UTF-8 word list, one word per line
//
// It prints the lecture's numbers in the lecture's order and writes the count heat map to
// out/makemore/part1/bigram_counts.{svg,png}. The script has one function per half of the lecture:
// `countingModel` (the counts half, below) and, once the tensor library is in, the neural bigram.
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Generator, makemore } from 'ferrograd';

const { Vocabulary, averageNll, bigramPairs, bigramProbabilities, countBigrams, plotBigramCounts, readWords, sampleWords } =
  makemore;
type Vocabulary = makemore.Vocabulary;

/** torch.Generator().manual_seed(2147483647), used for every draw in the lecture. */
export const LECTURE_SEED = 2147483647;
export const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'makemore', 'part1');

export interface Part1Data {
  words: string[];
  vocab: Vocabulary;
}

/** Shortest decimal that reads back as the same float32, as torch prints a float32 scalar. */
const f32 = (x: number) => {
  for (let digits = 1; digits <= 9; digits++) {
    const s = x.toPrecision(digits);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
};
const fmt4 = (xs: ArrayLike<number>) => `[${Array.from(xs, (x) => x.toFixed(4)).join(', ')}]`;
const section = (title: string) => console.log(`\n=== ${title} ===`);

/** Read the words and build the vocabulary; prints the data-set facts of the lecture's first cells. */
export function loadData(path?: string): Part1Data {
  section('data');
  const words = readWords(path);
  const lengths = words.map((w) => Array.from(w).length);
  console.log(`words[:10] = ${JSON.stringify(words.slice(0, 10))}`);
  console.log(`len(words) = ${words.length}`);
  console.log(`min(len(w) for w in words) = ${Math.min(...lengths)}`);
  console.log(`max(len(w) for w in words) = ${Math.max(...lengths)}`);
  const vocab = Vocabulary.fromWords(words);
  console.log(`vocabulary: ${vocab}`);
  console.log(`itos = {${vocab.chars.map((c, i) => `${i}: '${c}'`).join(', ')}}`);
  return { words, vocab };
}

/** The counts half: N, the heat map, p, sampling, P with +1 smoothing, and the average NLL. */
export async function countingModel({ words, vocab }: Part1Data, outDir = OUT_DIR): Promise<Float32Array> {
  const V = vocab.size;

  section('bigram counts');
  const { counts: N } = countBigrams(words, vocab);
  const { xs } = bigramPairs(words, vocab);
  console.log(`number of bigrams: ${xs.length}`);
  const order = Array.from(N.keys()).filter((k) => N[k]! > 0).sort((a, b) => N[b]! - N[a]! || a - b);
  console.log(`distinct bigrams: ${order.length}`);
  console.log('most common (first, second): count');
  for (const k of order.slice(0, 10)) {
    const i = Math.floor(k / V);
    const j = k % V;
    const a = i === 0 ? '<S>' : vocab.itos(i);
    const b = j === 0 ? '<E>' : vocab.itos(j);
    console.log(`  ('${a}', '${b}') ${N[k]}`);
  }
  console.log(`N[0] = [${Array.from(N.subarray(0, V)).join(', ')}]`);

  const files = await plotBigramCounts(N, vocab, join(outDir, 'bigram_counts'));
  console.log(`heat map: ${relative(process.cwd(), files.png)} and ${relative(process.cwd(), files.svg)}`);

  section('sampling from the first row');
  const p0 = bigramProbabilities(N, V, 0).subarray(0, V);
  console.log(`p = N[0].float(); p = p / p.sum()\np = ${fmt4(p0)}`);
  let g = new Generator().manualSeed(LECTURE_SEED);
  const ix = g.multinomial(p0, 1, true)[0]!;
  console.log(`torch.multinomial(p, num_samples=1, replacement=True, generator=g) -> ${ix} = '${vocab.itos(ix)}'`);

  g = new Generator().manualSeed(LECTURE_SEED);
  const r = new Float32Array(3);
  g.fillRand(r);
  const rs = Math.fround(r[0]! + r[1]! + r[2]!);
  const pr = r.map((x) => x / rs);
  console.log(`p = torch.rand(3, generator=g); p = p / p.sum() -> ${fmt4(pr)}`);
  console.log(`torch.multinomial(p, num_samples=100, replacement=True, generator=g) ->\n  [${Array.from(g.multinomial(pr, 100, true)).join(', ')}]`);

  section('the count model, P = (N+1) / row sums');
  const P = bigramProbabilities(N, V, 1);
  let worst = 0;
  for (let i = 0; i < V; i++) {
    let s = 0;
    for (let j = 0; j < V; j++) s += P[i * V + j]!;
    worst = Math.max(worst, Math.abs(s - 1));
  }
  console.log(`P.shape = [${V}, ${V}], P.sum(1) within ${worst.toExponential(1)} of 1 for every row`);
  g = new Generator().manualSeed(LECTURE_SEED);
  console.log('5 samples, seed 2147483647:');
  for (const w of sampleWords(P, V, 5, g, vocab)) console.log(`  ${w}`);

  section('average negative log-likelihood (float32 running sum, as in the notebook)');
  for (const [smoothing, label] of [[1, 'P = (N+1) normalised'], [0, 'P = N normalised (no smoothing)']] as const) {
    const res = averageNll(bigramProbabilities(N, V, smoothing), V, words, vocab);
    console.log(`${label}:`);
    console.log(`  log_likelihood = ${res.logLikelihood}`);
    console.log(`  nll = ${-res.logLikelihood}`);
    console.log(`  nll/n = ${f32(res.nll)}   (float32 ${res.nll}; n = ${res.count})`);
  }
  const odd = 'andrejq';
  if (Array.from(odd).every((c) => vocab.has(c))) {
    const withP = averageNll(P, V, [odd], vocab).nll;
    const without = averageNll(bigramProbabilities(N, V, 0), V, [odd], vocab).nll;
    console.log(`"${odd}": nll/n = ${withP.toFixed(4)} with +1 smoothing, ${without} without ('jq' was never seen)`);
  }
  return P;
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const data = loadData(argv[0]);
  await countingModel(data);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
