//! Q4_K repacked at load for decode: sixteen rows interleaved, so that one product step covers
//! four values of sixteen rows and the rows' results land in the sixteen lanes of one vector.
//!
//! Why: the row-at-a-time Q4_K kernel spends about half its time outside the multiply-adds
//! (unpacking the 6-bit scales and mins, reducing each block to one number), which kept a
//! Qwen3.5-MoE decode compute-bound well under the RAM bandwidth. Here the scales and mins are
//! stored unpacked and the reduction is lane-wise, and the sixteen rows are still read as one
//! sequential stream (four separate row streams ran at a fifth of the bandwidth on this EPYC).
//!
//! Layout: a group of 16 rows is its super-blocks one after the other, each [`GROUP_BLOCK`] bytes:
//! - `d[16]`, `dmin[16]` (f16, row order);
//! - `scales[8][16]` (u8, sub-block j of every row);
//! - `mins[4][16][2]` (u8, the mins of sub-blocks 2p and 2p+1 of each row, side by side);
//! - `qs[8][4][16][4]`: for step k and chunk c, four bytes of each row: the original bytes
//!   `32c + 4k .. 32c + 4k + 4` (low nibbles: sub-block 2c, high nibbles: sub-block 2c+1). The
//!   kernel reads them in memory order; chunk-major (a 512-byte stride) streamed 10% slower.
//!
//! That is 2368 bytes for the 2304 of sixteen Q4_K blocks (+2.8%). The result of every row is bit
//! for bit the row kernel's ([`super::q4_k::vec_dot_scalar`]): exact integer sums, then the same
//! float step block by block.

use super::common::{f16_at, scale_min_k4, QK_K};
use super::q4_k::TYPE_SIZE;
use super::q8_k;
use super::x16::ROWS;

/// Bytes of one super-block of a group.
pub const GROUP_BLOCK: usize = 2368;
pub(super) const D: usize = 0;
pub(super) const DMIN: usize = 32;
pub(super) const SCALES: usize = 64;
pub(super) const MINS: usize = 192;
pub(super) const QS: usize = 320;
const SRC_SCALES: usize = 4;
const SRC_QS: usize = 16;

/// Bytes of one group of rows of `row_len` values (whole super-blocks only).
pub fn group_bytes(row_len: usize) -> Option<usize> {
    (row_len.is_multiple_of(QK_K) && row_len > 0).then(|| row_len / QK_K * GROUP_BLOCK)
}

/// Repacks one group: `src` is its sixteen rows of `row_len` values, `dst` its
/// [`group_bytes`] (both checked by [`super::x16::Layout::repack`]).
pub(super) fn repack_group(src: &[u8], row_len: usize, dst: &mut [u8]) {
    repack_common(src, row_len, dst, TYPE_SIZE, SRC_QS, GROUP_BLOCK);
}

/// The parts Q4_K and Q5_K share (d, dmin, scales, mins and the low nibbles at the same offsets
/// of each repacked super-block of `block` bytes): source blocks of `type_size` bytes, their
/// nibbles at `src_qs` (the scales right after d and dmin in both).
pub(super) fn repack_common(
    src: &[u8],
    row_len: usize,
    dst: &mut [u8],
    type_size: usize,
    src_qs: usize,
    block: usize,
) {
    let row_bytes = row_len / QK_K * type_size;
    for (b, o) in dst.chunks_exact_mut(block).enumerate() {
        for r in 0..ROWS {
            let x = &src[r * row_bytes + b * type_size..][..type_size];
            o[D + 2 * r..D + 2 * r + 2].copy_from_slice(&x[0..2]);
            o[DMIN + 2 * r..DMIN + 2 * r + 2].copy_from_slice(&x[2..4]);
            let packed = &x[SRC_SCALES..SRC_SCALES + 12];
            for j in 0..8 {
                let (sc, m) = scale_min_k4(j, packed);
                o[SCALES + 16 * j + r] = sc;
                o[MINS + 32 * (j / 2) + 2 * r + j % 2] = m;
            }
            for c in 0..4 {
                for k in 0..8 {
                    let s = src_qs + 32 * c + 4 * k;
                    let d = QS + ((k * 4 + c) * ROWS + r) * 4;
                    o[d..d + 4].copy_from_slice(&x[s..s + 4]);
                }
            }
        }
    }
}

/// The sixteen rows of one group (`n` values each) · one Q8_K activation row, straight from the
/// repacked layout: the tested reference for the SIMD kernels.
pub fn dot16_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_scalar_with(n, group, activations, out, GROUP_BLOCK, nibble);
}

/// Value `4k + i` of sub-block `j` of row `r` in the repacked super-block `x`: its nibble.
pub(super) fn nibble(x: &[u8], j: usize, k: usize, r: usize, i: usize) -> u8 {
    let byte = x[QS + ((k * 4 + j / 2) * ROWS + r) * 4 + i];
    if j % 2 == 1 {
        byte >> 4
    } else {
        byte & 0xF
    }
}

/// [`dot16_scalar`] for super-blocks of `block` bytes laid out as Q4_K's, whose values
/// `value(x, j, k, r, i)` gives as [`nibble`] does (Q5_K adds its fifth bits).
pub(super) fn dot16_scalar_with(
    n: usize,
    group: &[u8],
    activations: &[u8],
    out: &mut [f32; ROWS],
    block: usize,
    value: impl Fn(&[u8], usize, usize, usize, usize) -> u8,
) {
    let nb = n / QK_K;
    *out = [0.0; ROWS];
    for (x, y) in group
        .chunks_exact(block)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let q8 = q8_k::qs(y);
        let dy = q8_k::d(y);
        for (r, o) in out.iter_mut().enumerate() {
            let mut sumi = 0i32;
            let mut summins = 0i32;
            for j in 0..8 {
                let mut s = 0i32;
                for k in 0..8 {
                    for i in 0..4 {
                        s += value(x, j, k, r, i) as i32 * q8[32 * j + 4 * k + i] as i32;
                    }
                }
                sumi += x[SCALES + 16 * j + r] as i32 * s;
                let bsum = q8_k::bsum(y, 2 * j) as i32 + q8_k::bsum(y, 2 * j + 1) as i32;
                summins += x[MINS + 32 * (j / 2) + 2 * r + j % 2] as i32 * bsum;
            }
            let (d, dmin) = (f16_at(x, D + 2 * r), f16_at(x, DMIN + 2 * r));
            *o += d * dy * sumi as f32 - dmin * dy * summins as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::q8_k;
    use super::super::x16::{tests::*, Layout};
    use super::*;

    #[test]
    fn extreme_bytes_give_the_row_kernels_bits() {
        // All-ones nibbles and the largest scales and mins against ±127 activations.
        let n = 512;
        let rows = 16;
        let mut w = vec![0xFFu8; rows * n / QK_K * TYPE_SIZE];
        for (i, b) in w.chunks_exact_mut(TYPE_SIZE).enumerate() {
            b[0..4].copy_from_slice(&[0x00, 0x3C, 0x66, 0x2E]); // d = 1, dmin = 0.1
            if i % 3 == 0 {
                b[SRC_QS..].fill(0x0F);
            }
        }
        let mut a = vec![0u8; n / QK_K * q8_k::TYPE_SIZE];
        let act: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 0 { -1.0 } else { 1.0 })
            .collect();
        q8_k::quantize(&act, &mut a);
        for dot in [dot16_scalar, dispatched(Layout::Q4K)] {
            check_repacked(Layout::Q4K, n, rows, &w, &a, dot);
        }
    }
}
