// require('ferrograd') from CommonJS: through package.json "exports", Node.js versions that can
// require() an ES module (20.19+, 22.12+: the "module-sync" condition) get the ES module itself;
// older ones (simulated with --no-experimental-require-module) get index.cjs, whose error says to
// use import(). The package is installed into a temporary node_modules with its real
// package.json and index.cjs and a stand-in dist/index.js (the real one is a build product).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const app = mkdtempSync(join(tmpdir(), 'ferrograd-cjs-'));
afterAll(() => rmSync(app, { recursive: true, force: true }));

const pkg = join(app, 'node_modules', 'ferrograd');
mkdirSync(join(pkg, 'dist'), { recursive: true });
copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
copyFileSync(join(ROOT, 'index.cjs'), join(pkg, 'index.cjs'));
writeFileSync(join(pkg, 'dist', 'index.js'), "export const entry = 'dist/index.js';\n");
writeFileSync(join(app, 'main.cjs'), "const fg = require('ferrograd'); console.log('ENTRY ' + fg.entry);\n");
writeFileSync(join(app, 'main.mjs'), "const fg = await import('ferrograd'); console.log('ENTRY ' + fg.entry);\n");
writeFileSync(
  join(app, 'dynamic.cjs'),
  "import('ferrograd').then((fg) => console.log('ENTRY ' + fg.entry));\n",
);

function run(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8' });
}

describe("require('ferrograd')", () => {
  it('loads the ES module where Node.js can require() one', () => {
    const r = run(['main.cjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ENTRY dist/index.js');
  });

  it('fails with a message that says to use import() where it cannot', () => {
    const r = run(['--no-experimental-require-module', 'main.cjs']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('ferrograd is an ES module and this Node.js');
    expect(r.stderr).toContain("await import('ferrograd')");
    expect(r.stderr).not.toContain('No "exports" main defined');
  });

  it("keeps import() and import working from both module systems", () => {
    for (const args of [['main.mjs'], ['dynamic.cjs'], ['--no-experimental-require-module', 'dynamic.cjs']]) {
      const r = run(args);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('ENTRY dist/index.js');
    }
  });
});
