// makemore part 3 (makemore_part3_bn.ipynb): activations, gradients, BatchNorm.
//
//   npm run build:ts && npx tsx examples/makemore_part3.ts        # the notebook's runs (a few minutes)
//   npx tsx examples/makemore_part3.ts --steps 1                  # step-0 losses only (seconds)
//   npx tsx examples/makemore_part3.ts --steps 20000 --variants kaiming,batchnorm
//
// Follows the notebook: the tanh saturation of the unscaled init and its fixes, Model 1 (the MLP
// with kaiming init and inline BatchNorm, 12,097 parameters, 200000 steps), the loss-log
// experiment (each of its five entries run as a variant, printed beside the notebook's figures),
// the deep network built from the notebook's own layers (makemore.lecture: 5 x [Linear,
// BatchNorm1d, Tanh] + Linear + BatchNorm1d, 47,024 parameters, 1001 steps) with its activation,
// gradient and weight-gradient tables, update:data ratios and 20 samples, and the bonus std
// studies. Every minibatch is drawn with randint(..., generator=g) from the generator that drew
// the parameters, as the notebook does, so the seeded numbers are the notebook's.
// `--steps N` limits every training run (the deep net runs min(N, 1001) steps); the learning rate
// drops from 0.1 to 0.01 half way through Model 1's runs, as at 100000 of 200000.
// Plots (SVG + PNG) and summary.json go to docs/makemore/part3/ (or --out).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Generator, getBackend, makemore, noGrad, randint, viz, type Tensor } from 'ferrograd';

const SEED = makemore.PART3_SEED;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'makemore', 'part3');

const section = (title: string) => console.log(`\n=== ${title} ===`);
const rel = (p: string) => relative(process.cwd(), p);
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const logLine = (i: number, max: number, loss: number) => `${String(i).padStart(7)}/${String(max).padStart(7)}: ${loss.toFixed(4)}`;
const wrote = (what: string, f: { svg: string; png: string }) => console.log(`${what}: ${rel(f.png)} and ${rel(f.svg)}`);

type Splits = makemore.LectureSplits;

async function initSaturation(splits: Splits, outDir: string): Promise<Record<string, unknown>> {
  section('the init: confidently wrong softmax, saturated tanh');
  // The first minibatch of each variant's run (the same rows: same seed, same number of init draws).
  const results: Record<string, unknown> = {};
  const hs: viz.LabelledTensor[] = [];
  const pre: viz.LabelledTensor[] = [];
  for (const key of ['original', 'fix-tanh', 'kaiming']) {
    const v = makemore.LOSS_LOG.find((x) => x.key === key)!;
    const g = new Generator().manualSeed(SEED);
    const model = new makemore.Part3Mlp({ init: v.init, batchNorm: false, generator: g });
    const ix = randint(0, splits.train.X.shape[0]!, [32], { generator: g });
    const loss = noGrad(() => model.loss(splits.train.X.index(ix), splits.train.Y.index(ix)).item());
    const sat = await viz.plotSaturation(model.h!, join(outDir, `init_saturation_${key}`), {
      title: `h.abs() > 0.99 at init, ${v.title} (32 examples x 200 neurons)`,
    });
    console.log(
      `${v.title.padEnd(58)} step-0 loss ${loss.toFixed(4)}; |h| > 0.99: ${sat.saturated.toFixed(1)}% of h, ${sat.deadColumns.length} dead neurons (white in every row)`,
    );
    wrote('  saturation image', sat);
    hs.push({ label: `h, ${v.key}`, tensor: model.h! });
    pre.push({ label: `hpreact, ${v.key}`, tensor: model.hpreact! });
    results[key] = { step0: loss, saturatedPercent: sat.saturated, deadNeurons: sat.deadColumns.length };
  }
  console.log(`uniform guessing: -ln(1/27) = ${Math.log(27).toFixed(4)}`);
  wrote('h histograms', await viz.plotDistributions(hs, join(outDir, 'init_h_hist'), { title: 'tanh outputs h at init', xTitle: 'h', bins: 50 }));
  wrote('hpreact histograms', await viz.plotDistributions(pre, join(outDir, 'init_hpreact_hist'), { title: 'pre-activations at init', xTitle: 'hpreact', bins: 50 }));
  return results;
}

async function model1(splits: Splits, steps: number, outDir: string): Promise<Record<string, unknown>> {
  section(`Model 1: MLP with kaiming init and BatchNorm, ${steps} steps`);
  const g = new Generator().manualSeed(SEED);
  const model = new makemore.Part3Mlp({ generator: g });
  console.log(`${model.numParameters()}   (lecture: 12097)`);
  const decayAt = Math.floor(steps / 2);
  const t0 = performance.now();
  const { losses } = model.fit(splits.train, {
    steps,
    lr: (i) => (i < decayAt ? 0.1 : 0.01),
    generator: g,
    onStep: (i, loss) => {
      if (i % 10000 !== 0) return;
      const lec = steps === 200000 ? makemore.MODEL1_LECTURE.log[i / 10000] : undefined;
      const beside = i === 0 ? '   (lecture 3.3239)' : lec !== undefined ? `   (lecture ${lec.toFixed(4)})` : '';
      console.log(logLine(i, steps, loss) + beside);
    },
  });
  const trainSeconds = seconds(t0);
  console.log(`trained in ${trainSeconds.toFixed(1)} s (${(steps / trainSeconds).toFixed(0)} steps/s, ${getBackend().name} backend)`);
  const train = model.evaluate(splits.train);
  const val = model.evaluate(splits.dev);
  console.log(`train ${train}\nval ${val}`);
  console.log(`lecture (200000 steps): train ${makemore.MODEL1_LECTURE.train}, val ${makemore.MODEL1_LECTURE.val}`);
  const cal = model.calibrate(splits.train);
  const calTrain = model.evaluate(splits.train, { stats: cal });
  const calVal = model.evaluate(splits.dev, { stats: cal });
  console.log(`with the calibrated statistics (the whole training set's mean/std): train ${calTrain.toFixed(4)}, val ${calVal.toFixed(4)}`);
  wrote(
    'loss curve (log10)',
    await makemore.plotLossCurve(Array.from({ length: steps }, (_, i) => i), losses, join(outDir, 'model1_loss'), {
      title: `Model 1 training loss (${steps} steps, batch 32)`,
      average: steps >= 2000 ? 1000 : undefined,
    }),
  );
  return { steps, step0: losses[0], log: Array.from(losses).filter((_, i) => i % 10000 === 0), train, val, calibrated: { train: calTrain, val: calVal }, trainSeconds };
}

function lossLog(splits: Splits, steps: number, keys: Set<string>): Record<string, unknown>[] {
  section(`the loss log: the notebook's experiments as variants (${steps} steps each)`);
  const rows: Record<string, unknown>[] = [];
  for (const v of makemore.LOSS_LOG) {
    if (!keys.has(v.key)) continue;
    const r = makemore.runLossLogVariant(v, splits, { steps });
    console.log(`### ${v.title}:   (${r.parameters} parameters, step-0 loss ${r.step0.toFixed(4)}, ${r.seconds.toFixed(1)} s${v.evalStats === 'split' ? ", each split normalised with its own statistics" : ''})`);
    console.log(`train ${String(r.train).padEnd(20)}   lecture ${v.lecture.train}`);
    console.log(`val   ${String(r.val).padEnd(20)}   lecture ${v.lecture.val}`);
    rows.push({ key: v.key, title: v.title, parameters: r.parameters, step0: r.step0, train: r.train, val: r.val, lecture: v.lecture, seconds: r.seconds });
  }
  return rows;
}

async function deepNet(splits: Splits, steps: number, outDir: string): Promise<Record<string, unknown>> {
  section(`the deep network from the notebook's layers: ${steps} steps`);
  const g = new Generator().manualSeed(SEED);
  const net = new makemore.Part3DeepNet({ generator: g });
  console.log(`${net.numParameters()}   (lecture: 47024)`);
  const params = net.parameters();
  const tracker = new viz.UpdateRatioTracker(params.map((p, i) => ({ label: `param ${i}`, tensor: p })));
  const t0 = performance.now();
  const { losses } = net.fit(splits.train, {
    steps,
    lr: (i) => (i < 150000 ? 0.1 : 0.01),
    generator: g,
    updateRatios: tracker,
    onStep: (i, loss) => {
      if (i % 10000 === 0) console.log(logLine(i, 200000, loss) + (i === 0 ? '   (lecture 3.2870)' : ''));
    },
  });
  const trainSeconds = seconds(t0);
  console.log(`${steps} steps in ${trainSeconds.toFixed(1)} s (the notebook breaks after step 1000: "AFTER_DEBUG")`);

  const stats = makemore.deepNetStats(net);
  const lines = makemore.formatDeepNetStats(stats);
  const beside = (ours: string[], theirs: string[]) => ours.forEach((l, k) => console.log(`${l.padEnd(90)}lecture: ${theirs[k]!.replace(/^.*?: |^weight .*?\| /, '')}`));
  console.log('\nactivations (layer.out of each Tanh):');
  beside(lines.activations, makemore.DEEP_LECTURE.activations);
  console.log('\ngradients (layer.out.grad):');
  beside(lines.gradients, makemore.DEEP_LECTURE.gradients);
  console.log('\nweight gradients (2-D parameters):');
  beside(lines.weightGradients, makemore.DEEP_LECTURE.weightGradients);

  const acts = makemore.tanhOutputs(net, 'out');
  const grads = makemore.tanhOutputs(net, 'grad');
  const weights = params.flatMap((p, i) => (p.ndim === 2 ? [{ label: `${i} ${viz.formatTupleShape(p.shape)}`, tensor: p.grad as Tensor }] : []));
  console.log('');
  wrote('activation histograms', await viz.plotDistributions(acts, join(outDir, 'deep_activations'), { title: 'activation distribution', xTitle: 'tanh output' }));
  wrote('gradient histograms', await viz.plotDistributions(grads, join(outDir, 'deep_gradients'), { title: 'gradient distribution', xTitle: 'gradient of the tanh output' }));
  wrote('weight-gradient histograms', await viz.plotDistributions(weights, join(outDir, 'deep_weight_gradients'), { title: 'weights gradient distribution', xTitle: 'gradient' }));
  wrote(
    'update:data ratios',
    await viz.plotUpdateRatios(tracker, join(outDir, 'deep_update_ratio'), { only: params.flatMap((p, i) => (p.ndim === 2 ? [i] : [])) }),
  );
  wrote('tanh saturation of layer 2', await viz.plotSaturation(acts[0]!.tensor, join(outDir, 'deep_saturation_layer2'), { title: 'layer 2 (Tanh): |t| > 0.97 after training', threshold: 0.97 }));

  const train = net.evaluate(splits.train);
  const val = net.evaluate(splits.dev);
  console.log(`\neval mode: train ${train}\nval ${val}`);
  console.log(`lecture (1001 steps): train ${makemore.DEEP_LECTURE.train}, val ${makemore.DEEP_LECTURE.val}`);

  section('20 samples from the deep net (generator seed 2147483647 + 10)');
  const samples = net.sample(20, new Generator().manualSeed(SEED + 10), splits.vocab);
  samples.forEach((s, k) => console.log(`  ${s.padEnd(22)}${steps === 1001 ? `lecture: ${makemore.DEEP_LECTURE.samples[k]}${s === makemore.DEEP_LECTURE.samples[k] ? '' : '  (differs)'}` : ''}`));
  const ud = tracker.history[tracker.history.length - 1]!;
  return { steps, step0: losses[0], train, val, trainSeconds, tables: lines, samples, lastUpdateRatios: ud };
}

function stdStudies(): Record<string, unknown> {
  section('bonus: std of the forward and backward pass');
  const lin = makemore.linearStdStudy();
  const bn = makemore.linearBatchNormStdStudy();
  const show = (title: string, r: Record<string, number>, lec: Record<string, number>) => {
    console.log(title);
    for (const [k, v] of Object.entries(r)) console.log(`  ${k.padEnd(8)} std ${String(v).padEnd(20)} lecture ${lec[k]}`);
  };
  show('Linear: c = b @ a, b 1000x1000 randn (no scaling)', lin, makemore.STD_STUDY_LECTURE.linear);
  show('Linear + BatchNorm', bn, makemore.STD_STUDY_LECTURE.linearBatchNorm);
  return { linear: lin, linearBatchNorm: bn };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: 'string' },
      variants: { type: 'string', default: makemore.LOSS_LOG.map((v) => v.key).join(',') },
      words: { type: 'string' },
      out: { type: 'string', default: OUT_DIR },
    },
  });
  let steps = 200000;
  if (values.steps !== undefined) {
    steps = Number(values.steps);
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be an integer >= 1, got ${values.steps}`);
  }
  const keys = new Set(values.variants!.split(',').map((s) => s.trim()).filter(Boolean));
  for (const k of keys) {
    if (!makemore.LOSS_LOG.some((v) => v.key === k)) throw new Error(`--variants: unknown variant '${k}' (known: ${makemore.LOSS_LOG.map((v) => v.key).join(', ')})`);
  }
  const outDir = values.out!;
  const t0 = performance.now();
  const splits = makemore.lectureSplits({ path: values.words });
  section('data: the seed-42 80/10/10 split, contexts of 3 characters');
  console.log(`${splits.words.length} words, vocabulary of ${splits.vocab.size}`);
  for (const [name, s] of [['tr', splits.train], ['dev', splits.dev], ['te', splits.test]] as const) {
    console.log(`X${name}.shape = [${s.X.shape.join(', ')}]   (lecture: ${{ tr: 182625, dev: 22655, te: 22866 }[name]} rows)`);
  }
  const summary: Record<string, unknown> = { backend: getBackend().name, node: process.version, steps };
  summary.init = await initSaturation(splits, outDir);
  summary.model1 = await model1(splits, steps, outDir);
  summary.lossLog = lossLog(splits, steps, keys);
  summary.deep = await deepNet(splits, Math.min(steps, 1001), outDir);
  summary.stdStudies = stdStudies();
  summary.totalSeconds = seconds(t0);
  console.log(`\nwhole script: ${(summary.totalSeconds as number).toFixed(1)} s on the ${getBackend().name} backend`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'summary.json');
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  console.log(`numbers: ${rel(file)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
