#!/usr/bin/env node
// `npm run build:native` (and so `npm install` in a clone, through `prepare`): build the Rust addon
// into native/ with napi-rs. It checks for cargo first, so a machine without Rust is told what
// to install instead of napi's "cargo metadata failed to run". Where cargo is missing but a
// prebuilt addon loads (native/ferrograd.node, or an installed platform package such as
// ferrograd-linux-x64-gnu), it uses that and succeeds. In a release job, where `napi artifacts`
// has put the binaries into npm/<platform>/, it builds nothing (with or without cargo): the main
// package then carries no binary of its own. Extra arguments go to `napi build`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAPI_ARGS = [
  'build', '--release',
  '--manifest-path', 'crates/node/Cargo.toml',
  '--package-json-path', 'package.json',
  '--output-dir', 'native',
  '--no-js', '--no-dts-header',
];

const RUSTUP_HELP = `ferrograd: building the native addon needs Rust's cargo, and cargo is not on PATH.
  Install Rust with rustup (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
  (on Windows run rustup-init.exe from https://rustup.rs), open a new shell so that cargo is on
  PATH (~/.cargo/bin), and run \`npm run build:native\` (or \`npm install\`) again.
  A published release of ferrograd needs no Rust: npm installs its prebuilt binary
  (the ferrograd-<platform> package) instead.`;

function hasCargo() {
  const r = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

/** The platform packages of npm/<platform>/ that match this machine's os and cpu. */
function platformLayouts() {
  const dir = join(ROOT, 'npm');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'package.json')))
    .map((d) => ({ dir: d, manifest: JSON.parse(readFileSync(join(dir, d, 'package.json'), 'utf8')) }))
    .filter(({ manifest: m }) => (m.os ?? []).includes(process.platform) && (m.cpu ?? []).includes(process.arch));
}

/** The first of `specs` (paths relative to the repository, or package names) that loads here, or null. */
function firstLoadable(specs) {
  const require = createRequire(join(ROOT, 'package.json'));
  for (const spec of specs) {
    try {
      const path = require.resolve(spec);
      require(path);
      return relative(ROOT, path) || path;
    } catch {
      // not there, or built for another platform: try the next one
    }
  }
  return null;
}

// A release job: `napi artifacts` put this platform's binary into npm/<platform>/, and that is
// what gets published; a second copy built into native/ would only bloat the main package.
const released = firstLoadable(platformLayouts().map(({ dir, manifest }) => `./npm/${dir}/${manifest.main}`));
if (released !== null) {
  console.log(`ferrograd: using the prebuilt native addon ${released} (release layout; no Rust build).`);
  process.exit(0);
}

if (!hasCargo()) {
  const prebuilt = firstLoadable(['./native/ferrograd.node', ...platformLayouts().map(({ manifest }) => manifest.name)]);
  if (prebuilt === null) {
    console.error(RUSTUP_HELP);
    process.exit(1);
  }
  console.log(`ferrograd: cargo is not on PATH; using the prebuilt native addon ${prebuilt} (no Rust build).`);
  process.exit(0);
}

// The napi command of the @napi-rs/cli dev dependency, found through its package.json "bin".
const napiManifest = createRequire(join(ROOT, 'package.json')).resolve('@napi-rs/cli/package.json');
const napiCli = join(dirname(napiManifest), JSON.parse(readFileSync(napiManifest, 'utf8')).bin.napi);
const r = spawnSync(process.execPath, [napiCli, ...NAPI_ARGS, ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
if (r.error) {
  console.error(`ferrograd: could not run napi build: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
