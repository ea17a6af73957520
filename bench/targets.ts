// Issue 10's speed targets, checked against the rows of this run: each line says the target, the
// figure measured now and whether it is met (and by how much it is missed). The targets compare
// ferrograd with itself (steps/s floors) or with a peer measured in the same run (numpy matmul).
import { matmulCase, mlp3Case } from './cases.js';
import { COMPILED, FERROGRAD, fmtNum, type Results, type Row } from './results.js';

export interface TargetLine {
  target: string;
  measured: string;
  met: boolean | null;
}

const WAVENET = 'part 5 WaveNet (76,579 params), batch 32';

function find(results: Results, section: string, kase: string, impl: (name: string) => boolean): Row | undefined {
  return results.rows.find((r) => r.section === section && r.case === kase && impl(r.impl));
}

function floor(results: Results, section: string, kase: string, impl: string, min: number, what: string): TargetLine {
  const row = find(results, section, kase, (n) => n === impl);
  if (row === undefined) return { target: `${what} ≥ ${min.toLocaleString('en-US')} steps/s`, measured: 'not measured', met: null };
  const met = row.value >= min;
  const by = met ? '' : `, missed by ${((1 - row.value / min) * 100).toFixed(0)}%`;
  return { target: `${what} ≥ ${min.toLocaleString('en-US')} steps/s`, measured: `${fmtNum(row.value)}${by}`, met };
}

/** The target lines of issue 10 that this run has figures for (null `met`: not measured). */
export function checkTargets(results: Results): TargetLine[] {
  const lines: TargetLine[] = [
    floor(results, 'mlp3', mlp3Case(32), COMPILED, 15_000, 'part 3 MLP b32 compiled'),
    floor(results, 'mlp3', mlp3Case(32), FERROGRAD, 10_000, 'part 3 MLP b32 eager'),
    floor(results, 'mlp3', mlp3Case(1024), COMPILED, 1_500, 'part 3 MLP b1024 compiled'),
    floor(results, 'mlp3', mlp3Case(1024), FERROGRAD, 600, 'part 3 MLP b1024 eager'),
    floor(results, 'wavenet', WAVENET, COMPILED, 5_000, 'WaveNet b32 compiled'),
  ];
  const isNumpy = (n: string): boolean => n.startsWith('numpy ') && !n.includes('malloc');
  for (const threads of [1, 2]) {
    const kase = matmulCase(1024, 1024, 1024, threads);
    const ours = find(results, 'matmul', kase, (n) => n === FERROGRAD);
    const np = find(results, 'matmul', kase, isNumpy);
    const target = `matmul 1024³ ${threads} thread${threads > 1 ? 's' : ''} ≥ numpy's GFLOP/s`;
    if (ours === undefined || np === undefined) lines.push({ target, measured: 'not measured', met: null });
    else lines.push({ target, measured: `${fmtNum(ours.value)} vs ${fmtNum(np.value)} (${(ours.value / np.value).toFixed(2)}x)`, met: ours.value >= np.value });
  }
  // The lecture shapes (1 thread): µs per call at or below numpy's, each operand layout against
  // numpy's same layout (a backward shape appears twice: its backward layout and contiguous).
  const small = results.rows.filter((r) => r.section === 'matmul' && r.impl === FERROGRAD && r.case.endsWith(', 1 thread') && !r.case.startsWith('1024x1024 @'));
  let worse = 0;
  let compared = 0;
  const slowest: string[] = [];
  for (const r of small) {
    const np = find(results, 'matmul', r.case, isNumpy);
    if (np?.us === undefined || r.us === undefined) continue;
    compared++;
    if (r.us > np.us) {
      worse++;
      slowest.push(`${r.case.replace(/, 1 thread$/, '').replace(/ \((A\^T|G·B\^T)[^)]*\)/, ' ($1 layout)')} ${fmtNum(r.us)} vs ${fmtNum(np.us)} µs`);
    }
  }
  lines.push({
    target: "matmul lecture shapes (1 thread) ≤ numpy's µs/call",
    measured: compared === 0 ? 'not measured' : `${compared - worse} of ${compared} at or below numpy${worse ? `; slower: ${slowest.join('; ')}` : ''}`,
    met: compared === 0 ? null : worse === 0,
  });
  return lines;
}

export function formatTargets(lines: TargetLine[]): string {
  const w = Math.max(...lines.map((l) => l.target.length));
  return lines.map((l) => `  ${l.met === null ? '  -  ' : l.met ? ' met ' : 'MISSED'}  ${l.target.padEnd(w)}  ${l.measured}`).join('\n');
}
