#!/usr/bin/env node
// The makemore command: train the character-level MLP of makemore part 2 on any word list
// (the bundled names by default), report train/dev/test losses, plot the loss curve, and sample
// new words. Checkpoints, resume and the other model types come with the makemore-command issue.
import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Generator } from '../random/generator.js';
import { getBackend } from '../backend/index.js';
import { readWords, defaultWordsPath, splitWords, buildContexts } from '../makemore/data.js';
import { Vocabulary } from '../makemore/vocab.js';
import { createMlp, stepDecay } from '../makemore/mlp.js';
import { plotLossCurve } from '../makemore/plots.js';

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

interface Options {
  input: string;
  out: string;
  steps: number;
  batchSize: number;
  lr: number;
  lrDecayed: number;
  decayAt?: number;
  blockSize: number;
  embDim: number;
  hidden: number;
  seed: number;
  samples: number;
  logEvery: number;
  progress: boolean;
  plot: boolean;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command()
    .name('makemore')
    .description('Train a character-level MLP language model (makemore part 2) on a word list and sample new words.')
    .option('-i, --input <file>', 'word list, one item per line (UTF-8)', defaultWordsPath())
    .option('-o, --out <dir>', 'where to write the loss curve and the samples', 'out/makemore')
    .option('--steps <n>', 'training steps', int('--steps', 0), 200_000)
    .option('--batch-size <n>', 'minibatch size', int('--batch-size', 1), 32)
    .option('--lr <x>', 'learning rate', positive('--lr'), 0.1)
    .option('--lr-decayed <x>', 'learning rate after --decay-at', positive('--lr-decayed'), 0.01)
    .option('--decay-at <n>', 'step at which the learning rate drops (default: half of --steps)', int('--decay-at', 0))
    .option('--block-size <n>', 'characters of context', int('--block-size', 1), 3)
    .option('--emb-dim <n>', 'embedding dimension', int('--emb-dim', 1), 10)
    .option('--hidden <n>', 'hidden tanh units', int('--hidden', 1), 200)
    .option('--seed <n>', 'seed of the parameter draws and minibatches', int('--seed', 0), 2147483647)
    .option('--samples <n>', 'words to sample after training', int('--samples', 0), 20)
    .option('--log-every <n>', 'print the minibatch loss every n steps', int('--log-every', 1), 10_000)
    .option('--no-progress', 'no progress bar (log lines only)')
    .option('--no-plot', 'do not write the loss-curve plot')
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts<Options>();

  const words = readWords(resolve(o.input));
  const vocab = Vocabulary.fromWords(words);
  const split = splitWords(words);
  const sets = {
    train: buildContexts(split.train, vocab, o.blockSize),
    dev: buildContexts(split.dev, vocab, o.blockSize),
    test: buildContexts(split.test, vocab, o.blockSize),
  };
  if (sets.train.rows === 0) throw new Error(`makemore: the training split of ${o.input} is empty (${words.length} words)`);
  const g = new Generator().manualSeed(o.seed);
  const model = createMlp({ vocabSize: vocab.size, blockSize: o.blockSize, embDim: o.embDim, hidden: o.hidden, generator: g });
  const decayAt = o.decayAt ?? Math.floor(o.steps / 2);
  console.log(
    `makemore: ${words.length} words from ${o.input}, vocabulary ${vocab.size} (${vocab.chars.join('')}), ` +
      `rows train/dev/test ${sets.train.rows}/${sets.dev.rows}/${sets.test.rows}`,
  );
  console.log(
    `model: MLP block ${o.blockSize}, embedding ${o.embDim}, hidden ${o.hidden}: ${model.numParameters()} parameters; ` +
      `${o.steps} steps of batch ${o.batchSize}, lr ${o.lr} then ${o.lrDecayed} from step ${decayAt}; backend ${getBackend().name}`,
  );

  const showBar = o.progress && process.stdout.isTTY === true && o.steps > 0;
  const bar = showBar
    ? new SingleBar({ format: 'train |{bar}| {value}/{total} steps | loss {loss} | {rate} steps/s | eta {eta_formatted}' }, Presets.shades_classic)
    : null;
  bar?.start(o.steps, 0, { loss: '-', rate: '-' });
  const t0 = performance.now();
  const { losses } = model.fit(sets.train, {
    steps: o.steps,
    batchSize: o.batchSize,
    generator: g,
    lr: stepDecay(o.lr, o.lrDecayed, decayAt),
    onStep: (i, loss) => {
      if (bar && (i % 100 === 0 || i === o.steps - 1)) {
        const rate = ((i + 1) / ((performance.now() - t0) / 1000)).toFixed(0);
        bar.update(i + 1, { loss: loss.toFixed(4), rate });
      }
      if (!bar && (i % o.logEvery === 0 || i === o.steps - 1)) {
        console.log(`${String(i).padStart(7)}/${o.steps}: ${loss.toFixed(4)}`);
      }
    },
  });
  bar?.stop();
  const seconds = (performance.now() - t0) / 1000;
  console.log(`trained ${o.steps} steps in ${seconds.toFixed(1)} s (${(o.steps / Math.max(seconds, 1e-9)).toFixed(0)} steps/s)`);

  const loss = {
    train: model.evaluate(sets.train),
    dev: sets.dev.rows > 0 ? model.evaluate(sets.dev) : NaN,
    test: sets.test.rows > 0 ? model.evaluate(sets.test) : NaN,
  };
  console.log(`loss: train ${loss.train.toFixed(4)}, dev ${loss.dev.toFixed(4)}, test ${loss.test.toFixed(4)}`);

  mkdirSync(o.out, { recursive: true });
  const known = new Set(split.train);
  const samples = model.sample(o.samples, new Generator().manualSeed(o.seed + 10), vocab);
  if (samples.length > 0) {
    console.log(`${samples.length} samples (* = also in the training set):`);
    for (const s of samples) {
      const word = s.endsWith('.') ? s.slice(0, -1) : s;
      console.log(`  ${s}${known.has(word) ? ' *' : ''}`);
    }
  }
  writeFileSync(
    join(o.out, 'result.json'),
    JSON.stringify({ options: o, parameters: model.numParameters(), seconds, loss, samples }, null, 2) + '\n',
  );
  if (o.plot && o.steps > 0) {
    const steps = Array.from({ length: losses.length }, (_, i) => i);
    const chart = await plotLossCurve(steps, losses, join(o.out, 'loss'), {
      title: 'makemore: minibatch loss (log10)',
      average: Math.max(1, Math.floor(losses.length / 200)),
    });
    console.log(`wrote ${chart.png}, ${chart.svg} and ${join(o.out, 'result.json')}`);
  }
}

main().catch((err: unknown) => {
  console.error(`makemore: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
