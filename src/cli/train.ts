// `makemore train`: read the list, build the model, train with makemore.py's loop (AdamW by
// default, a batch of whole words per step, train/test loss on fixed sets every --eval-every
// steps, samples every --sample-every), keep the best model by test loss, and the latest state
// for an exact --resume.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Tensor } from '../tensor/tensor.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { compile } from '../compile/index.js';
import { Generator } from '../random/generator.js';
import { getBackend } from '../backend/index.js';
import { AdamW } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import type { Optimizer } from '../optim/optimizer.js';
import { createModel, isLectureType, type LanguageModel, type ModelConfig, type ModelType } from '../makemore/models/index.js';
import { CharVocabulary, encodeWords, readWordList, splitWordList, codePoints, type EncodedWords } from './words.js';
import { cropBatch, meanLoss, sampleWords } from './generate.js';
import {
  FORMAT, MODEL_FILE, STATE_FILE, generatorFromString, generatorToString, hasCheckpoint, loadState, readConfigJson,
  saveBest, saveState, type RunConfig, type LoadedState,
} from './checkpoint.js';
import { MetricsLog, type Where } from './metrics.js';
import { writeReport } from './report.js';
import { CommandError } from './errors.js';
import type { Output } from './output.js';

export type Schedule = 'constant' | 'step' | 'cosine';

export interface TrainSettings {
  inputFile: string;
  workDir: string;
  type: ModelType;
  /** -1: until interrupted. */
  maxSteps: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  schedule: Schedule;
  warmupSteps: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nEmbd2: number;
  /** Transformer dropout (0: none, as makemore.py). */
  dropout: number;
  /** Context of the lecture models; for makemore.py's models the sequence length (>= longest + 1). */
  blockSize: number | null;
  topK: number | null;
  temperature: number;
  numSamples: number;
  evalEvery: number;
  sampleEvery: number;
  logEvery: number;
  resume: boolean;
  force: boolean;
  /** Flags given on the command line (a resumed run takes the others from the checkpoint). */
  explicit: ReadonlySet<string>;
  /** false (--no-compile): run every step op by op instead of replaying a compiled step. */
  compile?: boolean;
}

/** The learning rate of a step: makemore.py's constant; the lectures' drop to a tenth at 75% of
 *  the steps (part 5: 0.1, then 0.01 from step 150,000 of 200,000); or a linear warmup and a
 *  cosine decay to a tenth at the last step. A pure function of the step, so --resume continues it. */
export function learningRateAt(s: Pick<TrainSettings, 'learningRate' | 'schedule' | 'maxSteps' | 'warmupSteps'>, step: number): number {
  const lr = s.learningRate;
  if (s.schedule === 'constant' || s.maxSteps < 0) return lr;
  if (s.schedule === 'step') return step < Math.floor(0.75 * s.maxSteps) ? lr : lr / 10;
  if (step < s.warmupSteps) return (lr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.maxSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  return lr / 10 + (lr - lr / 10) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** The work dir exists (created if needed), is a directory and can be written. */
export function prepareWorkDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CommandError(`the work dir ${dir} is a file, not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CommandError(`cannot create the work dir ${dir}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CommandError(`the work dir ${dir} is not writable`);
  }
}

export function modelConfigFor(s: TrainSettings, vocabSize: number, maxWordLength: number): ModelConfig {
  const lecture = isLectureType(s.type);
  const seqLen = maxWordLength + 1;
  if (!lecture && s.blockSize !== null && s.blockSize < seqLen) {
    throw new CommandError(`--block-size ${s.blockSize} is too small for ${s.type}: it reads whole words, so it needs at least the longest word + 1 = ${seqLen}`);
  }
  return {
    vocabSize,
    blockSize: lecture ? seqLen : s.blockSize ?? seqLen,
    nLayer: s.nLayer,
    nEmbd: s.nEmbd,
    nEmbd2: s.nEmbd2,
    nHead: s.nHead,
    contextSize: lecture ? s.blockSize ?? 0 : 0,
    dropout: s.type === 'transformer' ? s.dropout : 0,
  };
}

function makeOptimizer(s: TrainSettings, model: LanguageModel): Optimizer {
  if (isLectureType(s.type)) return new SGD(model.parameters(), { lr: s.learningRate, weightDecay: s.weightDecay });
  return new AdamW(model.parameters(), { lr: s.learningRate, weightDecay: s.weightDecay, betas: [0.9, 0.99], eps: 1e-8 });
}

const fmt = (x: number) => x.toFixed(4);

/** Everything settled before the first step; errors here leave the work dir as it was. */
interface Prepared {
  words: string[];
  vocab: CharVocabulary;
  maxWordLength: number;
  train: EncodedWords;
  test: EncodedWords;
  trainEval: EncodedWords;
  trainSet: Set<string>;
  testSet: Set<string>;
  model: LanguageModel;
  config: RunConfig;
  optimizer: Optimizer;
  batches: Generator;
  samples: Generator;
  startStep: number;
  best: { loss: number; step: number } | null;
  secondsBefore: number;
  resumed: LoadedState | null;
}

function resumedSetting<K extends keyof TrainSettings>(s: TrainSettings, key: K, flag: string, saved: TrainSettings[K]): TrainSettings[K] {
  if (s.explicit.has(flag) && s[key] !== saved) {
    throw new CommandError(`--resume: the checkpoint in ${s.workDir} was trained with --${flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${String(saved)}, not ${String(s[key])}`);
  }
  return saved;
}

export function prepare(s: TrainSettings): Prepared {
  prepareWorkDir(s.workDir);
  let resumed: LoadedState | null = null;
  if (s.resume) {
    resumed = loadState(s.workDir);
    const c = resumed.state.config;
    if (c?.format !== FORMAT) throw new CommandError(`${resumed.path} has an unknown checkpoint format`);
    // The saved run decides what the flags did not.
    s.type = resumedSetting(s, 'type', 'type', c.type);
    s.seed = resumedSetting(s, 'seed', 'seed', c.seed);
    if (!s.explicit.has('inputFile')) s.inputFile = c.inputFile;
    for (const [key, flag] of [['nLayer', 'nLayer'], ['nHead', 'nHead'], ['nEmbd', 'nEmbd'], ['nEmbd2', 'nEmbd2']] as const) {
      s[key] = resumedSetting(s, key, flag, c.model[key]);
    }
    s.dropout = resumedSetting(s, 'dropout', 'dropout', c.model.dropout ?? 0);
    if (isLectureType(c.type)) s.blockSize = resumedSetting(s, 'blockSize', 'blockSize', c.model.contextSize);
    else if (!s.explicit.has('blockSize')) s.blockSize = c.model.blockSize;
    if (!s.explicit.has('batchSize')) s.batchSize = c.batchSize;
    if (!s.explicit.has('learningRate')) s.learningRate = c.learningRate;
    if (!s.explicit.has('weightDecay')) s.weightDecay = c.weightDecay;
    if (!s.explicit.has('schedule')) s.schedule = c.schedule as Schedule;
    if (!s.explicit.has('warmupSteps')) s.warmupSteps = c.warmupSteps;
    // An interrupted run resumed without --max-steps finishes the run it was (same schedule).
    if (!s.explicit.has('maxSteps')) s.maxSteps = c.maxSteps;
    if (!s.explicit.has('evalEvery')) s.evalEvery = c.evalEvery;
    if (!s.explicit.has('sampleEvery')) s.sampleEvery = c.sampleEvery;
    if (!s.explicit.has('logEvery')) s.logEvery = c.logEvery;
    if (!s.explicit.has('numSamples')) s.numSamples = c.numSamples;
    if (!s.explicit.has('topK')) s.topK = c.topK;
    if (!s.explicit.has('temperature')) s.temperature = c.temperature;
  } else if (hasCheckpoint(s.workDir) && !s.force) {
    const c = readConfigJson(s.workDir);
    const what = c ? ` (${c.type}, step ${c.step}, test loss ${c.testLoss === null ? '?' : fmt(c.testLoss)})` : '';
    throw new CommandError(`${s.workDir} already holds a checkpoint${what}; continue it with --resume, or use another --work-dir (or --force to start over and replace it)`);
  }

  const words = readWordList(s.inputFile);
  const vocab = CharVocabulary.fromWords(words);
  const maxWordLength = Math.max(...words.map((w) => codePoints(w).length));
  if (resumed) {
    const c = resumed.state.config;
    const saved = new CharVocabulary(c.vocabulary);
    if (!saved.equals(vocab)) {
      throw new CommandError(`--resume: the checkpoint's vocabulary (${saved.size} tokens: ${saved.summary(40)}) is not the vocabulary of ${s.inputFile} (${vocab.size} tokens: ${vocab.summary(40)})`);
    }
    if (maxWordLength > c.maxWordLength) throw new CommandError(`--resume: ${s.inputFile} has words of ${maxWordLength} characters; the checkpoint's model reads at most ${c.maxWordLength}`);
  }
  const splitGen = new Generator().manualSeed(s.seed);
  const split = splitWordList(words, splitGen);
  const longest = resumed ? resumed.state.config.maxWordLength : maxWordLength;
  const modelConfig = modelConfigFor(s, vocab.size, longest);
  let model: LanguageModel;
  try {
    // As makemore.py: one seeded generator draws the split, then the initial weights.
    model = createModel(s.type, modelConfig, splitGen);
  } catch (e) {
    throw new CommandError((e as Error).message);
  }
  const optimizer = makeOptimizer(s, model);
  const batches = splitGen;
  let samples = new Generator().manualSeed(s.seed + 1);
  let startStep = 0;
  let best: Prepared['best'] = null;
  let secondsBefore = 0;
  if (resumed) {
    try {
      model.loadStateDict(resumed.modelStateDict);
      optimizer.loadStateDict(resumed.optimizerStateDict);
      // In place: the model's dropout layers draw from this generator too.
      splitGen.setState(generatorFromString(resumed.state.generators.batches).getState());
      samples = generatorFromString(resumed.state.generators.samples);
    } catch (e) {
      throw new CommandError(`--resume: ${resumed.path} does not fit a ${s.type} model of these sizes: ${(e as Error).message}`);
    }
    startStep = resumed.state.step;
    if (resumed.state.bestTestLoss !== null && resumed.state.bestStep !== null) best = { loss: resumed.state.bestTestLoss, step: resumed.state.bestStep };
    secondsBefore = resumed.state.seconds;
  }
  const length = longest + 1;
  const train = encodeWords(split.train, vocab, length);
  const test = encodeWords(split.test, vocab, length);
  // Fixed evaluation sets: all the test words (makemore.py's 10 batches of 100 cover them) and
  // the same 1000 training words every time.
  const pick = new Generator().manualSeed(s.seed + 2).randperm(split.train.length).subarray(0, 1000);
  const trainEval = encodeWords(Array.from(pick, (i) => split.train[i]), vocab, length);
  const config: RunConfig = {
    format: FORMAT,
    type: s.type,
    model: modelConfig,
    vocabulary: [...vocab.chars],
    maxWordLength: longest,
    inputFile: resolve(s.inputFile),
    seed: s.seed,
    batchSize: s.batchSize,
    optimizer: isLectureType(s.type) ? 'SGD' : 'AdamW',
    learningRate: s.learningRate,
    weightDecay: s.weightDecay,
    schedule: s.schedule,
    warmupSteps: s.warmupSteps,
    maxSteps: s.maxSteps,
    evalEvery: s.evalEvery,
    sampleEvery: s.sampleEvery,
    logEvery: s.logEvery,
    numSamples: s.numSamples,
    topK: s.topK,
    temperature: s.temperature,
    step: startStep,
    trainLoss: null,
    testLoss: null,
  };
  return {
    words, vocab, maxWordLength: longest, train, test, trainEval,
    trainSet: new Set(split.train), testSet: new Set(split.test),
    model, config, optimizer, batches, samples, startStep, best, secondsBefore, resumed,
  };
}

function printHeader(s: TrainSettings, p: Prepared, out: Output): void {
  const nParams = p.model.numParameters();
  const m = p.config.model;
  out.out(`makemore: ${p.words.length} words from ${s.inputFile}; longest ${p.maxWordLength} characters; vocabulary ${p.vocab.size} tokens (${p.vocab.chars.length} characters + start/stop)`);
  out.out(`characters: ${p.vocab.summary()}`);
  out.out(`split: ${p.train.count} train, ${p.test.count} test words (seed ${s.seed}); uniform guess = ln ${p.vocab.size} = ${fmt(Math.log(p.vocab.size))}`);
  const sizes = isLectureType(s.type)
    ? `n_embd ${m.nEmbd}, hidden ${m.nEmbd2}, context ${m.contextSize}`
    : s.type === 'transformer' ? `n_layer ${m.nLayer}, n_head ${m.nHead}, n_embd ${m.nEmbd}, block ${m.blockSize}${m.dropout ? `, dropout ${m.dropout}` : ''}`
    : s.type === 'bigram' ? 'one [V, V] table' : `n_embd ${m.nEmbd}, n_embd2 ${m.nEmbd2}, block ${m.blockSize}`;
  out.out(`model: ${s.type}, ${nParams.toLocaleString('en-US')} parameters (${sizes})`);
  const opt = p.config.optimizer === 'AdamW' ? `AdamW lr ${s.learningRate}, weight decay ${s.weightDecay}, betas (0.9, 0.99)` : `SGD lr ${s.learningRate}${s.weightDecay ? `, weight decay ${s.weightDecay}` : ''}`;
  const sched = s.schedule === 'constant' ? 'constant' : s.schedule === 'step' ? 'a tenth from 75% of the steps' : `cosine to a tenth${s.warmupSteps ? ` after ${s.warmupSteps} warmup steps` : ''}`;
  const steps = s.maxSteps < 0 ? 'until Ctrl-C' : `${s.maxSteps} steps`;
  out.out(`training: ${opt} (${sched}), batch ${s.batchSize} words, ${steps}${p.startStep ? `, resuming at step ${p.startStep}` : ''}; backend ${getBackend().name}, ${getBackend().getNumThreads()} threads`);
  out.out(`evaluating every ${s.evalEvery} steps, samples every ${s.sampleEvery}; work dir ${s.workDir}`);
}

export async function runTrain(s: TrainSettings, out: Output): Promise<number> {
  const p = prepare(s);
  printHeader(s, p, out);
  const { model, optimizer, train, test, trainEval, vocab } = p;
  const metrics = new MetricsLog(s.workDir);
  if (p.resumed) metrics.resumeAt(p.startStep);
  else metrics.startFresh();
  const V = vocab.size;
  let step = p.startStep;
  let best = p.best;
  let lastEval: { step: number; train: number; test: number } | null = null;
  const t0 = performance.now();
  const seconds = () => p.secondsBefore + (performance.now() - t0) / 1000;
  let stepsThisRun = 0;

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);

  const bars = out.isTTY && out.stream ? new MultiBar({
    stream: out.stream,
    format: 'step {value}{total_s} | loss {loss} | {rate} steps/s | ETA {eta_s} | best test {best}',
    hideCursor: true,
    clearOnComplete: false,
    fps: 5,
  }, Presets.shades_classic) : null;
  let bar: SingleBar | null = null;
  const say = (line: string) => (bars ? bars.log(line + '\n') : out.out(line));
  const bestText = () => (best ? `${fmt(best.loss)} @${best.step}` : '-');
  if (bars) bar = bars.create(s.maxSteps < 0 ? 0 : s.maxSteps, step, { loss: '-', rate: '-', eta_s: '-', best: bestText(), total_s: s.maxSteps < 0 ? '' : `/${s.maxSteps}` });

  // A failed save (a full disk, a removed dir) leaves the previous file whole (atomic writes):
  // say so and go on training; only the last save of a run decides its exit code.
  let saveFailed = false;
  const trySave = (file: string, save: () => void): boolean => {
    try {
      save();
      return true;
    } catch (e) {
      saveFailed = true;
      say(`warning: could not save ${join(s.workDir, file)} (${(e as Error).message}); the previous ${file} is intact`);
      return false;
    }
  };
  const saveTrainState = () => trySave(STATE_FILE, () => saveState(s.workDir, model.stateDict(), optimizer, {
      config: { ...p.config, step, trainLoss: lastEval?.train ?? null, testLoss: lastEval?.test ?? null },
      step,
      bestTestLoss: best?.loss ?? null,
      bestStep: best?.step ?? null,
      seconds: seconds(),
      generators: { batches: generatorToString(p.batches), samples: generatorToString(p.samples) },
    }));

  const evaluate = (at: number) => {
    const trainLoss = meanLoss(model, trainEval);
    const testLoss = meanLoss(model, test);
    lastEval = { step: at, train: trainLoss, test: testLoss };
    const improved = best === null || testLoss < best.loss;
    let note = '';
    if (improved && trySave(MODEL_FILE, () => saveBest(s.workDir, model.stateDict(), { ...p.config, step: at, trainLoss, testLoss }))) {
      best = { loss: testLoss, step: at };
      note = ` | best so far, saved ${join(s.workDir, MODEL_FILE)}`;
    }
    metrics.add({ kind: 'eval', step: at, train: trainLoss, test: testLoss, best: improved, seconds: seconds() });
    say(`step ${at} | train loss ${fmt(trainLoss)} | test loss ${fmt(testLoss)}${note}`);
  };

  const printSamples = (at: number) => {
    const drawn = sampleWords(model, vocab, { count: s.numSamples, generator: p.samples, maxLength: p.maxWordLength, topK: s.topK, temperature: s.temperature });
    const tagged = drawn.map((d) => ({ ...d, where: (p.trainSet.has(d.word) ? 'train' : p.testSet.has(d.word) ? 'test' : 'new') as Where }));
    metrics.add({ kind: 'samples', step: at, samples: tagged });
    const groups: [Where, string][] = [['train', 'in train'], ['test', 'in test'], ['new', 'new']];
    const counts = groups.map(([w, label]) => `${tagged.filter((t) => t.where === w).length} ${label}`).join(', ');
    say(`samples at step ${at} (${counts}):`);
    for (const [w, label] of groups) {
      const these = tagged.filter((t) => t.where === w);
      if (these.length) say(`  ${label.padEnd(8)} ${these.map((t) => t.word + (t.stopped ? '' : '…')).join('  ')}`);
    }
  };

  const report = () => trySave('report.html', () => writeReport(s.workDir, { settings: s, config: p.config, params: model.numParameters(), metrics: metrics.entries, best, seconds: seconds(), step, words: p.words.length, vocab }));

  // One step; compiled by default (recorded once per batch length, then replayed: see src/compile).
  const eagerStep = (x: Tensor, y: Tensor): number => {
    const logits = model.forward(x);
    const loss = crossEntropy(logits.reshape([y.shape[0], V]), y, { ignoreIndex: -1 });
    model.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss.item();
  };
  // A model compile cannot replay (data-dependent shapes, ops computed in TypeScript) trains op by op.
  const trainStep = s.compile === false ? eagerStep : compile(eagerStep, {
    onRefusal: (why) => say(`note: this model's step is not compiled (${why.replace(/^compile: /, '')}); it trains op by op`),
  });
  let lastLoss = NaN;
  let rateT = performance.now();
  let rateStep = step;
  let rate = 0;
  try {
    while (s.maxSteps < 0 || step < s.maxSteps) {
      const ts = performance.now();
      const lr = learningRateAt(s, step);
      for (const g of optimizer.paramGroups) g.lr = lr;
      const rows = new Int32Array(s.batchSize);
      p.batches.fillRandint(0, train.count, rows);
      const b = cropBatch(train, rows);
      lastLoss = trainStep(new Tensor(b.x, [s.batchSize, b.length]), new Tensor(b.y, [s.batchSize * b.length]));
      stepsThisRun++;
      if (!Number.isFinite(lastLoss)) {
        say(`step ${step} | loss ${lastLoss}: training diverged (try a smaller --learning-rate); the best model so far is kept`);
        saveTrainState();
        return 1;
      }
      if (step % s.logEvery === 0) {
        metrics.add({ kind: 'step', step, loss: lastLoss, lr, seconds: seconds() });
        if (!bars) say(`step ${step} | loss ${fmt(lastLoss)} | step time ${(performance.now() - ts).toFixed(2)}ms`);
      }
      const evalNow = step > 0 && step % s.evalEvery === 0;
      if (evalNow) evaluate(step);
      if (step > 0 && step % s.sampleEvery === 0) printSamples(step);
      step++;
      if (evalNow) {
        // After the samples, so a resumed run draws the same samples as an uninterrupted one.
        saveTrainState();
        report();
      }
      if (bar) {
        const now = performance.now();
        if (now - rateT > 1000) {
          rate = ((step - rateStep) * 1000) / (now - rateT);
          rateT = now;
          rateStep = step;
        }
        const eta = s.maxSteps < 0 || rate === 0 ? '-' : `${Math.round((s.maxSteps - step) / rate)}s`;
        bar.update(step, { loss: fmt(lastLoss), rate: rate ? rate.toFixed(0) : '-', eta_s: eta, best: bestText() });
      }
      // Let SIGINT (Ctrl-C) in: the loop is synchronous otherwise.
      await new Promise<void>((r) => setImmediate(r));
      if (interrupted) break;
    }
    if (interrupted) {
      saveTrainState();
      bars?.stop();
      out.out(`interrupted at step ${step}: saved the training state to ${join(s.workDir, STATE_FILE)} (continue with --resume -o ${s.workDir})`);
      if (best) out.out(`the best model (step ${best.step}, test loss ${fmt(best.loss)}) is in ${join(s.workDir, MODEL_FILE)}`);
      report();
      return 130;
    }
    // The end: evaluate the last step too, unless it just was.
    if (stepsThisRun > 0 && (lastEval === null || (lastEval as { step: number }).step !== step - 1)) evaluate(step - 1);
    const saved = saveTrainState();
    report();
    bars?.stop();
    const secs = (performance.now() - t0) / 1000;
    out.out(`done: ${stepsThisRun} steps in ${secs.toFixed(1)} s (${(stepsThisRun / Math.max(secs, 1e-9)).toFixed(1)} steps/s)` +
      (best ? `; best test loss ${fmt(best.loss)} at step ${best.step}, in ${join(s.workDir, MODEL_FILE)}` : ''));
    if (best && lastEval) {
      const last = lastEval as { step: number; test: number };
      if (best.step < 0.5 * last.step && last.test > best.loss + 0.005) {
        out.out(`note: the best test loss came early (step ${best.step} of ${last.step}) and got worse after it (${fmt(last.test)} at the end): the model overfits this list, so ${MODEL_FILE} keeps the step-${best.step} model`);
      }
      const uniform = Math.log(V);
      if (best.loss > uniform) out.out(`note: the best test loss ${fmt(best.loss)} is worse than a uniform guess (ln ${V} = ${fmt(uniform)}); the list is too small or too varied for this model`);
    }
    out.out(`report: ${join(s.workDir, 'report.html')}; metrics: ${metrics.path}`);
    if (!saved || saveFailed) {
      out.err(`makemore: some saves failed (see the warnings above); ${saved ? 'the last state was saved' : `${STATE_FILE} is from an earlier step`}`);
      return 1;
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    bars?.stop();
  }
}
