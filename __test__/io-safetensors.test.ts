// io: safetensors checkpoints. Round trips for every dtype and shape (0-d, empty, non-contiguous
// views), the on-disk layout, metadata, the I64 range check, the error table (each bad file
// crafted byte by byte), and atomic replacement: a writer killed in the middle of a large save
// leaves the previous file intact and loadable, and the next save removes its temporary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Tensor, arange, io, randn, tensor, zeros } from '../index.js';

const ROOT = resolve(import.meta.dirname, '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferrograd-io-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const file = (name: string) => join(dir, name);

/** The raw bytes of a typed array (for bit-exact comparisons, NaN payloads and -0 included). */
const bytes = (t: Tensor) => {
  const a = t.toArray();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
};

/** The JSON header of a file, parsed independently of the code under test. */
function rawHeader(path: string): { json: Record<string, any>; length: number; fileSize: number } {
  const buf = readFileSync(path);
  const length = Number(buf.readBigUInt64LE(0));
  return { json: JSON.parse(buf.subarray(8, 8 + length).toString('utf8')), length, fileSize: buf.length };
}

/** A file made of an 8-byte length (the header's own unless given), a header and data bytes. */
function craft(name: string, header: string | Uint8Array, data: Uint8Array | number = 0, length?: bigint): string {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const d = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(h.length));
  const path = file(name);
  writeFileSync(path, Buffer.concat([prefix, h, d]));
  return path;
}

function int64Bytes(values: bigint[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigInt64LE(v, 8 * i));
  return b;
}

function loadError(path: string): string {
  try {
    io.loadSafetensors(path);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  }
  throw new Error(`loadSafetensors(${path}) did not throw`);
}

describe('round trips', () => {
  it('keeps dtype, shape and every bit of F32, F64 and I32 tensors, 0-d and empty ones included', () => {
    const special = new Float32Array([NaN, -0, Infinity, -Infinity, 1.4e-45, 3.4028235e38, -1.5]);
    const t: Record<string, Tensor> = {
      f32: randn([3, 4, 5]),
      f64: randn([7], { dtype: 'float64' }),
      i32: tensor([[-2147483648, 2147483647, 0], [1, -1, 42]], { dtype: 'int32' }),
      scalar: tensor(3.25),
      scalarInt: tensor(7, { dtype: 'int32' }),
      empty: zeros([0]),
      empty3d: zeros([2, 0, 3], { dtype: 'float64' }),
      emptyInt: zeros([0, 4], { dtype: 'int32' }),
      special: tensor(special, { shape: [7] }),
    };
    const path = file('round.safetensors');
    io.saveSafetensors(path, t);
    const back = io.loadSafetensors(path);
    expect(Object.keys(back).sort()).toEqual(Object.keys(t).sort());
    for (const [k, v] of Object.entries(t)) {
      expect(back[k].dtype, k).toBe(v.dtype);
      expect(back[k].shape, k).toEqual(v.shape);
      expect(bytes(back[k]).equals(bytes(v)), k).toBe(true);
      expect(back[k].requiresGrad, k).toBe(false);
    }
  });

  it('writes non-contiguous views (transposes, steps, expanded and offset views) in row-major order', () => {
    const base = arange(0, 24).view(2, 3, 4);
    const t: Record<string, Tensor> = {
      transposed: base.transpose(0, 2),
      stepped: base.slice(2, 0, 4, 3),
      expanded: tensor([1, 2, 3]).unsqueeze(0).expand(4, 3),
      offset: base.select(0, 1),
      grad: randn([3, 2], { requiresGrad: true }).T,
    };
    for (const v of Object.values(t).slice(0, 3)) expect(v.isContiguous()).toBe(false);
    const path = file('views.safetensors');
    io.saveSafetensors(path, t);
    const back = io.loadSafetensors(path);
    for (const [k, v] of Object.entries(t)) {
      expect(back[k].shape, k).toEqual(v.shape);
      expect(back[k].tolist(), k).toEqual(v.tolist());
    }
  });

  it('lays the file out as the reference serializer does: 8-byte aligned header, tensors by dtype alignment then name', () => {
    const path = file('layout.safetensors');
    io.saveSafetensors(
      path,
      { b: zeros([2]), a: zeros([1], { dtype: 'int32' }), c: zeros([3], { dtype: 'float64' }), 'a.x': zeros([1]), n: tensor(1, { dtype: 'int32' }) },
      { format: 'pt' },
      { intDtype: 'I64' },
    );
    const { json, length, fileSize } = rawHeader(path);
    expect(length % 8).toBe(0);
    expect(Object.keys(json)).toEqual(['__metadata__', 'a', 'n', 'c', 'a.x', 'b']);
    expect(json.a).toEqual({ dtype: 'I64', shape: [1], data_offsets: [0, 8] });
    expect(json.n).toEqual({ dtype: 'I64', shape: [], data_offsets: [8, 16] });
    expect(json.c).toEqual({ dtype: 'F64', shape: [3], data_offsets: [16, 40] });
    expect(json['a.x']).toEqual({ dtype: 'F32', shape: [1], data_offsets: [40, 44] });
    expect(json.b).toEqual({ dtype: 'F32', shape: [2], data_offsets: [44, 52] });
    expect(fileSize).toBe(8 + length + 52);
  });

  it('keeps keys that a plain object would mangle ("__proto__", integer-like, unicode)', () => {
    const path = file('keys.safetensors');
    const t: Record<string, Tensor> = {};
    Object.defineProperty(t, '__proto__', { value: tensor([1]), enumerable: true });
    t['0'] = tensor([2]);
    t['layers.0.weight'] = tensor([3]);
    t['größe→𝔵'] = tensor([4]);
    io.saveSafetensors(path, t);
    const back = io.loadSafetensors(path);
    expect(Object.keys(back).sort()).toEqual(['0', '__proto__', 'größe→𝔵', 'layers.0.weight']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back.__proto__ instanceof Tensor && back.__proto__.tolist()).toEqual([1]);
    expect(back['größe→𝔵'].tolist()).toEqual([4]);
  });

  it('stores metadata strings and reads them back without the tensors', () => {
    const path = file('meta.safetensors');
    const metadata = { format: 'pt', step: '1000', note: 'ünïcödé "quoted" \n newline', '': 'empty key' };
    io.saveSafetensors(path, { w: randn([2, 2]) }, metadata);
    expect(io.readSafetensorsMetadata(path)).toEqual(metadata);
    expect(rawHeader(path).json.__metadata__).toEqual(metadata);
    // No metadata: no __metadata__ entry, and {} on reading, as Python's safe_open gives None.
    const plain = file('plain.safetensors');
    io.saveSafetensors(plain, { w: randn([2]) });
    expect('__metadata__' in rawHeader(plain).json).toBe(false);
    expect(io.readSafetensorsMetadata(plain)).toEqual({});
  });

  it('saves an empty dict as a valid file with no tensors', () => {
    const path = file('none.safetensors');
    io.saveSafetensors(path, {});
    expect(io.loadSafetensors(path)).toEqual({});
    expect(rawHeader(path).json).toEqual({});
  });
});

describe('I64', () => {
  it('loads int64 values that fit as int32, exactly', () => {
    const values = [0n, -1n, 1n, 2147483647n, -2147483648n, 123456789n];
    const header = JSON.stringify({ n: { dtype: 'I64', shape: [2, 3], data_offsets: [0, 48] } });
    const t = io.loadSafetensors(craft('i64.safetensors', header, int64Bytes(values))).n;
    expect(t.dtype).toBe('int32');
    expect(t.shape).toEqual([2, 3]);
    expect(t.tolist()).toEqual([[0, -1, 1], [2147483647, -2147483648, 123456789]]);
  });

  it.each([
    [2147483648n, 2],
    [-2147483649n, 1],
    [4294967296n, 0],
    [-9223372036854775808n, 2],
  ])('refuses %s, naming the tensor, the value and its index', (value, index) => {
    const values = [5n, 6n, 7n];
    values[index] = value;
    const header = JSON.stringify({ num_batches_tracked: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } });
    const path = craft(`i64-range-${index}.safetensors`, header, int64Bytes(values));
    const msg = loadError(path);
    expect(msg).toContain(`loadSafetensors: ${path}: tensor "num_batches_tracked"`);
    expect(msg).toContain(`holds ${value} at flat index ${index}`);
    expect(msg).toContain('[-2147483648, 2147483647]');
  });

  it("writes int32 as I64 when asked, as PyTorch writes BatchNorm's num_batches_tracked", () => {
    const path = file('i64-out.safetensors');
    io.saveSafetensors(path, { n: tensor([-3, 2147483647, -2147483648], { dtype: 'int32' }) }, undefined, { intDtype: 'I64' });
    const buf = readFileSync(path);
    const { json, length } = rawHeader(path);
    expect(json.n.dtype).toBe('I64');
    const data = buf.subarray(8 + length);
    expect([0, 1, 2].map((i) => data.readBigInt64LE(8 * i))).toEqual([-3n, 2147483647n, -2147483648n]);
    expect(io.loadSafetensors(path).n.tolist()).toEqual([-3, 2147483647, -2147483648]);
  });
});

describe('bad files: a clear error naming the file and the fault', () => {
  const f32x6 = (offsets: [number, number]) => JSON.stringify({ w: { dtype: 'F32', shape: [2, 3], data_offsets: offsets } });
  const cases: [string, () => string, RegExp][] = [
    ['empty file', () => (writeFileSync(file('e0.safetensors'), ''), file('e0.safetensors')), /file is 0 bytes, too short for the 8-byte header length/],
    ['truncated length', () => (writeFileSync(file('e1.safetensors'), Buffer.from([1, 2, 3, 4, 5])), file('e1.safetensors')), /file is 5 bytes, too short/],
    ['header length beyond the file', () => craft('e2.safetensors', '{}', 1190, 4294967296n), /header length 4294967296 bytes is larger than the file \(1200 bytes/],
    ['header length one past the end', () => craft('e3.safetensors', '{}', 0, 3n), /header length 3 bytes is larger than the file \(10 bytes/],
    ['invalid JSON', () => craft('e4.safetensors', '{"w": {"dtype": "F32",'), /header is not valid JSON: EOF while parsing/],
    ['JSON syntax error', () => craft('e5.safetensors', '{w: 1}'), /header is not valid JSON: key must be a string/],
    ['header not UTF-8', () => craft('e6.safetensors', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8 \(invalid byte at header offset 1\)/],
    ['header not an object', () => craft('e7.safetensors', '[1, 2]'), /header must be a JSON object, got an array/],
    ['unknown dtype', () => craft('e8.safetensors', JSON.stringify({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }), 4), /tensor "w": unknown variant `F33`/],
    ['dtype the format knows but ferrograd does not load', () => craft('e9.safetensors', JSON.stringify({ w: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }), 4), /tensor "w" has dtype BF16; ferrograd loads F32, F64, I32 and I64/],
    ['negative dimension', () => craft('e10.safetensors', JSON.stringify({ w: { dtype: 'F32', shape: [-2, 3], data_offsets: [0, 24] } }), 24), /tensor "w": invalid value: integer `-2`, expected usize/],
    ['missing field', () => craft('e11.safetensors', JSON.stringify({ w: { dtype: 'F32', shape: [2] } }), 8), /tensor "w": missing field `data_offsets`/],
    ['offsets beyond the data (truncated file)', () => craft('e12.safetensors', f32x6([0, 24]), 16), /file is truncated: the tensors need 24 bytes of data but the file holds 16/],
    ['trailing bytes', () => craft('e13.safetensors', f32x6([0, 24]), 30), /the tensors cover 24 bytes of data but the file holds 30/],
    ['shape and byte length disagree', () => craft('e14.safetensors', f32x6([0, 20]), 20), /tensor "w" of dtype F32 and shape \[2, 3\] needs 24 bytes but its data_offsets \[0, 20\] hold 20/],
    [
      'overlapping offsets',
      () => craft('e15.safetensors', JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), 12),
      /tensor "b" has data_offsets \[4, 12\] that overlap tensor "a" \(which ends at 8\)/,
    ],
    [
      'a gap between tensors',
      () => craft('e16.safetensors', JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [12, 20] } }), 20),
      /tensor "b" has data_offsets \[12, 20\] but tensor "a" ends at 8: the format allows no gaps/,
    ],
    ['offsets that end before they start', () => craft('e17.safetensors', JSON.stringify({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }), 8), /tensor "w" has data_offsets \[8, 0\] that end before they start/],
    ['non-string metadata', () => craft('e18.safetensors', JSON.stringify({ __metadata__: { format: 'pt', epoch: 3 } })), /__metadata__ value of "epoch" must be a string, got a number \(3\)/],
    ['metadata not an object', () => craft('e19.safetensors', JSON.stringify({ __metadata__: ['pt'] })), /__metadata__ must be an object of strings, got an array/],
    [
      'dimension too large for JavaScript',
      () => craft('e20.safetensors', '{"w":{"dtype":"F32","shape":[0,18014398509481984],"data_offsets":[0,0]}}'),
      /tensor "w" has a dimension of 18014398509481984, too large for JavaScript/,
    ],
    ['size overflow', () => craft('e21.safetensors', '{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'), /tensor "w" has shape \[4294967296, 4294967296\], whose size overflows/],
    ['a directory', () => (mkdirSync(file('e22.safetensors'), { recursive: true }), file('e22.safetensors')), /not a regular file \(a directory\)/],
    ['a FIFO (refused, not waited on)', () => (spawnSync('mkfifo', [file('e23.safetensors')]), file('e23.safetensors')), /not a regular file \(a FIFO\)/],
    ['a device', () => '/dev/zero', /not a regular file \(a device\)/],
    ['a missing file', () => file('missing.safetensors'), /ENOENT/],
  ];

  it.each(cases)('%s', (_name, make, pattern) => {
    const path = make();
    const msg = loadError(path);
    expect(msg.startsWith(`loadSafetensors: ${path}: `), msg).toBe(true);
    expect(msg).toMatch(pattern);
  });

  it('refuses a header above the 100 MB cap before reading it (sparse file, nothing allocated)', () => {
    const n = 100_000_008;
    const path = craft('huge-header.safetensors', '', 0, BigInt(n));
    truncateSync(path, 8 + n + 16); // holes: the file claims its size without taking the disk
    const before = process.memoryUsage().arrayBuffers;
    expect(loadError(path)).toMatch(/header length 100000008 bytes is above the 100 MB limit of the format/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(50_000_000);
  });

  it('readSafetensorsMetadata reports the same faults', () => {
    const path = file('e18.safetensors');
    expect(() => io.readSafetensorsMetadata(path)).toThrow(`readSafetensorsMetadata: ${path}: __metadata__ value of "epoch" must be a string`);
  });

  it('still loads good files after all the refusals', () => {
    const path = file('after.safetensors');
    io.saveSafetensors(path, { w: tensor([1, 2, 3]) });
    expect(io.loadSafetensors(path).w.tolist()).toEqual([1, 2, 3]);
  });
});

describe('bad arguments to saveSafetensors', () => {
  const ok = { w: tensor([1]) };
  it.each([
    ['a non-string metadata value', () => io.saveSafetensors(file('s.safetensors'), ok, { epoch: 3 as unknown as string }), /saveSafetensors: metadata\["epoch"\] must be a string \(the format stores only strings\), got number 3/],
    ['a tensor named __metadata__', () => io.saveSafetensors(file('s.safetensors'), { __metadata__: tensor([1]) }), /"__metadata__" is reserved by the format/],
    ['a value that is not a Tensor', () => io.saveSafetensors(file('s.safetensors'), { w: [1, 2] as unknown as Tensor }), /saveSafetensors: tensors\["w"\] is not a Tensor \(got an array\)/],
    ['a Tensor instead of a dict', () => io.saveSafetensors(file('s.safetensors'), tensor([1]) as unknown as Record<string, Tensor>), /tensors must be an object of named Tensors.*got a Tensor of shape \[1\]/],
    ['a lone surrogate in a name', () => io.saveSafetensors(file('s.safetensors'), { 'w\uD800': tensor([1]) }), /tensor name "w\\ud800" contains a lone UTF-16 surrogate/],
    ['an unknown intDtype', () => io.saveSafetensors(file('s.safetensors'), ok, undefined, { intDtype: 'I16' as 'I32' }), /intDtype must be 'I32' or 'I64', got the string "I16"/],
    ['an empty path', () => io.saveSafetensors('', ok), /saveSafetensors: path must be a non-empty string/],
  ])('%s', (_name, fn, pattern) => {
    expect(fn).toThrow(pattern);
    expect(existsSync(file('s.safetensors'))).toBe(false);
  });

  it('a failed write (missing folder, or a folder in the way) leaves no temporary file and the old target untouched', () => {
    expect(() => io.saveSafetensors(join(dir, 'no-such-dir', 'x.safetensors'), ok)).toThrow(/saveSafetensors: .*no-such-dir.*ENOENT/);
    const sub = mkdtempSync(join(dir, 'blocked-'));
    mkdirSync(join(sub, 'target.safetensors', 'inner'), { recursive: true });
    expect(() => io.saveSafetensors(join(sub, 'target.safetensors'), ok)).toThrow(/saveSafetensors: .*target\.safetensors/);
    expect(readdirSync(sub)).toEqual(['target.safetensors']);
    expect(readdirSync(join(sub, 'target.safetensors'))).toEqual(['inner']);
  });

  it('a successful save replaces the file and leaves nothing else in the folder', () => {
    const sub = mkdtempSync(join(dir, 'clean-'));
    const path = join(sub, 'model.safetensors');
    io.saveSafetensors(path, { w: tensor([1, 2]) });
    io.saveSafetensors(path, { v: tensor([3]) });
    expect(readdirSync(sub)).toEqual(['model.safetensors']);
    expect(Object.keys(io.loadSafetensors(path))).toEqual(['v']);
  });
});

describe('atomic replacement', () => {
  // The child saves a 200 MB checkpoint again and again, each version k holding (i mod 4096) + k
  // and metadata version=k; it prints "writing k" before each save and "saved k" after it.
  const CHILD = `
import { saveSafetensors } from ${JSON.stringify(join(ROOT, 'src/io/index.ts'))};
import { Tensor } from ${JSON.stringify(join(ROOT, 'src/tensor/tensor.ts'))};
const [path, count] = [process.argv[2], Number(process.argv[3])];
for (let k = 1; ; k++) {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = (i % 4096) + k;
  process.stdout.write('writing ' + k + '\\n');
  saveSafetensors(path, { big: new Tensor(a, [count / 1000, 1000]), tag: new Tensor(new Int32Array([k]), []) }, { version: String(k) });
  process.stdout.write('saved ' + k + '\\n');
}
`;

  it('a writer killed in the middle of a 200 MB save leaves the previous version intact and loadable', async () => {
    const sub = mkdtempSync(join(dir, 'kill-'));
    const script = join(sub, 'writer.mts');
    writeFileSync(script, CHILD);
    const target = join(sub, 'ckpt.safetensors');
    const count = 50_000_000; // 200 MB of float32
    const child = spawn(process.execPath, ['--import', 'tsx', script, target, String(count)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<void>((res) => child.on('close', () => res()));
    const isTemp = (n: string) => n.startsWith('.ckpt.safetensors.') && n.endsWith('.tmp');
    // A file in the folder (the temporary one, or the target itself for a writer that wrote in
    // place) that holds part of a checkpoint: more than 1 MB, less than the 200 MB of data.
    const partialFileExists = () =>
      readdirSync(sub).some((n) => {
        if (n === 'writer.mts') return false;
        try {
          const size = statSync(join(sub, n)).size;
          return size > 1 << 20 && size < 4 * count;
        } catch {
          return false; // renamed between readdir and stat
        }
      });

    // Once version 1 is complete and the save of version 2 has begun, kill the writer as soon as
    // a checkpoint is half-written.
    let killedMidWrite = false;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (out.includes('writing 2\n') && partialFileExists()) {
        killedMidWrite = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await exited;
    expect(killedMidWrite, `never saw a half-written checkpoint; writer output: ${out} ${err}`).toBe(true);
    expect(child.signalCode).toBe('SIGKILL');

    // The target is the last complete version, bit for bit.
    const saved = [...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
    const k = saved[saved.length - 1];
    expect(io.readSafetensorsMetadata(target)).toEqual({ version: String(k) });
    const back = io.loadSafetensors(target);
    expect(back.tag.item()).toBe(k);
    expect(back.big.shape).toEqual([count / 1000, 1000]);
    const data = back.big.flat();
    let wrong = 0;
    for (let i = 0; i < count; i++) if (data[i] !== (i % 4096) + k) wrong++;
    expect(wrong).toBe(0);

    // The kill did land mid-write: the interrupted save left its partial temporary file, which
    // is not a loadable checkpoint.
    const leftovers = readdirSync(sub).filter(isTemp);
    expect(leftovers.length).toBe(1);
    expect(statSync(join(sub, leftovers[0])).size).toBeLessThan(statSync(target).size);
    expect(() => io.loadSafetensors(join(sub, leftovers[0]))).toThrow(/loadSafetensors: /);

    // The next save of that target removes the dead writer's temporary, and only that one: a
    // live process's temporary and another file's stay.
    const live = `.ckpt.safetensors.${process.ppid}.0123456789ab.tmp`;
    const other = `.other.safetensors.${child.pid}.0123456789ab.tmp`;
    writeFileSync(join(sub, live), 'x');
    writeFileSync(join(sub, other), 'x');
    io.saveSafetensors(target, { tag: tensor([1], { dtype: 'int32' }) });
    expect(readdirSync(sub).filter(isTemp)).toEqual([live]);
    expect(existsSync(join(sub, other))).toBe(true);
  }, 30_000);
});
