// PyTorch -> ferrograd: state dicts that torch wrote with safetensors.torch.save_file
// (scripts/fixtures/torch_modules.py, run by hand where torch is installed) load into the same
// ferrograd modules, which then give torch's outputs on torch's input, in eval and train mode,
// update BatchNorm's running statistics as torch did, and backpropagate torch's gradients.
// ferrograd -> PyTorch: the state dicts ferrograd writes back have exactly the keys, shapes and
// dtypes of torch's own files, so torch's load_state_dict(strict=True) takes them (checked with
// torch itself by `torch_modules.py --check`; CI does not need torch).
//
// Tolerance |ferrograd - torch| <= 1e-6 + 2e-6·|torch|: float32 results agree to a few ulps, not
// bit for bit, because the two libraries sum in different orders (matmul blocking, mean/variance
// reductions) and use different tanh/erf/exp approximations. Measured worst case over all
// outputs and gradients: 7.8e-7 absolute (values up to ~5). The absolute part is needed because
// values near zero come out of cancellation (BatchNorm's centring, GELU of negative inputs),
// where relative error means nothing. Copied values (state dicts, num_batches_tracked) are exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Tensor, arange, io, nn } from '../index.js';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/torch-modules');
const RTOL = 2e-6;
const ATOL = 1e-6;

type Module = InstanceType<typeof nn.Module>;

/** The same architectures as MODULES in torch_modules.py. */
const MODULES: Record<string, () => Module> = {
  linear: () => new nn.Linear(3, 4),
  linear_nobias: () => new nn.Linear(3, 4, { bias: false }),
  embedding: () => new nn.Embedding(10, 4),
  batchnorm1d_2d: () => new nn.BatchNorm1d(4),
  batchnorm1d_3d: () => new nn.BatchNorm1d(3),
  layernorm: () => new nn.LayerNorm(5),
  conv1d: () => new nn.Conv1d(2, 3, 3, { dilation: 2, padding: 2 }),
  gelu: () => new nn.GELU(),
  gelu_tanh: () => new nn.GELU({ approximate: 'tanh' }),
  mlp: () => new nn.Sequential(new nn.Linear(3, 8), new nn.Tanh(), new nn.Linear(8, 2)),
  embed_mlp: () =>
    new nn.Sequential(
      new nn.Embedding(27, 10),
      new nn.Flatten(),
      new nn.Linear(30, 20, { bias: false }),
      new nn.BatchNorm1d(20),
      new nn.Tanh(),
      new nn.Linear(20, 27),
    ),
};

/** The largest deviation in units of the tolerance (<= 1 passes), and where it is. */
function closeness(actual: Tensor, expected: Tensor): { worst: number; at: number; a: number; e: number } {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.toArray();
  const e = expected.toArray();
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const r = Math.abs(a[i] - e[i]) / (ATOL + RTOL * Math.abs(e[i]));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  return { worst, at, a: a[at], e: e[at] };
}

function expectClose(what: string, actual: Tensor, expected: Tensor): void {
  const c = closeness(actual, expected);
  expect(c.worst, `${what}: element ${c.at} is ${c.a}, torch has ${c.e}`).toBeLessThanOrEqual(1);
}

/** torch_modules.py's loss_of: a fixed, non-symmetric scalar of the output. */
function lossOf(out: Tensor): Tensor {
  const n = out.numel();
  const w = arange(0, n).div(n).sub(0.3).view(out.shape as number[]);
  return out.mul(w).sum().add(out.square().mean());
}

/** The JSON header of a file as { key: [dtype, shape] }, read without the code under test. */
function headerLayout(path: string): Record<string, [string, number[]]> {
  const buf = readFileSync(path);
  const json = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
  delete json.__metadata__;
  return Object.fromEntries(Object.entries(json).map(([k, v]: [string, any]) => [k, [v.dtype, v.shape]]));
}

let outDir: string;
beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'ferrograd-interop-'));
});
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe.each(Object.keys(MODULES))('%s', (name) => {
  const stateFile = join(FIXTURES, `${name}.safetensors`);

  it("loads torch's state dict strictly and gives torch's outputs, running stats and gradients", () => {
    const torchState = io.loadSafetensors(stateFile);
    const m = MODULES[name]();
    expect(m.loadStateDict(torchState)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const mine = m.stateDict();
    expect(Object.keys(mine).sort()).toEqual(Object.keys(torchState).sort());
    for (const [k, v] of Object.entries(torchState)) expect(mine[k].tolist(), k).toEqual(v.tolist());

    const fx = io.loadSafetensors(join(FIXTURES, `${name}.io.safetensors`));
    const x = fx.x.dtype === 'int32' ? fx.x : fx.x.detach().requiresGrad_(fx['grad.x'] !== undefined);
    let out: Tensor;
    if (fx.out_eval !== undefined) {
      m.eval();
      expectClose('out_eval', m.forward(x) as Tensor, fx.out_eval);
      m.train();
      out = m.forward(x) as Tensor;
      expectClose('out_train', out, fx.out_train);
      const after = m.stateDict();
      for (const key of Object.keys(fx).filter((k) => k.startsWith('after.'))) {
        const k = key.slice('after.'.length);
        if (k.endsWith('num_batches_tracked')) expect(after[k].item(), k).toBe(fx[key].item());
        else expectClose(k, after[k], fx[key]);
      }
    } else {
      m.eval();
      out = m.forward(x) as Tensor;
      expectClose('out', out, fx.out);
    }

    const gradKeys = Object.keys(fx).filter((k) => k.startsWith('grad.'));
    if (gradKeys.length > 0) {
      lossOf(out).backward();
      const params = Object.fromEntries(m.namedParameters());
      for (const key of gradKeys) {
        const k = key.slice('grad.'.length);
        const g = k === 'x' ? x.grad : params[k].grad;
        expect(g, key).not.toBeNull();
        expectClose(key, g!, fx[key]);
      }
      expect(gradKeys.length).toBe(Object.keys(params).length + (fx['grad.x'] ? 1 : 0));
    }
  });

  it("writes a state dict with torch's keys, shapes and dtypes (num_batches_tracked as I64 when asked)", () => {
    const m = MODULES[name]();
    m.loadStateDict(io.loadSafetensors(stateFile));
    const path = join(outDir, `${name}.safetensors`);
    io.saveSafetensors(path, m.stateDict(), { module: name }, { intDtype: 'I64' });
    expect(headerLayout(path)).toEqual(headerLayout(stateFile));
    // The reference serializer's layout, byte for byte: same header, same data.
    expect(readFileSync(path).equals(readFileSync(stateFile))).toBe(true);
    // With the default intDtype, num_batches_tracked is I32 (torch's load_state_dict casts it).
    const plain = join(outDir, `${name}.i32.safetensors`);
    io.saveSafetensors(plain, m.stateDict());
    const layout = headerLayout(plain);
    for (const [k, [dtype]] of Object.entries(headerLayout(stateFile))) expect(layout[k][0], k).toBe(dtype === 'I64' ? 'I32' : dtype);
  });
});
