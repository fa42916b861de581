//! NEON version of the IQ4_XS · Q8_K dot product (aarch64); [`super::iq4_xs::vec_dot_scalar`] is
//! the reference it is tested against, bit for bit.

#![cfg(target_arch = "aarch64")]

use super::common::f16_at;
use super::iq4_xs::{sub_scale, BLOCK, KVALUES, QS, TYPE_SIZE};
use super::neon_util::{table, table_dot32};
use super::q8_k;

/// Same contract and float order as the scalar kernel (one float step per sub-block of 32); the
/// sub-block sums are exact integers. The 4-bit codes index the level table with one `tbl`.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    let table = table(&KVALUES);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let d4d8 = f16_at(x, 0) * q8_k::d(y);
        for ib in 0..8 {
            let s = table_dot32(table, x, QS + 16 * ib, y, q8_k::QS + 32 * ib);
            sumf += d4d8 * sub_scale(x, ib) as f32 * s as f32;
        }
    }
    sumf
}
