//! NEON version of the Q5_K · Q8_K dot product (aarch64); [`super::q5_k::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::{f16_at, scale_min_k4};
use super::neon_util::{dot32, hsum, load_u8x16, mla, nibbles, zero};
use super::q5_k::{BLOCK, QH, QS, SCALES, TYPE_SIZE};
use super::q8_k;
use std::arch::aarch64::*;

/// 16 in `q` where `h` has bit `mask` set, else 0: the fifth bit of each quant.
#[inline(always)]
fn fifth_bit(h: uint8x16_t, mask: u8) -> int8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vreinterpretq_s8_u8(vandq_u8(vtstq_u8(h, vdupq_n_u8(mask)), vdupq_n_u8(16))) }
}

#[inline(always)]
fn or(a: int8x16_t, b: int8x16_t) -> int8x16_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vorrq_s8(a, b) }
}

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
        let (h0, h1) = (load_u8x16(x, QH), load_u8x16(x, QH + 16));
        let mut acc = zero();
        let mut summins = 0i32;
        for c in 0..4 {
            let (lo0, hi0) = nibbles(load_u8x16(x, QS + 32 * c));
            let (lo1, hi1) = nibbles(load_u8x16(x, QS + 32 * c + 16));
            let (bit_lo, bit_hi) = (1u8 << (2 * c), 1u8 << (2 * c + 1));
            let a = q8_k::QS + 64 * c;
            let lo = dot32(
                or(lo0, fifth_bit(h0, bit_lo)),
                or(lo1, fifth_bit(h1, bit_lo)),
                y,
                a,
            );
            let hi = dot32(
                or(hi0, fifth_bit(h0, bit_hi)),
                or(hi1, fifth_bit(h1, bit_hi)),
                y,
                a + 32,
            );
            for (j, v) in [(2 * c, lo), (2 * c + 1, hi)] {
                let (sc, m) = scale_min_k4(j, scales);
                acc = mla(acc, v, sc as i32);
                summins +=
                    m as i32 * (q8_k::bsum(y, 2 * j) as i32 + q8_k::bsum(y, 2 * j + 1) as i32);
            }
        }
        let sumi = hsum(acc);
        let dy = q8_k::d(y);
        sumf += f16_at(x, 0) * dy * sumi as f32 - f16_at(x, 2) * dy * summins as f32;
    }
    sumf
}
