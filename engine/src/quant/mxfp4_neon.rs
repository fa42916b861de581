//! NEON version of the MXFP4 · Q8_0 dot product (aarch64); [`super::mxfp4::vec_dot_scalar`] is
//! the reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::mxfp4::{e8m0_to_f32_half, BLOCK, KVALUES_MXFP4, TYPE_SIZE};
use super::neon_util::{table, table_dot32};
use super::q8_0;

/// Same contract and float order as the scalar kernel; the block sums are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    let levels = table(&KVALUES_MXFP4);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        let sumi = table_dot32(levels, x, 1, y, 2);
        sumf += f16_at(y, 0) * e8m0_to_f32_half(x[0]) * sumi as f32;
    }
    sumf
}
