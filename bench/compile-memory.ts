// Memory of compiled training steps: bytes allocated per step after warm-up (ArrayBuffer memory and
// the V8 heap, over 10,000 steps) and whether memory stays flat over 100,000 steps.
//   node --expose-gc --import tsx bench/compile-memory.ts [--long]
import { loadDataset, makeMlp3, makeMlp3Nn, compiledStep, type TrainStep } from './mlp.js';
import { makeWaveNetModule } from './wavenet.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (node --expose-gc --import tsx bench/compile-memory.ts)');
const long = process.argv.includes('--long');

function measure(name: string, t: TrainStep): void {
  for (let i = 0; i < 200; i++) t.step();
  gc!();
  const m0 = process.memoryUsage();
  const steps = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) t.step();
  const ms = performance.now() - t0;
  const m1 = process.memoryUsage(); // before any collection: what the steps allocated and kept
  gc!();
  const m2 = process.memoryUsage();
  const perStep = (a: number, b: number) => ((b - a) / steps).toFixed(2);
  console.log(
    `${name}: ${(steps / ms * 1e3).toFixed(0)} steps/s; per step over ${steps} steps: arrayBuffers ${perStep(m0.arrayBuffers, m1.arrayBuffers)} B, ` +
      `heapUsed ${perStep(m0.heapUsed, m1.heapUsed)} B (after gc: arrayBuffers ${perStep(m0.arrayBuffers, m2.arrayBuffers)} B, heapUsed ${perStep(m0.heapUsed, m2.heapUsed)} B)`,
  );
  if (!long) return;
  const samples: string[] = [];
  for (let k = 0; k < 10; k++) {
    for (let i = 0; i < 10_000; i++) t.step();
    gc!();
    const m = process.memoryUsage();
    samples.push(`${((m.rss) / 2 ** 20).toFixed(1)}/${(m.heapUsed / 2 ** 20).toFixed(2)}/${(m.arrayBuffers / 2 ** 20).toFixed(2)}`);
  }
  console.log(`  100,000 more steps, every 10,000 (rss/heapUsed/arrayBuffers MiB): ${samples.join('  ')}`);
}

const ds3 = loadDataset(3);
const ds8 = loadDataset(8);
measure('part 3 MLP batch 32, hand-written, compiled', compiledStep(makeMlp3(ds3, 32)));
measure('part 3 MLP batch 32, nn + optim.SGD, compiled', compiledStep(makeMlp3Nn(ds3, 32)));
measure('part 5 WaveNet batch 32, compiled', compiledStep(makeWaveNetModule(ds8, 32)));
measure('part 3 MLP batch 32, hand-written, eager (for comparison)', makeMlp3(ds3, 32));
