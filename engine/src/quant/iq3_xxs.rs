//! IQ3_XXS: 3.0625 bits per weight. Super-blocks of 256 = 8 groups of 32; each group of 4 values is
//! an 8-bit index into `iq3xxs_grid`; each group of 32 has a u32 holding four 7-bit sign codes
//! (`ksigns_iq2xs`, one per 8 values) and a 4-bit scale in the top bits.
//!
//! Block layout (98 bytes): `f16 d; u8 qs[64]; u32 scales_and_signs[8]`.
//! Value = d * (0.5 + scale) * 0.5 * grid * sign.

use super::iq_common::{
    join_grid4, read_f16, read_u32, row_blocks, signed_grid_dequant8, signed_grid_dot8, QK_K,
};
use super::iq_grids::{IQ3XXS_GRID, KSIGNS_IQ2XS};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK_BYTES: usize = 98;
const QS: usize = 2;
const SCALES_AND_SIGNS: usize = QS + 64;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ3_XXS,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: None,
    vec_dot,
};

/// The 8 grid values (two 4-value points) and sign byte of group `l` (0..4) of group of 32 `ib32`.
#[inline(always)]
pub(crate) fn group(block: &[u8], ib32: usize, l: usize, signs_scale: u32) -> (u64, u8) {
    let q = &block[QS + 8 * ib32 + 2 * l..][..2];
    let grid = join_grid4(IQ3XXS_GRID[q[0] as usize], IQ3XXS_GRID[q[1] as usize]);
    (
        grid,
        KSIGNS_IQ2XS[((signs_scale >> (7 * l)) & 127) as usize],
    )
}

#[inline(always)]
pub(crate) fn signs_scale(block: &[u8], ib32: usize) -> u32 {
    read_u32(block, SCALES_AND_SIGNS + 4 * ib32)
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (block, out) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = read_f16(block, 0);
        for ib32 in 0..QK_K / 32 {
            let aux = signs_scale(block, ib32);
            let db = d * (0.5 + (aux >> 28) as f32) * 0.5;
            for l in 0..4 {
                let (grid, signs) = group(block, ib32, l, aux);
                signed_grid_dequant8(grid, signs, db, &mut out[32 * ib32 + 8 * l..][..8]);
            }
        }
    }
}

/// ggml's `ggml_vec_dot_iq3_xxs_q8_K_generic`.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0f32;
    for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
        let d = read_f16(block, 0) * y.d;
        let mut bsum = 0i32;
        for ib32 in 0..QK_K / 32 {
            let aux = signs_scale(block, ib32);
            let ls = 2 * (aux >> 28) as i32 + 1;
            let mut sumi = 0i32;
            for l in 0..4 {
                let (grid, signs) = group(block, ib32, l, aux);
                sumi += signed_grid_dot8(grid, signs, &y.qs[32 * ib32 + 8 * l..][..8]);
            }
            bsum += sumi * ls;
        }
        sumf += d * bsum as f32;
    }
    0.25 * sumf
}

#[cfg(test)]
mod tests {
    use super::super::iq_common::testing::{check_dequantize, check_vec_dot, grid_digest};
    use super::*;

    #[test]
    fn dequantize_matches_gguf_py() {
        let digest = grid_digest(IQ3XXS_GRID.iter().flat_map(|g| g.to_le_bytes()));
        check_dequantize(&KERNELS, "iq3_xxs.bin", digest);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        check_vec_dot(&KERNELS, "iq3_xxs.bin");
    }
}
