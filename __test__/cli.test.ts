// The makemore command end to end: a short run on a small word list, and its errors.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '..', 'src', 'cli', 'makemore.ts');
function run(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 120_000 });
}

describe('makemore command', () => {
  it('trains on a word list, lowers the loss, samples words of its alphabet and writes result.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'makemore-'));
    const words = ['anna', 'bob', 'hannah', 'otto', 'ava', 'abba', 'elle', 'eve', 'nan', 'pip'];
    const list = join(dir, 'words.txt');
    writeFileSync(list, Array.from({ length: 30 }, (_, i) => words[i % words.length]).join('\n'));
    const r = run(['--input', list, '--out', dir, '--steps', '300', '--samples', '4', '--hidden', '32', '--no-plot', '--no-progress', '--log-every', '100']);
    expect(r.status, r.stderr).toBe(0);
    const alphabet = [...new Set(words.join(''))].sort().join('');
    const V = alphabet.length + 1;
    expect(r.stdout).toContain(`vocabulary ${V} (.${alphabet})`);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    expect(result.parameters).toBe(V * 10 + 30 * 32 + 32 + 32 * V + V);
    expect(result.samples).toHaveLength(4);
    for (const s of result.samples) expect(s).toMatch(new RegExp(`^[${alphabet}]*\\.?$`));
    // The unscaled randn init starts far above ln(V); 300 steps must bring it well below the start.
    const first = Number(/^\s+0\/300: ([\d.]+)/m.exec(r.stdout)![1]);
    expect(result.loss.train).toBeLessThan(first);
    expect(result.loss.train).toBeLessThan(2.0);
  });

  it('reports a missing input file and a bad option clearly, with a non-zero exit', () => {
    const missing = run(['--input', '/nonexistent/words.txt', '--steps', '1']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/makemore: .*\/nonexistent\/words\.txt/);
    const bad = run(['--steps', '-5']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--steps must be an integer >= 0, got '-5'/);
  });
});
