//! NEON version of the Q2_K · Q8_K dot product (aarch64); [`super::q2_k::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{crumbs, dot_i8x16, hsum, load_i8x16, load_u8x16, mla, zero};
use super::q2_k::{BLOCK, D, DMIN, QS, SCALES, TYPE_SIZE};
use super::q8_k;

/// Same contract and float order as the scalar kernel; `isum` and `summs` are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let mut acc = zero();
        for half in 0..2 {
            for v in 0..2 {
                // Element 128·half + 32·j + 16·v + (0..16) is bits 2j of qs[32·half + 16·v + ..].
                let fields = crumbs(load_u8x16(x, QS + 32 * half + 16 * v));
                for (j, q) in fields.into_iter().enumerate() {
                    let e = 128 * half + 32 * j + 16 * v;
                    let s = dot_i8x16(zero(), q, load_i8x16(y, q8_k::QS + e));
                    acc = mla(acc, s, (x[SCALES + e / 16] & 0xF) as i32);
                }
            }
        }
        let summs: i32 = (0..16)
            .map(|g| q8_k::bsum(y, g) as i32 * (x[SCALES + g] >> 4) as i32)
            .sum();
        let dy = q8_k::d(y);
        sumf += dy * f16_at(x, D) * hsum(acc) as f32 - dy * f16_at(x, DMIN) * summs as f32;
    }
    sumf
}
