// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by where the
// code lives (ferrograd's source folders, the native addon, GC, node internals).
//   npx tsx bench/cpuprofile.ts <file.cpuprofile> [--top 30]
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives. */
function category(f: CallFrame): string {
  const name = f.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native (program)';
  if (name === '(root)') return 'root';
  const m = /\/(src\/[a-z-]+|bench|index\.ts)/.exec(f.url);
  if (m) return m[1];
  if (f.url.startsWith('node:')) return 'node internals';
  if (f.url === '') return 'native builtins / addon';
  if (f.url.includes('node_modules')) return 'node_modules';
  return 'other';
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: npx tsx bench/cpuprofile.ts <file.cpuprofile> [--top N]');
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args[ti + 1]) : 30;
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byCat = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(src|bench)\//, '$1/').replace(/^file:\/\/.*\//, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const c = category(f);
    byCat.set(c, (byCat.get(c) ?? 0) + us);
  }
  const busy = total - (byCat.get('idle') ?? 0);
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy, ${p.samples.length} samples`);
  console.log('self time by location (share of busy time):');
  for (const [c, us] of [...byCat].sort((a, b) => b[1] - a[1])) {
    if (c === 'idle') continue;
    console.log(`  ${c.padEnd(26)} ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms`);
  }
  console.log(`top ${top} functions by self time:`);
  for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
}

main();
