// makemore part 2 (makemore_part2_mlp.ipynb): the MLP language model of Bengio et al. 2003.
//
//   npx tsx examples/makemore_part2.ts                  # the lecture's full run: 200000 steps (a few minutes)
//   npx tsx examples/makemore_part2.ts --steps 20000    # a shorter run; the learning rate drops at half way
//   npx tsx examples/makemore_part2.ts --words my_words.txt
//   npx tsx examples/makemore_part2.ts --batch-seed 42   # draw the minibatches from another stream
//
// Three characters of context are looked up in an embedding table C, concatenated, passed through
// a tanh hidden layer and a linear output layer. The script follows the notebook: the seed-42
// 80/10/10 split, view() and storage() on the lecture's arange(18), overfitting one batch of 32
// examples with the first version, the first version with 2-D embeddings (and its embedding scatter plot), the
// learning-rate finder, the 11897-parameter model trained for 200000 minibatch steps at lr 0.1
// then 0.01, its train/dev/test losses, and 20 samples. Plots go to out/makemore/part2/.
//
// Minibatches: the notebook calls torch.randint without a generator, so its run cannot be repeated.
// Here every minibatch is drawn from the generator that drew the parameters (seed 2147483647,
// continued after the init), or from `new Generator().manualSeed(--batch-seed)`, so a run is
// repeatable; the losses match the lecture's in distribution, not digit for digit.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { F, Generator, arange, getBackend, makemore, noGrad, randn, type Tensor } from 'ferrograd';

const {
  Vocabulary,
  buildContexts,
  contextTensors,
  createMlp,
  learningRateSweep,
  plotEmbedding2d,
  plotLearningRateSweep,
  plotLossCurve,
  readWords,
  splitWords,
  stepDecay,
  suggestLearningRate,
} = makemore;
type Vocabulary = makemore.Vocabulary;
type Mlp = makemore.Mlp;
type MlpSplit = makemore.MlpSplit;

const SEED = 2147483647;
const BLOCK_SIZE = 3;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'makemore', 'part2');

const section = (title: string) => console.log(`\n=== ${title} ===`);
const rel = (p: string) => relative(process.cwd(), p);
const seconds = (t0: number) => (performance.now() - t0) / 1000;

interface Splits {
  train: MlpSplit;
  dev: MlpSplit;
  test: MlpSplit;
}

function loadSplits(vocab: Vocabulary, words: string[]): Splits {
  section('data: the seed-42 80/10/10 split, contexts of 3 characters');
  const parts = splitWords(words);
  console.log(`words: ${parts.train.length} train, ${parts.dev.length} dev, ${parts.test.length} test (first shuffled: ${parts.train.slice(0, 3).join(', ')})`);
  const build = (name: string, ws: string[]) => {
    const ds = buildContexts(ws, vocab, BLOCK_SIZE);
    console.log(`X${name}.shape = [${ds.rows}, ${BLOCK_SIZE}]   Y${name}.shape = [${ds.rows}]`);
    return contextTensors(ds);
  };
  return { train: build('tr', parts.train), dev: build('dev', parts.dev), test: build('te', parts.test) };
}

/** Train with the lecture's step decay, printing the mean minibatch loss of each tenth of the run. */
function trainLogged(model: Mlp, data: MlpSplit, g: Generator, steps: number, decayAt: number): { losses: Float32Array; seconds: number } {
  const every = Math.max(1, Math.floor(steps / 10));
  let sum = 0;
  let count = 0;
  const t0 = performance.now();
  const { losses } = model.fit(data, {
    steps,
    lr: stepDecay(0.1, 0.01, decayAt),
    batchSize: 32,
    generator: g,
    onStep: (i, loss) => {
      sum += loss;
      count++;
      if ((i + 1) % every === 0 || i === steps - 1) {
        console.log(`  step ${String(i + 1).padStart(String(steps).length)}/${steps}  lr ${i < decayAt ? 0.1 : 0.01}  mean minibatch loss ${(sum / count).toFixed(4)}  (${seconds(t0).toFixed(1)} s)`);
        sum = 0;
        count = 0;
      }
    },
  });
  return { losses, seconds: seconds(t0) };
}

/** The lecture's aside on view(): every view of arange(18) is the same 18-element storage. */
function viewsShareStorage(): void {
  section('view() is cheap: the tensors share one 1-D storage (a = arange(18))');
  const a = arange(18);
  console.log('a.storage() =');
  console.log(a.storage().toString());
  for (const v of [a.view(2, 9), a.view(9, 2), a.view(3, 3, 2)]) {
    const same = v.untypedStorage().dataPtr() === a.untypedStorage().dataPtr();
    console.log(`a.view(${v.shape.join(', ')}): shape [${v.shape.join(', ')}], strides [${v.strides.join(', ')}], same storage as a: ${same}`);
  }
  console.log('view() only changes shape and strides; no element is copied');
}

export interface OverfitResult {
  words: string[];
  examples: number;
  parameters: number;
  steps: number;
  /** The minibatch loss before each update, as the lecture prints loss.item() in its loop. */
  losses: number[];
  /** The loss after the last update. */
  final: number;
  /** Examples whose most likely next character is the target. */
  correct: number;
  /** Examples whose context also occurs with a different next character (no model gets them all). */
  ambiguous: number;
}

/** Overfitting one batch, as the lecture: the first version (C 27x2, W1 6x100, b1, W2 100x27, b2:
 *  3481 parameters, drawn from seed 2147483647) trained by full-batch SGD (lr 0.1) on the 32
 *  examples of the first 5 words. */
export function overfitOneBatch(words: readonly string[], vocab: Vocabulary, steps = 1000): OverfitResult {
  const first = words.slice(0, 5);
  const ds = buildContexts(first, vocab, BLOCK_SIZE);
  const { X, Y } = contextTensors(ds);
  const g = new Generator().manualSeed(SEED);
  const C = randn([vocab.size, 2], { generator: g, requiresGrad: true });
  const W1 = randn([2 * BLOCK_SIZE, 100], { generator: g, requiresGrad: true });
  const b1 = randn([100], { generator: g, requiresGrad: true });
  const W2 = randn([100, vocab.size], { generator: g, requiresGrad: true });
  const b2 = randn([vocab.size], { generator: g, requiresGrad: true });
  const params = [C, W1, b1, W2, b2];
  const logitsOf = (): Tensor => C.index(X).view(-1, 2 * BLOCK_SIZE).matmul(W1).add(b1).tanh().matmul(W2).add(b2);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = F.crossEntropy(logitsOf(), Y);
    losses.push(loss.item());
    for (const p of params) p.grad = null;
    loss.backward();
    noGrad(() => {
      for (const p of params) p.add_(p.grad!, -0.1);
    });
  }
  const { final, correct } = noGrad(() => {
    const logits = logitsOf();
    return { final: F.crossEntropy(logits, Y).item(), correct: logits.argmax(1).eq(Y).sum().item() };
  });
  // A context seen with several next characters ("..." starts all five words) caps what fits.
  const targetsOf = new Map<string, Set<number>>();
  for (let r = 0; r < ds.rows; r++) {
    const key = ds.X.subarray(r * BLOCK_SIZE, (r + 1) * BLOCK_SIZE).join(',');
    targetsOf.set(key, (targetsOf.get(key) ?? new Set()).add(ds.Y[r]));
  }
  let ambiguous = 0;
  for (let r = 0; r < ds.rows; r++) if (targetsOf.get(ds.X.subarray(r * BLOCK_SIZE, (r + 1) * BLOCK_SIZE).join(','))!.size > 1) ambiguous++;
  const parameters = params.reduce((n, p) => n + p.numel(), 0);
  return { words: first, examples: ds.rows, parameters, steps, losses, final, correct, ambiguous };
}

function overfitSection(words: readonly string[], vocab: Vocabulary): OverfitResult {
  section('overfitting one batch: the first version on the 32 examples of the first 5 words');
  const r = overfitOneBatch(words, vocab);
  console.log(`words: ${r.words.join(', ')} -> ${r.examples} examples; parameters: ${r.parameters}`);
  for (const i of [0, 9, 99, r.steps - 1]) console.log(`  step ${String(i + 1).padStart(4)}: loss ${r.losses[i].toFixed(4)}`);
  console.log(`after ${r.steps} steps: loss ${r.final.toFixed(4)} (lecture's notes: 0.25521), the most likely next character is right for ${r.correct} of ${r.examples}`);
  console.log(
    `${r.parameters} parameters for ${r.examples} examples: the network can memorise the batch, so this loss is far below what ` +
      'the same model reaches on the whole training set (below: about 2.3). It stays above 0 because ' +
      `${r.ambiguous} of the examples share their context with a different next character ('...' begins all five words).`,
  );
  return r;
}

async function embedding2d(vocab: Vocabulary, splits: Splits, steps: number, outDir: string): Promise<Record<string, number>> {
  section('the first version: 2-D embeddings, 100 hidden units');
  const g = new Generator().manualSeed(SEED);
  const model = createMlp({ vocabSize: vocab.size, blockSize: BLOCK_SIZE, embDim: 2, hidden: 100, generator: g });
  console.log(`parameters: ${model.numParameters()}  (C ${model.C.shape.join('x')}, W1 ${model.W1.shape.join('x')}, W2 ${model.W2.shape.join('x')})`);
  const decayAt = Math.floor((steps * 3) / 4);
  console.log(`${steps} steps of batch 32, lr 0.1 then 0.01 from step ${decayAt}:`);
  const run = trainLogged(model, splits.train, g, steps, decayAt);
  const train = model.evaluate(splits.train);
  const dev = model.evaluate(splits.dev);
  console.log(`train loss ${train.toFixed(4)}   dev loss ${dev.toFixed(4)}`);
  const files = await plotEmbedding2d(model.embedding2d(vocab), join(outDir, 'embedding_2d'), {
    title: `Character embeddings C (2-D model, ${model.numParameters()} parameters, ${steps} steps)`,
  });
  console.log(`embedding scatter: ${rel(files.png)} and ${rel(files.svg)}`);
  return { steps, train, dev, seconds: run.seconds };
}

async function lrFinder(vocab: Vocabulary, splits: Splits, outDir: string): Promise<Record<string, number>> {
  section('the learning-rate finder: one step at each lr = 10 ** linspace(-3, 0, 1000)');
  const g = new Generator().manualSeed(SEED);
  const model = createMlp({ vocabSize: vocab.size, blockSize: BLOCK_SIZE, embDim: 10, hidden: 200, generator: g });
  const sweep = learningRateSweep((lr) => model.trainStep(splits.train, { lr, batchSize: 32, generator: g }));
  if (sweep.divergedAt !== null) console.log(`the loss stopped being finite at step ${sweep.divergedAt} (lr ${sweep.lrs[sweep.divergedAt - 1]})`);
  const s = suggestLearningRate(sweep);
  console.log(`lowest running-mean loss ${s.smoothedLoss.toFixed(3)} at exponent ${s.exponent.toFixed(3)} (lr ${s.lr.toPrecision(3)})`);
  const { fromExponent: a, toExponent: b } = s.valley;
  console.log(
    `running mean within 10% of that from exponent ${a.toFixed(2)} to ${b.toFixed(2)} ` +
      `(lr ${(10 ** a).toPrecision(2)} .. ${(10 ** b).toPrecision(2)}); the lecture reads lr = 0.1 off this plot`,
  );
  const files = await plotLearningRateSweep(sweep.exponents, sweep.losses, join(outDir, 'lr_sweep'));
  console.log(`sweep plot: ${rel(files.png)} and ${rel(files.svg)}`);
  return { exponent: s.exponent, lr: s.lr, smoothedLoss: s.smoothedLoss, valleyFrom: a, valleyTo: b };
}

async function fullModel(
  vocab: Vocabulary,
  splits: Splits,
  steps: number,
  decayAt: number,
  batchSeed: bigint | null,
  outDir: string,
): Promise<Record<string, unknown>> {
  section(`the 11897-parameter model: embeddings of 10, 200 hidden units, ${steps} steps`);
  const init = new Generator().manualSeed(SEED);
  const model = createMlp({ vocabSize: vocab.size, blockSize: BLOCK_SIZE, embDim: 10, hidden: 200, generator: init });
  const g = batchSeed === null ? init : new Generator().manualSeed(batchSeed);
  console.log(`minibatches from ${batchSeed === null ? 'the init generator (seed 2147483647), continued' : `a generator seeded with ${batchSeed}`}`);
  console.log(`sum(p.nelement() for p in parameters) = ${model.numParameters()}   (lecture: 11897)`);
  console.log(`initial loss on dev: ${model.evaluate(splits.dev).toFixed(4)} (the unscaled randn init is confidently wrong)`);
  console.log(`training: batch 32, lr 0.1 for steps < ${decayAt}, then 0.01 (${getBackend().name} backend)`);
  const run = trainLogged(model, splits.train, g, steps, decayAt);
  const stepsPerSecond = steps / run.seconds;
  console.log(`training took ${run.seconds.toFixed(1)} s (${stepsPerSecond.toFixed(0)} steps/s)`);

  const t0 = performance.now();
  const train = model.evaluate(splits.train);
  const dev = model.evaluate(splits.dev);
  const test = model.evaluate(splits.test);
  console.log(`train loss ${train.toFixed(4)}   dev loss ${dev.toFixed(4)}   test loss ${test.toFixed(4)}   (${seconds(t0).toFixed(1)} s)`);
  console.log('lecture (200000 steps, unseeded minibatches): train 2.1260, dev 2.1701');

  const files = await plotLossCurve(
    Array.from({ length: steps }, (_, i) => i),
    run.losses,
    join(outDir, 'loss_curve'),
    { title: `Training loss, 11897-parameter MLP (${steps} steps, batch 32)`, average: Math.max(1, Math.floor(steps / 200)) },
  );
  console.log(`loss curve (log10): ${rel(files.png)} and ${rel(files.svg)}`);

  section('20 samples (generator seed 2147483647 + 10)');
  const samples = model.sample(20, new Generator().manualSeed(SEED + 10), vocab);
  for (const s of samples) console.log(`  ${s}`);
  return { steps, decayAt, batchSeed: batchSeed === null ? 'init' : String(batchSeed), trainSeconds: run.seconds, stepsPerSecond, train, dev, test, samples };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: 'string', default: '200000' },
      'emb2-steps': { type: 'string', default: '40000' },
      'batch-seed': { type: 'string' },
      words: { type: 'string' },
      out: { type: 'string', default: OUT_DIR },
    },
  });
  const int = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got ${v}`);
    return n;
  };
  const steps = int('steps', values.steps);
  const emb2Steps = int('emb2-steps', values['emb2-steps']);
  const outDir = values.out!;
  let batchSeed: bigint | null = null;
  if (values['batch-seed'] !== undefined) {
    if (!/^\d+$/.test(values['batch-seed'])) throw new Error(`--batch-seed must be a non-negative integer, got ${values['batch-seed']}`);
    batchSeed = BigInt(values['batch-seed']);
  }
  const t0 = performance.now();
  const words = readWords(values.words);
  const vocab = Vocabulary.fromWords(words);
  console.log(`${words.length} words, vocabulary ${vocab}`);
  const splits = loadSplits(vocab, words);
  viewsShareStorage();
  const overfit = overfitSection(words, vocab);
  const first = await embedding2d(vocab, splits, emb2Steps, outDir);
  const finder = await lrFinder(vocab, splits, outDir);
  const full = await fullModel(vocab, splits, steps, Math.floor(steps / 2), batchSeed, outDir);
  const total = seconds(t0);
  console.log(`\nwhole script: ${total.toFixed(1)} s on the ${getBackend().name} backend`);
  mkdirSync(outDir, { recursive: true });
  const summary = join(outDir, 'summary.json');
  writeFileSync(
    summary,
    JSON.stringify({ backend: getBackend().name, node: process.version, overfitOneBatch: { final: overfit.final, correct: overfit.correct, steps: overfit.steps }, embedding2d: first, lrFinder: finder, mlp: full, totalSeconds: total }, null, 2) + '\n',
  );
  console.log(`numbers: ${rel(summary)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
