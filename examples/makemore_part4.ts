// makemore part 4 (makemore_part4_backprop.ipynb): becoming a backprop ninja.
//
//   npx tsx examples/makemore_part4.ts                 # everything, exercise 4 with the lecture's 200000 steps
//   npx tsx examples/makemore_part4.ts --steps 20000   # a shorter exercise 4 (the learning rate drops at half way)
//
// The part 3 MLP with an inline BatchNorm, written with raw tensors as the lecture does:
//   exercise 1: the forward pass cut into 20 atomic steps, autograd's gradient of every one of them
//     (retainGrad), and the backward pass written by hand, compared row by row with `cmp`;
//   exercise 2: the cross-entropy backward in one expression, and the picture of dlogits;
//   exercise 3: BatchNorm's forward and backward in one expression each;
//   exercise 4: the 12297-parameter network trained with the hand-written gradients only (no
//     backward()), BatchNorm calibrated over the training set, train/val losses and 20 samples.
// The native fused kernels (F.crossEntropy, F.batchNorm with correction 1) are checked against the
// hand-written formulas on the way. The dlogits image goes to docs/makemore/part4/.
//
// Randomness: C, W1, b1, W2, b2 and the minibatches come from g = Generator(2147483647), as in the
// lecture. bngain and bnbias come from torch's global generator, which the notebook never seeds, so
// its printed numbers (loss 3.3377, step-0 loss 3.7805) cannot be reproduced. This script emulates a
// fresh PyTorch process running the notebook from the top: one generator with PyTorch's default seed
// (67280421310721) draws them, first for the exercise network and then, continued, for exercise 4's.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { F, Generator, getBackend, makemore, noGrad, randint, type Tensor } from 'ferrograd';

const {
  Vocabulary,
  buildContexts,
  calibrateBatchNorm,
  chunkedForward,
  cmp,
  contextTensors,
  countNinjaParameters,
  crossEntropyBackward,
  batchNormBackward,
  batchNormForwardFast,
  evaluateNinja,
  exercise1Rows,
  exercise4Forward,
  initNinjaParams,
  manualBackward,
  manualGradients,
  ninjaParameters,
  plotGrayImage,
  pyFloatRepr,
  readWords,
  sampleNinja,
  splitWords,
  stepDecay,
  trainManual,
  NINJA_SEED,
} = makemore;
type Vocabulary = makemore.Vocabulary;
type MlpSplit = makemore.MlpSplit;
type NinjaParams = makemore.NinjaParams;

const BLOCK_SIZE = 3;
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(REPO, 'docs', 'makemore', 'part4');

const section = (title: string) => console.log(`\n=== ${title} ===`);
const rel = (p: string) => relative(process.cwd(), p);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const shapeStr = (t: Tensor) => `(${t.shape.join(', ')}${t.ndim === 1 ? ',' : ''})`;

// Rows of exercise 1 that sit below tanh in the graph: their hand-written gradient passes through
// dhpreact = (1.0 - h**2) * dh, where autograd's tanh backward computes 1 - y·y.
const BELOW_TANH = new Set(['hpreact', 'bngain', 'bnbias', 'bnraw', 'bnvar_inv', 'bnvar', 'bndiff2', 'bndiff', 'bnmeani', 'hprebn', 'embcat', 'W1', 'b1', 'emb', 'C']);

interface Splits {
  train: MlpSplit;
  dev: MlpSplit;
  test: MlpSplit;
  vocab: Vocabulary;
}

function loadData(words: string[], vocab: Vocabulary): Splits {
  section('data');
  console.log(words.length);
  console.log(Math.max(...words.map((w) => w.length)));
  console.log(`[${words.slice(0, 8).map((w) => `'${w}'`).join(', ')}]`);
  console.log(`vocabulary: ${vocab}`);
  const parts = splitWords(words);
  const build = (ws: string[]) => {
    const ds = buildContexts(ws, vocab, BLOCK_SIZE);
    console.log(`torch.Size([${ds.rows}, ${BLOCK_SIZE}]) torch.Size([${ds.rows}])`);
    return contextTensors(ds);
  };
  return { train: build(parts.train), dev: build(parts.dev), test: build(parts.test), vocab };
}

/** Exercises 1-3 on the 4137-parameter network and one minibatch of 32. */
async function exercises123(splits: Splits, globalRng: Generator, outDir: string): Promise<Record<string, unknown>> {
  section('the exercise network: n_embd 10, n_hidden 64');
  const g = new Generator().manualSeed(NINJA_SEED);
  const p = initNinjaParams({ generator: g, bnGenerator: globalRng });
  console.log(countNinjaParameters(p), '  (lecture: 4137)');
  const n = 32;
  const ix = randint(0, splits.train.X.shape[0], [n], { generator: g });
  const Xb = splits.train.X.index(ix);
  const Yb = splits.train.Y.index(ix);

  const f = chunkedForward(p, Xb, Yb);
  for (const t of ninjaParameters(p)) t.grad = null;
  f.loss.backward();
  const loss = f.loss.item();
  console.log(`loss: ${f.loss}  (lecture: tensor(3.3377) from an unknown global RNG state; PyTorch with these draws: 3.3346)`);

  section('exercise 1: backprop through the whole thing manually');
  const d = manualBackward(p, f, Xb);
  const rows = exercise1Rows(p, f, d).map(([name, dt, t]) => cmp(name, dt, t));
  const inexact = rows.filter((r) => !r.exact).map((r) => r.name);
  const worst = Math.max(...rows.map((r) => r.maxdiff));
  console.log(`${rows.filter((r) => r.approximate).length}/26 approximate, ${26 - inexact.length}/26 exact, largest maxdiff ${pyFloatRepr(worst)} (lecture: 26/26 exact, maxdiff 0.0)`);
  if (inexact.length > 0) {
    const h = f.h.detach();
    const powDiffers = noGrad(() => h.pow(2).ne(h.mul(h)).sum().item());
    console.log(
      `not bit-exact: ${inexact.join(', ')}. All are below tanh: the hand-written dhpreact = (1.0 - h**2) * dh\n` +
        `  squares h with pow(h, 2) (the C library's powf: ${powDiffers} of the ${h.numel()} values of h differ from h·h in the last bit),\n` +
        '  while autograd\'s tanh backward computes 1 - y·y. PyTorch computes x**2 as x·x, so the lecture\'s table is all exact;\n' +
        '  with h*h in that line every row here is exact too (and in float64 on the reference backend all 26 rows are exact).',
    );
  }
  if (inexact.some((name) => !BELOW_TANH.has(name))) console.log('UNEXPECTED: a row above tanh is not exact');

  section('exercise 2: backprop through cross_entropy in one go');
  const lossFast = F.crossEntropy(f.logits, Yb);
  console.log(`${pyFloatRepr(lossFast.item())} diff: ${pyFloatRepr(lossFast.sub(f.loss).item())}   (lecture: 3.3377387523651123 diff: 2.384185791015625e-07)`);
  const dlogits = crossEntropyBackward(f.logits, Yb);
  const ce = cmp('logits', dlogits, f.logits);
  console.log('(lecture: exact: False | approximate: True  | maxdiff: 5.122274160385132e-09)');
  console.log(`F.softmax(logits, 1)[0] =\n${noGrad(() => f.logits.softmax(1).select(0, 0))}`);
  console.log(`dlogits[0] * n =\n${noGrad(() => dlogits.select(0, 0).mul(n))}`);
  console.log(`dlogits[0].sum() = ${noGrad(() => dlogits.select(0, 0).sum())}   (lecture: 1.3970e-09: each row sums to 0 up to rounding)`);
  const image = await plotGrayImage(dlogits, join(outDir, 'dlogits'));
  console.log(`plt.imshow(dlogits, cmap='gray'): ${rel(image.png)} and ${rel(image.svg)}`);
  // The native fused kernel: F.crossEntropy's backward against the closed form.
  const leaf = f.logits.detach().requiresGrad_(true);
  F.crossEntropy(leaf, Yb).backward();
  const fusedCe = cmp('F.crossEntropy', dlogits, leaf);
  console.log('  (the fused kernel\'s backward against the closed form above)');

  section('exercise 3: backprop through batchnorm in one go');
  const hpreactFast = batchNormForwardFast(f.hprebn, p.bngain, p.bnbias);
  const fwdDiff = noGrad(() => hpreactFast.sub(f.hpreact).abs().max());
  console.log(`max diff: ${fwdDiff}   (lecture: tensor(4.7684e-07))`);
  const dhprebn = batchNormBackward(f.hpreact.grad!, p.bngain, f.bnvarInv, f.bnraw);
  const bn = cmp('hprebn', dhprebn, f.hprebn);
  console.log('(lecture: exact: False | approximate: True  | maxdiff: 9.313225746154785e-10)');
  console.log(`dhprebn.shape ${shapeStr(dhprebn)}, bngain.shape ${shapeStr(p.bngain)}, bnvar_inv.shape ${shapeStr(f.bnvarInv)}, dbnraw.shape ${shapeStr(d.dbnraw)}, dbnraw.sum(0).shape ${shapeStr(noGrad(() => d.dbnraw.sum(0)))}`);
  // The native fused kernel: F.batchNorm with the unbiased variance (correction 1), forward and backward.
  const x = f.hprebn.detach().requiresGrad_(true);
  const gamma = p.bngain.detach().requiresGrad_(true);
  const beta = p.bnbias.detach().requiresGrad_(true);
  const fused = F.batchNorm(x, { weight: gamma, bias: beta, correction: 1, eps: 1e-5 });
  const fusedFwd = noGrad(() => fused.sub(f.hpreact).abs().max());
  fused.backward(f.hpreact.grad!);
  console.log(`F.batchNorm(correction 1) forward against the chunked hpreact: max diff ${fusedFwd}`);
  const fusedBn = cmp('F.batchNorm', dhprebn, x);
  cmp('  its dbngain', d.dbngain, gamma);
  cmp('  its dbnbias', d.dbnbias, beta);
  console.log('  (the fused kernel\'s backward against the closed form and exercise 1\'s dbngain, dbnbias)');

  return {
    parameters: countNinjaParameters(p),
    loss,
    exercise1: rows.map(({ name, exact, approximate, maxdiff }) => ({ name, exact, approximate, maxdiff })),
    exercise2: { lossFast: lossFast.item(), maxdiff: ce.maxdiff, fusedMaxdiff: fusedCe.maxdiff },
    exercise3: { forwardMaxdiff: fwdDiff.item(), maxdiff: bn.maxdiff, fusedForwardMaxdiff: fusedFwd.item(), fusedMaxdiff: fusedBn.maxdiff },
    image: { svg: relative(REPO, image.svg), png: relative(REPO, image.png) },
  };
}

/** Exercise 4's first batch: the hand-written gradients against autograd's on the same forward pass. */
function checkAgainstAutograd(p: NinjaParams, Xb: Tensor, Yb: Tensor): number {
  const { loss, grads } = manualGradients(p, Xb, Yb);
  const params = ninjaParameters(p);
  for (const t of params) t.grad = null;
  exercise4Forward(p, Xb, Yb).loss.backward();
  console.log(`step 0 loss ${loss.item().toFixed(4)}; the hand-written gradients against loss.backward()'s on the same forward pass:`);
  let worst = 0;
  params.forEach((t, i) => {
    worst = Math.max(worst, cmp(shapeStr(t), grads[i], t).maxdiff);
  });
  const db1 = noGrad(() => p.b1.grad!.abs().max().item());
  console.log(
    `  b1's true gradient is 0 (BatchNorm subtracts the batch mean, so b1 cancels out): both sides are rounding noise
` +
      `  (autograd's |db1| <= ${pyFloatRepr(db1)}), which allclose's atol of 1e-8 may or may not accept.`,
  );
  for (const t of params) t.grad = null;
  return worst;
}

async function exercise4(splits: Splits, globalRng: Generator, steps: number): Promise<Record<string, unknown>> {
  section(`exercise 4: train with the hand-written gradients only (n_hidden 200, ${steps} steps)`);
  const g = new Generator().manualSeed(NINJA_SEED);
  const p = initNinjaParams({ generator: g, bnGenerator: globalRng, nHidden: 200 });
  console.log(countNinjaParameters(p), '  (lecture: 12297)');
  // The lecture's commented-out check, on a copy of g's stream so the training below is unaffected.
  const probe = g.clone();
  const ix = randint(0, splits.train.X.shape[0], [32], { generator: probe });
  const gradMaxdiff = checkAgainstAutograd(p, splits.train.X.index(ix), splits.train.Y.index(ix));

  const decayAt = Math.floor(steps / 2);
  const every = steps >= 200_000 ? 10_000 : Math.max(1, Math.floor(steps / 20));
  console.log(`training: batch 32, lr 0.1 for steps < ${decayAt}, then 0.01; no backward(), no graph (${getBackend().name} backend)`);
  const t0 = performance.now();
  const { losses } = trainManual(p, splits.train, {
    steps,
    lr: stepDecay(0.1, 0.01, decayAt),
    batchSize: 32,
    generator: g,
    onStep: (i, loss) => {
      if (i % every === 0) console.log(`${String(i).padStart(7)}/${String(steps).padStart(7)}: ${loss.toFixed(4)}`);
    },
  });
  const trainSeconds = seconds(t0);
  console.log(`training took ${trainSeconds.toFixed(1)} s (${(steps / trainSeconds).toFixed(0)} steps/s)`);
  console.log('lecture log: 0: 3.7805 | 10000: 2.1775 | 50000: 2.3873 | 100000: 1.9132 | 150000: 2.1857 | 190000: 1.9200');

  section('calibrate the batch norm at the end of training');
  const t1 = performance.now();
  const bn = calibrateBatchNorm(p, splits.train.X);
  const train = evaluateNinja(p, bn, splits.train);
  const val = evaluateNinja(p, bn, splits.dev);
  console.log(`train ${pyFloatRepr(train)}`);
  console.log(`val ${pyFloatRepr(val)}`);
  console.log(`(${seconds(t1).toFixed(1)} s; lecture: train 2.070523500442505, val 2.109893560409546; "I achieved: train 2.0718822479248047 val 2.1162495613098145")`);

  section('sample from the model (generator seed 2147483647 + 10)');
  const samples = sampleNinja(p, bn, 20, new Generator().manualSeed(NINJA_SEED + 10), splits.vocab);
  for (const s of samples) console.log(s);
  return { steps, decayAt, step0Loss: losses[0], gradMaxdiff, trainSeconds, stepsPerSecond: steps / trainSeconds, train, val, samples };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: 'string', default: '200000' },
      words: { type: 'string' },
      out: { type: 'string', default: OUT_DIR },
    },
  });
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be an integer >= 1, got ${values.steps}`);
  const outDir = values.out!;
  const t0 = performance.now();
  const words = readWords(values.words);
  const vocab = Vocabulary.fromWords(words);
  const splits = loadData(words, vocab);
  // torch's global generator in a fresh process (never seeded by the notebook).
  const globalRng = new Generator();
  const ex123 = await exercises123(splits, globalRng, outDir);
  const ex4 = await exercise4(splits, globalRng, steps);
  const total = seconds(t0);
  console.log(`\nwhole script: ${total.toFixed(1)} s on the ${getBackend().name} backend`);
  mkdirSync(outDir, { recursive: true });
  const summary = join(outDir, 'summary.json');
  writeFileSync(summary, JSON.stringify({ backend: getBackend().name, node: process.version, ...ex123, exercise4: ex4, totalSeconds: total }, null, 2) + '\n');
  console.log(`numbers: ${rel(summary)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
