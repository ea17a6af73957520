// A/B test of a change to the library: the makemore step of this checkout (A) against the same step
// from a patched copy of the checkout (B), in one process, interleaved round by round so that load
// from other processes hits both alike. Also checks that both produce bit-identical losses from the
// same seed (a speed-up that changes the numbers is a different change).
//
//   cp -r index.ts src bench data package.json /tmp/b/ && ln -s $PWD/native $PWD/node_modules /tmp/b/
//   (edit /tmp/b/src/...)
//   npx tsx bench/ab.ts /tmp/b --batch 32 [--model mlp3|mlp3nn|mlp2] [--rounds 16] [--ms 400]
//
// The copy must link the same native/ (a symlink), so both sides call the same addon. Rates are
// per wall second and per CPU second (the process's user + system time, which contention from
// other processes inflates less).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import type { Dataset, TrainStep } from './mlp.js';
import { median, stepRate } from './timing.js';

interface Side {
  loadDataset: (blockSize?: number) => Dataset;
  makeMlp3: (ds: Dataset, batch: number) => TrainStep;
  makeMlp3Nn: (ds: Dataset, batch: number) => TrainStep;
  makeMlp2: (ds: Dataset, batch: number) => TrainStep;
}

async function main(): Promise<void> {
  const program = new Command()
    .argument('<copy>', 'folder holding the patched copy (index.ts, src/, bench/)')
    .option('--batch <n>', 'minibatch size', '32')
    .option('--model <name>', 'mlp3, mlp3nn or mlp2', 'mlp3')
    .option('--rounds <n>', 'A/B rounds', '16')
    .option('--ms <n>', 'milliseconds per side per round', '400')
    .parse(process.argv);
  const o = program.opts<{ batch: string; model: string; rounds: string; ms: string }>();
  const copy = resolve(program.args[0]);
  const batch = Number(o.batch);
  const rounds = Number(o.rounds);
  const ms = Number(o.ms);
  if (o.model !== 'mlp3' && o.model !== 'mlp3nn' && o.model !== 'mlp2') throw new Error(`ab: --model must be mlp3, mlp3nn or mlp2, got ${o.model}`);
  const A = (await import('./mlp.js')) as Side;
  const B = (await import(pathToFileURL(resolve(copy, 'bench', 'mlp.ts')).href)) as Side;
  for (const lib of [await import('../index.js'), await import(pathToFileURL(resolve(copy, 'index.ts')).href)]) {
    (lib as typeof import('../index.js')).getBackend().setNumThreads(1);
  }
  const dsA = A.loadDataset(3);
  const dsB = B.loadDataset(3);
  const make = (side: Side, ds: Dataset) =>
    o.model === 'mlp3' ? side.makeMlp3(ds, batch) : o.model === 'mlp3nn' ? side.makeMlp3Nn(ds, batch) : side.makeMlp2(ds, batch);

  const a0 = make(A, dsA);
  const b0 = make(B, dsB);
  let firstDiff = -1;
  let la = 0;
  let lb = 0;
  for (let i = 0; i < 30; i++) {
    la = a0.step();
    lb = b0.step();
    if (la !== lb && firstDiff < 0) firstDiff = i;
  }
  console.log(firstDiff < 0 ? `losses bit-identical for 30 steps (last ${la})` : `LOSSES DIFFER from step ${firstDiff} (A ${la}, B ${lb} after 30)`);

  const sa = make(A, dsA);
  const sb = make(B, dsB);
  for (let i = 0; i < 50; i++) {
    sa.step();
    sb.step();
  }
  /** Steps per wall second and per CPU second over `ms` milliseconds. */
  const rate = (s: TrainStep): [number, number] => {
    const r = stepRate(() => s.step(), ms);
    return [r.wall, r.cpu];
  };
  const ra: number[][] = [[], []];
  const rb: number[][] = [[], []];
  const ratio: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first.
    let a: [number, number];
    let b: [number, number];
    if (r % 2 === 0) {
      a = rate(sa);
      b = rate(sb);
    } else {
      b = rate(sb);
      a = rate(sa);
    }
    for (let k = 0; k < 2; k++) {
      ra[k].push(a[k]);
      rb[k].push(b[k]);
      ratio[k].push(b[k] / a[k]);
    }
  }
  const best = (v: number[]) => Math.max(...v);
  ['wall', 'CPU'].forEach((kind, k) => {
    console.log(
      `${o.model} batch ${batch}, per ${kind} second: A ${median(ra[k]).toFixed(1)} (best ${best(ra[k]).toFixed(1)}), B ${median(rb[k]).toFixed(1)} (best ${best(rb[k]).toFixed(1)}) steps/s; ` +
        `B/A median ${median(ratio[k]).toFixed(3)} (min ${Math.min(...ratio[k]).toFixed(3)}, max ${Math.max(...ratio[k]).toFixed(3)}, ${rounds} rounds of ${ms} ms)`,
    );
  });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
