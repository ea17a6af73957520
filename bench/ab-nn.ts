// The part 3 MLP step written with nn modules + optim.SGD (B) against the hand-written step (A),
// in one process, interleaved round by round (the side that goes first alternates) so that load
// from other processes hits both alike. Reports steps per wall second and per CPU second (the
// process's user + system time, which contention from other processes inflates less).
//
//   npx tsx bench/ab-nn.ts [--batch 32] [--rounds 40] [--ms 250]
import { Command } from 'commander';
import { getBackend } from '../index.js';
import { loadDataset, makeMlp3, makeMlp3Nn, type TrainStep } from './mlp.js';
import { median, stepRate } from './timing.js';

type Rate = ReturnType<typeof stepRate>;

function rate(s: TrainStep, ms: number): Rate {
  return stepRate(() => s.step(), ms);
}

function main(): void {
  const o = new Command()
    .option('--batch <n>', 'minibatch size', '32')
    .option('--rounds <n>', 'A/B rounds', '40')
    .option('--ms <n>', 'milliseconds per side per round', '250')
    .parse(process.argv)
    .opts<{ batch: string; rounds: string; ms: string }>();
  const batch = Number(o.batch);
  const rounds = Number(o.rounds);
  const ms = Number(o.ms);
  for (const [k, v] of [['batch', batch], ['rounds', rounds], ['ms', ms]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`ab-nn: --${k} must be an integer >= 1, got ${String(v)}`);
  }
  getBackend().setNumThreads(1);
  const ds = loadDataset(3);
  const a = makeMlp3(ds, batch);
  const b = makeMlp3Nn(ds, batch);
  for (let i = 0; i < 200; i++) {
    a.step();
    b.step();
  }
  const ra: Rate[] = [];
  const rb: Rate[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      ra.push(rate(a, ms));
      rb.push(rate(b, ms));
    } else {
      rb.push(rate(b, ms));
      ra.push(rate(a, ms));
    }
  }
  for (const key of ['wall', 'cpu'] as const) {
    const ratios = ra.map((x, i) => rb[i]![key] / x[key]);
    console.log(
      `batch ${batch}, per ${key} second: hand-written ${median(ra.map((x) => x[key])).toFixed(1)} steps/s, ` +
        `nn + optim.SGD ${median(rb.map((x) => x[key])).toFixed(1)} steps/s; nn/hand median ${median(ratios).toFixed(3)} ` +
        `(min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}, ${rounds} rounds of ${ms} ms)`,
    );
  }
}

main();
