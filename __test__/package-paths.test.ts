// No machine-specific paths in the repository: the code finds what it needs relative to the
// checkout or through a documented variable, and the docs say so.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, peersDir } from '../bench/peers.js';

const ROOT = resolve(import.meta.dirname, '..');
// Absolute paths that name one machine's layout (home folders, this project's /work tree).
const MACHINE_PATH = /(?<![\w.~-])\/(?:work|home|Users|root)\/[\w.-]+/;
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|json|md|toml|rs|py|sh|ya?ml|txt)$|(^|\/)(run|Dockerfile)$/;

describe('machine-specific paths', () => {
  it('appear in no tracked text file', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const hits: string[] = [];
    for (const f of files) {
      if (!TEXT.test(f) || f === 'package-lock.json') continue;
      let text: string;
      try {
        text = readFileSync(join(ROOT, f), 'utf8');
      } catch {
        continue; // listed in the index but deleted in the work tree
      }
      text.split('\n').forEach((line, i) => {
        const m = MACHINE_PATH.exec(line);
        if (m) hits.push(`${f}:${i + 1}: ${m[0]}`);
      });
    }
    expect(hits).toEqual([]);
  });
});

describe('bench peers directory', () => {
  it('defaults to shared/peers beside the checkout', () => {
    expect(PROJECT_ROOT).toBe(ROOT);
    expect(peersDir({})).toBe(resolve(ROOT, '..', 'shared', 'peers'));
    expect(peersDir({}, '/srv/checkout')).toBe(resolve('/srv/shared/peers'));
  });

  it('follows FERROGRAD_PEERS_DIR, made absolute', () => {
    expect(peersDir({ FERROGRAD_PEERS_DIR: '/opt/peers' })).toBe(resolve('/opt/peers'));
    expect(peersDir({ FERROGRAD_PEERS_DIR: 'rel/peers' })).toBe(resolve('rel/peers'));
  });
});
