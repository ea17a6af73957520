// scripts/build-native.mjs (`npm run build:native`, run by `npm install` in a clone): without cargo
// it says what to install and fails, unless a prebuilt addon loads; with cargo it runs napi build.
// Each case runs the script from a scratch copy of the repository's layout with a controlled PATH.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { platformPackages } from '../src/backend/native-binding.js';

const ROOT = resolve(import.meta.dirname, '..');
const BUILT = join(ROOT, 'native', 'ferrograd.node');
const scratch = mkdtempSync(join(tmpdir(), 'ferrograd-build-native-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of what the script reads: itself, package.json and npm/<platform>/. */
function fakeRepo(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  cpSync(join(ROOT, 'scripts', 'build-native.mjs'), join(dir, 'scripts', 'build-native.mjs'));
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'npm'), join(dir, 'npm'), { recursive: true });
  return dir;
}

function run(dir: string, path: string, args: string[] = []) {
  return spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs'), ...args], {
    cwd: dir,
    env: { ...process.env, PATH: path },
    encoding: 'utf8',
  });
}

const noCargo = join(scratch, 'empty-bin');
mkdirSync(noCargo, { recursive: true });

describe('build-native without cargo', () => {
  it('fails and says that cargo is needed and how to install it', () => {
    const r = run(fakeRepo('bare'), noCargo);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('needs Rust\'s cargo, and cargo is not on PATH');
    expect(r.stderr).toContain('https://rustup.rs');
    expect(r.stderr).toContain('sh.rustup.rs | sh');
    expect(r.stderr).not.toContain('cargo metadata failed');
  });

  it('succeeds without Rust when a local build is present', () => {
    const dir = fakeRepo('local');
    mkdirSync(join(dir, 'native'));
    cpSync(BUILT, join(dir, 'native', 'ferrograd.node'));
    const r = run(dir, noCargo);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('using the prebuilt native addon native/ferrograd.node');
  });

  it('succeeds without Rust when the platform package of npm/<platform>/ is installed', () => {
    const dir = fakeRepo('package');
    const platform = platformPackages()[0].replace(/^ferrograd-/, '');
    const layout = JSON.parse(readFileSync(join(ROOT, 'npm', platform, 'package.json'), 'utf8')) as { name: string; main: string };
    const pkg = join(dir, 'node_modules', layout.name);
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify(layout));
    cpSync(BUILT, join(pkg, layout.main));
    const r = run(dir, noCargo);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`node_modules/${layout.name}/${layout.main}`);
  });


  it('does not take an addon that fails to load for a prebuilt one', () => {
    const dir = fakeRepo('broken');
    mkdirSync(join(dir, 'native'));
    writeFileSync(join(dir, 'native', 'ferrograd.node'), 'not a shared library');
    const r = run(dir, noCargo);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('https://rustup.rs');
  });
});

/** A fake cargo in a bin folder, and a fake napi CLI that prints its arguments and exits 3. */
function fakeToolchain(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'cargo'), '#!/bin/sh\necho "cargo 1.99.0"\n');
  chmodSync(join(bin, 'cargo'), 0o755);
  const cli = join(dir, 'node_modules', '@napi-rs', 'cli');
  mkdirSync(join(cli, 'dist'), { recursive: true });
  writeFileSync(join(cli, 'package.json'), JSON.stringify({ name: '@napi-rs/cli', bin: { napi: './dist/cli.js' } }));
  writeFileSync(join(cli, 'dist', 'cli.js'), 'console.log("NAPI " + JSON.stringify(process.argv.slice(2))); process.exit(3);\n');
  return bin;
}

describe('build-native in a release job', () => {
  it.each([
    ['without cargo', false],
    ['with cargo', true],
  ])('%s builds nothing once `napi artifacts` put the binary in npm/<platform>/', (_name, cargo) => {
    const dir = fakeRepo(`artifacts-${cargo}`);
    const platform = platformPackages()[0].replace(/^ferrograd-/, '');
    const { main } = JSON.parse(readFileSync(join(ROOT, 'npm', platform, 'package.json'), 'utf8')) as { main: string };
    cpSync(BUILT, join(dir, 'npm', platform, main));
    const r = run(dir, cargo ? fakeToolchain(dir) : noCargo);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`using the prebuilt native addon npm/${platform}/${main}`);
    expect(r.stdout).not.toContain('NAPI');
  });
});

describe('build-native with cargo', () => {
  it("runs napi build from the @napi-rs/cli dev dependency with the project's arguments", () => {
    const dir = fakeRepo('cargo');
    const r = run(dir, fakeToolchain(dir), ['--verbose']);
    const args = JSON.parse(r.stdout.trim().replace(/^NAPI /, '')) as string[];
    expect(args.slice(0, 2)).toEqual(['build', '--release']);
    expect(args).toContain('crates/node/Cargo.toml');
    expect(args.at(-1)).toBe('--verbose');
    expect(r.status).toBe(3); // napi's exit status is passed on
  });
});
