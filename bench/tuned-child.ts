// The part 3 MLP step in a child process whose environment differs from the bench's: glibc's malloc
// tuned as the peers README does for numpy (GLIBC_TUNABLES must be set before the process starts,
// hence the child; without it, glibc hands freed 800 KB tensors back to the kernel and every
// batch-1024 step pays fresh page faults for them), or V8's own ArrayBuffer sweeping kept
// (FERROGRAD_V8_SWEEP=default: see src/backend/v8-sweeping.ts), to show what each setting is worth.
//   parent:  runChildMlp3(results, batch, timing, variant)
//   child:   node --import tsx bench/tuned-child.ts <batch> <timing JSON> <impl>   (prints one JSON row)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mlp3Case } from './cases.js';
import { Results, type Row } from './results.js';
import type { TimingOptions } from './timing.js';

export const MALLOC_TUNING = 'glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=1073741824';
export interface ChildVariant {
  impl: string;
  env: Record<string, string>;
}
export const MALLOC_TUNED: ChildVariant = { impl: 'ferrograd, malloc tuned (GLIBC_TUNABLES as numpy)', env: { GLIBC_TUNABLES: MALLOC_TUNING } };
export const V8_SWEEP_DEFAULT: ChildVariant = {
  impl: "ferrograd, V8's concurrent ArrayBuffer sweeping (FERROGRAD_V8_SWEEP=default)", env: { FERROGRAD_V8_SWEEP: 'default' },
};
const MARK = 'TUNED-ROW ';

export function runChildMlp3(results: Results, batch: number, timing: TimingOptions, variant: ChildVariant): void {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'tuned-child.ts'), String(batch), JSON.stringify(timing), variant.impl];
  const r = spawnSync(process.execPath, args, {
    env: { ...process.env, ...variant.env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(MARK));
  if (r.status !== 0 || !line) {
    const why = r.error?.message ?? ((r.stderr ?? '').trim().split('\n').slice(-3).join(' ') || `exit ${r.status}`);
    throw new Error(`child '${variant.impl}' for batch ${batch} failed: ${why}`);
  }
  for (const l of (r.stdout ?? '').split('\n')) if (l.startsWith('  ')) console.log(l);
  results.add(JSON.parse(line.slice(MARK.length)) as Row);
}

async function child(): Promise<void> {
  const [{ benchTraining }, { loadDataset, makeMlp3 }] = await Promise.all([import('./train.js'), import('./mlp.js')]);
  const batch = Number(process.argv[2]);
  const timing = JSON.parse(process.argv[3] ?? '{}') as TimingOptions;
  const impl = process.argv[4] ?? MALLOC_TUNED.impl;
  const results = new Results();
  const ds = loadDataset(3);
  const row = await benchTraining(results, {
    section: 'mlp3', case: mlp3Case(batch), impl, backend: 'native', threads: 1,
    make: () => makeMlp3(ds, batch), timing,
  });
  if (row === null) throw new Error('no row');
  row.detail = { ...row.detail, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES, FERROGRAD_V8_SWEEP: process.env.FERROGRAD_V8_SWEEP };
  console.log(MARK + JSON.stringify(row));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  child().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
