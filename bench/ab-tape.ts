// A/B of compile's native tape executor: the same compiled step replayed through the addon's tape
// (one N-API call per segment) and kernel by kernel from TypeScript, in one process, interleaved
// round by round so that load from other processes hits both alike. Prints µs per step (the lower
// of wall and CPU time of each round; best and median over the rounds).
//
//   npx tsx bench/ab-tape.ts [--model mlp3|mlp3nn|wavenet] [--rounds 12] [--steps 1000] [--threads 1]
import { Command } from 'commander';
import { compile, getBackend, manualSeed } from '../index.js';
import { _setNativeReplay } from '../src/compile/tape.js';
import { loadDataset, makeMlp3, makeMlp3Nn } from './mlp.js';
import { makeWaveNetModule } from './wavenet.js';

const o = new Command()
  .option('--model <m>', 'mlp3, mlp3nn or wavenet', 'wavenet')
  .option('--rounds <n>', 'rounds per side', '12')
  .option('--steps <n>', 'steps per round', '1000')
  .option('--threads <n>', 'kernel threads', '1')
  .parse()
  .opts<{ model: string; rounds: string; steps: string; threads: string }>();
getBackend().setNumThreads(Number(o.threads));
manualSeed(42);
const ds = loadDataset(o.model === 'wavenet' ? 8 : 3);
const t = o.model === 'wavenet' ? makeWaveNetModule(ds, 32) : o.model === 'mlp3nn' ? makeMlp3Nn(ds, 32) : makeMlp3(ds, 32);
const c = compile(() => t.step());
for (let i = 0; i < 300; i++) c();
const steps = Number(o.steps);
const times: Record<'native' | 'kernel by kernel', number[]> = { native: [], 'kernel by kernel': [] };
for (let r = 0; r < Number(o.rounds); r++) {
  for (const side of ['native', 'kernel by kernel'] as const) {
    _setNativeReplay(side === 'native');
    for (let i = 0; i < 50; i++) c();
    const u0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) c();
    const wall = Number(process.hrtime.bigint() - t0) / 1e3 / steps;
    const u = process.cpuUsage(u0);
    times[side].push(Math.min(wall, (u.user + u.system) / steps));
  }
}
_setNativeReplay(true);
console.log(`${o.model}, batch 32, ${o.threads} thread(s), ${c.info.kernels} kernels + ${c.info.hostOps} host ops per step, ${c.info.segments} native segment(s):`);
for (const [side, ts] of Object.entries(times)) {
  ts.sort((a, b) => a - b);
  const best = ts[0];
  const med = ts[ts.length >> 1];
  console.log(`  ${side.padEnd(17)} best ${best.toFixed(1)} µs/step (${(1e6 / best).toFixed(0)} steps/s), median ${med.toFixed(1)} µs (${(1e6 / med).toFixed(0)} steps/s)`);
}
