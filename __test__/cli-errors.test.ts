// The makemore command's bad-input table: each input gives its exact message, a non-zero exit,
// happens before any training, and leaves an existing checkpoint as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runMakemore } from './cli-helpers.js';
const run = runMakemore;



const dir = mkdtempSync(join(tmpdir(), 'makemore-errors-'));
const names = ['anna', 'bob', 'carla', 'dave', 'eve', 'fred', 'gina', 'hank', 'ivy', 'jon', 'kim', 'lea'];
const words = join(dir, 'words.txt');
const trained = join(dir, 'trained');
const snapshot = () => ['model.safetensors', 'config.json', 'state.safetensors'].map((f) => readFileSync(join(trained, f)));

beforeAll(async () => {
  writeFileSync(words, names.join('\n'));
  const r = await run(['-i', words, '-o', trained, '--type', 'bigram', '--max-steps', '20', '--eval-every', '10', '--learning-rate', '0.1']);
  expect(r.code, r.stderr).toBe(0);
});

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('bad input: a clear message and a non-zero exit before training', () => {
  const cases: [string, () => string[], string][] = [
    ['a missing file', () => ['-i', join(dir, 'nope.txt'), '-o', join(dir, 'o1')], `makemore: the word list ${join(dir, 'nope.txt')} does not exist`],
    ['an empty file', () => ['-i', file('empty.txt', ''), '-o', join(dir, 'o2')], `makemore: the word list ${join(dir, 'empty.txt')} is empty`],
    ['only blank lines', () => ['-i', file('blank.txt', '\n  \r\n\n'), '-o', join(dir, 'o3')], `makemore: the word list ${join(dir, 'blank.txt')} has no words (only blank lines)`],
    ['a binary file', () => ['-i', file('bin.dat', Buffer.from([0x7f, 0x45, 0x4c, 0x00, 0x02])), '-o', join(dir, 'o4')], `makemore: the word list ${join(dir, 'bin.dat')} looks like a binary file (a zero byte at offset 3), not text`],
    ['a non-UTF-8 file', () => ['-i', file('latin1.txt', Buffer.from([0x6a, 0x6f, 0xe9, 0x0a, 0x61])), '-o', join(dir, 'o5')], `makemore: the word list ${join(dir, 'latin1.txt')} is not valid UTF-8 (first bad byte at offset 2)`],
    ['a directory', () => ['-i', dir, '-o', join(dir, 'o6')], `makemore: the word list ${dir} is a directory, not a file`],
    ['one word', () => ['-i', file('one.txt', 'solo\n'), '-o', join(dir, 'o7')], 'makemore: the word list has 1 word; at least 2 are needed (one to train on, one to test on)'],
    ['a work dir that is a file', () => ['-i', words, '-o', words], `makemore: the work dir ${words} is a file, not a directory`],
    ['a work dir that cannot be created', () => ['-i', words, '-o', join(words, 'sub')], `makemore: cannot create the work dir ${join(words, 'sub')}: ENOTDIR`],
    ['--resume without a checkpoint', () => ['-i', words, '-o', join(dir, 'o8'), '--resume'], `makemore: --resume: there is no training state to resume in ${join(dir, 'o8')} (no state.safetensors)`],
    ['--n-embd not divisible by --n-head', () => ['-i', words, '-o', join(dir, 'o9'), '--n-embd', '30', '--n-head', '4'], 'makemore: --n-embd 30 is not divisible by --n-head 4 (each head gets n_embd / n_head channels)'],
    ['a negative --max-steps', () => ['--max-steps', '-5'], "makemore: option '--max-steps <n>' argument '-5' is invalid. --max-steps must be an integer >= -1, got '-5'"],
    ['a zero batch', () => ['-b', '0'], "makemore: option '-b, --batch-size <n>' argument '0' is invalid. --batch-size must be an integer >= 1, got '0'"],
    ['an unknown type', () => ['--type', 'lstm'], "makemore: option '--type <type>' argument 'lstm' is invalid. --type must be one of bigram, mlp, rnn, gru, bow, transformer, mlp-bn, wavenet, conv, got 'lstm'"],
    ['a negative learning rate', () => ['-l', '-1'], "makemore: option '-l, --learning-rate <x>' argument '-1' is invalid. --learning-rate must be a positive number, got '-1'"],
    ['a wavenet context that is no power of two', () => ['--type', 'wavenet', '--block-size', '6'], 'makemore: --block-size 6: wavenet fuses the context two characters at a time, so it must be a power of two >= 2'],
    ['a transformer block smaller than the words', () => ['-i', words, '-o', join(dir, 'o10'), '--block-size', '3'], 'makemore: --block-size 3 is too small for transformer: it reads whole words, so it needs at least the longest word + 1 = 6'],
    ['--top-k 0', () => ['--top-k', '0'], 'makemore: --top-k must be -1 (no top-k) or >= 1, got 0'],
    ['sampling from a dir without a checkpoint', () => ['sample', '-o', join(dir, 'o11')], `makemore: there is no checkpoint in ${join(dir, 'o11')} (no model.safetensors); train one first: makemore train -o ${join(dir, 'o11')}`],
    ['an unknown flag', () => ['--max-step', '5'], "makemore: unknown option '--max-step'\n(Did you mean --max-steps?)"],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await run(args());
      expect(r.code).not.toBe(0);
      if (message.endsWith('ENOTDIR')) expect(r.stderr.startsWith(message)).toBe(true);
      else expect(r.stderr).toBe(message);
      expect(r.stdout).not.toMatch(/^step /m);
    });
  }
});

describe('an existing checkpoint is left as it was', () => {
  it('a fresh run into a work dir that holds a checkpoint is refused (unless --force)', async () => {
    const before = snapshot();
    const r = await run(['-i', words, '-o', trained, '--type', 'bigram', '--max-steps', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^makemore: ${trained} already holds a checkpoint \\(bigram, step \\d+, test loss \\d\\.\\d{4}\\); continue it with --resume, or use another --work-dir \\(or --force to start over and replace it\\)$`));
    expect(snapshot()).toEqual(before);
  });

  it('--resume with another model type, another vocabulary, or a truncated state', async () => {
    const before = snapshot();
    let r = await run(['-o', trained, '--resume', '--type', 'rnn', '--max-steps', '40']);
    expect([r.code, r.stderr]).toEqual([1, `makemore: --resume: the checkpoint in ${trained} was trained with --type bigram, not rnn`]);
    const other = file('other.txt', ['xyz', 'zyx', 'yyy', 'xxz'].join('\n'));
    r = await run(['-i', other, '-o', trained, '--resume', '--max-steps', '40']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`makemore: --resume: the checkpoint's vocabulary (19 tokens: abcdefghijklmnorvy) is not the vocabulary of ${other} (4 tokens: xyz)`);
    expect(snapshot()).toEqual(before);

    // A truncated copy of the state and of the model: read errors, not crashes.
    const broken = join(dir, 'broken');
    mkdirSync(broken);
    for (const f of ['model.safetensors', 'config.json', 'state.safetensors']) copyFileSync(join(trained, f), join(broken, f));
    truncateSync(join(broken, 'state.safetensors'), 100);
    r = await run(['-o', broken, '--resume', '--max-steps', '40']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^makemore: the checkpoint ${join(broken, 'state.safetensors')} cannot be read \\(truncated or corrupt\\?\\): `));
    truncateSync(join(broken, 'model.safetensors'), 50);
    r = await run(['sample', '-o', broken]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^makemore: the checkpoint ${join(broken, 'model.safetensors')} cannot be read \\(truncated or corrupt\\?\\): `));
    writeFileSync(join(broken, 'model.safetensors'), 'not a safetensors file at all');
    r = await run(['eval', '-o', broken]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot be read \(truncated or corrupt\?\)/);
  });

  it('--prefix with a character the model never saw, and a too long prefix', async () => {
    let r = await run(['sample', '-o', trained, '--prefix', 'aQ']);
    expect([r.code, r.stderr]).toEqual([1, 'makemore: --prefix "aQ" has the character Q (U+0051), which is not in the model\'s vocabulary']);
    r = await run(['sample', '-o', trained, '--prefix', 'annaa']);
    expect([r.code, r.stderr]).toEqual([1, 'makemore: --prefix "annaa" has 5 characters; the model writes words of at most 5']);
  });
});

describe('help, version, and a module without side effects', () => {
  it('--help of each command lists its flags (makemore.py\'s names among them); --version prints the package version', async () => {
    const train = await run(['train', '--help']);
    expect(train.code).toBe(0);
    for (const flag of ['-i, --input-file', '-o, --work-dir', '--type', '--max-steps', '--seed', '-b, --batch-size', '-l, --learning-rate', '-w, --weight-decay', '--n-layer', '--n-head', '--n-embd', '--n-embd2', '--top-k', '--resume', '--sample-only', '--temperature', '--num-samples', '--prefix', '--eval-every', '--sample-every', '--threads', '--block-size', '--no-compile', '-n, --num-workers', '--device']) {
      expect(train.stdout).toContain(flag);
    }
    const sample = await run(['sample', '--help']);
    for (const flag of ['-o, --work-dir', '--num-samples', '--top-k', '--temperature', '--prefix', '--seed']) expect(sample.stdout).toContain(flag);
    const ev = await run(['eval', '--help']);
    for (const flag of ['-o, --work-dir', '-i, --input-file', '--show']) expect(ev.stdout).toContain(flag);
    const top = await run(['--help']);
    expect(top.stdout).toMatch(/train \[options\][\s\S]*sample \[options\][\s\S]*eval \[options\]/);
    const version = await run(['--version']);
    expect([version.code, version.stdout]).toEqual([0, JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).version]);
  });

  it('importing the command module runs nothing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/cli/makemore.ts').then((m) => console.log(typeof m.main))"], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    expect([r.status, r.stdout.trim(), r.stderr]).toEqual([0, 'function', '']);
  });
});

describe('a save that fails', () => {
  it('is a warning naming the file, training goes on, the other files are saved, and the exit code is 1', async () => {
    const o = join(dir, 'cannot-save');
    // A directory where the training state goes: every rename onto it fails, as a full disk would.
    mkdirSync(join(o, 'state.safetensors'), { recursive: true });
    const r = await run(['-i', words, '-o', o, '--type', 'bigram', '--max-steps', '20', '--eval-every', '10', '--force']);
    expect(r.code).toBe(1);
    const warnings = r.stdout.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings.length).toBe(2); // at step 10 and at the end
    expect(warnings[0]).toMatch(new RegExp(`^warning: could not save ${join(o, 'state.safetensors')} \\(.*\\); the previous state.safetensors is intact$`));
    expect(r.stdout).toMatch(/^done: 20 steps/m);
    expect(r.stderr).toBe('makemore: some saves failed (see the warnings above); state.safetensors is from an earlier step');
    expect(existsSync(join(o, 'model.safetensors'))).toBe(true);
  });
});
