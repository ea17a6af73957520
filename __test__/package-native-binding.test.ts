// The addon loader in the napi-rs layout: the local build first, then the per-platform package
// that a published release installs as an optional dependency (so it installs without Rust).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBinding, platformPackages } from '../src/backend/native-binding.js';

const root = mkdtempSync(join(tmpdir(), 'ferrograd-binding-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder with node_modules/<name>/ whose main is `file`, and a require rooted in the folder. */
function fakeInstall(dir: string, name: string, main: string, write: (path: string) => void): NodeJS.Require {
  const pkg = join(root, dir, 'node_modules', name);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version: '0.1.0', main }));
  write(join(pkg, main));
  return createRequire(join(root, dir, 'index.js'));
}

describe('platformPackages', () => {
  it('names the packages as napi create-npm-dirs does', () => {
    expect(platformPackages('linux', 'x64')).toEqual(['ferrograd-linux-x64-gnu', 'ferrograd-linux-x64-musl']);
    expect(platformPackages('linux', 'arm64')).toEqual(['ferrograd-linux-arm64-gnu', 'ferrograd-linux-arm64-musl']);
    expect(platformPackages('darwin', 'arm64')).toEqual(['ferrograd-darwin-arm64']);
    expect(platformPackages('win32', 'x64')).toEqual(['ferrograd-win32-x64-msvc']);
  });

  it('has a folder in npm/ for every platform package of this machine that napi builds', () => {
    const dirs = platformPackages().map((p) => resolve(import.meta.dirname, '..', 'npm', p.replace(/^ferrograd-/, '')));
    expect(dirs.some((d) => existsSync(join(d, 'package.json')))).toBe(true);
  });
});

describe('loadBinding', () => {
  it('falls back to the platform package when there is no local build', () => {
    const req = fakeInstall('a', 'ferrograd-test-x64', 'binding.js', (p) => writeFileSync(p, 'module.exports = { from: "package" };'));
    const found = loadBinding<{ from: string }>(req, ['./missing/ferrograd.node'], ['ferrograd-test-x64']);
    expect(found.addon).toEqual({ from: 'package' });
    expect(found.from).toBe('ferrograd-test-x64');
    expect(found.errors).toHaveLength(1);
    expect(found.errors[0]).toMatch(/^\.\/missing\/ferrograd\.node: Cannot find module/);
  });

  it('prefers the local build over an installed package', () => {
    const req = fakeInstall('b', 'ferrograd-test-x64', 'binding.js', (p) => writeFileSync(p, 'module.exports = { from: "package" };'));
    writeFileSync(join(root, 'b', 'local.js'), 'module.exports = { from: "local" };');
    expect(loadBinding<{ from: string }>(req, ['./local.js'], ['ferrograd-test-x64']).addon).toEqual({ from: 'local' });
  });

  it('loads the real addon from a platform package laid out as npm/<platform>/package.json says', () => {
    const built = resolve(import.meta.dirname, '..', 'native', 'ferrograd.node');
    const [name] = platformPackages();
    const layout = resolve(import.meta.dirname, '..', 'npm', name.replace(/^ferrograd-/, ''), 'package.json');
    const manifest = JSON.parse(readFileSync(layout, 'utf8')) as { name: string; main: string };
    expect(manifest.name).toBe(name);
    const req = fakeInstall('c', name, manifest.main, (p) => copyFileSync(built, p));
    const found = loadBinding<Record<string, unknown>>(req, ['./no-local-build.node']);
    expect(found.from).toBe(name);
    expect(Object.keys(found.addon!).length).toBeGreaterThan(0); // the addon's exports
  });

  it('reports every candidate when none loads', () => {
    const found = loadBinding(createRequire(join(root, 'x.js')), ['./nope.node'], ['ferrograd-nope-x64']);
    expect(found.addon).toBeNull();
    expect(found.errors.map((e) => e.split(':')[0])).toEqual(['./nope.node', 'ferrograd-nope-x64']);
  });
});
