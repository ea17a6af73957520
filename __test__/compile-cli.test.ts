// The makemore command trains through compile() by default: the same losses as --no-compile for
// every model type, makemore.py's six replayed (batches of varying length, padding targets
// ignored), and the lecture models, whose rows are selected by data (a data-dependent shape),
// trained op by op after a one-line note.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadSafetensors, readSafetensorsMetadata } from '../src/io/safetensors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/makemore.js';
import type { Output } from '../src/cli/output.js';
import { readWordList } from '../src/cli/words.js';
import { defaultWordsPath } from '../src/makemore/data.js';

const dir = mkdtempSync(join(tmpdir(), 'makemore-compile-'));
const list = join(dir, 'names300.txt');
writeFileSync(list, readWordList(defaultWordsPath()).slice(0, 300).join('\n'));

async function train(type: string, extra: string[], steps = 25): Promise<{ losses: string[]; stdout: string[]; workDir: string }> {
  const workDir = join(dir, `${type}${extra.join('')}`);
  const stdout: string[] = [];
  const out: Output = { out: (l) => stdout.push(l), err: (l) => stdout.push(l), isTTY: false };
  const sizes = type === 'transformer' ? ['--n-layer', '1', '--n-embd', '16', '--n-head', '2'] : [];
  const code = await main(
    ['train', '-i', list, '-o', workDir, '--type', type, '--max-steps', String(steps), '--eval-every', '1000', '--sample-every', '1000', '--log-every', '1', '--seed', '5', '-b', '8', ...sizes, ...extra],
    out,
  );
  expect(code, stdout.join('\n')).toBe(0);
  const losses = readFileSync(join(workDir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"kind":"step"'))
    .map((l) => JSON.stringify((JSON.parse(l) as { loss: number }).loss));
  return { losses, stdout, workDir };
}

describe('makemore train compiles its step by default', () => {
  it.each(['transformer', 'gru', 'rnn', 'bigram', 'mlp', 'bow', 'mlp-bn'])('%s: the same losses as --no-compile', async (type) => {
    const compiled = await train(type, []);
    const eager = await train(type, ['--no-compile']);
    expect(compiled.losses.length).toBe(25);
    expect(compiled.losses).toEqual(eager.losses);
    const notes = compiled.stdout.filter((l) => l.startsWith("note: this model's step is not compiled"));
    // makemore.py's six replay; mlp-bn's rows are the real positions of the batch (a shape that
    // depends on data), so it trains op by op, saying why.
    expect(notes.length).toBe(type === 'mlp-bn' ? 1 : 0);
    if (type === 'mlp-bn') expect(notes[0]).toMatch(/a shape that depends on data/);
    expect(eager.stdout.some((l) => l.startsWith("note: this model's step"))).toBe(false);
  });

  it("the transformer with AdamW and a warmup + cosine schedule (lr changes every step, the update runs natively): the --no-compile losses, weights and optimizer state (moments, step counts), bit for bit", async () => {
    const flags = ['--warmup-steps', '5', '--schedule', 'cosine'];
    const compiled = await train('transformer', flags, 40);
    const eager = await train('transformer', [...flags, '--no-compile'], 40);
    expect(compiled.losses.length).toBe(40);
    expect(compiled.losses).toEqual(eager.losses);
    const sa = loadSafetensors(join(eager.workDir, 'state.safetensors'));
    const sb = loadSafetensors(join(compiled.workDir, 'state.safetensors'));
    expect(Object.keys(sb)).toEqual(Object.keys(sa));
    expect(Object.keys(sa).some((k) => /expAvgSq/.test(k))).toBe(true);
    // The step counters (metadata): 40 per parameter on both.
    const counters = (dir: string) => (JSON.parse(readSafetensorsMetadata(join(dir, 'state.safetensors'))['ferrograd.makemore']) as { optimizer: { counters: Record<string, { step: number }> } }).optimizer.counters;
    expect(Object.values(counters(compiled.workDir)).map((c) => c.step)).toEqual(Object.values(counters(eager.workDir)).map(() => 40));
    expect(counters(compiled.workDir)).toEqual(counters(eager.workDir));
    for (const k of Object.keys(sa)) expect(Buffer.from(sb[k].flat().slice().buffer).equals(Buffer.from(sa[k].flat().slice().buffer)), k).toBe(true);
  });
});
