//! NEON version of the Q8_0 · Q8_0 dot product (aarch64); [`super::q8_0::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{dot32, hsum, load_i8x16};
use super::q8_0::{BLOCK, TYPE_SIZE};

/// Same contract and float order as the scalar kernel; the block sums are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sum = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(TYPE_SIZE))
        .take(nb)
    {
        let sumi = hsum(dot32(load_i8x16(x, 2), load_i8x16(x, 18), y, 2));
        sum += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sum
}
