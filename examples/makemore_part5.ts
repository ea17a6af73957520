// makemore part 5 (makemore_part5_cnn1.ipynb): the hierarchical WaveNet-style model, the notebook's
// experiment log, and the same model as dilated causal convolutions.
//
//   npx tsx examples/makemore_part5.ts                     # the notebook's runs (200000 steps each; ~15-30 min)
//   npx tsx examples/makemore_part5.ts --steps 2000        # every training run limited to 2000 steps
//   npx tsx examples/makemore_part5.ts --only wavenet,conv # sections: data, wavenet, log, conv
//
// Everything draws from the global generator seeded with manualSeed(42), as the notebook's
// torch.manual_seed(42): the init in the order Embedding, Linear weights, then randint for every
// minibatch and multinomial for the samples. `--steps N` limits every training run (the lr drops
// from 0.1 to 0.01 at 3/4 of the run, as at 150000 of 200000). The smoothed loss curves (means of
// 1000 steps of log10 loss) and summary.json go to docs/makemore/part5/ (or --out).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getBackend, makemore, noGrad } from 'ferrograd';

const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'makemore', 'part5');
const SECTIONS = ['data', 'wavenet', 'log', 'conv'] as const;
type Section = (typeof SECTIONS)[number];

interface ValPoint { step: number; val: number; seconds: number }

const section = (title: string) => console.log(`\n=== ${title} ===`);
const rel = (p: string) => relative(process.cwd(), p);
const secs = (t0: number) => (performance.now() - t0) / 1000;
const wrote = (what: string, f: { svg: string; png: string }) => console.log(`${what}: ${rel(f.png)} and ${rel(f.svg)}`);
const logLine = (i: number, max: number, loss: number) => `${String(i).padStart(7)}/${String(max).padStart(7)}: ${loss.toFixed(4)}`;

function dataSection(splits: makemore.LectureSplits): Record<string, unknown> {
  section('data: block size 8');
  const shapes = [splits.train, splits.dev, splits.test].map((s) => `[${s.X.shape.join(', ')}]`);
  console.log(`Xtr ${shapes[0]}, Xdev ${shapes[1]}, Xte ${shapes[2]}   (lecture: [182625, 8] / [22655, 8] / [22866, 8])`);
  const X = splits.train.X.contiguous().flat();
  const Y = splits.train.Y.contiguous().flat();
  for (let r = 0; r < 20; r++) {
    let ctx = '';
    for (let j = 0; j < 8; j++) ctx += splits.vocab.itos(X[r * 8 + j]!);
    console.log(`${ctx} --> ${splits.vocab.itos(Y[r]!)}`);
  }
  return { train: splits.train.X.shape, dev: splits.dev.X.shape, test: splits.test.X.shape };
}

async function wavenetSection(
  splits: makemore.LectureSplits, steps: number, outDir: string,
): Promise<{ summary: Record<string, unknown>; result: makemore.ExperimentResult; valCurve: ValPoint[] }> {
  section(`the hierarchical WaveNet: n_embd 24, n_hidden 128, ${steps} steps`);
  const model = makemore.createWaveNet(); // manualSeed(42), then the init draws
  console.log(model.layers.toString());
  console.log(`parameters: ${model.numParameters()}   (lecture: ${makemore.WAVENET_LECTURE.parameters})`);
  // The notebook's shape walk on 4 rows (the first four here: no draw, so the seeded run is unchanged;
  // eval mode, so the running statistics are not touched either).
  model.eval();
  noGrad(() => model.layers.forward(splits.train.X.slice(0, 0, 4)));
  model.train();
  for (const layer of model.layers.layers) {
    const out = (layer as { out?: { shape: number[] } }).out;
    console.log(`${layer.constructor.name.padEnd(20)}: (${out?.shape.join(', ')})`);
  }
  const lectureLog = makemore.WAVENET_LECTURE.log;
  // The val loss every 10000 steps (eval mode: no draws, running statistics untouched, so the
  // seeded run is the notebook's), for the time-to-loss comparison with the convolution; the
  // evaluations' own time is taken out of the training time.
  const valCurve: ValPoint[] = [];
  let evalSeconds = 0;
  const t0 = performance.now();
  const { losses } = model.fit(splits.train, {
    steps,
    lr: makemore.part5Lr(steps),
    onStep: (i, loss) => {
      if ((i + 1) % 10000 === 0 || i + 1 === steps) {
        const te = performance.now();
        const val = model.evaluate(splits.dev);
        evalSeconds += secs(te);
        valCurve.push({ step: i + 1, val, seconds: secs(t0) - evalSeconds });
      }
      if (i % 10000 !== 0) return;
      const lec = steps === 200000 ? lectureLog[i / 10000] : undefined;
      const beside = lec !== undefined ? `   (lecture ${lec.toFixed(4)})` : i === 0 ? '   (lecture: withheld in the reference; 3.3167 from torch 2.15 with the same seed)' : '';
      console.log(logLine(i, steps, loss) + beside);
    },
  });
  const seconds = secs(t0) - evalSeconds;
  console.log(`trained in ${seconds.toFixed(1)} s (${(steps / seconds).toFixed(0)} steps/s, ${getBackend().name} backend)`);
  const train = model.evaluate(splits.train);
  const val = model.evaluate(splits.dev);
  console.log(`train ${train}   (lecture ${makemore.WAVENET_LECTURE.train})`);
  console.log(`val ${val}   (lecture ${makemore.WAVENET_LECTURE.val}; target <= 2.00)`);
  const samples = model.sample(20, splits.vocab);
  console.log('20 samples (global generator, after training):');
  console.log(samples.join('\n'));
  const same = samples.filter((w, i) => w === makemore.WAVENET_LECTURE.samples[i]).length;
  console.log(`${same} of 20 identical to the notebook's (${makemore.WAVENET_LECTURE.samples.join(' ')})`);
  if (losses.length >= 1000) wrote('loss curve', await makemore.plotSmoothedLosses([{ label: 'WaveNet (76,579 parameters)', losses }], join(outDir, 'loss')));
  const entry = makemore.EXPERIMENT_LOG.find((e) => e.key === 'scaled')!;
  return {
    summary: { parameters: model.numParameters(), step0: losses[0], seconds, stepsPerSecond: steps / seconds, train, val, samples, valCurve, log: Array.from({ length: Math.ceil(steps / 10000) }, (_, k) => losses[k * 10000]) },
    result: { entry, model, parameters: model.numParameters(), losses, train, val, seconds },
    valCurve,
  };
}

async function logSection(steps: number, outDir: string, scaledUp?: makemore.ExperimentResult): Promise<Record<string, unknown>> {
  section(`the notebook's performance log, each entry run for ${steps} steps`);
  const results: makemore.ExperimentResult[] = [];
  const splitsByBlock = new Map<number, makemore.LectureSplits>();
  for (const entry of makemore.EXPERIMENT_LOG) {
    const bs = entry.config.blockSize;
    if (!splitsByBlock.has(bs)) splitsByBlock.set(bs, makemore.lectureSplits({ blockSize: bs }));
    const r = entry.key === 'scaled' && scaledUp ? scaledUp : makemore.runExperiment(entry, { steps, splits: splitsByBlock.get(bs) });
    results.push(r);
    const dv = r.val - entry.lecture.val;
    console.log(
      `- ${entry.title}: train ${r.train.toFixed(3)}, val ${r.val.toFixed(3)}   ` +
        `(lecture: train ${entry.lecture.train.toFixed(3)}, val ${entry.lecture.val.toFixed(3)}; val ${dv >= 0 ? '+' : ''}${dv.toFixed(3)}${Math.abs(dv) <= 0.02 ? ', within 0.02' : ', OUTSIDE 0.02'}) ` +
        `[${r.parameters} params, ${r.seconds.toFixed(1)} s${entry.key === 'scaled' && scaledUp ? ', the run above' : ''}]`,
    );
  }
  if (results[0]!.losses.length >= 1000) {
    wrote('loss curves', await makemore.plotSmoothedLosses(results.map((r) => ({ label: r.entry.key, losses: r.losses })), join(outDir, 'experiment_log'), {
      title: 'The performance log: training loss, mean of each 1000 steps',
    }));
  }
  return Object.fromEntries(results.map((r) => [r.entry.key, { parameters: r.parameters, train: r.train, val: r.val, seconds: r.seconds, lecture: r.entry.lecture }]));
}

/**
 * The convolutional training run (makemore.CONV_TRAINING): 24000 steps of 32 words (~5.5M examples;
 * the hierarchical run: 6.4M), lr 0.1 then 0.01 from 18000, weight decay 1e-4 (without it the run
 * overfits after the drop and stops at val ~2.002).
 */
const CONV_STEPS = makemore.CONV_TRAINING.steps;
const CONV_EVAL_EVERY = 1000;

async function convSection(
  splits: makemore.LectureSplits, stepsLimit: number | undefined, hier: makemore.ExperimentResult | undefined, hierCurve: ValPoint[] | undefined, outDir: string,
): Promise<Record<string, unknown>> {
  section('the same model as dilated causal convolutions (kernel 2, dilations 1, 2, 4)');
  const parts = makemore.splitWords(splits.words);
  const devWords = new makemore.WordSequences(parts.dev, splits.vocab);
  const trainWords = new makemore.WordSequences(parts.train, splits.vocab);
  // 1. Equivalence: the hierarchical model's weights on kernels, every position of every val word.
  const model = hier?.model ?? makemore.createWaveNet();
  const conv = makemore.WaveNetConv.fromHierarchical(model);
  console.log(conv.toString());
  model.eval();
  conv.eval();
  const equivalence: Record<string, unknown> = { weights: hier ? 'the trained hierarchical model' : 'the seed-42 init' };
  let t0 = performance.now();
  const hierLogits = noGrad(() => {
    const out: Float32Array[] = [];
    for (let lo = 0; lo < splits.dev.X.shape[0]!; lo += 8192) out.push(model.forward(splits.dev.X.slice(0, lo, lo + 8192)).contiguous().flat() as Float32Array);
    return out;
  });
  const hierSeconds = secs(t0);
  for (const impl of ['conv1d', 'unfold'] as const) {
    conv.impl = impl;
    let maxDiff = 0;
    let row = 0;
    const flatHier = (r: number, v: number) => hierLogits[Math.floor(r / 8192)]![(r % 8192) * 27 + v]!;
    t0 = performance.now();
    noGrad(() => {
      for (let lo = 0; lo < devWords.count; lo += 512) {
        const batch = devWords.range(lo, Math.min(devWords.count, lo + 512));
        const logits = conv.forward(batch.X).contiguous().flat();
        const P = batch.Y.shape[1]!;
        for (let w = 0; w < batch.X.shape[0]!; w++) {
          for (let t = P - 1 - devWords.lengths[lo + w]!; t < P; t++, row++) {
            for (let v = 0; v < 27; v++) maxDiff = Math.max(maxDiff, Math.abs(logits[(w * P + t) * 27 + v]! - flatHier(row, v)));
          }
        }
      }
    });
    const s = secs(t0);
    console.log(`${impl.padEnd(7)}: ${row} positions of ${devWords.count} val words (eval mode), max |logits difference| = ${maxDiff.toExponential(2)} (<= 1e-5: ${maxDiff <= 1e-5}); forward ${s.toFixed(2)} s vs ${hierSeconds.toFixed(2)} s hierarchical`);
    equivalence[impl] = { positions: row, maxAbsDiff: maxDiff, seconds: s };
  }
  conv.impl = 'unfold';
  const convVal = conv.evaluate(devWords);
  const hierVal = model.evaluate(splits.dev);
  console.log(`val over every position: ${convVal} (convolution) vs ${hierVal} (hierarchical)`);
  console.log("in training mode they differ: BatchNorm's batch statistics cover 32 contexts x 4 / 2 / 1 groups in the hierarchy, every position of every word (the warm-up positions over the leading '.' included) in the convolution");
  equivalence.val = { conv: convVal, hierarchical: hierVal };

  // 2. Training on every position of each word at once.
  const steps = Math.min(stepsLimit ?? CONV_STEPS, CONV_STEPS);
  const target = hier && hier.losses.length === 200000 ? hier.val : makemore.WAVENET_LECTURE.val;
  const { batchWords, weightDecay } = makemore.CONV_TRAINING;
  console.log(`\ntraining the convolutional model from the seed-42 init: ${steps} steps of ${batchWords} words, lr 0.1 then 0.01 from 3/4, weight decay ${weightDecay}; val every ${CONV_EVAL_EVERY} steps; target val ${target.toFixed(4)}`);
  // The F.conv1d kernel's speed on this model, over a few steps (same numbers as 'unfold').
  const probe = makemore.createWaveNetConv();
  probe.impl = 'conv1d';
  const probeSteps = Math.min(steps, 500);
  t0 = performance.now();
  const pr = probe.fit(trainWords, { steps: probeSteps, batchWords, lr: 0.1, weightDecay });
  const probeSeconds = secs(t0);
  console.log(`F.conv1d (nn.Conv1d) implementation: ${(probeSteps / probeSeconds).toFixed(1)} steps/s, ${(pr.examples / probeSeconds).toFixed(0)} examples/s (timed over ${probeSteps} steps)`);
  const net = makemore.createWaveNetConv();
  net.impl = 'unfold';
  const lr = makemore.part5Lr(steps);
  let trainSeconds = 0;
  let examples = 0;
  let reached: { step: number; seconds: number; examples: number; val: number } | null = null;
  const curve: ValPoint[] = [];
  const losses = new Float32Array(steps);
  for (let done = 0; done < steps;) {
    const chunk = Math.min(CONV_EVAL_EVERY, steps - done);
    t0 = performance.now();
    const r = net.fit(trainWords, { steps: chunk, batchWords, weightDecay, lr: (i) => lr(done + i), onStep: (i, loss) => { losses[done + i] = loss; } });
    trainSeconds += secs(t0);
    examples += r.examples;
    done += chunk;
    const val = net.evaluate(devWords);
    curve.push({ step: done, val, seconds: trainSeconds });
    if (done % 10000 === 0 || done === steps) console.log(`${logLine(done, steps, losses[done - 1]!)}  val ${val.toFixed(4)}  (${trainSeconds.toFixed(1)} s of training)`);
    if (!reached && val <= target) {
      reached = { step: done, seconds: trainSeconds, examples, val };
      console.log(`  reached val ${val.toFixed(4)} <= ${target.toFixed(4)} after ${done} steps, ${trainSeconds.toFixed(1)} s of training, ${examples} examples`);
    }
  }
  const trainLoss = net.evaluate(trainWords);
  const finalVal = curve[curve.length - 1]!.val;
  console.log(`convolution: train ${trainLoss.toFixed(4)}, val ${finalVal.toFixed(4)}; ${(steps / trainSeconds).toFixed(1)} steps/s, ${(examples / trainSeconds).toFixed(0)} training examples/s (${(examples / steps).toFixed(1)} per step)`);
  if (hier) {
    console.log(`hierarchical: val ${hier.val.toFixed(4)} after ${hier.losses.length} steps, ${hier.seconds.toFixed(1)} s; ${(hier.losses.length / hier.seconds).toFixed(1)} steps/s, ${((32 * hier.losses.length) / hier.seconds).toFixed(0)} training examples/s`);
  }
  const hierReached = hierCurve?.find((p) => p.val <= target);
  console.log(reached
    ? `training time to first reach val ${target.toFixed(4)}: ${reached.seconds.toFixed(1)} s as a convolution (step ${reached.step})${hierReached ? ` vs ${hierReached.seconds.toFixed(1)} s hierarchical (step ${hierReached.step}; its whole run ${hier!.seconds.toFixed(1)} s)` : ''}`
    : `the convolution did not reach val ${target.toFixed(4)} in ${steps} steps (best ${Math.min(...curve.map((c) => c.val)).toFixed(4)})`);
  // Training time to first reach each val level, both ways (val measured every 1000 steps as a
  // convolution, every 10000 hierarchically, so the hierarchical times are upper bounds by up to 10000 steps).
  const firstAt = (c: ValPoint[], level: number) => c.find((p) => p.val <= level);
  const levels = [2.1, 2.05, 2.03, 2.02, 2.01, 2.0, target];
  const timeTo: Record<string, unknown> = {};
  if (hierCurve) {
    console.log('val level | hierarchical: step, training s | convolution: step, training s');
    for (const level of levels) {
      const h = firstAt(hierCurve, level);
      const c = firstAt(curve, level);
      const fmt = (p?: ValPoint) => (p ? `${String(p.step).padStart(6)}, ${p.seconds.toFixed(1).padStart(6)} s` : '     not reached');
      console.log(`${level.toFixed(4)}    | ${fmt(h)}              | ${fmt(c)}`);
      timeTo[level.toFixed(4)] = { hierarchical: h ?? null, conv: c ?? null };
    }
  }
  if (losses.length >= 1000) {
    const runs: { label: string; losses: ArrayLike<number> }[] = [{ label: `convolution, ${batchWords} words per step, weight decay ${weightDecay}`, losses }];
    if (hier) runs.unshift({ label: 'hierarchical, 32 examples per step', losses: hier.losses });
    wrote('loss curves', await makemore.plotSmoothedLosses(runs, join(outDir, 'conv_loss'), { title: 'Training loss per step, mean of each 1000 steps' }));
  }
  return {
    equivalence, steps, batchWords, weightDecay, target, timeTo, trainSeconds, examples, examplesPerSecond: examples / trainSeconds, stepsPerSecond: steps / trainSeconds,
    train: trainLoss, val: finalVal, reached, curve, conv1dKernel: { steps: probeSteps, seconds: probeSeconds, examplesPerSecond: pr.examples / probeSeconds },
    hierarchical: hier ? { val: hier.val, seconds: hier.seconds, examplesPerSecond: (32 * hier.losses.length) / hier.seconds } : null,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { steps: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' } },
  });
  const steps = values.steps === undefined ? 200000 : Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be an integer >= 1, got ${values.steps}`);
  const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()) as Section[]);
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section '${s}' (expected ${SECTIONS.join(', ')})`);
  const outDir = values.out ?? OUT_DIR;
  mkdirSync(outDir, { recursive: true });
  const t0 = performance.now();
  const summary: Record<string, unknown> = { steps, backend: getBackend().name };
  const splits = makemore.lectureSplits({ blockSize: 8 });
  if (only.has('data')) summary.data = dataSection(splits);
  let scaledUp: makemore.ExperimentResult | undefined;
  let hierCurve: ValPoint[] | undefined;
  if (only.has('wavenet')) {
    const w = await wavenetSection(splits, steps, outDir);
    summary.wavenet = w.summary;
    scaledUp = w.result;
    hierCurve = w.valCurve;
  }
  if (only.has('log')) summary.log = await logSection(steps, outDir, scaledUp);
  if (only.has('conv')) summary.conv = await convSection(splits, values.steps === undefined ? undefined : steps, scaledUp, hierCurve, outDir);
  summary.seconds = secs(t0);
  // A partial run (--only) writes its own file, so it does not replace the full run's summary.
  const file = join(outDir, only.size === SECTIONS.length ? 'summary.json' : `summary-${[...only].join('-')}.json`);
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  console.log(`\nsummary: ${rel(file)}; total ${secs(t0).toFixed(1)} s`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
