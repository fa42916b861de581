//! NEON version of the Q4_K · Q8_K dot product (aarch64); [`super::q4_k::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::{f16_at, scale_min_k4};
use super::neon_util::{dot32, hsum, load_u8x16, mla, nibbles, zero};
use super::q4_k::{BLOCK, QS, SCALES, TYPE_SIZE};
use super::q8_k;

/// Same contract and float order as the scalar kernel; `sumi` and `summins` are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let scales = &x[SCALES..SCALES + 12];
        let mut acc = zero();
        let mut summins = 0i32;
        for c in 0..4 {
            let (sc1, m1) = scale_min_k4(2 * c, scales);
            let (sc2, m2) = scale_min_k4(2 * c + 1, scales);
            let (lo0, hi0) = nibbles(load_u8x16(x, QS + 32 * c));
            let (lo1, hi1) = nibbles(load_u8x16(x, QS + 32 * c + 16));
            let a = q8_k::QS + 64 * c;
            let (lo, hi) = (dot32(lo0, lo1, y, a), dot32(hi0, hi1, y, a + 32));
            acc = mla(mla(acc, lo, sc1 as i32), hi, sc2 as i32);
            let s = |j: usize| q8_k::bsum(y, j) as i32;
            summins +=
                m1 as i32 * (s(4 * c) + s(4 * c + 1)) + m2 as i32 * (s(4 * c + 2) + s(4 * c + 3));
        }
        let sumi = hsum(acc);
        let dy = q8_k::d(y);
        sumf += f16_at(x, 0) * dy * sumi as f32 - f16_at(x, 2) * dy * summins as f32;
    }
    sumf
}
