//! IQ2_XS: 2.3125 bits per weight. Super-blocks of 256 = 8 groups of 32; each group of 8 values is
//! one u16: a 9-bit index into `iq2xs_grid` and a 7-bit sign code (`ksigns_iq2xs`). Each group of 32
//! has two 4-bit scales (one per 16 values).
//!
//! Block layout (74 bytes): `f16 d; u16 qs[32]; u8 scales[8]`.
//! Value = d * (0.5 + scale) * 0.25 * grid * sign.

use super::iq_common::{
    read_f16, read_u16, row_blocks, signed_grid_dequant8, signed_grid_dot8, QK_K,
};
use super::iq_grids::{IQ2XS_GRID, KSIGNS_IQ2XS};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK_BYTES: usize = 74;
const SCALES: usize = 2 + 64;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ2_XS,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: None,
    vec_dot,
};

/// Grid point and sign byte of the `g`-th group of 8 values (0..32).
#[inline(always)]
fn group(block: &[u8], g: usize) -> (u64, u8) {
    let q = read_u16(block, 2 + 2 * g);
    (
        IQ2XS_GRID[(q & 511) as usize],
        KSIGNS_IQ2XS[(q >> 9) as usize],
    )
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (block, out) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = read_f16(block, 0);
        for ib32 in 0..QK_K / 32 {
            let sc = block[SCALES + ib32];
            let db = [
                d * (0.5 + (sc & 0xf) as f32) * 0.25,
                d * (0.5 + (sc >> 4) as f32) * 0.25,
            ];
            for l in 0..4 {
                let (grid, signs) = group(block, 4 * ib32 + l);
                signed_grid_dequant8(grid, signs, db[l / 2], &mut out[32 * ib32 + 8 * l..][..8]);
            }
        }
    }
}

/// ggml's `ggml_vec_dot_iq2_xs_q8_K_generic`.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0f32;
    for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
        let d = read_f16(block, 0) * y.d;
        let mut bsum = 0i32;
        for ib32 in 0..QK_K / 32 {
            let sc = block[SCALES + ib32];
            let ls = [2 * (sc & 0xf) as i32 + 1, 2 * (sc >> 4) as i32 + 1];
            for (half, &ls_half) in ls.iter().enumerate() {
                let mut sumi = 0i32;
                for l in 2 * half..2 * half + 2 {
                    let (grid, signs) = group(block, 4 * ib32 + l);
                    sumi += signed_grid_dot8(grid, signs, &y.qs[32 * ib32 + 8 * l..][..8]);
                }
                bsum += sumi * ls_half;
            }
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
        let digest = grid_digest(IQ2XS_GRID.iter().flat_map(|g| g.to_le_bytes()));
        check_dequantize(&KERNELS, "iq2_xs.bin", digest);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        check_vec_dot(&KERNELS, "iq2_xs.bin");
    }
}
