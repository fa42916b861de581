//! NEON version of the Q8_0 · Q8_0 dot product (aarch64); [`super::q8_0::vec_dot_scalar`] is the
//! reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::neon_util::{dot_i8x16, hsum, load_i8x16, zero};
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
        let acc = dot_i8x16(zero(), load_i8x16(x, 2), load_i8x16(y, 2));
        let sumi = hsum(dot_i8x16(acc, load_i8x16(x, 18), load_i8x16(y, 18)));
        sum += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sum
}
