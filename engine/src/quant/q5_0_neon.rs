//! NEON version of the Q5_0 · Q8_0 dot product (aarch64); [`super::q5_0::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{dot32, hsum, load_u8x16, nibbles};
use super::q5_0::{BLOCK, TYPE_SIZE};
use super::q8_0;
use std::arch::aarch64::*;

/// Bit j of each byte's lane index: lane l tests bit l % 8.
const LANE_BITS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];

/// Same contract and float order as the scalar kernel; the block sums are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    // SAFETY: LANE_BITS is 16 bytes; NEON is part of the aarch64 baseline.
    let (lane_bits, sixteen) = unsafe { (vld1q_u8(LANE_BITS.as_ptr()), vdupq_n_s8(16)) };
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        // Element j's fifth bit is bit j of the little-endian u32 at byte 2.
        let (lo, hi) = nibbles(load_u8x16(x, 6));
        // SAFETY: NEON is part of the aarch64 baseline.
        let (lo, hi) = unsafe {
            let fifth = |b0: u8, b1: u8| {
                let bytes = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
                vreinterpretq_s8_u8(vandq_u8(vtstq_u8(bytes, lane_bits), vdupq_n_u8(16)))
            };
            (
                vsubq_s8(vorrq_s8(lo, fifth(x[2], x[3])), sixteen),
                vsubq_s8(vorrq_s8(hi, fifth(x[4], x[5])), sixteen),
            )
        };
        let sumi = hsum(dot32(lo, hi, y, 2));
        sumf += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sumf
}
