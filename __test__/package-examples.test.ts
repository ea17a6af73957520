// The examples and the README's snippets read as a user's code: they import the public API,
// 'ferrograd', and nothing a package user cannot reach (no ../src/..., no deep 'ferrograd/...').
// Inside the repository 'ferrograd' resolves to the source (tsconfig.json "paths" for tsc and
// tsx, the alias in vitest.config.ts), so the examples never run a stale dist/.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as fromPackage from 'ferrograd';
import * as fromSource from '../index.js';

const ROOT = resolve(import.meta.dirname, '..');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function specifiers(code: string): string[] {
  return [...code.matchAll(IMPORT)].map((m) => m[1] ?? m[2]!);
}

/** Specifiers a package user could not write: relative paths into the repository, deep imports. */
function unreachable(specs: string[]): string[] {
  return specs.filter((s) => s.startsWith('.') || s.startsWith('/') || s.startsWith('ferrograd/'));
}

describe('examples', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s imports only the public API', (f) => {
    const specs = specifiers(readFileSync(join(ROOT, 'examples', f), 'utf8'));
    expect(specs).toContain('ferrograd');
    expect(unreachable(specs)).toEqual([]);
  });
});

describe('README snippets', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('import only the public API', () => {
    expect(blocks.length).toBeGreaterThan(0);
    const specs = blocks.flatMap(specifiers);
    expect(specs).toContain('ferrograd');
    expect(unreachable(specs)).toEqual([]);
  });
});

describe("'ferrograd' inside the repository", () => {
  it('is the source under vitest', () => {
    expect(fromPackage.Tensor).toBe(fromSource.Tensor);
  });

  it('is the source under tsx, as `npx tsx examples/...` runs it', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "const a = await import('ferrograd'); const b = await import('./index.ts'); console.log('SAME ' + (a.Tensor === b.Tensor));"],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('SAME true');
  });
});
