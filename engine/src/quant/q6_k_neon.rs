//! NEON version of the Q6_K · Q8_K dot product (aarch64); [`super::q6_k::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{dot_i8x16, hsum, load_i8x16, load_u8x16, mla, zero};
use super::q6_k::{BLOCK, D, QH, QL, SCALES, TYPE_SIZE};
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
                // Elements 128·half + 32·k + 16·v + (0..16), k = 0..4, as the scalar `unpack`.
                let ql_a = load_u8x16(x, QL + 64 * half + 16 * v);
                let ql_b = load_u8x16(x, QL + 64 * half + 32 + 16 * v);
                let qh = load_u8x16(x, QH + 32 * half + 16 * v);
                // SAFETY: NEON is part of the aarch64 baseline.
                let quants = unsafe {
                    let low = vdupq_n_u8(0x0F);
                    let m32 = vdupq_n_s8(32);
                    let q = |l: uint8x16_t, h: uint8x16_t| {
                        vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(l, h)), m32)
                    };
                    [
                        q(
                            vandq_u8(ql_a, low),
                            vshlq_n_u8::<4>(vandq_u8(qh, vdupq_n_u8(0x03))),
                        ),
                        q(
                            vandq_u8(ql_b, low),
                            vshlq_n_u8::<2>(vandq_u8(qh, vdupq_n_u8(0x0C))),
                        ),
                        q(vshrq_n_u8::<4>(ql_a), vandq_u8(qh, vdupq_n_u8(0x30))),
                        q(
                            vshrq_n_u8::<4>(ql_b),
                            vshrq_n_u8::<2>(vandq_u8(qh, vdupq_n_u8(0xC0))),
                        ),
                    ]
                };
                for (k, q) in quants.into_iter().enumerate() {
                    let e = 128 * half + 32 * k + 16 * v;
                    let s = dot_i8x16(zero(), q, load_i8x16(y, q8_k::QS + e));
                    acc = mla(acc, s, x[SCALES + e / 16] as i8 as i32);
                }
            }
        }
        sumf += f16_at(x, D) * q8_k::d(y) * hsum(acc) as f32;
    }
    sumf
}
