// ferrograd <-> Python's `safetensors` package (the reader PyTorch users have), without torch:
// files ferrograd writes are read by safetensors.numpy.load_file / safe_open with the same keys,
// dtypes, shapes, bytes and metadata, and re-serialized by the reference writer into the very same
// bytes; files the reference writer makes load into ferrograd with the same values.
//
// Needs python3 with `safetensors` and `numpy` (.ci/run pip-installs them). If they are missing
// the test fails with a message saying so: interop that was not checked is not a pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, io, manualSeed, nn, randn, tensor, zeros } from '../index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferrograd-py-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function python(script: string, args: string[]): any {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) {
    throw new Error(`python3 could not be run (${r.error.message}); this test needs Python 3 with \`pip install safetensors numpy\` (.ci/run installs them)`);
  }
  if (r.status !== 0) {
    const hint = /ModuleNotFoundError/.test(r.stderr) ? ' -- install the packages: python3 -m pip install safetensors numpy' : '';
    throw new Error(`python3 exited with ${r.status}${hint}\n${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

// Reads each file with the reference reader; prints keys (file order), dtypes, shapes, raw bytes
// (hex, so NaN payloads and -0 compare exactly) and metadata; re-serializes each file to
// FILE.py with the reference writer.
const READ_BACK = `
import json, sys
from safetensors import safe_open
from safetensors.numpy import load_file, save_file
out = {}
for path in sys.argv[1:]:
    tensors = load_file(path)
    with safe_open(path, "np") as f:
        meta = f.metadata()
        keys = list(f.keys())
    out[path] = {
        "metadata": meta,
        "keys": keys,
        "tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "hex": v.tobytes().hex()} for k, v in tensors.items()},
    }
    save_file(tensors, path + ".py", metadata=meta)
print(json.dumps(out))
`;

const NUMPY_DTYPE: Record<string, string> = { float32: 'float32', float64: 'float64', int32: 'int32' };

/** The little-endian bytes ferrograd must have written for t (int64 when asked), as hex. */
function expectedHex(t: Tensor, int64 = false): string {
  const a = t.toArray();
  if (int64 && t.dtype === 'int32') {
    const b = Buffer.alloc(8 * a.length);
    a.forEach((v, i) => b.writeBigInt64LE(BigInt(v), 8 * i));
    return b.toString('hex');
  }
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

function checkReadBack(seen: any, written: Record<string, Tensor>, opts: { int64?: boolean; metadata?: Record<string, string> | null } = {}): void {
  expect(Object.keys(seen.tensors).sort()).toEqual(Object.keys(written).sort());
  for (const [k, t] of Object.entries(written)) {
    const want = opts.int64 && t.dtype === 'int32' ? 'int64' : NUMPY_DTYPE[t.dtype];
    expect(seen.tensors[k], k).toEqual({ dtype: want, shape: [...t.shape], hex: expectedHex(t, opts.int64) });
  }
  expect(seen.metadata).toEqual(opts.metadata ?? null);
}

describe('ferrograd writes, Python reads', () => {
  it('every dtype, 0-d and empty tensors, non-contiguous views, metadata; re-serialized to the same bytes', () => {
    const special = tensor(new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, -3.4028235e38]), { shape: [2, 3] });
    const tensors: Record<string, Tensor> = {
      weight: randn([4, 3]),
      'layers.0.bias': randn([5], { dtype: 'float64' }),
      counts: tensor([[-2147483648, 2147483647], [0, -7]], { dtype: 'int32' }),
      scalar: tensor(2.5),
      step: tensor(12, { dtype: 'int32' }),
      empty: zeros([0, 3]),
      transposed: randn([3, 4]).T,
      special,
      'ünï→𝔵': tensor([1, 2]),
    };
    const one = join(dir, 'all.safetensors');
    io.saveSafetensors(one, tensors, { format: 'pt' });
    const many = join(dir, 'meta.safetensors');
    const metadata = { format: 'pt', note: 'ünïcödé "q" \n', epoch: '3', '': 'empty key' };
    io.saveSafetensors(many, tensors, metadata);
    const int64 = join(dir, 'int64.safetensors');
    io.saveSafetensors(int64, tensors, null, { intDtype: 'I64' });

    const seen = python(READ_BACK, [one, many, int64]);
    checkReadBack(seen[one], tensors, { metadata: { format: 'pt' } });
    checkReadBack(seen[many], tensors, { metadata });
    checkReadBack(seen[int64], tensors, { int64: true });
    // The reference writer, given what it read, produces byte-identical files (with metadata of
    // one key: it keeps metadata in a hash map, so several keys come out in arbitrary order).
    expect(readFileSync(`${one}.py`).equals(readFileSync(one))).toBe(true);
    expect(readFileSync(`${int64}.py`).equals(readFileSync(int64))).toBe(true);
    expect(io.readSafetensorsMetadata(`${many}.py`)).toEqual(metadata);
  });

  it("a module's stateDict: torch's keys in file order, int64 num_batches_tracked when asked", () => {
    manualSeed(42);
    const model = new nn.Sequential(
      new nn.Embedding(27, 10),
      new nn.Flatten(),
      new nn.Linear(30, 20, { bias: false }),
      new nn.BatchNorm1d(20),
      new nn.Tanh(),
      new nn.Linear(20, 27),
    );
    model.train();
    model.forward(tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 1]], { dtype: 'int32' }));
    const sd = model.stateDict();
    const path = join(dir, 'model.safetensors');
    io.saveSafetensors(path, sd, { format: 'pt' }, { intDtype: 'I64' });
    const seen = python(READ_BACK, [path])[path];
    checkReadBack(seen, sd, { int64: true, metadata: { format: 'pt' } });
    // The reference layout: int64 first, then float32, each by name (safe_open lists keys sorted,
    // so the file order is read from the header's offsets).
    const buf = readFileSync(path);
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
    delete header.__metadata__;
    const fileOrder = Object.entries<any>(header).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]).map(([k]) => k);
    expect(fileOrder).toEqual(['3.num_batches_tracked', '0.weight', '2.weight', '3.bias', '3.running_mean', '3.running_var', '3.weight', '5.bias', '5.weight']);
    expect(seen.keys).toEqual([...fileOrder].sort());
    expect(seen.tensors['3.num_batches_tracked']).toEqual({ dtype: 'int64', shape: [], hex: '0100000000000000' });
  });
});

describe('Python writes, ferrograd reads', () => {
  // numpy arrays of every dtype ferrograd loads (int64 within int32's range), written by the
  // reference writer; prints their bytes as hex and an F16 file ferrograd must refuse clearly.
  // (Only C-ordered arrays: safetensors 0.8's numpy writer stores a Fortran-ordered array in its
  // memory order under a C-order header, so not even Python reads it back right.)
  const WRITE = `
import json, sys
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(7)
t = {
    "f32": rng.standard_normal((3, 4)).astype(np.float32),
    "f64": rng.standard_normal((2, 2, 2)),
    "i32": np.array([[-2**31, 2**31 - 1, 5]], dtype=np.int32),
    "i64": np.array([-2**31, 2**31 - 1, 0, 123], dtype=np.int64),
    "scalar": np.array(1.5, dtype=np.float32),
    "empty": np.zeros((0, 2), dtype=np.float64),
}
save_file(t, sys.argv[1], metadata={"source": "numpy"})
save_file({"half": np.ones(3, dtype=np.float16)}, sys.argv[2])
print(json.dumps({k: {"dtype": str(v.dtype), "shape": list(v.shape), "hex": np.ascontiguousarray(v).tobytes().hex()} for k, v in t.items()}))
`;

  it('loads every dtype with the same shapes and bits (I64 as int32), and refuses F16 by name', () => {
    const path = join(dir, 'numpy.safetensors');
    const half = join(dir, 'half.safetensors');
    const want = python(WRITE, [path, half]);
    const got = io.loadSafetensors(path);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries<any>(want)) {
      const t = got[k];
      expect(t.shape, k).toEqual(w.shape);
      expect(t.dtype, k).toBe(w.dtype === 'int64' ? 'int32' : w.dtype);
      expect(expectedHex(t, w.dtype === 'int64'), k).toBe(w.hex);
    }
    expect(io.readSafetensorsMetadata(path)).toEqual({ source: 'numpy' });
    expect(() => io.loadSafetensors(half)).toThrow(`loadSafetensors: ${half}: tensor "half" has dtype F16; ferrograd loads F32, F64, I32 and I64`);
  });
});
