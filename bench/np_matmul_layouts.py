#!/usr/bin/env python3
"""numpy float32 matmul on the backward products of a makemore step, with the operand layouts a
training step has: A^T·G reads A transposed (np_mlp.py's `h.T @ dlogits`), G·B^T reads B
transposed (`dlogits @ W2.T`). The peers' np_matmul.py times contiguous products of the same
shapes; numpy hands a transposed view to OpenBLAS with a transpose flag, which costs it more on
some of these shapes, so `npm run bench` compares each layout with the same layout.

Rerun: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python3 bench/np_matmul_layouts.py
Prints `  MxK @ KxN <layout>  us/call  GFLOP/s  (min..max)`: the median of 7 repeats, each a loop
of calls lasting at least 0.2 s, as np_matmul.py measures.
"""
import time

import numpy as np

# (m, k, n, layout) for batches 32 and 1024: dW1 = embcat^T·dh, dW2 = h^T·dlogits,
# dh = dlogits·W2^T, dembcat = dh·W1^T (emb 10 x block 3 = 30, hidden 200, vocabulary 27).
SHAPES = []
for B in (32, 1024):
    SHAPES += [(30, B, 200, "A^T"), (200, B, 27, "A^T"), (B, 27, 200, "B^T"), (B, 200, 30, "B^T")]


def operands(m, k, n, layout, rng):
    if layout == "A^T":
        a = rng.standard_normal((k, m), dtype=np.float32).T  # a view of a contiguous k x m array
        b = rng.standard_normal((k, n), dtype=np.float32)
    else:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32).T
    return a, b


def timed(f, reps=7, min_time=0.2):
    f()
    inner = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        inner = max(inner * 2, int(inner * min_time / max(dt, 1e-9) * 1.2))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - t0) / inner)
    return sorted(times)


def main():
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}; layouts as a training step's backward reads them")
    for m, k, n, layout in SHAPES:
        a, b = operands(m, k, n, layout, rng)
        assert a.shape == (m, k) and b.shape == (k, n)
        ts = timed(lambda: a @ b)
        flop = 2.0 * m * k * n
        med = ts[len(ts) // 2]
        print(f"  {m}x{k} @ {k}x{n} {layout}  {med * 1e6:10.3f}  {flop / med / 1e9:9.2f}   ({flop / ts[-1] / 1e9:.2f}..{flop / ts[0] / 1e9:.2f})")


if __name__ == "__main__":
    main()
