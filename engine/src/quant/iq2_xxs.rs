//! IQ2_XXS: 2.0625 bits per weight. Super-blocks of 256 = 8 groups of 32, each group of 32 in
//! 8 bytes: four 8-bit indices into `iq2xxs_grid` (8 magnitudes each), then a u32 whose low 28 bits
//! are four 7-bit sign codes (`ksigns_iq2xs`) and whose top 4 bits are the group scale.
//!
//! Block layout (66 bytes): `f16 d; u16 qs[32]` — read as 8 × (u32 grid indices, u32 signs+scale).
//! Value = d * (0.5 + scale) * 0.25 * grid * sign.

use super::iq_common::{
    read_f16, read_u32, row_blocks, signed_grid_dequant8, signed_grid_dot8, QK_K,
};
use super::iq_grids::{IQ2XXS_GRID, KSIGNS_IQ2XS};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK_BYTES: usize = 66;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ2_XXS,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: None,
    vec_dot,
};

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (block, out) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = read_f16(block, 0);
        for ib32 in 0..QK_K / 32 {
            let indices = read_u32(block, 2 + 8 * ib32).to_le_bytes();
            let signs_scale = read_u32(block, 6 + 8 * ib32);
            let db = d * (0.5 + (signs_scale >> 28) as f32) * 0.25;
            for l in 0..4 {
                let signs = KSIGNS_IQ2XS[((signs_scale >> (7 * l)) & 127) as usize];
                let grid = IQ2XXS_GRID[indices[l] as usize];
                signed_grid_dequant8(grid, signs, db, &mut out[32 * ib32 + 8 * l..][..8]);
            }
        }
    }
}

/// ggml's `ggml_vec_dot_iq2_xxs_q8_K_generic`: exact integer sums per super-block, one f32 multiply each.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0f32;
    for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
        let d = read_f16(block, 0) * y.d;
        let mut bsum = 0i32;
        for ib32 in 0..QK_K / 32 {
            let indices = read_u32(block, 2 + 8 * ib32).to_le_bytes();
            let signs_scale = read_u32(block, 6 + 8 * ib32);
            let ls = 2 * (signs_scale >> 28) as i32 + 1;
            let mut sumi = 0i32;
            for l in 0..4 {
                let signs = KSIGNS_IQ2XS[((signs_scale >> (7 * l)) & 127) as usize];
                let q8 = &y.qs[32 * ib32 + 8 * l..][..8];
                sumi += signed_grid_dot8(IQ2XXS_GRID[indices[l] as usize], signs, q8);
            }
            bsum += sumi * ls;
        }
        sumf += d * bsum as f32;
    }
    0.125 * sumf
}

#[cfg(test)]
mod tests {
    use super::super::iq_common::testing::{check_dequantize, check_vec_dot, grid_digest};
    use super::*;

    #[test]
    fn dequantize_matches_gguf_py() {
        let digest = grid_digest(IQ2XXS_GRID.iter().flat_map(|g| g.to_le_bytes()));
        check_dequantize(&KERNELS, "iq2_xxs.bin", digest);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        check_vec_dot(&KERNELS, "iq2_xxs.bin");
    }
}
