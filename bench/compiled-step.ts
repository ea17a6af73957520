// The compiled part 3 step alone, for perf stat / perf record:
//   perf stat -e page-faults,cache-misses npx tsx bench/compiled-step.ts --batch 1024 --steps 2000
import { performance } from 'node:perf_hooks';
import { getBackend, setBackend } from '../index.js';
import { compiledStep, loadDataset, makeMlp3 } from './mlp.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const batch = arg('batch', 1024);
const steps = arg('steps', 2000);
setBackend('native');
(getBackend() as unknown as { setNumThreads(n: number): void }).setNumThreads(arg('threads', 1));
const t = compiledStep(makeMlp3(loadDataset(3), batch));
for (let i = 0; i < 50; i++) t.step();
const c0 = process.cpuUsage();
const w0 = performance.now();
for (let i = 0; i < steps; i++) t.step();
const wall = performance.now() - w0;
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  `batch ${batch}: ${steps} steps, ${((wall * 1000) / steps).toFixed(0)} µs wall/step (${((steps * 1000) / wall).toFixed(0)} steps/s), ` +
    `${((cpuMs * 1000) / steps).toFixed(0)} µs CPU/step (${((steps * 1000) / cpuMs).toFixed(0)} steps/CPU-s), sys ${(cpu.system / steps).toFixed(1)} µs/step`,
);
