// makemore part 1, second half (makemore_part1_bigrams.ipynb): the bigram model as a neural net.
//
//   npx tsx examples/makemore_part1_neural.ts              # 300 full-batch steps on names.txt
//   npx tsx examples/makemore_part1_neural.ts --steps 50   # fewer steps
//   npx tsx examples/makemore_part1_neural.ts --words my_words.txt
//
// One-hot inputs times a 27x27 weight matrix give logits; softmax turns them into next-character
// probabilities; the loss is the mean negative log-likelihood plus 0.01·mean(W²); full-batch
// gradient descent at learning rate 50. It prints the lecture's numbers (the "emma" example, the
// first full-data losses, the samples) and writes the training-loss curve to
// out/makemore/part1/neural_bigram_loss.{svg,png}.
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Generator, arange, getBackend, makemore } from 'ferrograd';

const {
  Vocabulary,
  averageNll,
  bigramPairs,
  bigramProbabilities,
  bigramTensors,
  countBigrams,
  createNeuralBigram,
  plotLossCurve,
  readWords,
} = makemore;
type Vocabulary = makemore.Vocabulary;

const SEED = 2147483647;
/** What the notebook prints after its last full-data step (a cell re-run by hand, so a cumulative count). */
const LECTURE_PRINTED_LOSS = 2.481828451156616;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'makemore', 'part1');

const section = (title: string) => console.log(`\n=== ${title} ===`);

/** The five-example walk-through of the notebook: ".emma." with the seeded W, then four steps at lr 0.1. */
function emmaExample(vocab: Vocabulary): void {
  section('the neural net on the bigrams of "emma"');
  const { xs, ys } = bigramTensors(bigramPairs(['emma'], vocab));
  console.log(`xs = [${Array.from(xs.toArray()).join(', ')}]   ys = [${Array.from(ys.toArray()).join(', ')}]`);
  const model = createNeuralBigram({ vocabSize: vocab.size, generator: new Generator().manualSeed(SEED) });
  const xenc = model.encode(xs);
  console.log(`xenc = F.one_hot(xs, num_classes=${vocab.size}).float(): shape [${xenc.shape.join(', ')}], dtype ${xenc.dtype}`);
  const probs = model.probabilities(xenc);
  const picked = probs.index([arange(5), ys]).toArray();
  const nlls: number[] = [];
  for (let i = 0; i < 5; i++) {
    const x = xs.toArray()[i]!;
    const y = ys.toArray()[i]!;
    const p = picked[i]!;
    nlls.push(-Math.log(p));
    console.log(
      `bigram example ${i + 1}: ${vocab.itos(x)}${vocab.itos(y)} (indexes ${x},${y})  ` +
        `probability of the label ${p}  log likelihood ${Math.log(p).toFixed(7)}  nll ${(-Math.log(p)).toFixed(7)}`,
    );
  }
  const loss = model.loss(xenc, ys, { regularization: 0 }).loss.item();
  console.log(`average negative log likelihood, i.e. loss = ${loss}   (lecture: 3.7693049907684326)`);

  const { losses } = model.fit(xenc, ys, { steps: 5, lr: 0.1, regularization: 0 });
  console.log(`5 forward passes with W.data += -0.1 * W.grad between them: ${Array.from(losses, (l) => l.toFixed(7)).join(', ')}`);
  console.log(`loss after 4 updates = ${losses[4]}   (lecture: 3.6891887187957764)`);
}

/** Full-batch gradient descent on every bigram of the data set (lr 50, reg 0.01). */
async function fullData(words: string[], vocab: Vocabulary, steps: number, outDir: string): Promise<void> {
  section('gradient descent on the whole data set (lr 50, 0.01 * (W**2).mean())');
  const { xs, ys } = bigramTensors(bigramPairs(words, vocab));
  console.log(`number of examples: ${xs.shape[0]}`);
  const model = createNeuralBigram({ vocabSize: vocab.size, generator: new Generator().manualSeed(SEED) });
  const xenc = model.encode(xs);
  const show = new Set([0, 1, 2, 10, 50, 100, 200, steps - 1]);
  let reached = -1;
  const t0 = performance.now();
  const { losses, nlls } = model.fit(xenc, ys, {
    steps,
    lr: 50,
    regularization: 0.01,
    onStep: (k, loss, nll) => {
      if (show.has(k)) console.log(`step ${String(k).padStart(4)}: loss ${loss.toFixed(6)}  (nll ${nll.toFixed(6)})`);
      if (reached < 0 && loss <= LECTURE_PRINTED_LOSS) reached = k;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${steps} steps in ${seconds.toFixed(1)} s on the ${getBackend().name} backend (${((1000 * seconds) / steps).toFixed(1)} ms per step)`);
  if (reached >= 0) {
    console.log(
      `the loss first reaches the notebook's printed ${LECTURE_PRINTED_LOSS} after ${reached} updates ` +
        `(the notebook's cell was re-run by hand about that many times)`,
    );
  }

  // The count model the network should approach: with W = log N the softmax is exactly N normalised.
  const { counts } = countBigrams(words, vocab);
  const V = vocab.size;
  const smoothed = averageNll(bigramProbabilities(counts, V, 1), V, words, vocab).nll;
  const mle = averageNll(bigramProbabilities(counts, V, 0), V, words, vocab).nll;
  const final = nlls[steps - 1]!;
  console.log(`nll of the trained net: ${final.toFixed(6)};  count model: ${smoothed.toFixed(6)} with +1 smoothing, ${mle.toFixed(6)} without`);
  const P = bigramProbabilities(counts, V, 1);
  const netP = model.probabilities(arange(V)).toArray();
  let worst = 0;
  for (let i = 0; i < V * V; i++) worst = Math.max(worst, Math.abs(netP[i]! - P[i]!));
  console.log(`largest |softmax(W) - P| over all 729 bigram probabilities: ${worst.toFixed(4)}`);

  section('sampling from the neural net (seed 2147483647)');
  const samples = model.sample(5, new Generator().manualSeed(SEED), vocab);
  for (const s of samples) console.log(`  ${s}`);
  console.log('lecture: mor. axx. minaymoryles. kondlaisah. anchthizarie.');

  const stepsAxis = Array.from({ length: steps }, (_, k) => k);
  const files = await plotLossCurve(stepsAxis, losses, join(outDir, 'neural_bigram_loss'), {
    log10: false,
    title: 'Neural bigram: full-batch gradient descent (lr 50, L2 0.01)',
  });
  console.log(`\nloss curve: ${relative(process.cwd(), files.png)} and ${relative(process.cwd(), files.svg)}`);
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { steps: { type: 'string', default: '300' }, words: { type: 'string' }, out: { type: 'string', default: OUT_DIR } },
  });
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be an integer >= 1, got ${values.steps}`);
  const words = readWords(values.words);
  const vocab = Vocabulary.fromWords(words);
  console.log(`${words.length} words, vocabulary ${vocab}`);
  if (['e', 'm', 'a'].every((c) => vocab.has(c))) emmaExample(vocab);
  await fullData(words, vocab, steps, values.out!);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
