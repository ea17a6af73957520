// The makemore command: what Karpathy's makemore.py is for Python users, for any word list.
//   makemore [train] [-i words.txt] [-o out] [--type transformer] [--max-steps N] ...
//   makemore sample -o out [--num-samples 50 --top-k K --temperature T --prefix P --seed S]
//   makemore eval -o out [-i words.txt]
// `main(argv)` is the whole program as a function (tests call it in-process); importing this module
// does nothing else. The `makemore` bin (bin.ts) calls it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { defaultWordsPath } from '../makemore/data.js';
import { getBackend } from '../backend/index.js';
import { MODEL_TYPES, defaultSizes, isLectureType, isModelType, type ModelType } from '../makemore/models/index.js';
import { runTrain, type Schedule, type TrainSettings } from './train.js';
import { runSample, runEval } from './use.js';
import { CommandError } from './errors.js';
import { processOutput, type Output } from './output.js';

/** makemore.py trains until interrupted (-1) at a constant 5e-4. The default run here ends: 5000
 *  steps at 3e-3 with a 100-step warmup and a cosine decay, which on names reaches a lower test
 *  loss in its ~2-3 minutes on 2 cores than makemore.py's settings reach in the same time
 *  (measured: 1.9485 at step 4999; makemore.py 1.966-1.97 from step 8,000 on). makemore.py's exact
 *  settings: -l 5e-4 --schedule constant --warmup-steps 0 --max-steps -1. */
export const DEFAULT_MAX_STEPS = 5_000;
export const DEFAULT_ADAMW_LR = 3e-3;
export const DEFAULT_WARMUP = 100;

function intArg(flag: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

function numArg(flag: string, opts: { positive?: boolean; min?: number } = {}) {
  return (v: string): number => {
    const n = Number(v);
    const ok = v.trim() !== '' && Number.isFinite(n) && (opts.positive ? n > 0 : n >= (opts.min ?? -Infinity));
    if (!ok) throw new InvalidArgumentError(`${flag} must be ${opts.positive ? 'a positive number' : `a number >= ${opts.min}`}, got '${v}'`);
    return n;
  };
}

function typeArg(v: string): ModelType {
  if (!isModelType(v)) throw new InvalidArgumentError(`--type must be one of ${MODEL_TYPES.join(', ')}, got '${v}'`);
  return v;
}

function scheduleArg(v: string): Schedule {
  if (v !== 'constant' && v !== 'step' && v !== 'cosine') throw new InvalidArgumentError(`--schedule must be constant, step or cosine, got '${v}'`);
  return v;
}

function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ferrograd') return pkg.version ?? '0.0.0';
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

function addThreads(cmd: Command): Command {
  return cmd.option('--threads <n>', 'worker threads of the native kernels (default: all cores; results are the same with any number)', intArg('--threads', 1));
}

function applyThreads(n: number | undefined): void {
  if (n !== undefined) getBackend().setNumThreads(n);
}

function explicitFlags(cmd: Command): Set<string> {
  const set = new Set<string>();
  for (const key of Object.keys(cmd.opts())) if (cmd.getOptionValueSource(key) === 'cli') set.add(key);
  return set;
}

interface TrainFlags {
  inputFile: string;
  workDir: string;
  type: ModelType;
  maxSteps: number;
  seed: number;
  batchSize: number;
  learningRate?: number;
  weightDecay?: number;
  schedule?: Schedule;
  warmupSteps?: number;
  nLayer: number;
  nHead: number;
  nEmbd?: number;
  nEmbd2?: number;
  blockSize?: number;
  dropout: number;
  topK: number;
  temperature: number;
  numSamples?: number;
  prefix?: string;
  evalEvery: number;
  sampleEvery: number;
  logEvery: number;
  resume: boolean;
  sampleOnly: boolean;
  force: boolean;
  threads?: number;
  device: string;
  /** --no-compile sets it to false. */
  compile?: boolean;
}

/** Flags checked against each other, before any file is touched. */
export function settingsFrom(f: TrainFlags, explicit: ReadonlySet<string>): TrainSettings {
  const lecture = isLectureType(f.type);
  const sizes = defaultSizes(f.type);
  if (f.device !== 'cpu') throw new CommandError(`--device ${f.device}: only cpu is available (the native kernels use the CPU's SIMD units and threads)`);
  const nEmbd = f.nEmbd ?? sizes.nEmbd;
  if (f.type === 'transformer' && nEmbd % f.nHead !== 0) {
    throw new CommandError(`--n-embd ${nEmbd} is not divisible by --n-head ${f.nHead} (each head gets n_embd / n_head channels)`);
  }
  const blockSize = f.blockSize ?? (lecture ? sizes.contextSize : null);
  if ((f.type === 'wavenet' || f.type === 'conv') && blockSize !== null && !(Number.isInteger(Math.log2(blockSize)) && blockSize >= 2)) {
    throw new CommandError(`--block-size ${blockSize}: ${f.type} fuses the context two characters at a time, so it must be a power of two >= 2`);
  }
  if (f.dropout >= 1) throw new CommandError(`--dropout must be below 1, got ${f.dropout}`);
  if (f.topK === 0 || f.topK < -1) throw new CommandError(`--top-k must be -1 (no top-k) or >= 1, got ${f.topK}`);
  return {
    inputFile: f.inputFile,
    workDir: f.workDir,
    type: f.type,
    maxSteps: f.maxSteps,
    seed: f.seed,
    batchSize: f.batchSize,
    learningRate: f.learningRate ?? (lecture ? 0.1 : DEFAULT_ADAMW_LR),
    weightDecay: f.weightDecay ?? (lecture ? 0 : 0.01),
    schedule: f.schedule ?? (lecture ? 'step' : 'cosine'),
    warmupSteps: f.warmupSteps ?? (lecture ? 0 : DEFAULT_WARMUP),
    nLayer: f.nLayer,
    nHead: f.nHead,
    nEmbd,
    nEmbd2: f.nEmbd2 ?? sizes.nEmbd2,
    dropout: f.dropout,
    blockSize,
    topK: f.topK === -1 ? null : f.topK,
    temperature: f.temperature,
    numSamples: f.numSamples ?? 10,
    evalEvery: f.evalEvery,
    sampleEvery: f.sampleEvery,
    logEvery: f.logEvery,
    resume: f.resume,
    force: f.force,
    explicit,
    compile: f.compile !== false,
  };
}

function buildProgram(out: Output, run: { action?: () => Promise<number> }): Command {
  const program = new Command()
    .name('makemore')
    .description('Make more of anything: train a character-level language model on a word list (one item per line) and sample new items, as makemore.py does.\nRun without a command, makemore trains (the same as `makemore train`). makemore.py\'s own settings: makemore train -l 5e-4 --schedule constant --warmup-steps 0 --max-steps -1')
    .version(version(), '-V, --version')
    .addHelpText('after', '\nEach command has its own flags: makemore train --help, makemore sample --help, makemore eval --help.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.out(s.replace(/\n$/, '')), writeErr: (s) => out.err(s.replace(/\n$/, '')), outputError: () => {} });

  const train = program
    .command('train', { isDefault: true })
    .description('Train a model on a word list; the best model by test loss is saved in the work dir as it trains (model.safetensors + config.json), the latest state in state.safetensors for --resume.')
    .option('-i, --input-file <file>', 'word list, one item per line (UTF-8; any characters)', defaultWordsPath())
    .option('-o, --work-dir <dir>', 'where the checkpoint, metrics.jsonl and report.html go', 'out')
    .addOption(new Option('--type <type>', `model: ${MODEL_TYPES.join(', ')}`).default('transformer').argParser(typeArg))
    .option('--max-steps <n>', `optimization steps; -1 trains until Ctrl-C (makemore.py's default)`, intArg('--max-steps', -1), DEFAULT_MAX_STEPS)
    .option('--seed <n>', 'seed of the split, the initial weights and the batches', intArg('--seed', 0), 3407)
    .option('-b, --batch-size <n>', 'words per step', intArg('--batch-size', 1), 32)
    .option('-l, --learning-rate <x>', 'peak learning rate (default 3e-3 for AdamW, makemore.py uses 5e-4; 0.1 SGD for mlp-bn, wavenet, conv)', numArg('--learning-rate', { positive: true }))
    .option('-w, --weight-decay <x>', 'weight decay (default 0.01; 0 for the lecture models)', numArg('--weight-decay', { min: 0 }))
    .addOption(new Option('--schedule <s>', 'learning rate schedule: cosine (warmup, then down to a tenth at --max-steps), constant (makemore.py), step (a tenth from 75% of --max-steps: the lectures) (default: cosine; step for the lecture models). Schedules that depend on --max-steps move when a resumed run changes it').argParser(scheduleArg))
    .option('--warmup-steps <n>', 'linear warmup of the cosine schedule (default 100)', intArg('--warmup-steps', 0))
    .option('--n-layer <n>', 'transformer blocks', intArg('--n-layer', 1), 4)
    .option('--n-head <n>', 'attention heads (transformer)', intArg('--n-head', 1), 4)
    .option('--n-embd <n>', 'embedding channels (default 64; mlp-bn 10, wavenet and conv 24)', intArg('--n-embd', 1))
    .option('--n-embd2 <n>', 'channels elsewhere: the hidden layer of mlp/bow/mlp-bn/wavenet/conv, the rnn/gru state (default 64; mlp-bn 200, wavenet and conv 128)', intArg('--n-embd2', 1))
    .option('--block-size <n>', 'context of mlp-bn (default 3), wavenet and conv (8, a power of two); the others read whole words (longest word + 1)', intArg('--block-size', 1))
    .option('--dropout <p>', 'transformer only: dropout on the embeddings and each residual branch (makemore.py has none); the state dict is unchanged', numArg('--dropout', { min: 0 }), 0)
    .option('--top-k <n>', 'sample from the k most likely characters only; -1: all', intArg('--top-k', -1), -1)
    .option('--temperature <x>', 'sampling temperature', numArg('--temperature', { positive: true }), 1)
    .option('--num-samples <n>', 'samples shown at each --sample-every (with --sample-only: 50)', intArg('--num-samples', 1))
    .option('--prefix <text>', 'with --sample-only: characters every sample starts with')
    .option('--eval-every <n>', 'steps between train/test loss evaluations (and checkpoint saves)', intArg('--eval-every', 1), 500)
    .option('--sample-every <n>', 'steps between printed samples', intArg('--sample-every', 1), 200)
    .option('--log-every <n>', 'steps between log lines when stdout is not a terminal', intArg('--log-every', 1), 100)
    .option('--resume', 'continue the training state in the work dir exactly where it stopped', false)
    .option('--sample-only', 'sample from the checkpoint in the work dir and exit (as makemore sample)', false)
    .option('--force', 'start over in a work dir that already holds a checkpoint (it is replaced)', false)
    .option('-n, --num-workers <n>', 'accepted for makemore.py compatibility; batches are built in the training thread', intArg('--num-workers', 0), 4)
    .option('--device <d>', 'cpu (the only device)', 'cpu')
    .option('--no-compile', 'run every training step op by op (by default the step is compiled: recorded for each batch length, then replayed; the same numbers)');
  addThreads(train).action(() => {
    const f = train.opts<TrainFlags>();
    run.action = async () => {
      applyThreads(f.threads);
      if (f.sampleOnly) {
        return runSample({ workDir: f.workDir, numSamples: f.numSamples ?? 50, topK: f.topK === -1 ? null : f.topK, temperature: f.temperature, prefix: f.prefix ?? '', seed: f.seed }, out);
      }
      const explicit = explicitFlags(train);
      return runTrain(settingsFrom(f, explicit), out);
    };
  });

  const sample = program
    .command('sample')
    .description('Sample words from the best model in a work dir.')
    .option('-o, --work-dir <dir>', 'the work dir of a training run', 'out')
    .option('--num-samples <n>', 'how many words', intArg('--num-samples', 1), 50)
    .option('--top-k <n>', 'sample from the k most likely characters only; -1: all', intArg('--top-k', -1), -1)
    .option('--temperature <x>', 'below 1: safer, more common words; above 1: wilder ones', numArg('--temperature', { positive: true }), 1)
    .option('--prefix <text>', 'characters every sample starts with', '')
    .option('--seed <n>', 'seed of the draws', intArg('--seed', 0), 3407);
  addThreads(sample).action(() => {
    const f = sample.opts<{ workDir: string; numSamples: number; topK: number; temperature: number; prefix: string; seed: number; threads?: number }>();
    run.action = async () => {
      applyThreads(f.threads);
      if (f.topK === 0) throw new CommandError('--top-k must be -1 (no top-k) or >= 1, got 0');
      return runSample({ ...f, topK: f.topK === -1 ? null : f.topK }, out);
    };
  });

  const evalCmd = program
    .command('eval')
    .description('Loss of the best model in a work dir on a word list (default: the file it was trained on), with the words it finds most and least likely.')
    .option('-o, --work-dir <dir>', 'the work dir of a training run', 'out')
    .option('-i, --input-file <file>', 'word list to evaluate (default: the training run\'s input file)')
    .option('--show <n>', 'how many of the worst and of the best words to list', intArg('--show', 0), 10);
  addThreads(evalCmd).action(() => {
    const f = evalCmd.opts<{ workDir: string; inputFile?: string; show: number; threads?: number }>();
    run.action = async () => {
      applyThreads(f.threads);
      return runEval(f, out);
    };
  });
  return program;
}

/** The program: parses argv (without the node and script paths), runs, returns the exit code. */
export async function main(argv: readonly string[], out: Output = processOutput()): Promise<number> {
  const run: { action?: () => Promise<number> } = {};
  const program = buildProgram(out, run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      out.err(`makemore: ${e.message.replace(/^error: /, '')}`);
      return e.exitCode || 2;
    }
    throw e;
  }
  if (!run.action) return 0;
  try {
    return await run.action();
  } catch (e) {
    if (e instanceof CommandError) {
      out.err(`makemore: ${e.message}`);
      return e.exitCode;
    }
    out.err(`makemore: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  }
}
