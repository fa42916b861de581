//! Q5_K repacked at load: sixteen rows interleaved, Q4_K's layout ([`super::q4_k_x16`]) plus the
//! fifth bits.
//!
//! Why: Q5_K is Q4_K with one more bit per value, and its row kernel has Q4_K's costs (scale
//! unpacking, a horizontal reduction per block) plus the bit merge. Without AVX-512 the row
//! kernel decoded a Q5_K_M slice of Qwen3.5-35B-A3B at 1.03-1.12x llama.cpp's speed against
//! 1.25x for the repacked Q4_K_M.
//!
//! Layout of one super-block of a group ([`GROUP_BLOCK`] bytes): Q4_K's repacked super-block
//! (`d`, `dmin`, `scales`, `mins`, `qs` at the same offsets), then `qh[8][16][4]` at [`QH`]: for
//! step k, four bytes of each row, the original `qh[4k..4k + 4]`. Bits 2c and 2c+1 of those
//! bytes are the fifth bits of the values that step's chunk c holds in its low and high nibbles.
//!
//! That is 2880 bytes for the 2816 of sixteen Q5_K blocks (+2.3%). Every row's result is bit for
//! bit the row kernel's ([`super::q5_k::vec_dot_scalar`]): exact integer sums, then the same float
//! step block by block (Q4_K's).

use super::common::QK_K;
use super::q4_k_x16::{dot16_scalar_with, nibble, repack_common};
use super::q5_k::TYPE_SIZE;
use super::x16::ROWS;

/// Bytes of one super-block of a group.
pub const GROUP_BLOCK: usize = super::q4_k_x16::GROUP_BLOCK + 512;
/// Where the fifth bits start in a super-block.
pub(super) const QH: usize = super::q4_k_x16::GROUP_BLOCK;
const SRC_QH: usize = 16;
const SRC_QS: usize = 48;

/// Bytes of one group of rows of `row_len` values (whole super-blocks only).
pub fn group_bytes(row_len: usize) -> Option<usize> {
    (row_len.is_multiple_of(QK_K) && row_len > 0).then(|| row_len / QK_K * GROUP_BLOCK)
}

/// Repacks one group: `src` is its sixteen rows of `row_len` values, `dst` its
/// [`group_bytes`] (both checked by [`super::x16::Layout::repack`]).
pub(super) fn repack_group(src: &[u8], row_len: usize, dst: &mut [u8]) {
    repack_common(src, row_len, dst, TYPE_SIZE, SRC_QS, GROUP_BLOCK);
    let row_bytes = row_len / QK_K * TYPE_SIZE;
    for (b, o) in dst.chunks_exact_mut(GROUP_BLOCK).enumerate() {
        for r in 0..ROWS {
            let x = &src[r * row_bytes + b * TYPE_SIZE..][..TYPE_SIZE];
            for k in 0..8 {
                let d = QH + (k * ROWS + r) * 4;
                o[d..d + 4].copy_from_slice(&x[SRC_QH + 4 * k..SRC_QH + 4 * k + 4]);
            }
        }
    }
}

/// The sixteen rows of one group (`n` values each) · one Q8_K activation row, straight from the
/// repacked layout: the tested reference for the SIMD kernels.
pub fn dot16_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_scalar_with(n, group, activations, out, GROUP_BLOCK, |x, j, k, r, i| {
        nibble(x, j, k, r, i) | (((x[QH + (k * ROWS + r) * 4 + i] >> j) & 1) << 4)
    });
}

#[cfg(test)]
mod tests {
    use super::super::q8_k;
    use super::super::x16::{tests::*, Layout};
    use super::*;

    #[test]
    fn extreme_bytes_give_the_row_kernels_bits() {
        // All values 31 (and, in every third block, 15 or 16 alternately), the largest scales and
        // mins, against ±127 activations.
        let n = 512;
        let rows = 16;
        let mut w = vec![0xFFu8; rows * n / QK_K * TYPE_SIZE];
        for (i, b) in w.chunks_exact_mut(TYPE_SIZE).enumerate() {
            b[0..4].copy_from_slice(&[0x00, 0x3C, 0x66, 0x2E]); // d = 1, dmin = 0.1
            if i % 3 == 0 {
                b[SRC_QS..].fill(0x0F);
                b[SRC_QH..SRC_QS].fill(0xAA);
            }
        }
        let mut a = vec![0u8; n / QK_K * q8_k::TYPE_SIZE];
        let act: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 0 { -1.0 } else { 1.0 })
            .collect();
        q8_k::quantize(&act, &mut a);
        for dot in [dot16_scalar, dispatched(Layout::Q5K)] {
            check_repacked(Layout::Q5K, n, rows, &w, &a, dot);
        }
    }
}
