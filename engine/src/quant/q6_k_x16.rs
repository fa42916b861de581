//! Q6_K repacked at load: sixteen rows interleaved, as [`super::q4_k_x16`] does for Q4_K.
//!
//! Why: the row kernel streamed a 200 MB Q6_K matrix at about 70% of the repacked Q4_K kernel's
//! bytes per second on two threads of this EPYC (criterion `matvec`, `MATVEC_ROWS=49152`), and a
//! Q4_K_M model keeps its output matrix and half its down projections in Q6_K.
//!
//! Layout of a group of 16 rows with `nb` super-blocks:
//! - `d[nb][16]` (f16), padded to a multiple of 64 bytes, so that every super-block after it
//!   starts on a cache line;
//! - then per super-block [`BLOCK_BYTES`] = 3328 bytes (52 cache lines):
//!   - `scales[8][16][2]` (i8: the scales of sub-blocks 2p and 2p+1 of each row, side by side);
//!   - 16 steps of 192 bytes, step `8h + k` for half h and k < 8: four bytes of each row from
//!     `ql[64h + 4k..]`, then from `ql[64h + 32 + 4k..]`, then from `qh[32h + 4k..]`.
//!     One step holds four positions l = 4k.. of the half in all four of its quarters
//!     (values l, l+32, l+64, l+96: low nibbles of the first, of the second, high nibbles of the
//!     first, of the second; their high bits are bits 0-1, 2-3, 4-5, 6-7 of the third).
//!
//! Sixteen Q6_K blocks are 3360 bytes, the repacked super-block 3328 + 32 of d: the same size,
//! plus at most 32 bytes of padding per group. Every row's result is bit for bit the scalar row
//! kernel's ([`super::q6_k::vec_dot_scalar`]): exact integer sums, then the same float step.

use super::common::{f16_at, QK_K};
use super::q6_k::TYPE_SIZE;
use super::q8_k;
use super::x16::{d_area, group_bytes_after_d_area, ROWS};

/// Bytes of one super-block of a group after the d area.
pub const BLOCK_BYTES: usize = 3328;
pub(super) const SCALES: usize = 0;
pub(super) const QS: usize = 256;
/// Bytes of one step: three vectors of four bytes per row.
pub(super) const STEP: usize = 192;
const SRC_QL: usize = 0;
const SRC_QH: usize = 128;
const SRC_SCALES: usize = 192;
const SRC_D: usize = 208;

/// Bytes of one group of rows of `row_len` values (whole super-blocks only).
pub fn group_bytes(row_len: usize) -> Option<usize> {
    group_bytes_after_d_area(row_len, BLOCK_BYTES)
}

/// Bytes of one step of a group expanded for the prompt product: the four quarters' 6-bit values
/// (0..63), a byte each, `[4][16][4]`.
pub(super) const EXPANDED_STEP: usize = 256;
/// Bytes of one expanded super-block after the d area: the scales, then the 16 expanded steps.
pub const EXPANDED_BLOCK_BYTES: usize = QS + 16 * EXPANDED_STEP;

/// Bytes of a group of rows of `row_len` values once expanded: the prompt product expands each
/// group it meets with enough columns once, so that its kernel calls only load.
pub fn expanded_group_bytes(row_len: usize) -> Option<usize> {
    group_bytes_after_d_area(row_len, EXPANDED_BLOCK_BYTES)
}

/// Expands the first `n / 256` super-blocks of a repacked group into `out`
/// ([`expanded_group_bytes`]`(n)` bytes at least).
pub fn expand(n: usize, group: &[u8], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX-512 F/BW were detected at run time.
        return unsafe { expand_avx512(n, group, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { expand_avx2(n, group, out) };
    }
    expand_with(n, group, out)
}

/// [`expand_with`] compiled for AVX-512 BW (the byte loops become 64-byte vector operations).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn expand_avx512(n: usize, group: &[u8], out: &mut [u8]) {
    expand_with(n, group, out)
}

/// [`expand_with`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn expand_avx2(n: usize, group: &[u8], out: &mut [u8]) {
    expand_with(n, group, out)
}

/// The expansion, portable: each step's quarters put together as the kernels do.
#[inline(always)]
fn expand_with(n: usize, group: &[u8], out: &mut [u8]) {
    let nb = n / QK_K;
    let sizes = [BLOCK_BYTES, EXPANDED_BLOCK_BYTES, QS];
    for (x, o) in super::x16::expanded_blocks(group, out, nb, d_area(nb), sizes) {
        for step in 0..16 {
            let s: &[u8; STEP] = x[QS + step * STEP..][..STEP].try_into().unwrap();
            let e = &mut o[QS + step * EXPANDED_STEP..][..EXPANDED_STEP];
            for i in 0..64 {
                let (a, b, hb) = (s[i], s[64 + i], s[128 + i]);
                e[i] = (a & 0xF) | ((hb & 3) << 4);
                e[64 + i] = (b & 0xF) | (((hb >> 2) & 3) << 4);
                e[128 + i] = (a >> 4) | (((hb >> 4) & 3) << 4);
                e[192 + i] = (b >> 4) | (((hb >> 6) & 3) << 4);
            }
        }
    }
}

/// Repacks one group: `src` is its sixteen rows of `row_len` values, `dst` its
/// [`group_bytes`] (both checked by [`super::x16::Layout::repack`]).
pub(super) fn repack_group(src: &[u8], row_len: usize, dst: &mut [u8]) {
    let nb = row_len / QK_K;
    let row_bytes = nb * TYPE_SIZE;
    let (ds, blocks) = dst.split_at_mut(d_area(nb));
    ds.fill(0);
    for (b, o) in blocks.chunks_exact_mut(BLOCK_BYTES).enumerate() {
        for r in 0..ROWS {
            let x = &src[r * row_bytes + b * TYPE_SIZE..][..TYPE_SIZE];
            let d = 2 * (ROWS * b + r);
            ds[d..d + 2].copy_from_slice(&x[SRC_D..SRC_D + 2]);
            for j in 0..16 {
                o[SCALES + 32 * (j / 2) + 2 * r + j % 2] = x[SRC_SCALES + j];
            }
            for h in 0..2 {
                for k in 0..8 {
                    let step = QS + (8 * h + k) * STEP + 4 * r;
                    let parts = [
                        SRC_QL + 64 * h + 4 * k,
                        SRC_QL + 64 * h + 32 + 4 * k,
                        SRC_QH + 32 * h + 4 * k,
                    ];
                    for (v, s) in parts.into_iter().enumerate() {
                        o[step + 64 * v..step + 64 * v + 4].copy_from_slice(&x[s..s + 4]);
                    }
                }
            }
        }
    }
}

/// The sixteen rows of one group (`n` values each) · one Q8_K activation row, straight from the
/// repacked layout: the tested reference for the SIMD kernel.
pub fn dot16_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let nb = n / QK_K;
    let (ds, blocks) = group.split_at(d_area(nb));
    *out = [0.0; ROWS];
    for (b, (x, y)) in blocks
        .chunks_exact(BLOCK_BYTES)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
        .enumerate()
    {
        let q8 = q8_k::qs(y);
        for (r, o) in out.iter_mut().enumerate() {
            // Σ_j scale_j · Σ (q − 32)·a over the 16 values of sub-block j, as the row kernel.
            let mut sums = [0i32; 16];
            for h in 0..2 {
                for k in 0..8 {
                    let step = &x[QS + (8 * h + k) * STEP + 4 * r..];
                    for i in 0..4 {
                        let (a, b, hb) = (step[i], step[64 + i], step[128 + i]);
                        let q = [
                            (a & 0xF) | ((hb & 3) << 4),
                            (b & 0xF) | (((hb >> 2) & 3) << 4),
                            (a >> 4) | (((hb >> 4) & 3) << 4),
                            (b >> 4) | (((hb >> 6) & 3) << 4),
                        ];
                        for (quarter, &q) in q.iter().enumerate() {
                            let pos = 128 * h + 32 * quarter + 4 * k + i;
                            sums[pos / 16] += (q as i32 - 32) * q8[pos] as i32;
                        }
                    }
                }
            }
            let sumi: i32 = (0..16)
                .map(|j| x[SCALES + 32 * (j / 2) + 2 * r + j % 2] as i8 as i32 * sums[j])
                .sum();
            *o += f16_at(ds, 2 * (ROWS * b + r)) * q8_k::d(y) * sumi as f32;
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
        // All six bits set (q = 31) and cleared (q = −32), the extreme scales ±127 and −128,
        // against ±127 activations: the largest integer sums the layout can hold.
        let n = 768;
        let rows = 16;
        let mut w = vec![0xFFu8; rows * n / QK_K * TYPE_SIZE];
        for (i, b) in w.chunks_exact_mut(TYPE_SIZE).enumerate() {
            if i % 3 == 1 {
                b[..SRC_SCALES].fill(0);
            }
            for j in 0..16 {
                b[SRC_SCALES + j] = [127u8, 0x80, 0x81][(i + j) % 3];
            }
            b[SRC_D..SRC_D + 2].copy_from_slice(&[0x00, 0x3C]); // d = 1
        }
        let act: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 0 { -1.0 } else { 1.0 })
            .collect();
        let mut a = vec![0u8; n / QK_K * q8_k::TYPE_SIZE];
        q8_k::quantize(&act, &mut a);
        for dot in [dot16_scalar, dispatched(Layout::Q6K)] {
            check_repacked(Layout::Q6K, n, rows, &w, &a, dot);
        }
    }

    #[test]
    fn expansion_gives_each_rows_values_on_every_isa() {
        let n = 768;
        let (w, packed) = noise_group(Layout::Q6K, n);
        let len = expanded_group_bytes(n).unwrap();
        let want = expanded_on_every_isa(Layout::Q6K, n, &packed, len, expand_with);
        // Value 128h + 32m + 4k + i of row r: its low four bits from ql, its top two from qh.
        let blocks = &want[d_area(n / QK_K)..];
        for (b, x) in blocks.chunks_exact(EXPANDED_BLOCK_BYTES).enumerate() {
            for (h, k, m, r, i) in (0..2 * 8 * 4 * ROWS * 4)
                .map(|v| (v / 2048, v / 256 % 8, v / 64 % 4, v / 4 % 16, v % 4))
            {
                let src = &w[(r * n / QK_K + b) * TYPE_SIZE..][..TYPE_SIZE];
                let l = 32 * m + 4 * k + i;
                let ql = src[SRC_QL + 64 * h + l % 64] >> (4 * (l / 64));
                let qh = src[SRC_QH + 32 * h + l % 32] >> (2 * (l / 32));
                let value = (ql & 0xF) | ((qh & 3) << 4);
                assert_eq!(
                    x[QS + (8 * h + k) * EXPANDED_STEP + 64 * m + 4 * r + i],
                    value,
                    "block {b} row {r} value {}",
                    128 * h + l
                );
            }
        }
    }
}
