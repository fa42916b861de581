//! IQ1_S: 1.5625 bits per weight. Super-blocks of 256 = 8 groups of 32; each group of 8 values has
//! an 11-bit index into `iq1s_grid` (values in {-1, 0, 1}); each group of 32 has a u16 holding the
//! four 3-bit high index parts, a 3-bit scale and the sign of a shift `delta` = ±1/8 added to all
//! its values.
//!
//! Block layout (50 bytes): `f16 d; u8 qs[32]; u16 qh[8]`.
//! Value = d * (2 * scale + 1) * (grid + delta).

use super::iq_common::{
    read_f16, read_u16, row_blocks, shifted_grid_dequant8, signed_bytes_dot8, QK_K,
};
use super::iq_grids::{IQ1S_GRID, IQ1_DELTA};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK_BYTES: usize = 50;
const QS: usize = 2;
const QH: usize = QS + 32;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ1_S,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: None,
    vec_dot,
};

#[inline(always)]
fn grid_point(block: &[u8], ib: usize, l: usize, qh: u16) -> u64 {
    IQ1S_GRID[block[QS + 4 * ib + l] as usize | (((qh >> (3 * l)) & 7) as usize) << 8]
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (block, out) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = read_f16(block, 0);
        for ib in 0..QK_K / 32 {
            let qh = read_u16(block, QH + 2 * ib);
            let dl = d * (2 * ((qh >> 12) & 7) + 1) as f32;
            let delta = if qh & 0x8000 != 0 {
                -IQ1_DELTA
            } else {
                IQ1_DELTA
            };
            for l in 0..4 {
                shifted_grid_dequant8(
                    grid_point(block, ib, l, qh),
                    delta,
                    dl,
                    &mut out[32 * ib + 8 * l..][..8],
                );
            }
        }
    }
}

/// ggml's `ggml_vec_dot_iq1_s_q8_K_generic`: the delta term uses the Q8_K block sums.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0f32;
    for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
        let (mut sumi, mut sumi_delta) = (0i32, 0i32);
        for ib in 0..QK_K / 32 {
            let qh = read_u16(block, QH + 2 * ib);
            let ls = 2 * ((qh >> 12) & 7) as i32 + 1;
            let delta = if qh & 0x8000 != 0 { -1 } else { 1 };
            let mut lsum = 0i32;
            for l in 0..4 {
                lsum +=
                    signed_bytes_dot8(grid_point(block, ib, l, qh), &y.qs[32 * ib + 8 * l..][..8]);
            }
            sumi += ls * lsum;
            sumi_delta += ls * delta * (y.bsum(2 * ib) + y.bsum(2 * ib + 1));
        }
        sumf += read_f16(block, 0) * y.d * (sumi as f32 + IQ1_DELTA * sumi_delta as f32);
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
        check_dequantize(&KERNELS, "iq1_s.bin", digest);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        check_vec_dot(&KERNELS, "iq1_s.bin");
    }
}
