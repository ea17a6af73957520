// The command's files in the work dir, each replaced atomically (temporary file, fsync, rename),
// so a crash, a kill or a full disk leaves the previous complete file:
//
//   model.safetensors  the best model by test loss: exactly makemore.py's state dict (keys, shapes,
//                      layouts), so `torch.save(load_file(path), 'model.pt')` gives its model.pt.
//                      Its metadata carries the run config, so the file alone can be sampled from.
//   config.json        the same config (type, sizes, vocabulary, step, losses), for people and tools.
//   state.safetensors  the latest training state for --resume: the model at the last step
//                      (`model.` keys), the optimizer's buffers (`optimizer.` keys), and in its
//                      metadata the step, the optimizer's counters and settings, the generators'
//                      states and the best loss so far. Written at each evaluation, at the end and
//                      on Ctrl-C; one file, so the weights and the optimizer never disagree.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, readSafetensorsMetadata, saveSafetensors } from '../io/safetensors.js';
import { writeFileAtomic, writeAll } from '../io/atomic-write.js';
import { Generator } from '../random/generator.js';
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import type { ModelConfig, ModelType } from '../makemore/models/index.js';
import { isModelType } from '../makemore/models/index.js';
import { CommandError } from './errors.js';

export const FORMAT = 'ferrograd-makemore/1';
export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const STATE_FILE = 'state.safetensors';
const META_KEY = 'ferrograd.makemore';

export interface RunConfig {
  format: typeof FORMAT;
  type: ModelType;
  model: ModelConfig;
  /** The characters of tokens 1..V-1 (token 0 is start/stop). */
  vocabulary: string[];
  maxWordLength: number;
  inputFile: string;
  seed: number;
  batchSize: number;
  optimizer: 'AdamW' | 'SGD';
  learningRate: number;
  weightDecay: number;
  /** How the run trains, evaluates and samples; --resume keeps these unless a flag says otherwise. */
  schedule: string;
  warmupSteps: number;
  maxSteps: number;
  evalEvery: number;
  sampleEvery: number;
  logEvery: number;
  numSamples: number;
  topK: number | null;
  temperature: number;
  /** Step of these weights and their losses (the best model's, in model.safetensors). */
  step: number;
  trainLoss: number | null;
  testLoss: number | null;
}

export interface TrainState {
  /** The run's config (its step and losses are the latest evaluation's). */
  config: RunConfig;
  step: number;
  bestTestLoss: number | null;
  bestStep: number | null;
  seconds: number;
  generators: Record<string, string>;
  optimizer: { paramGroups: OptimizerStateDict['paramGroups']; counters: Record<string, Record<string, number>> };
}

export function generatorToString(g: Generator): string {
  return Buffer.from(g.getState().buffer).toString('base64');
}

export function generatorFromString(s: string): Generator {
  const bytes = Buffer.from(s, 'base64');
  const words = new Uint32Array(bytes.byteLength / 4);
  new Uint8Array(words.buffer).set(bytes);
  const g = new Generator();
  g.setState(words);
  return g;
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, (fd) => writeAll(fd, new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n')));
}

/** Contiguous copies: a checkpoint must not change when training goes on. */
function snapshot(sd: Record<string, Tensor>, prefix = ''): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) out[prefix + k] = v.contiguous();
  return out;
}

export function saveBest(dir: string, stateDict: Record<string, Tensor>, config: RunConfig): void {
  saveSafetensors(join(dir, MODEL_FILE), snapshot(stateDict), { [META_KEY]: JSON.stringify(config) });
  writeJsonAtomic(join(dir, CONFIG_FILE), config);
}

export function saveState(dir: string, stateDict: Record<string, Tensor>, optimizer: Optimizer, state: Omit<TrainState, 'optimizer'>): void {
  const osd = optimizer.stateDict();
  const tensors = snapshot(stateDict, 'model.');
  const counters: Record<string, Record<string, number>> = {};
  for (const [i, entry] of Object.entries(osd.state)) {
    for (const [k, v] of Object.entries(entry)) {
      if (v instanceof Tensor) tensors[`optimizer.${i}.${k}`] = v.contiguous();
      else if (typeof v === 'number') (counters[i] ??= {})[k] = v;
    }
  }
  const full: TrainState = { ...state, optimizer: { paramGroups: osd.paramGroups, counters } };
  saveSafetensors(join(dir, STATE_FILE), tensors, { [META_KEY]: JSON.stringify(full) });
}

/** A broken file, said in the user's terms (the library's message after a colon). */
function unreadable(path: string, e: unknown): CommandError {
  const msg = e instanceof Error ? e.message : String(e);
  return new CommandError(`the checkpoint ${path} cannot be read (truncated or corrupt?): ${msg}`);
}

function parseMeta<T>(path: string, meta: Record<string, string>): T {
  const raw = meta[META_KEY];
  if (raw === undefined) throw new CommandError(`${path} is not a makemore checkpoint (its metadata has no '${META_KEY}' entry)`);
  try {
    return JSON.parse(raw) as T;
  } catch (e) {
    throw unreadable(path, e);
  }
}

export interface LoadedModel {
  config: RunConfig;
  stateDict: Record<string, Tensor>;
  path: string;
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, MODEL_FILE)) || existsSync(join(dir, STATE_FILE));
}

export function loadBest(dir: string): LoadedModel {
  const path = join(dir, MODEL_FILE);
  if (!existsSync(path)) throw new CommandError(`there is no checkpoint in ${dir} (no ${MODEL_FILE}); train one first: makemore train -o ${dir}`);
  if (statSync(path).isDirectory()) throw new CommandError(`${path} is a directory, not a checkpoint`);
  let meta: Record<string, string>;
  let stateDict: Record<string, Tensor>;
  try {
    meta = readSafetensorsMetadata(path);
    stateDict = loadSafetensors(path);
  } catch (e) {
    throw unreadable(path, e);
  }
  const config = parseMeta<RunConfig>(path, meta);
  checkConfig(path, config);
  return { config, stateDict, path };
}

function checkConfig(path: string, c: RunConfig): void {
  if (c === null || typeof c !== 'object' || c.format !== FORMAT) throw new CommandError(`${path} has an unknown checkpoint format (expected ${FORMAT})`);
  if (!isModelType(c.type)) throw new CommandError(`${path} holds an unknown model type '${String(c.type)}'`);
  if (!Array.isArray(c.vocabulary)) throw new CommandError(`${path} has no vocabulary`);
}

export interface LoadedState {
  state: TrainState;
  modelStateDict: Record<string, Tensor>;
  optimizerStateDict: OptimizerStateDict;
  path: string;
}

export function loadState(dir: string): LoadedState {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) throw new CommandError(`--resume: there is no training state to resume in ${dir} (no ${STATE_FILE})`);
  let meta: Record<string, string>;
  let tensors: Record<string, Tensor>;
  try {
    meta = readSafetensorsMetadata(path);
    tensors = loadSafetensors(path);
  } catch (e) {
    throw unreadable(path, e);
  }
  const state = parseMeta<TrainState>(path, meta);
  const modelStateDict: Record<string, Tensor> = {};
  const stateEntries: Record<number, ParamState> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('model.')) modelStateDict[k.slice(6)] = v;
    else if (k.startsWith('optimizer.')) {
      const [, i, name] = k.split('.');
      (stateEntries[Number(i)] ??= {})[name] = v;
    }
  }
  for (const [i, counters] of Object.entries(state.optimizer?.counters ?? {})) Object.assign((stateEntries[Number(i)] ??= {}), counters);
  return { state, modelStateDict, optimizerStateDict: { state: stateEntries, paramGroups: state.optimizer.paramGroups }, path };
}

export function readConfigJson(dir: string): RunConfig | null {
  try {
    return JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as RunConfig;
  } catch {
    return null;
  }
}
