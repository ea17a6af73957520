// No engine warnings on Node 20: every package in package-lock.json that npm installs here accepts
// the Node versions ferrograd's own "engines" promises (checked at its lowest 20.x and at this
// Node), as npm's EBADENGINE check would.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const require = createRequire(join(ROOT, 'package.json'));
// semver comes with @napi-rs/cli (a dev dependency), resolved from there so hoisting does not matter.
const semver = createRequire(require.resolve('@napi-rs/cli/package.json'))('semver') as {
  satisfies(v: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
};

interface LockEntry {
  version?: string;
  engines?: { node?: string };
  os?: string[];
  cpu?: string[];
}
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

/** Entries npm installs on this machine (platform packages for other systems are skipped by npm). */
const installedHere = Object.entries(lock.packages).filter(
  ([path, e]) => path !== '' && (!e.os || e.os.includes(process.platform)) && (!e.cpu || e.cpu.includes(process.arch)),
);

describe('engines', () => {
  const lowest = semver.minVersion(own.engines.node)!.version;
  const nodes = [...new Set([lowest, '20.19.0', process.version.slice(1)])];

  it.each(nodes)('every installed package accepts Node %s', (node) => {
    const refusing = installedHere
      .filter(([, e]) => e.engines?.node && !semver.satisfies(node, e.engines.node))
      .map(([path, e]) => `${path.replace(/^.*node_modules\//, '')}@${e.version} wants node ${e.engines!.node}`);
    expect(refusing).toEqual([]);
  });

  it('pins the two dev dependencies that moved to Node 22 through overrides', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { overrides: Record<string, string> };
    expect(Object.keys(pkg.overrides).sort()).toEqual(['@napi-rs/lzma', 'content-type']);
  });
});
