// Fuzz test of the native boundary: 12,000 seeded random calls across every export of the addon,
// most of them broken on purpose (see native-fuzz.child.ts for what is tried). The calls run in a
// child process: a crash there (segfault, abort) would otherwise take the vitest worker down with
// it and look like a missing result rather than a failure. Here it is an exit by signal, which
// the test reports. Needs the addon built (`npm run build:native`).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { native, nativeAvailable } from '../src/backend/native.js';

const CHILD = fileURLToPath(new URL('./native-fuzz.child.ts', import.meta.url));

interface Report {
  calls: number;
  broken: number;
  checked: number;
  perExport: Record<string, { calls: number; errors: number }>;
  failures: string[];
  error?: string;
}

function fuzz(calls: number, seed: number): Report {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, String(calls), String(seed)], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 1 << 24,
  });
  expect(r.error, 'the fuzz child could not run').toBeUndefined();
  // A crash inside the addon ends the child by a signal (SIGSEGV, SIGABRT) or a non-zero status.
  expect(r.signal, `the fuzz child was killed by ${r.signal}; stderr:\n${r.stderr}`).toBeNull();
  expect(r.status, `the fuzz child exited with ${r.status}; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
}

describe('native boundary fuzz', () => {
  it('12,000 random calls: no crash, every error a named JS Error, no write outside an array, later valid calls right', () => {
    expect(nativeAvailable(), 'native addon not built: run `npm run build:native` first').toBe(true);
    // Every export the addon has, so a new kernel without a generator in the child fails here.
    const EXPORTS = [...Object.keys(native.kernels), 'debugPanic', 'tapeCreate', 'tapeReplace', 'tapeRun'];
    const rep = fuzz(12_000, 20261201);
    expect(rep.error).toBeUndefined();
    const missing = EXPORTS.filter((name) => !(name in rep.perExport));
    expect(missing, `native-fuzz.child.ts has no generator for ${missing.join(', ')}: add one to its \`gen\` table`).toEqual([]);
    expect(rep.failures).toEqual([]);
    expect(rep.calls).toBeGreaterThanOrEqual(10_000);
    // Every export was called many times, and the broken calls did get refused.
    expect(Object.keys(rep.perExport).sort()).toEqual([...EXPORTS].sort());
    for (const name of EXPORTS) {
      expect(rep.perExport[name].calls, name).toBeGreaterThanOrEqual(200);
      if (name !== 'getNumThreads') expect(rep.perExport[name].errors, name).toBeGreaterThan(50);
    }
    // After each broken call one valid call was checked against the reference backend.
    expect(rep.checked).toBe(rep.broken);
    expect(rep.broken).toBeGreaterThan(3000);
  });
});
