//! IQ3_S: 3.4375 bits per weight. Super-blocks of 256 = 8 groups of 32; each group of 4 values has
//! a 9-bit index into `iq3s_grid` (8 low bits in `qs`, the high bit in `qh`), each group of 8 a full
//! sign byte, and each pair of groups of 32 shares a byte of two 4-bit scales.
//!
//! Block layout (110 bytes): `f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4]`.
//! Value = d * (1 + 2 * scale) * grid * sign.

use super::iq_common::{
    join_grid4, read_f16, row_blocks, signed_grid_dequant8, signed_grid_dot8, QK_K,
};
use super::iq_grids::IQ3S_GRID;
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK_BYTES: usize = 110;
const QS: usize = 2;
const QH: usize = QS + 64;
const SIGNS: usize = QH + 8;
const SCALES: usize = SIGNS + 32;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ3_S,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: None,
    vec_dot,
};

/// The 8 grid values and sign byte of group `l` (0..4) of group of 32 `ib32`.
#[inline(always)]
fn group(block: &[u8], ib32: usize, l: usize) -> (u64, u8) {
    let qh = block[QH + ib32] as usize;
    let q = &block[QS + 8 * ib32 + 2 * l..][..2];
    let lo = IQ3S_GRID[q[0] as usize | ((qh << (8 - 2 * l)) & 256)];
    let hi = IQ3S_GRID[q[1] as usize | ((qh << (7 - 2 * l)) & 256)];
    (join_grid4(lo, hi), block[SIGNS + 4 * ib32 + l])
}

/// The odd multiplier `1 + 2 * scale` of group of 32 `ib32`.
#[inline(always)]
fn scale(block: &[u8], ib32: usize) -> i32 {
    let nibble = (block[SCALES + ib32 / 2] >> (4 * (ib32 % 2))) & 0xf;
    1 + 2 * nibble as i32
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (block, out) in src
        .chunks_exact(BLOCK_BYTES)
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = read_f16(block, 0);
        for ib32 in 0..QK_K / 32 {
            let db = d * scale(block, ib32) as f32;
            for l in 0..4 {
                let (grid, signs) = group(block, ib32, l);
                signed_grid_dequant8(grid, signs, db, &mut out[32 * ib32 + 8 * l..][..8]);
            }
        }
    }
}

/// ggml's `ggml_vec_dot_iq3_s_q8_K_generic`.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0f32;
    for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
        let d = read_f16(block, 0) * y.d;
        let mut bsum = 0i32;
        for ib32 in 0..QK_K / 32 {
            let mut sumi = 0i32;
            for l in 0..4 {
                let (grid, signs) = group(block, ib32, l);
                sumi += signed_grid_dot8(grid, signs, &y.qs[32 * ib32 + 8 * l..][..8]);
            }
            bsum += sumi * scale(block, ib32);
        }
        sumf += d * bsum as f32;
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::super::iq_common::testing::{check_dequantize, check_vec_dot, grid_digest};
    use super::*;

    #[test]
    fn dequantize_matches_gguf_py() {
        let digest = grid_digest(IQ3S_GRID.iter().flat_map(|g| g.to_le_bytes()));
        check_dequantize(&KERNELS, "iq3_s.bin", digest);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        check_vec_dot(&KERNELS, "iq3_s.bin");
    }
}
