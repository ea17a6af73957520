# Fits the table of crates/kernels/src/fastmath.rs's f32 tanh: `python3 scripts/fit_tanh.py`
# writes crates/kernels/src/tanh_tables.rs and prints, per interval, the fit's worst error and the
# worst error of the f32 evaluation over every f32 of the interval (stderr). Needs numpy and scipy.
#
# The kernel takes a = |x| clamped to CLAMP, picks one of 32 intervals from a's bits (exponent and
# two mantissa bits: 4 per binade over [1/16, 8), then [8, 10); below 1/16 one interval [0, 1/16)),
# and evaluates t = c0 + r·(c1 + r·(... + r·c5)) in f32 with FMAs, r = a − center (exact by
# Sterbenz). Each center is an f32 near the interval's middle whose tanh lies within 1e-4 ulp of an
# f32 (an "accurate table" in Gal's sense), so c0 = tanh(center) in f32 carries no rounding error
# of its own. [0, 1/16) is centred on 0 with c0 = c1 = 0 fixed and a itself added in c0's place
# (t = a + a²·(...): tiny x stays exact and the rounding stays at 0.5 ulp), so its polynomial fits
# tanh(a) − a. The other coefficients are fitted for minimax error in units of the f32 ulp of
# tanh (a linear program on a dense grid), rounded to f32 one at a time from c1 up, each rounding
# followed by a refit of the higher ones (so later coefficients absorb earlier roundings).
import numpy as np, sys
from scipy.optimize import linprog

DEG = 5
CLAMP = 9.5
SMALL_BITS = (123 << 2) - 1  # bits(a) >> 21 below 1/16 is clamped up to this; its slot holds [0, 1/16)


def ulp32(y):
    y = np.maximum(np.abs(np.asarray(y, dtype=np.float64)), 2.0 ** -126)
    return 2.0 ** (np.floor(np.log2(y)) - 23)


def intervals():
    """(slot, lo, hi): 4 per binade over [1/16, 8), then [8, CLAMP], and [0, 1/16)."""
    out = []
    for e in range(-4, 3):
        for q in range(4):
            lo, hi = 2.0 ** e * (1 + q / 4), 2.0 ** e * (1 + (q + 1) / 4)
            out.append((int(np.float32(lo).view(np.uint32) >> 21) & 31, lo, hi))
    out.append((int(np.float32(8.0).view(np.uint32) >> 21) & 31, 8.0, CLAMP))
    out.append((SMALL_BITS & 31, 0.0, 1 / 16))
    assert len({s for s, _, _ in out}) == len(out)
    return out


def accurate_center(lo, hi):
    """An f32 in the middle half of [lo, hi) whose tanh is nearest an f32, in ulps."""
    a, b = np.float32(lo + (hi - lo) / 4).view(np.uint32), np.float32(hi - (hi - lo) / 4).view(np.uint32)
    cand = np.arange(a, b, max(1, (b - a) // 400000), dtype=np.uint32).view(np.float32)
    t = np.tanh(cand.astype(np.float64))
    err = np.abs(t - t.astype(np.float32)) / ulp32(t)
    i = np.argmin(err)
    return float(cand[i]), float(err[i])


def lp(r, y, w, fixed):
    """Minimax (weighted by w) coefficients c_k..c_DEG of sum c_i r^i ≈ y, c_0..c_{k-1} = fixed."""
    k = len(fixed)
    V = np.vander(r, DEG + 1, increasing=True)
    res = y - V[:, :k] @ np.array(fixed)
    A = V[:, k:]
    sc = np.max(np.abs(A), axis=0)
    A = A / sc
    n = A.shape[1]
    ones = -np.ones((len(r), 1))
    aub = np.vstack([np.hstack([A * w[:, None], ones]), np.hstack([-A * w[:, None], ones])])
    bub = np.concatenate([res * w, -res * w])
    cost = np.zeros(n + 1)
    cost[-1] = 1
    sol = linprog(cost, A_ub=aub, b_ub=bub, bounds=[(None, None)] * (n + 1), method="highs")
    assert sol.success, sol.message
    return list(sol.x[:n] / sc)


def fit(lo, hi, center, fixed):
    x = np.linspace(lo, hi, 6000)
    if lo == 0:
        x = x[1:]
    w = 1 / ulp32(np.tanh(x))
    # Below 1/16 the kernel adds a itself (t = a + r·q): the polynomial fits tanh(a) − a there.
    y = np.tanh(x) - (x if lo == 0 else 0)
    fixed = list(fixed)
    while len(fixed) < DEG + 1:
        fixed.append(float(np.float32(lp(x - center, y, w, fixed)[0])))
    err = np.max(np.abs(np.vander(x - center, DEG + 1, increasing=True) @ np.array(fixed) - y) * w)
    return fixed, err


def f32_eval(cs, a, center):
    """The kernel's f32 Horner (an FMA emulated in f64: the product is exact there, the sum rounds
    twice, which can differ from one rounding only at exact ties of the second; the Rust
    exhaustive example checks the real kernel)."""
    r = (a.astype(np.float64) - center).astype(np.float32).astype(np.float64)
    p = np.full_like(r, cs[-1])
    for c in reversed(cs[1:-1]):
        p = (p * r + c).astype(np.float32).astype(np.float64)
    return (p * r + (a.astype(np.float64) if center == 0 else cs[0])).astype(np.float32).astype(np.float64)


def simulate(cs, lo, hi, center):
    """Worst error in ulps (against f64 tanh) over every f32 in [max(lo, 2^-13), hi)."""
    a = np.float32(max(lo, 2.0 ** -13)).view(np.uint32)
    b = np.float32(hi).view(np.uint32)
    worst = 0.0
    for s in range(a, b, 1 << 22):
        xs = np.arange(s, min(b, s + (1 << 22)), dtype=np.uint32).view(np.float32)
        t = np.tanh(xs.astype(np.float64))
        worst = max(worst, float(np.max(np.abs(f32_eval(cs, xs, center) - t) / ulp32(t))))
    return worst


def main():
    center = [0.0] * 32
    poly = [[0.0] * 32 for _ in range(DEG + 1)]
    for slot, lo, hi in intervals():
        if lo == 0:
            c, c0err, fixed = 0.0, 0.0, [0.0, 0.0]
        else:
            c, c0err = accurate_center(lo, hi)
            assert c0err < 1e-4, (lo, hi, c0err)
            fixed = [float(np.float32(np.tanh(c)))]
        cs, err = fit(lo, hi, c, fixed)
        sim = simulate(cs, lo, hi, c)
        print(f"slot {slot:2} [{lo:.5f}, {hi:.5f}) center {c:.9g} (tanh {c0err:.1e} ulp from an f32): fit {err:.3f} ulp, f32 evaluation {sim:.3f} ulp", file=sys.stderr)
        center[slot] = c
        for i in range(DEG + 1):
            poly[i][slot] = cs[i]
    f = lambda v: repr(float(np.float32(v))) if v != 0 else "0.0"
    with open(sys.argv[1] if len(sys.argv) > 1 else "crates/kernels/src/tanh_tables.rs", "w") as fo:
        fo.write("// Generated by scripts/fit_tanh.py: the 32 intervals of fastmath.rs's tanh (slot = bits(a) >> 21 & 31).\n")
        fo.write("const TANH_CENTER: [f32; 32] = [%s];\n" % ", ".join(f(c) for c in center))
        fo.write("const TANH_POLY: [[f32; 32]; %d] = [\n" % (DEG + 1))
        for row in poly:
            fo.write("    [%s],\n" % ", ".join(f(c) for c in row))
        fo.write("];\n")


if __name__ == "__main__":
    main()
