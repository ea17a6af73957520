// `import 'ferrograd'` for tensors alone must not load the plotting and drawing dependencies
// (vega, vega-lite, resvg, Graphviz: most of a cold import); they load on first use. A child
// process imports the library with a resolve hook that logs every module it resolves, and the
// CommonJS cache shows whether resvg was required.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const HEAVY = /\/node_modules\/(vega|vega-lite|@resvg\/resvg-js|@hpcc-js\/wasm-graphviz)\//;
const dir = mkdtempSync(join(tmpdir(), 'ferrograd-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.FERROGRAD_RESOLVE_LOG, r.url + '\\n');
  return r;
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

/** Run `code` (an ES module) in a child node with tsx and the logging hook; returns the loaded modules. */
function loadedBy(name: string, code: string): { esm: string[]; cjs: string[]; stdout: string } {
  const log = join(dir, `${name}.log`);
  const script = `${code}
const { createRequire } = await import('node:module');
console.log('CJS ' + JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, FERROGRAD_RESOLVE_LOG: log },
    encoding: 'utf8',
  });
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.status).toBe(0);
  const cjsLine = r.stdout.split('\n').find((l) => l.startsWith('CJS '))!;
  return { esm: readFileSync(log, 'utf8').split('\n').filter(Boolean), cjs: JSON.parse(cjsLine.slice(4)) as string[], stdout: r.stdout };
}

const ENTRY = pathToFileURL(join(ROOT, 'index.ts')).href;

describe("import 'ferrograd'", () => {
  it('loads no plotting or drawing dependency for tensor work', () => {
    const { esm, cjs, stdout } = loadedBy(
      'tensors',
      `const fg = await import(${JSON.stringify(ENTRY)});
console.log('SUM ' + fg.tensor([1, 2, 3]).sum().item());`,
    );
    expect(stdout).toContain('SUM 6');
    expect(esm.some((u) => u.endsWith('/index.ts'))).toBe(true); // the hook saw the import
    expect(esm.filter((u) => HEAVY.test(u))).toEqual([]);
    expect(cjs.filter((p) => HEAVY.test(p))).toEqual([]);
  });

  it('loads them on first use: a chart, a PNG and a Graphviz drawing', () => {
    const { esm, cjs, stdout } = loadedBy(
      'plots',
      `const fg = await import(${JSON.stringify(ENTRY)});
const { vegaLiteToSvg, svgToPng } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/viz/render.ts')).href)});
const svg = await vegaLiteToSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' } } });
const png = svgToPng(svg);
const graph = await fg.micrograd.renderGraph('digraph { a -> b }');
console.log('OUT ' + svg.startsWith('<svg') + ' ' + (png[1] === 0x50) + ' ' + graph.includes('<svg'));`,
    );
    expect(stdout).toContain('OUT true true true');
    const heavy = new Set([...esm, ...cjs].map((u) => HEAVY.exec(u)?.[1]).filter(Boolean));
    expect([...heavy].sort()).toEqual(['@hpcc-js/wasm-graphviz', '@resvg/resvg-js', 'vega', 'vega-lite']);
  });
});
