// `makemore sample` and `makemore eval`: load the best model of a work dir and use it.
import { resolve } from 'node:path';
import { Generator } from '../random/generator.js';
import { createModel, type LanguageModel } from '../makemore/models/index.js';
import { loadBest, type RunConfig } from './checkpoint.js';
import { CharVocabulary, codePoints, encodeWords, readWordList } from './words.js';
import { sampleWords, wordLosses } from './generate.js';
import { CommandError } from './errors.js';
import type { Output } from './output.js';

export function loadModel(workDir: string): { model: LanguageModel; config: RunConfig; vocab: CharVocabulary; path: string } {
  const { config, stateDict, path } = loadBest(workDir);
  const model = createModel(config.type, config.model, new Generator().manualSeed(0));
  try {
    model.loadStateDict(stateDict);
  } catch (e) {
    throw new CommandError(`${path} does not hold the ${config.type} model its config describes: ${(e as Error).message}`);
  }
  return { model, config, vocab: new CharVocabulary(config.vocabulary), path };
}

export interface SampleSettings {
  workDir: string;
  numSamples: number;
  topK: number | null;
  temperature: number;
  prefix: string;
  seed: number;
}

export async function runSample(s: SampleSettings, out: Output): Promise<number> {
  const { model, config, vocab, path } = loadModel(s.workDir);
  if (s.topK !== null && s.topK > vocab.size) throw new CommandError(`--top-k ${s.topK} is more than the model's ${vocab.size} tokens`);
  const prefix = vocab.encode(s.prefix, '--prefix');
  if (codePoints(s.prefix).length >= config.maxWordLength) {
    throw new CommandError(`--prefix ${JSON.stringify(s.prefix)} has ${codePoints(s.prefix).length} characters; the model writes words of at most ${config.maxWordLength}`);
  }
  const samples = sampleWords(model, vocab, {
    count: s.numSamples,
    generator: new Generator().manualSeed(s.seed),
    maxLength: config.maxWordLength,
    topK: s.topK,
    temperature: s.temperature,
    prefix,
  });
  let known: Set<string> | null = null;
  try {
    known = new Set(readWordList(config.inputFile));
  } catch {
    known = null; // the training list moved: no in-list marks
  }
  out.err(`${samples.length} samples from ${path} (${config.type}, step ${config.step}, test loss ${config.testLoss?.toFixed(4) ?? '?'})` +
    (known ? `; * = in the training list` : ''));
  for (const x of samples) out.out(x.word + (x.stopped ? '' : '…') + (known?.has(x.word) ? ' *' : ''));
  return 0;
}

export interface EvalSettings {
  workDir: string;
  inputFile?: string;
  show: number;
}

export async function runEval(s: EvalSettings, out: Output): Promise<number> {
  const { model, config, vocab, path } = loadModel(s.workDir);
  const file = s.inputFile ?? config.inputFile;
  const words = readWordList(file);
  const usable: string[] = [];
  let tooLong = 0;
  let unknown = 0;
  for (const w of words) {
    const cps = codePoints(w);
    if (cps.some((c) => !vocab.has(c))) unknown++;
    else if (cps.length > config.maxWordLength) tooLong++;
    else usable.push(w);
  }
  if (usable.length === 0) throw new CommandError(`none of the ${words.length} words of ${file} can be scored by this model (${unknown} have characters outside its vocabulary, ${tooLong} are longer than ${config.maxWordLength})`);
  const data = encodeWords(usable, vocab, config.maxWordLength + 1);
  const { nll, tokens } = wordLosses(model, data);
  let total = 0;
  let count = 0;
  for (let i = 0; i < nll.length; i++) {
    total += nll[i];
    count += tokens[i];
  }
  out.out(`model: ${path} (${config.type}, step ${config.step})`);
  out.out(`loss on ${resolve(file)}: ${(total / count).toFixed(4)} nats per character (mean over ${count} characters and stop tokens of ${usable.length} words)`);
  if (unknown || tooLong) out.out(`skipped ${unknown + tooLong} words: ${unknown} with characters outside the model's vocabulary, ${tooLong} longer than its longest ${config.maxWordLength}`);
  const order = Array.from(usable.keys()).sort((a, b) => nll[b] / tokens[b] - nll[a] / tokens[a]);
  const line = (i: number) => `  ${(nll[i] / tokens[i]).toFixed(4)}  ${nll[i].toFixed(2).padStart(7)}  ${usable[i]}`;
  const n = Math.min(s.show, usable.length);
  if (n > 0) {
    out.out(`least likely words (per-character NLL, total NLL in nats):`);
    for (const i of order.slice(0, n)) out.out(line(i));
    out.out(`most likely words:`);
    for (const i of order.slice(-n).reverse()) out.out(line(i));
  }
  return 0;
}
