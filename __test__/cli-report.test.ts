// The makemore command's report.html, opened in headless Chromium (Debian's `chromium` package;
// CI installs it): what the page shows, read from the DOM Chromium builds and from a screenshot.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { main } from '../src/cli/makemore.js';
import { readWordList } from '../src/cli/words.js';
import { defaultWordsPath } from '../src/makemore/data.js';

const dir = mkdtempSync(join(tmpdir(), 'makemore-report-'));
const o = join(dir, 'out');

function chromium(args: string[]) {
  const r = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`cannot run chromium (apt-get install -y chromium): ${r.error.message}`);
  return r;
}

/** The pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's --screenshot writes). */
function decodePng(buf: Buffer): { width: number; height: number; rgba: (x: number, y: number) => [number, number, number] } {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.subarray(off + 4, off + 8).toString('ascii');
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([data[8], data[12]]).toEqual([8, 0]); // 8 bits per channel, not interlaced
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? px[y * stride + i - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1
        : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      px[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, rgba: (x, y) => [px[y * stride + x * channels], px[y * stride + x * channels + 1], px[y * stride + x * channels + 2]] };
}

beforeAll(async () => {
  const list = join(dir, 'names.txt');
  writeFileSync(list, readWordList(defaultWordsPath()).slice(0, 400).join('\n'));
  const code = await main(['-i', list, '-o', o, '--type', 'mlp', '--n-embd', '8', '--n-embd2', '32', '--max-steps', '90', '--eval-every', '20', '--sample-every', '30', '-l', '3e-3'], {
    out: () => {}, err: (l) => console.error(l), isTTY: false,
  });
  expect(code).toBe(0);
});

describe('report.html in headless Chromium', () => {
  it('the DOM shows the best test loss, one chart point per evaluation, the samples and the config', () => {
    const config = JSON.parse(readFileSync(join(o, 'config.json'), 'utf8'));
    const metrics = readFileSync(join(o, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const evals = metrics.filter((m) => m.kind === 'eval');
    const samples = metrics.filter((m) => m.kind === 'samples');
    const r = chromium(['--dump-dom', `file://${join(o, 'report.html')}`]);
    expect(r.status, r.stderr).toBe(0);
    const dom = r.stdout;
    expect(dom).toContain(`<span id="best-test-loss" class="big">${config.testLoss.toFixed(4)}</span>`);
    expect(dom).toContain(`<span id="best-step">${config.step}</span>`);
    expect(evals.map((e) => e.step)).toEqual([20, 40, 60, 80, 89]);
    expect(dom.match(/<circle class="test-loss-point"/g)).toHaveLength(evals.length);
    expect(dom.match(/<circle class="train-loss-point"/g)).toHaveLength(evals.length);
    expect(dom).toContain('<circle id="best-point"');
    const spans = [...dom.matchAll(/<span class="sample (train|test|new)" title="[^"]*">([^<]*)<\/span>/g)].map((m) => [m[1], m[2]]);
    const expected = samples.flatMap((s) => s.samples.map((w: { where: string; word: string; stopped: boolean }) => [w.where, w.word + (w.stopped ? '' : '…')]));
    expect(spans).toEqual(expected);
    expect(spans).toHaveLength(2 * 10); // steps 30 and 60
    expect(dom).toMatch(/<tr><th>type<\/th><td>mlp<\/td><\/tr>/);
    expect(dom).toMatch(/<tr><th>parameters<\/th><td>[\d,]+<\/td><\/tr>/);
    expect(dom).toMatch(/<table id="timing"><tbody><tr><th>elapsed<\/th><td>[\d.]+ s<\/td>/);
    for (const e of evals) expect(dom).toContain(`<tr><td>${e.step}</td><td>${e.train.toFixed(4)}</td><td>${e.test.toFixed(4)}</td>`);
  });

  it('the screenshot has the chart: the train (blue) and test (orange) curves and the red best-point ring', () => {
    const png = join(dir, 'shot.png');
    const r = chromium(['--window-size=1000,1200', `--screenshot=${png}`, `file://${join(o, 'report.html')}`]);
    expect(r.status, r.stderr).toBe(0);
    const img = decodePng(readFileSync(png));
    expect([img.width, img.height]).toEqual([1000, 1200]);
    const count = (rgb: [number, number, number]) => {
      let n = 0;
      for (let y = 0; y < img.height; y += 1) {
        for (let x = 0; x < img.width; x += 1) {
          const p = img.rgba(x, y);
          if (Math.abs(p[0] - rgb[0]) + Math.abs(p[1] - rgb[1]) + Math.abs(p[2] - rgb[2]) < 40) n++;
        }
      }
      return n;
    };
    expect(count([0x1f, 0x77, 0xb4])).toBeGreaterThan(200); // train curve + legend
    expect(count([0xff, 0x7f, 0x0e])).toBeGreaterThan(200); // test curve + legend
    expect(count([0xd6, 0x27, 0x28])).toBeGreaterThan(20); // best-point ring
    // Most of the page is white background.
    expect(count([255, 255, 255])).toBeGreaterThan(0.5 * img.width * img.height);
  });
});
