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
use std::ops::Range;

/// Rows per group.
pub const ROWS: usize = 16;
/// Bytes of one super-block of a group.
pub const GROUP_BLOCK: usize = 2368;
pub(super) const D: usize = 0;
pub(super) const DMIN: usize = 32;
pub(super) const SCALES: usize = 64;
pub(super) const MINS: usize = 192;
pub(super) const QS: usize = 320;
const SRC_SCALES: usize = 4;
const SRC_QS: usize = 16;

/// Bytes of `n_rows` rows of `row_len` values once repacked, or `None` when the matrix cannot be
/// (rows not a multiple of 16 or of 256 values).
pub fn repacked_len(row_len: usize, n_rows: usize) -> Option<usize> {
    let ok = row_len.is_multiple_of(QK_K) && n_rows.is_multiple_of(ROWS) && row_len > 0;
    ok.then(|| n_rows / ROWS * (row_len / QK_K) * GROUP_BLOCK)
}

/// Bytes of one group of rows of `row_len` values.
pub fn group_bytes(row_len: usize) -> Option<usize> {
    repacked_len(row_len, ROWS)
}

/// Where rows `[start, start + count)` lie in repacked rows of `row_len` values, when both are
/// whole groups (an expert's rows of a stacked tensor).
pub fn group_range(row_len: usize, start: usize, count: usize) -> Option<Range<usize>> {
    if !start.is_multiple_of(ROWS) || !count.is_multiple_of(ROWS) {
        return None;
    }
    let gb = group_bytes(row_len)?;
    Some(start / ROWS * gb..(start + count) / ROWS * gb)
}

/// Repacks `n_rows` Q4_K rows of `row_len` values (`src`, row after row) into `dst`
/// (`repacked_len` bytes). Returns `false` and leaves `dst` untouched on a size mismatch.
pub fn repack(src: &[u8], row_len: usize, n_rows: usize, dst: &mut [u8]) -> bool {
    let Some(len) = repacked_len(row_len, n_rows) else {
        return false;
    };
    let nb = row_len / QK_K;
    let row_bytes = nb * TYPE_SIZE;
    if dst.len() != len || src.len() != n_rows * row_bytes {
        return false;
    }
    for (group, out) in src
        .chunks_exact(ROWS * row_bytes)
        .zip(dst.chunks_exact_mut(nb * GROUP_BLOCK))
    {
        for (b, o) in out.chunks_exact_mut(GROUP_BLOCK).enumerate() {
            for r in 0..ROWS {
                let x = &group[r * row_bytes + b * TYPE_SIZE..][..TYPE_SIZE];
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
                        let s = SRC_QS + 32 * c + 4 * k;
                        let d = QS + ((k * 4 + c) * ROWS + r) * 4;
                        o[d..d + 4].copy_from_slice(&x[s..s + 4]);
                    }
                }
            }
        }
    }
    true
}

/// The sixteen rows of one group (`n` values each) · one Q8_K activation row, straight from the
/// repacked layout: the tested reference for the SIMD kernels.
pub fn dot16_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let nb = n / QK_K;
    *out = [0.0; ROWS];
    for (x, y) in group
        .chunks_exact(GROUP_BLOCK)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let q8 = q8_k::qs(y);
        let dy = q8_k::d(y);
        for (r, o) in out.iter_mut().enumerate() {
            let mut sumi = 0i32;
            let mut summins = 0i32;
            for j in 0..8 {
                let (c, high) = (j / 2, j % 2 == 1);
                let mut s = 0i32;
                for k in 0..8 {
                    let q = &x[QS + ((k * 4 + c) * ROWS + r) * 4..][..4];
                    for (i, &byte) in q.iter().enumerate() {
                        let v = if high { byte >> 4 } else { byte & 0xF };
                        s += v as i32 * q8[32 * j + 4 * k + i] as i32;
                    }
                }
                sumi += x[SCALES + 16 * j + r] as i32 * s;
                let bsum = q8_k::bsum(y, 2 * j) as i32 + q8_k::bsum(y, 2 * j + 1) as i32;
                summins += x[MINS + 32 * c + 2 * r + j % 2] as i32 * bsum;
            }
            let (d, dmin) = (f16_at(x, D + 2 * r), f16_at(x, DMIN + 2 * r));
            *o += d * dy * sumi as f32 - dmin * dy * summins as f32;
        }
    }
}

/// Whether this CPU has a kernel for the repacked layout that beats the row kernel (repacking
/// for the scalar one would only slow decode down).
pub fn has_fast_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::avx512_util::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`dot16_scalar`] on the fastest kernel this CPU has (same bits).
#[inline]
pub fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
        return unsafe { super::q4_k_x16_avx512::dot16(n, group, activations, out) };
    }
    dot16_scalar(n, group, activations, out)
}

#[cfg(test)]
mod tests {
    use super::super::{q4_k, q8_k};
    use super::*;

    /// `rows` Q4_K rows of `n` values quantized from a deterministic pseudo-random signal, and a
    /// Q8_K activation row.
    fn rows_and_activations(n: usize, rows: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
        let mut rng = super::super::test_util::Rng::new(seed as u64);
        let mut next = move || rng.uniform() * 2.0 - 1.0;
        let row_bytes = n / QK_K * TYPE_SIZE;
        let mut w = vec![0u8; rows * row_bytes];
        for r in 0..rows {
            let xs: Vec<f32> = (0..n)
                .map(|i| next() * (1.0 + (i % 97) as f32 / 9.0))
                .collect();
            q4_k::quantize(&xs, &mut w[r * row_bytes..(r + 1) * row_bytes]);
        }
        let act: Vec<f32> = (0..n).map(|_| next() * 3.0).collect();
        let mut a = vec![0u8; n / QK_K * q8_k::TYPE_SIZE];
        q8_k::quantize(&act, &mut a);
        (w, a)
    }

    /// Every row of the repacked groups against the row kernel, bit for bit, with `dot`.
    fn check_rows(n: usize, rows: usize, dot: fn(usize, &[u8], &[u8], &mut [f32; ROWS])) {
        for seed in 0..3 {
            let (w, a) = rows_and_activations(n, rows, seed);
            let mut packed = vec![0u8; repacked_len(n, rows).unwrap()];
            assert!(repack(&w, n, rows, &mut packed));
            let row_bytes = n / QK_K * TYPE_SIZE;
            let group_bytes = n / QK_K * GROUP_BLOCK;
            for g in 0..rows / ROWS {
                let mut out = [0f32; ROWS];
                dot(
                    n,
                    &packed[g * group_bytes..(g + 1) * group_bytes],
                    &a,
                    &mut out,
                );
                for (r, &got) in out.iter().enumerate() {
                    let row = &w[(g * ROWS + r) * row_bytes..][..row_bytes];
                    let want = q4_k::vec_dot_scalar(n, row, &a);
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "seed {seed} group {g} row {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn scalar_group_dot_is_the_row_kernel_bit_for_bit() {
        check_rows(512, 32, dot16_scalar);
    }

    #[test]
    fn dispatched_group_dot_is_the_row_kernel_bit_for_bit() {
        // Odd block counts and several groups; on an AVX-512 CPU this is the SIMD kernel.
        check_rows(256, 16, dot16);
        check_rows(768, 48, dot16);
        check_rows(2048, 32, dot16);
    }

    #[test]
    fn extreme_bytes_give_the_row_kernels_bits() {
        // All-ones nibbles and the largest scales and mins against ±127 activations.
        let n = 512;
        let rows = 16;
        let row_bytes = n / QK_K * TYPE_SIZE;
        let mut w = vec![0xFFu8; rows * row_bytes];
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
        let mut packed = vec![0u8; repacked_len(n, rows).unwrap()];
        assert!(repack(&w, n, rows, &mut packed));
        for dot in [dot16_scalar, dot16] {
            let mut out = [0f32; ROWS];
            dot(n, &packed, &a, &mut out);
            for (r, &got) in out.iter().enumerate() {
                let want = q4_k::vec_dot_scalar(n, &w[r * row_bytes..][..row_bytes], &a);
                assert_eq!(got.to_bits(), want.to_bits(), "row {r}");
            }
        }
    }

    #[test]
    fn slices_of_whole_groups_only() {
        let gb = group_bytes(512).unwrap();
        assert_eq!(group_range(512, 32, 16), Some(2 * gb..3 * gb));
        assert_eq!(group_range(512, 8, 16), None);
        assert_eq!(group_range(512, 16, 8), None);
    }

    #[test]
    fn shapes_that_do_not_group_are_refused() {
        assert_eq!(repacked_len(256, 15), None);
        assert_eq!(repacked_len(250, 16), None);
        assert_eq!(repacked_len(512, 32), Some(2 * 2 * GROUP_BLOCK));
        let mut dst = vec![0u8; 10];
        assert!(!repack(&[0u8; 16 * TYPE_SIZE], 256, 16, &mut dst));
    }
}
