#!/usr/bin/env node
// `npm run build:native` (and so `npm install` in a clone, through `prepare`): build the Rust addon
// into native/ with napi-rs. It checks for cargo first, so a machine without Rust is told what
// to install instead of napi's "cargo metadata failed to run". Where cargo is missing but a
// prebuilt addon loads (native/ferrograd.node, a platform package such as
// ferrograd-linux-x64-gnu, or its binary in npm/<platform>/ after `napi artifacts`), it uses that
// and succeeds, so a release job that downloaded the binaries needs no Rust. Extra arguments go
// to `napi build`.
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

/**
 * Prebuilt binaries for this machine's os and cpu, from the layout in npm/<platform>/: the
 * installed platform package, and the binary placed in npm/<platform>/ by `napi artifacts`.
 */
function platformBinaries() {
  const dir = join(ROOT, 'npm');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'package.json')))
    .map((d) => ({ d, m: JSON.parse(readFileSync(join(dir, d, 'package.json'), 'utf8')) }))
    .filter(({ m }) => (m.os ?? []).includes(process.platform) && (m.cpu ?? []).includes(process.arch))
    .flatMap(({ d, m }) => [m.name, `./npm/${d}/${m.main}`]);
}

/** Where an addon that loads on this machine already is, or null. */
function prebuiltAddon() {
  const require = createRequire(join(ROOT, 'package.json'));
  for (const spec of ['./native/ferrograd.node', ...platformBinaries()]) {
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

if (!hasCargo()) {
  const prebuilt = prebuiltAddon();
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
