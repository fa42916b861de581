//! NEON version of the Q4_0 · Q8_0 dot product (aarch64); [`super::q4_0::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{dot32, hsum, load_u8x16, nibbles};
use super::q4_0::{BLOCK, TYPE_SIZE};
use super::q8_0;
use std::arch::aarch64::*;

/// Same contract and float order as the scalar kernel; the block sums are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    // SAFETY: NEON is part of the aarch64 baseline.
    let eight = unsafe { vdupq_n_s8(8) };
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        let (lo, hi) = nibbles(load_u8x16(x, 2));
        // SAFETY: NEON is part of the aarch64 baseline.
        let (lo, hi) = unsafe { (vsubq_s8(lo, eight), vsubq_s8(hi, eight)) };
        let sumi = hsum(dot32(lo, hi, y, 2));
        sumf += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sumf
}
