//! IQ4_XS repacked at load: sixteen rows interleaved, as [`super::q4_k_x16`] does for Q4_K.
//!
//! Why: a Qwen3.5-MoE prompt gives each expert only a few tokens (512 tokens × 8 of 256 experts:
//! about 16 columns per expert), where the transposed-activation kernel runs at about half the
//! repacked Q4_K kernel's GFLOP/s, and an IQ4_XS model keeps nearly every matrix in IQ4_XS.
//!
//! Layout of a group of 16 rows with `nb` super-blocks:
//! - `d[nb][16]` (f16), padded to a multiple of 64 bytes, so that every super-block after it
//!   starts on a cache line;
//! - then per super-block [`BLOCK_BYTES`] = 2176 bytes (34 cache lines):
//!   - `scales[8][16]` (i8: the sub-block scale minus 32, sub-block j of every row);
//!   - `qs[4][8][16][4]`: for step k and sub-block j, four bytes of each row: the original bytes
//!     `16j + 4k .. 16j + 4k + 4` (low nibbles: elements 4k.. of sub-block j, high nibbles:
//!     elements 16 + 4k..).
//!
//! The nibbles index the non-linear levels; the kernel looks them up as `level + 128` (1..=241,
//! an unsigned byte for `vpdpbusd`) and takes `128 · Σ activations` of the sub-block back off,
//! which Q8_K stores. Sixteen IQ4_XS blocks are 2176 bytes, the repacked super-block 2176 + 32
//! of d: the same size, plus at most 32 bytes of padding per group.
//!
//! Every row's result is bit for bit [`row_dot`]: each super-block's integer sum exact, then one
//! float step per super-block. The file's kernels (llama.cpp's order) split that sum over eight
//! float lanes, so the two agree to rounding, not to the bit (tested).

use super::common::{f16_at, QK_K};
use super::iq4_xs::{sub_scale, KVALUES, TYPE_SIZE};
use super::q8_k;
use super::x16::{d_area, group_bytes_after_d_area, ROWS};

/// Bytes of one super-block of a group after the d area.
pub const BLOCK_BYTES: usize = 2176;
pub(super) const SCALES: usize = 0;
pub(super) const QS: usize = 128;
const SRC_QS: usize = 8;

/// The levels plus 128, as unsigned bytes (the kernel's lookup table).
pub(super) const LEVELS_PLUS_128: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = (KVALUES[i] as i16 + 128) as u8;
        i += 1;
    }
    t
};

/// Bytes of one group of rows of `row_len` values (whole super-blocks only).
pub fn group_bytes(row_len: usize) -> Option<usize> {
    group_bytes_after_d_area(row_len, BLOCK_BYTES)
}

/// Where step `k`'s four bytes of sub-block `j` of row `r` lie in a repacked super-block.
#[inline(always)]
pub(super) fn qs_at(k: usize, j: usize, r: usize) -> usize {
    QS + ((k * 8 + j) * ROWS + r) * 4
}

/// Bytes of one super-block of a group expanded for the prompt product (after the same d area):
/// the scales, then a byte per value, its level + 128, at [`expanded_at`]. The prompt product
/// expands each group it meets with enough columns once, so that its kernel calls only load.
pub const EXPANDED_BLOCK_BYTES: usize = QS + 16 * QK_K;

/// Where sub-block `j`, step `k`, half `h` (0: elements `4k..4k+4`, 1: `16+4k..`) of the sixteen
/// rows (`[16][4]` bytes) start in an expanded super-block.
#[inline(always)]
pub(super) const fn expanded_at(j: usize, k: usize, h: usize) -> usize {
    QS + ((j * 4 + k) * 2 + h) * 64
}

/// Bytes of a group of rows of `row_len` values once expanded.
pub fn expanded_group_bytes(row_len: usize) -> Option<usize> {
    group_bytes_after_d_area(row_len, EXPANDED_BLOCK_BYTES)
}

/// The (repacked, expanded) super-block pairs of a group, d area and scales already copied
/// ([`super::x16::expanded_blocks`]).
#[inline(always)]
pub(super) fn expanded_blocks<'a>(
    n: usize,
    group: &'a [u8],
    out: &'a mut [u8],
) -> impl Iterator<Item = (&'a [u8], &'a mut [u8])> {
    let nb = n / QK_K;
    let sizes = [BLOCK_BYTES, EXPANDED_BLOCK_BYTES, QS];
    super::x16::expanded_blocks(group, out, nb, d_area(nb), sizes)
}

/// Expands the first `n / 256` super-blocks of a repacked group into `out`: the tested
/// reference for the SIMD expansions.
pub fn expand_scalar(n: usize, group: &[u8], out: &mut [u8]) {
    for (x, o) in expanded_blocks(n, group, out) {
        for (j, k, r, i) in (0..8 * 4 * ROWS * 4).map(|v| (v / 256, v / 64 % 4, v / 4 % 16, v % 4))
        {
            let byte = x[qs_at(k, j, r) + i];
            o[expanded_at(j, k, 0) + 4 * r + i] = LEVELS_PLUS_128[(byte & 0xF) as usize];
            o[expanded_at(j, k, 1) + 4 * r + i] = LEVELS_PLUS_128[(byte >> 4) as usize];
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
            ds[d..d + 2].copy_from_slice(&x[0..2]);
            for j in 0..8 {
                o[SCALES + ROWS * j + r] = sub_scale(x, j) as i8 as u8;
                for k in 0..4 {
                    let s = SRC_QS + 16 * j + 4 * k;
                    let at = qs_at(k, j, r);
                    o[at..at + 4].copy_from_slice(&x[s..s + 4]);
                }
            }
        }
    }
}

/// One row of IQ4_XS · a Q8_K activation row, each super-block's integer sum exact and then one
/// float step `d·dy·Σ`: the bits every repacked lane reproduces.
pub fn row_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(n / QK_K)
    {
        let q8 = q8_k::qs(y);
        let mut sumi = 0i32;
        for j in 0..8 {
            let mut s = 0i32;
            for l in 0..16 {
                let byte = x[SRC_QS + 16 * j + l];
                s += KVALUES[(byte & 0xF) as usize] as i32 * q8[32 * j + l] as i32;
                s += KVALUES[(byte >> 4) as usize] as i32 * q8[32 * j + 16 + l] as i32;
            }
            sumi += sub_scale(x, j) * s;
        }
        sumf += f16_at(x, 0) * q8_k::d(y) * sumi as f32;
    }
    sumf
}

/// The sixteen rows of one group (`n` values each) · one Q8_K activation row, straight from the
/// repacked layout: the tested reference for the SIMD kernels.
pub fn dot16_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let nb = n / QK_K;
    *out = [0.0; ROWS];
    let (ds, blocks) = group.split_at(d_area(nb));
    for (b, (x, y)) in blocks
        .chunks_exact(BLOCK_BYTES)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
        .enumerate()
    {
        let q8 = q8_k::qs(y);
        let dy = q8_k::d(y);
        for (r, o) in out.iter_mut().enumerate() {
            let mut sumi = 0i32;
            for j in 0..8 {
                // As the kernel does it: (level + 128) · a, less 128 · Σ a of the sub-block.
                let bsum = q8_k::bsum(y, 2 * j) as i32 + q8_k::bsum(y, 2 * j + 1) as i32;
                let mut s = -128 * bsum;
                for k in 0..4 {
                    let q = &x[qs_at(k, j, r)..][..4];
                    for (i, &byte) in q.iter().enumerate() {
                        let lo = LEVELS_PLUS_128[(byte & 0xF) as usize] as i32;
                        let hi = LEVELS_PLUS_128[(byte >> 4) as usize] as i32;
                        s += lo * q8[32 * j + 4 * k + i] as i32;
                        s += hi * q8[32 * j + 16 + 4 * k + i] as i32;
                    }
                }
                sumi += x[SCALES + ROWS * j + r] as i8 as i32 * s;
            }
            *o += f16_at(ds, 2 * (ROWS * b + r)) * dy * sumi as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Rng;
    use super::super::x16::{tests::*, Layout};
    use super::super::{iq4_xs, q8_k};
    use super::*;

    #[test]
    fn row_dot_agrees_with_the_files_kernel_to_rounding() {
        let n = 1024;
        let mut rng = Rng::new(5);
        for _ in 0..20 {
            let w: Vec<f32> = (0..n).map(|_| rng.uniform() * 2.0 - 1.0).collect();
            let a: Vec<f32> = (0..n).map(|_| rng.uniform() * 2.0 - 1.0).collect();
            let mut wq = vec![0u8; n / QK_K * TYPE_SIZE];
            iq4_xs::quantize(&w, &mut wq);
            let mut aq = vec![0u8; n / QK_K * q8_k::TYPE_SIZE];
            q8_k::quantize(&a, &mut aq);
            let exact = row_dot(n, &wq, &aq);
            let lanes = iq4_xs::vec_dot_scalar(n, &wq, &aq);
            let scale: f32 = (0..n).map(|i| (w[i] * a[i]).abs()).sum();
            assert!(
                (exact - lanes).abs() <= 1e-5 * scale,
                "{exact} vs {lanes} (Σ|w·a| {scale})"
            );
        }
    }

    #[test]
    fn extreme_bytes_give_the_row_dots_bits() {
        // The largest levels and scales of both signs against ±127 activations.
        let n = 512;
        let rows = 16;
        let mut w = vec![0xFFu8; rows * n / QK_K * TYPE_SIZE];
        for (i, b) in w.chunks_exact_mut(TYPE_SIZE).enumerate() {
            b[0..2].copy_from_slice(&[0x00, 0x3C]); // d = 1
            match i % 3 {
                0 => b[SRC_QS..].fill(0x00), // level −127
                1 => b[2..8].fill(0x00),     // scale −32
                _ => {}
            }
        }
        let mut a = vec![0u8; n / QK_K * q8_k::TYPE_SIZE];
        let act: Vec<f32> = (0..n)
            .map(|i| if i % 5 == 0 { -1.0 } else { 1.0 })
            .collect();
        q8_k::quantize(&act, &mut a);
        for dot in [dot16_scalar, dispatched(Layout::IQ4XS)] {
            check_repacked(Layout::IQ4XS, n, rows, &w, &a, dot);
        }
    }

    #[test]
    fn expansion_gives_each_rows_levels_on_every_isa() {
        let n = 768;
        let (w, packed) = noise_group(Layout::IQ4XS, n);
        let len = expanded_group_bytes(n).unwrap();
        let want = expanded_on_every_isa(Layout::IQ4XS, n, &packed, len, expand_scalar);
        // Element 16h + 4k + i of sub-block j of row r is nibble h of byte 16j + 4k + i of its qs.
        let blocks = &want[d_area(n / QK_K)..];
        for (b, x) in blocks.chunks_exact(EXPANDED_BLOCK_BYTES).enumerate() {
            for (j, k, h, r, i) in (0..8 * 4 * 2 * ROWS * 4)
                .map(|v| (v / 512, v / 128 % 4, v / 64 % 2, v / 4 % 16, v % 4))
            {
                let src = &w[(r * n / QK_K + b) * TYPE_SIZE..][..TYPE_SIZE];
                let nibble = (src[SRC_QS + 16 * j + 4 * k + i] >> (4 * h)) & 0xF;
                assert_eq!(
                    x[expanded_at(j, k, h) + 4 * r + i],
                    LEVELS_PLUS_128[nibble as usize],
                    "block {b} row {r} sub-block {j}"
                );
            }
        }
    }
}
