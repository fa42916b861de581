//! IQ1_M: 1.75 bits per weight. Super-blocks of 256 = 8 groups of 32; each group of 8 values has an
//! 11-bit index into `iq1s_grid` (values in {-1, 0, 1}) and its own sign for the shift `delta` = ±1/8;
//! each group of 16 has a 3-bit scale. There is no separate f16 field: the super-block scale is
//! spread over the top nibbles of the four u16 scale words.
//!
//! Block layout (56 bytes): `u8 qs[32]; u8 qh[16]; u8 scales[8]` (read as `u16 sc[4]`).
//! `qh` byte: bits 0-2 high index of the first group of 8, bit 3 its delta sign, bits 4-7 the same
//! for the second. Value = d * (2 * scale + 1) * (grid + delta).

use super::iq_common::{read_u16, row_blocks, shifted_grid_dequant8, signed_bytes_dot8, QK_K};
use super::iq_grids::{IQ1S_GRID, IQ1_DELTA};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK_BYTES: usize = 56;
const QH: usize = 32;
const SCALES: usize = QH + 16;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ1_M,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: None,
    vec_dot,
};

/// The four u16 scale words and the super-block scale assembled from their top nibbles.
#[inline(always)]
fn scales(block: &[u8]) -> ([u16; 4], f32) {
    let sc: [u16; 4] = std::array::from_fn(|i| read_u16(block, SCALES + 2 * i));
    let bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
    (sc, half::f16::from_bits(bits).to_f32())
}

/// The odd multipliers `2 * scale + 1` of the two halves (16 values each) of group of 32 `ib`.
#[inline(always)]
fn group_scales(sc: &[u16; 4], ib: usize) -> [i32; 2] {
    let word = sc[ib / 2] >> (6 * (ib % 2));
    [2 * (word & 7) as i32 + 1, 2 * ((word >> 3) & 7) as i32 + 1]
}

/// Grid point and delta sign (+1 or -1) of group `l` (0..4) of group of 32 `ib`.
#[inline(always)]
fn group(block: &[u8], ib: usize, l: usize) -> (u64, i32) {
    let qh = block[QH + 2 * ib + l / 2] as usize;
    let qh = if l.is_multiple_of(2) { qh } else { qh >> 4 };
    let index = block[4 * ib + l] as usize | (qh & 7) << 8;
    (IQ1S_GRID[index], if qh & 8 != 0 { -1 } else { 1 })
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (block, out) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let (sc, d) = scales(block);
        for ib in 0..QK_K / 32 {
            let ls = group_scales(&sc, ib);
            let dl = [d * ls[0] as f32, d * ls[1] as f32];
            for l in 0..4 {
                let (grid, sign) = group(block, ib, l);
                let delta = if sign < 0 { -IQ1_DELTA } else { IQ1_DELTA };
                shifted_grid_dequant8(grid, delta, dl[l / 2], &mut out[32 * ib + 8 * l..][..8]);
            }
        }
    }
}

/// ggml's `ggml_vec_dot_iq1_m_q8_K_generic`: the delta sign changes every 8 values, so the delta
/// term sums the activations per group of 8 rather than using the 16-wide Q8_K block sums.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0f32;
    for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
        let (sc, d) = scales(block);
        let (mut sumi, mut sumi_delta) = (0i32, 0i32);
        for ib in 0..QK_K / 32 {
            let (mut sum_grid, mut sum_delta) = ([0i32; 2], [0i32; 2]);
            for l in 0..4 {
                let (grid, sign) = group(block, ib, l);
                let q8 = &y.qs[32 * ib + 8 * l..][..8];
                sum_grid[l / 2] += signed_bytes_dot8(grid, q8);
                sum_delta[l / 2] += sign * q8.iter().map(|&q| q as i32).sum::<i32>();
            }
            let ls = group_scales(&sc, ib);
            sumi += sum_grid[0] * ls[0] + sum_grid[1] * ls[1];
            sumi_delta += sum_delta[0] * ls[0] + sum_delta[1] * ls[1];
        }
        sumf += d * y.d * (sumi as f32 + IQ1_DELTA * sumi_delta as f32);
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::super::iq_common::testing::{check_dequantize, check_vec_dot, grid_digest};
    use super::*;

    #[test]
    fn dequantize_matches_gguf_py() {
        let digest = grid_digest(IQ1S_GRID.iter().flat_map(|g| g.to_le_bytes()));
        check_dequantize(&KERNELS, "iq1_m.bin", digest);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        check_vec_dot(&KERNELS, "iq1_m.bin");
    }
}
