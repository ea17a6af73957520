// The makemore command as a process: Ctrl-C (SIGINT) saves the training state, says where,
// restores the terminal and exits 130; SIGKILL in the middle of a run leaves a checkpoint that
// loads, samples and resumes.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors } from '../src/io/safetensors.js';
import { readWordList } from '../src/cli/words.js';
import { defaultWordsPath } from '../src/makemore/data.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'src', 'cli', 'bin.ts');
const dir = mkdtempSync(join(tmpdir(), 'makemore-signals-'));
const list = join(dir, 'names.txt');
writeFileSync(list, readWordList(defaultWordsPath()).slice(0, 500).join('\n'));
const flags = ['-i', list, '--type', 'transformer', '--n-layer', '1', '--n-embd', '16', '--n-head', '2', '--max-steps', '-1', '--eval-every', '15', '--sample-every', '1000', '--log-every', '5'];

function start(args: string[], viaTerminal = false): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const cmd = [process.execPath, '--import', 'tsx', bin, ...args];
  // `script` runs the command on a pseudo-terminal, so stdout is a TTY (the progress bar path).
  const child = viaTerminal
    ? spawn('script', ['-qfec', cmd.map((a) => `'${a}'`).join(' '), '/dev/null'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(cmd[0], cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code, signal) => res(code ?? (signal ? -1 : null))));
  return { child, output: () => text, exited };
}

async function waitFor(output: () => string, re: RegExp, ms = 40_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(output())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('signals', () => {
  it('Ctrl-C saves the state, says where, and exits 130; the run resumes from it', async () => {
    const o = join(dir, 'sigint');
    const p = start([...flags, '-o', o]);
    await waitFor(p.output, /step 30 \| train loss/);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    const m = /interrupted at step (\d+): saved the training state to (\S+) \(continue with --resume -o (\S+)\)/.exec(p.output());
    expect(m, p.output()).not.toBeNull();
    expect(m![2]).toBe(join(o, 'state.safetensors'));
    const best = new RegExp(`the best model \\(step (\\d+), test loss \\d\\.\\d{4}\\) is in ${join(o, 'model.safetensors').replace(/[.]/g, '\\.')}`).exec(p.output());
    expect(best, p.output()).not.toBeNull();
    const stopped = Number(m![1]);
    expect(stopped).toBeGreaterThan(30);
    // The best model comes from an evaluation (every 15 steps) at or before the interrupted step;
    // how far training got before the signal arrived depends on the machine's speed.
    expect(Number(best![1]) % 15).toBe(0);
    expect(Number(best![1])).toBeGreaterThanOrEqual(15);
    expect(Number(best![1])).toBeLessThanOrEqual(stopped);
    expect(Object.keys(loadSafetensors(join(o, 'state.safetensors'))).some((k) => k.startsWith('optimizer.'))).toBe(true);
    const r = spawnSync(process.execPath, ['--import', 'tsx', bin, '-o', o, '--resume', '--max-steps', String(stopped + 3)], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`resuming at step ${stopped}`);
    expect(r.stdout).toMatch(new RegExp(`^done: 3 steps in `, 'm'));
  });

  it('Ctrl-C on a terminal: the progress bar shows step, loss, steps/s, ETA, best test loss; the cursor comes back', async () => {
    const o = join(dir, 'tty');
    const p = start([...flags, '-o', o, '--max-steps', '100000'], true);
    // A refreshed bar with a measured rate (the first refreshes show '-' for steps/s and ETA).
    await waitFor(p.output, /step \d+\/100000 \| loss \d\.\d{4} \| \d+ steps\/s \| ETA \d+\S* \| best test \d\.\d{4} @\d+/);
    // A real Ctrl-C: the terminal turns ^C into SIGINT for the foreground process.
    p.child.stdin!.write('\x03');
    expect(await p.exited).toBe(130);
    const text = p.output();
    expect(text).toContain('\x1b[?25l'); // the bar hid the cursor...
    const after = text.slice(text.lastIndexOf('\x1b[?25l'));
    expect(after).toContain('\x1b[?25h'); // ...and shows it again before exiting
    expect(text).toMatch(/interrupted at step \d+: saved the training state/);
    expect(text).toMatch(/step 15 \| train loss \d\.\d{4} \| test loss \d\.\d{4} \| best so far/);
  });

  it('SIGKILL mid-run leaves a checkpoint that loads, samples and resumes', async () => {
    const o = join(dir, 'sigkill');
    const p = start([...flags, '-o', o]);
    await waitFor(p.output, /step 45 \| train loss/);
    // Kill at once and a little later, whatever the process is doing (it saves at every evaluation).
    await new Promise((r) => setTimeout(r, 37));
    p.child.kill('SIGKILL');
    await p.exited;
    expect(Object.keys(loadSafetensors(join(o, 'model.safetensors'))).length).toBe(18);
    const s = spawnSync(process.execPath, ['--import', 'tsx', bin, 'sample', '-o', o, '--num-samples', '3'], { cwd: root, encoding: 'utf8' });
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout.trim().split('\n')).toHaveLength(3);
    const r = spawnSync(process.execPath, ['--import', 'tsx', bin, '-o', o, '--resume', '--max-steps', '400'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // The state saved at the last evaluation the run finished (every 15 steps, the first after 45
    // at the latest): where exactly depends on how fast the machine ran between 45 and the kill.
    const resumed = /resuming at step (\d+)/.exec(r.stdout);
    expect(resumed, r.stdout).not.toBeNull();
    expect((Number(resumed![1]) - 1) % 15).toBe(0);
    expect(Number(resumed![1])).toBeGreaterThanOrEqual(46);
    expect(readdirSync(o).filter((f) => !f.endsWith('.tmp')).sort()).toEqual(['config.json', 'metrics.jsonl', 'model.safetensors', 'report.html', 'state.safetensors']);
  });
});
