// One copy of each text: the README is the only home of its sections (no docs/**/README-section*
// copies that drift), docs hold no patches against old code, and every relative link or image in
// the README and docs/ points to a file that exists.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const docs = walk(join(ROOT, 'docs')).map((p) => relative(ROOT, p));

describe('docs', () => {
  it('keep no copies of README sections', () => {
    expect(docs.filter((p) => /README/i.test(p))).toEqual([]);
  });

  it('keep no patches', () => {
    expect(docs.filter((p) => /\.(diff|patch)$/.test(p))).toEqual([]);
  });

  it.each(['README.md', ...docs.filter((p) => p.endsWith('.md'))])('%s links only to files that exist', (md) => {
    const text = readFileSync(join(ROOT, md), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:|^#/.test(t));
    const missing = targets.filter((t) => !existsSync(resolve(ROOT, dirname(md), t.split('#')[0]!)));
    expect(missing).toEqual([]);
  });
});
