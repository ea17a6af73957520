//! What the benches share: seeded inputs (a xorshift stream, so runs are comparable without a
//! dependency on the crate's test-only generator).

/// n values uniform in [-scale/2, scale/2), the same stream for the same seed.
pub fn data(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * scale
        })
        .collect()
}
