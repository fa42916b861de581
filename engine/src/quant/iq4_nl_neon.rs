//! NEON version of the IQ4_NL · Q8_0 dot product (aarch64); [`super::iq4_nl::vec_dot_scalar`] is
//! the reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::iq4_nl::{BLOCK, TYPE_SIZE};
use super::iq4_search::KVALUES_IQ4NL;
use super::neon_util::{table, table_dot32};
use super::q8_0;

/// Same contract and float order as the scalar kernel; the block sums are exact integers.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    let levels = table(&KVALUES_IQ4NL);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        let sumi = table_dot32(levels, x, 2, y, 2);
        sumf += (f16_at(x, 0) * f16_at(y, 0)) * sumi as f32;
    }
    sumf
}
