//! NEON version of the Q3_K · Q8_K dot product (aarch64); [`super::q3_k::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{crumbs, dot_i8x16, hsum, load_i8x16, load_u8x16, mla, zero};
use super::q3_k::{group_scale, BLOCK, D, HMASK, QS, SCALES, TYPE_SIZE};
use super::q8_k;
use std::arch::aarch64::*;

/// Same contract and float order as the scalar kernel; `sumi` is an exact integer.
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
                // Element 128·half + 32·j + 16·v + (0..16): low bits 2j of
                // qs[32·half + 16·v + ..], high bit 4·half + j of hmask[16·v + ..]; q − 4 where
                // the high bit is clear.
                let low = crumbs(load_u8x16(x, QS + 32 * half + 16 * v));
                let hmask = load_u8x16(x, HMASK + 16 * v);
                for (j, low) in low.into_iter().enumerate() {
                    // SAFETY: NEON is part of the aarch64 baseline.
                    let q = unsafe {
                        let set = vtstq_u8(hmask, vdupq_n_u8(1 << (4 * half + j)));
                        vsubq_s8(low, vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(4), set)))
                    };
                    let e = 128 * half + 32 * j + 16 * v;
                    let s = dot_i8x16(zero(), q, load_i8x16(y, q8_k::QS + e));
                    acc = mla(acc, s, group_scale(&x[SCALES..], e / 16));
                }
            }
        }
        sumf += f16_at(x, D) * q8_k::d(y) * hsum(acc) as f32;
    }
    sumf
}
