// The makemore command's training loop, checkpoints, --resume, sampling and eval, in-process.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/makemore.js';
import { loadSafetensors, readSafetensorsMetadata } from '../src/io/safetensors.js';
import { readWordList } from '../src/cli/words.js';
import { defaultWordsPath } from '../src/makemore/data.js';
import { capture, runMakemore } from './cli-helpers.js';
const run = async (args: string[]) => { const r = await runMakemore(args); return { ...r, stdout: r.stdoutLines }; };



const dir = mkdtempSync(join(tmpdir(), 'makemore-train-'));
const names = readWordList(defaultWordsPath()).slice(0, 300);
const list = join(dir, 'names300.txt');
const longest = Math.max(...names.map((w) => w.length));
writeFileSync(list, names.join('\n'));
const tiny = ['--n-layer', '1', '--n-embd', '16', '--n-head', '2'];

function metrics(workDir: string) {
  return readFileSync(join(workDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('training', () => {
  it('prints the header, the losses, evaluations and samples, and saves the best model as makemore.py state dict + config', async () => {
    const o = join(dir, 'run');
    const r = await run(['-i', list, '-o', o, '--type', 'transformer', ...tiny, '--max-steps', '30', '--eval-every', '10', '--sample-every', '15', '--log-every', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout[0]).toBe(`makemore: 300 words from ${list}; longest ${longest} characters; vocabulary 27 tokens (26 characters + start/stop)`);
    expect(r.stdout).toContain('characters: abcdefghijklmnopqrstuvwxyz');
    expect(r.stdout).toContain('split: 270 train, 30 test words (seed 3407); uniform guess = ln 27 = 3.2958');
    // wte 27·16, wpe 16·(longest + 1), one block (2 LayerNorms 64, c_attn 16·48 + 48, c_proj 16·16 + 16,
    // c_fc 16·64 + 64, c_proj 64·16 + 16), ln_f 32, lm_head 27·16 without bias.
    const params = 27 * 16 + 16 * (longest + 1) + (64 + 816 + 272 + 1088 + 1040) + 32 + 27 * 16;
    expect(r.stdout).toContain(`model: transformer, ${params.toLocaleString('en-US')} parameters (n_layer 1, n_head 2, n_embd 16, block ${longest + 1})`);
    expect(r.stdout.filter((l) => /^step \d+ \| loss \d\.\d{4} \| step time [\d.]+ms$/.test(l)).map((l) => Number(l.split(' ')[1]))).toEqual([0, 5, 10, 15, 20, 25]);
    const evals = r.stdout.filter((l) => / \| train loss /.test(l));
    expect(evals.map((l) => Number(l.split(' ')[1]))).toEqual([10, 20, 29]);
    expect(r.stdout.filter((l) => l.startsWith('samples at step ')).length).toBe(1);
    const m = metrics(o);
    const ev = m.filter((x) => x.kind === 'eval');
    const bestEval = ev.reduce((a, b) => (b.test < a.test ? b : a));
    const config = JSON.parse(readFileSync(join(o, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ format: 'ferrograd-makemore/1', type: 'transformer', step: bestEval.step, testLoss: bestEval.test, maxWordLength: longest, optimizer: 'AdamW', learningRate: 3e-3, weightDecay: 0.01, schedule: 'cosine', warmupSteps: 100, maxSteps: 30, batchSize: 32, seed: 3407 });
    expect(config.model).toEqual({ vocabSize: 27, blockSize: longest + 1, nLayer: 1, nEmbd: 16, nEmbd2: 64, nHead: 2, contextSize: 0, dropout: 0 });
    const sd = loadSafetensors(join(o, 'model.safetensors'));
    expect(Object.keys(sd).sort()).toEqual(Object.keys(sd).filter((k) => /^(transformer\.|lm_head\.weight$)/.test(k)).sort());
    expect(Object.keys(sd)).toHaveLength(2 + 13 + 2 + 1);
    expect(JSON.parse(readSafetensorsMetadata(join(o, 'model.safetensors'))['ferrograd.makemore'])).toEqual(config);
    expect(existsSync(join(o, 'report.html'))).toBe(true);
    expect(r.stdout[r.stdout.length - 2]).toMatch(/^done: 30 steps in [\d.]+ s \([\d.]+ steps\/s\); best test loss \d\.\d{4} at step \d+, in /);
  });

  it('a worse model never replaces a better one: model.safetensors holds the lowest test loss seen', async () => {
    const o = join(dir, 'overfit');
    // lr 0.3 on a bigram overfits 270 words fast and then gets noisy: whatever happens, the saved
    // step is the best evaluation's.
    const r = await run(['-i', list, '-o', o, '--type', 'bigram', '--max-steps', '120', '--eval-every', '10', '-l', '0.3']);
    expect(r.code, r.stderr).toBe(0);
    const ev = metrics(o).filter((x) => x.kind === 'eval');
    const best = ev.reduce((a, b) => (b.test < a.test ? b : a));
    expect(JSON.parse(readFileSync(join(o, 'config.json'), 'utf8')).step).toBe(best.step);
    expect(ev.filter((e) => e.best).map((e) => e.step).at(-1)).toBe(best.step);
  });

  it('--resume continues exactly: 20 steps, then 20 more, give the same losses, bit for bit, as 40 in one run', async () => {
    for (const type of ['transformer', 'mlp-bn']) {
      // mlp-bn: SGD and BatchNorm buffers. The default schedules depend on --max-steps, which this
      // resumed run changes (a constant one does not; Ctrl-C and resume below keeps the schedule).
      const flags = ['-i', list, '--type', type, ...(type === 'transformer' ? tiny : []), '--schedule', 'constant', '--eval-every', '10', '--sample-every', '7', '--log-every', '1'];
      const once = join(dir, `once-${type}`);
      const twice = join(dir, `twice-${type}`);
      expect((await run([...flags, '-o', once, '--max-steps', '40'])).code).toBe(0);
      expect((await run([...flags, '-o', twice, '--max-steps', '20'])).code).toBe(0);
      const resumed = await run(['-o', twice, '--resume', '--max-steps', '40', '--log-every', '1']);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout.find((l) => l.startsWith('training: '))).toContain('resuming at step 20');
      const strip = (m: Record<string, unknown>[]) => m.map(({ seconds: _s, ...rest }) => rest);
      const a = strip(metrics(once));
      const b = strip(metrics(twice));
      // The 20-step run evaluated its last step (19) too; the 40-step run did not.
      const withoutExtra = b.filter((x) => !(x.kind === 'eval' && x.step === 19));
      expect(withoutExtra.filter((x) => x.kind === 'step')).toHaveLength(40);
      expect(withoutExtra.filter((x) => x.kind !== 'eval')).toEqual(a.filter((x) => x.kind !== 'eval'));
      expect(withoutExtra.filter((x) => x.kind === 'eval').map((x) => [x.step, x.train, x.test])).toEqual(a.filter((x) => x.kind === 'eval').map((x) => [x.step, x.train, x.test]));
      const sa = loadSafetensors(join(once, 'state.safetensors'));
      const sb = loadSafetensors(join(twice, 'state.safetensors'));
      expect(Object.keys(sb)).toEqual(Object.keys(sa));
      for (const k of Object.keys(sa)) expect(Array.from(sb[k].flat()), k).toEqual(Array.from(sa[k].flat()));
    }
  });
  it('Ctrl-C at step 20 of 40 and --resume without flags give the 40-step run, bit for bit (cosine schedule)', async () => {
    const flags = ['-i', list, '--type', 'transformer', ...tiny, '--max-steps', '40', '--warmup-steps', '5', '--eval-every', '10', '--sample-every', '7', '--log-every', '1'];
    const once = join(dir, 'cosine-once');
    const twice = join(dir, 'cosine-twice');
    expect((await run([...flags, '-o', once])).code).toBe(0);
    const out = capture();
    // The command's own SIGINT handler, as Ctrl-C calls it, after the log line of step 19.
    out.out = (l) => {
      out.stdout.push(l);
      if (l.startsWith('step 19 | loss')) process.emit('SIGINT');
    };
    expect(await main([...flags, '-o', twice], out)).toBe(130);
    expect(out.stdout).toContain(`interrupted at step 20: saved the training state to ${join(twice, 'state.safetensors')} (continue with --resume -o ${twice})`);
    const resumed = await run(['-o', twice, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const strip = (m: Record<string, unknown>[]) => m.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(metrics(twice))).toEqual(strip(metrics(once)));
  });
});

describe('small lists', () => {
  it('says so when the best test loss came early, and keeps that model', async () => {
    const o = join(dir, 'small');
    const small = join(dir, 'names50.txt');
    writeFileSync(small, names.slice(0, 50).join('\n'));
    const r = await run(['-i', small, '-o', o, '--n-layer', '2', '--n-embd', '32', '--max-steps', '240', '--eval-every', '20', '--sample-every', '1000', '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    const ev = metrics(o).filter((x) => x.kind === 'eval');
    const best = ev.reduce((a, b) => (b.test < a.test ? b : a));
    const last = ev[ev.length - 1];
    expect(best.step).toBeLessThan(last.step / 2);
    expect(r.stdout).toContain(`note: the best test loss came early (step ${best.step} of ${last.step}) and got worse after it (${last.test.toFixed(4)} at the end): the model overfits this list, so model.safetensors keeps the step-${best.step} model`);
    expect(JSON.parse(readFileSync(join(o, 'config.json'), 'utf8')).step).toBe(best.step);
    // ...which is at or below the uniform guess, where the last model is far above it.
    expect(best.test).toBeLessThan(Math.log(27));
    expect(last.test).toBeGreaterThan(Math.log(27));
  });
});

describe('sampling and evaluation', () => {
  const o = join(dir, 'sampling');
  const ready = (async () => {
    const r = await run(['-i', list, '-o', o, '--type', 'bigram', '--max-steps', '150', '--eval-every', '50', '-l', '0.05']);
    expect(r.code, r.stderr).toBe(0);
  })();

  it('--num-samples, --seed, --top-k, --temperature and --prefix', async () => {
    await ready;
    const s1 = await run(['sample', '-o', o, '--num-samples', '7', '--seed', '5']);
    expect(s1.code, s1.stderr).toBe(0);
    expect(s1.stdout).toHaveLength(7);
    expect(s1.stderr).toMatch(/^7 samples from .*model\.safetensors \(bigram, step \d+, test loss \d\.\d{4}\); \* = in the training list$/);
    const words = s1.stdout.map((l) => l.replace(/ \*$/, '').replace(/…$/, ''));
    for (const w of words) expect([...w].length).toBeLessThanOrEqual(longest);
    for (const l of s1.stdout) expect(l.endsWith(' *')).toBe(names.includes(l.replace(/ \*$/, '')));
    expect((await run(['sample', '-o', o, '--num-samples', '7', '--seed', '5'])).stdout).toEqual(s1.stdout);
    expect((await run(['sample', '-o', o, '--num-samples', '7', '--seed', '6'])).stdout).not.toEqual(s1.stdout);
    // top-k 1 is greedy: every sample is the same most likely word.
    const greedy = await run(['sample', '-o', o, '--num-samples', '5', '--top-k', '1']);
    expect(new Set(greedy.stdout).size).toBe(1);
    // A very low temperature is greedy too.
    expect((await run(['sample', '-o', o, '--num-samples', '5', '--temperature', '0.001'])).stdout).toEqual(greedy.stdout);
    const pre = await run(['sample', '-o', o, '--num-samples', '6', '--prefix', 'ma']);
    for (const l of pre.stdout) expect(l.startsWith('ma')).toBe(true);
    // makemore.py's --sample-only prints 50.
    const only = await run(['-o', o, '--sample-only']);
    expect(only.code).toBe(0);
    expect(only.stdout).toHaveLength(50);
  });

  it("eval: the mean loss per character, computed from the bigram's own table, and the worst and best words", async () => {
    await ready;
    const file = join(dir, 'few.txt');
    const few = ['anna', 'emma', 'qxz', 'ava', 'zzzz'];
    writeFileSync(file, few.join('\n') + '\nsomeverylongname\nwith space\n');
    const r = await run(['eval', '-o', o, '-i', file, '--show', '2']);
    expect(r.code, r.stderr).toBe(0);
    // Independent: -log softmax(logits[prev])[next] over each word's characters and stop token.
    const table = loadSafetensors(join(o, 'model.safetensors')).logits.flat();
    const chars = 'abcdefghijklmnopqrstuvwxyz';
    const nll = (w: string) => {
      const ids = [0, ...[...w].map((c) => chars.indexOf(c) + 1), 0];
      let s = 0;
      for (let i = 0; i + 1 < ids.length; i++) {
        const row = Array.from(table.slice(ids[i] * 27, ids[i] * 27 + 27));
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
        s += lse - row[ids[i + 1]];
      }
      return s;
    };
    const total = few.reduce((a, w) => a + nll(w), 0);
    const tokens = few.reduce((a, w) => a + w.length + 1, 0);
    const line = r.stdout.find((l) => l.startsWith('loss on '))!;
    expect(line).toBe(`loss on ${file}: ${(total / tokens).toFixed(4)} nats per character (mean over ${tokens} characters and stop tokens of 5 words)`);
    expect(r.stdout).toContain(`skipped 2 words: 1 with characters outside the model's vocabulary, 1 longer than its longest ${longest}`);
    const per = few.map((w) => [w, nll(w) / (w.length + 1)] as const).sort((a, b) => b[1] - a[1]);
    const i = r.stdout.indexOf('least likely words (per-character NLL, total NLL in nats):');
    expect(r.stdout[i + 1].trim().split(/\s+/)).toEqual([per[0][1].toFixed(4), nll(per[0][0]).toFixed(2), per[0][0]]);
    expect(r.stdout[i + 4].trim().split(/\s+/).at(-1)).toBe(per[4][0]);
  });
});
