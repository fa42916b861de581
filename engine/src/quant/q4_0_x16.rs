//! Q4_0 repacked at load: sixteen rows interleaved, as [`super::q4_k_x16`] does for Q4_K.
//!
//! Why: the file's Q4_0 row kernel sums each 32-value block horizontally and then adds the
//! blocks' float terms one after the other (the scalar order, which the logits need), so decode
//! read only 15 GB/s on two Zen 4 threads where repacked Q4_K reads 44, and a Q4_0 model
//! generated at 0.6× llama.cpp's speed (whose own Q4_0 is repacked). Here the sixteen rows of a
//! group are the sixteen lanes of one vector: no horizontal sum, and each lane's float steps are
//! still its row's, in order.
//!
//! Layout of a group of 16 rows with `nb` blocks of 32 values:
//! - `d[nb][16]` (f16), padded to a multiple of 64 bytes, so that every block after it starts
//!   on a cache line;
//! - then per block [`BLOCK_BYTES`] = 256 bytes: `qs[4][16][4]`, for step `k` four bytes of
//!   each row, the file's bytes `4k .. 4k + 4` (low nibbles: elements `4k..`, high nibbles:
//!   elements `16 + 4k..`).
//!
//! The kernels multiply the unsigned nibbles (0..=15) by Q8_0 activations and take
//! `8 · Σ activations` of the block back off, so each block's integer sum is exact; the float
//! step is the file kernel's `sumf += sumi · (d · dy)`. Sixteen Q4_0 blocks are 288 bytes, the
//! repacked block 256 + 32 of d: the same size, plus at most 32 bytes of padding per group.

use super::common::f16_at;
use super::q4_0::{BLOCK, TYPE_SIZE};
use super::q8_0;
use super::x16::{d_area, ROWS};

/// Bytes of one block of a group after the d area.
pub const BLOCK_BYTES: usize = 256;

/// Bytes of one group of rows of `row_len` values (whole blocks only).
pub fn group_bytes(row_len: usize) -> Option<usize> {
    let nb = row_len / BLOCK;
    (row_len.is_multiple_of(BLOCK) && nb > 0).then(|| d_area(nb) + nb * BLOCK_BYTES)
}

/// Where step `k`'s four bytes of row `r` lie in a repacked block.
#[inline(always)]
pub(super) const fn qs_at(k: usize, r: usize) -> usize {
    (k * ROWS + r) * 4
}

/// `−8 ·` the sum of a Q8_0 activation block's values: the kernels' starting value, which makes
/// the unsigned nibbles' sum the signed one.
#[inline(always)]
pub(super) fn offset(y: &[u8]) -> i32 {
    -8 * y[2..q8_0::TYPE_SIZE]
        .iter()
        .map(|&v| v as i8 as i32)
        .sum::<i32>()
}

/// Bytes of one Q8_0 activation block with its [`offset`] (i32) and its scale as f32 after it:
/// the form the prompt product gives the kernels, so that each column's offsets and scales are
/// worked out once per product rather than once per group of rows.
pub const SUMMED_BLOCK: usize = q8_0::TYPE_SIZE + 8;

/// `n` Q8_0 activation rows of `arb` bytes (`k` values each) with each block's [`offset`]
/// appended ([`SUMMED_BLOCK`]), row after row, into `out`; returns the bytes per row.
pub fn summed_activations(qa: &[u8], arb: usize, n: usize, k: usize, out: &mut Vec<u8>) -> usize {
    let nb = k / BLOCK;
    out.clear();
    for t in 0..n {
        for y in qa[t * arb..].chunks_exact(q8_0::TYPE_SIZE).take(nb) {
            out.extend_from_slice(y);
            out.extend_from_slice(&offset(y).to_le_bytes());
            out.extend_from_slice(&f16_at(y, 0).to_le_bytes());
        }
    }
    nb * SUMMED_BLOCK
}

/// The offset stored after the summed activation block at `y`.
///
/// # Safety
/// `y` starts a whole [`SUMMED_BLOCK`].
#[inline(always)]
pub(super) unsafe fn summed_offset(y: *const u8) -> i32 {
    (y.add(q8_0::TYPE_SIZE) as *const i32).read_unaligned()
}

/// The scale (f32) stored after the summed activation block at `y`.
///
/// # Safety
/// As [`summed_offset`].
#[inline(always)]
pub(super) unsafe fn summed_scale(y: *const u8) -> f32 {
    (y.add(q8_0::TYPE_SIZE + 4) as *const f32).read_unaligned()
}

/// What a SIMD kernel walks in one group: the d area, the blocks (repacked, or expanded), the
/// stride of the activation rows' blocks (plain Q8_0, or summed), and how many blocks the group
/// and every activation row hold whole.
pub(super) struct Walk<'a> {
    pub ds: &'a [u8],
    pub blocks: &'a [u8],
    pub block_bytes: usize,
    pub stride: usize,
    pub nb: usize,
}

impl<'a> Walk<'a> {
    /// The walk of `n` values of `group` (`EXPANDED`: expanded blocks) against `activations`
    /// (`SUMMED`: [`summed_activations`] rows).
    #[inline(always)]
    pub fn new<const SUMMED: bool, const EXPANDED: bool>(
        n: usize,
        group: &'a [u8],
        activations: &[&[u8]],
    ) -> Walk<'a> {
        let stride = if SUMMED {
            SUMMED_BLOCK
        } else {
            q8_0::TYPE_SIZE
        };
        let block_bytes = if EXPANDED {
            EXPANDED_BLOCK_BYTES
        } else {
            BLOCK_BYTES
        };
        let whole = activations.iter().map(|a| a.len() / stride).min();
        let nb = (n / BLOCK).min(whole.unwrap_or(0));
        let (ds, blocks) = group.split_at(d_area(nb));
        Walk {
            ds,
            blocks,
            block_bytes,
            stride,
            nb,
        }
    }

    /// Where block `b` (below `nb`) starts in each activation row: every offset a kernel reads
    /// from there lies inside the row.
    #[inline(always)]
    pub fn activation_blocks<const C: usize>(
        &self,
        activations: &[&[u8]; C],
        b: usize,
    ) -> [*const u8; C] {
        let mut ys = [std::ptr::null::<u8>(); C];
        for (y, a) in ys.iter_mut().zip(activations) {
            *y = a[b * self.stride..].as_ptr();
        }
        ys
    }
}

/// Bytes of one block of a group expanded for the prompt product (after the same d area): a
/// byte per value, the nibble, at [`expanded_at`]. The prompt product expands each group it
/// meets with enough columns once, so that its kernel calls only load.
pub const EXPANDED_BLOCK_BYTES: usize = 2 * BLOCK_BYTES;

/// Where step `k`, half `h` (0: elements `4k..4k+4`, 1: `16+4k..`) of the sixteen rows
/// (`[16][4]` bytes) start in an expanded block.
#[inline(always)]
pub(super) const fn expanded_at(k: usize, h: usize) -> usize {
    (2 * k + h) * 64
}

/// Bytes of a group of rows of `row_len` values once expanded.
pub fn expanded_group_bytes(row_len: usize) -> Option<usize> {
    let nb = row_len / BLOCK;
    (row_len.is_multiple_of(BLOCK) && nb > 0).then(|| d_area(nb) + nb * EXPANDED_BLOCK_BYTES)
}

/// The (repacked, expanded) block pairs of a group, d area already copied
/// ([`super::x16::expanded_blocks`]).
#[inline(always)]
pub(super) fn expanded_blocks<'a>(
    n: usize,
    group: &'a [u8],
    out: &'a mut [u8],
) -> impl Iterator<Item = (&'a [u8], &'a mut [u8])> {
    let nb = n / BLOCK;
    let sizes = [BLOCK_BYTES, EXPANDED_BLOCK_BYTES, 0];
    super::x16::expanded_blocks(group, out, nb, d_area(nb), sizes)
}

/// Expands the first `n / 32` blocks of a repacked group into `out`: the tested reference for
/// the SIMD expansions.
pub fn expand_scalar(n: usize, group: &[u8], out: &mut [u8]) {
    for (x, o) in expanded_blocks(n, group, out) {
        for (k, r, i) in (0..4 * ROWS * 4).map(|v| (v / 64, v / 4 % 16, v % 4)) {
            let byte = x[qs_at(k, r) + i];
            o[expanded_at(k, 0) + 4 * r + i] = byte & 0xF;
            o[expanded_at(k, 1) + 4 * r + i] = byte >> 4;
        }
    }
}

/// Repacks one group: `src` is its sixteen rows of `row_len` values, `dst` its
/// [`group_bytes`] (both checked by [`super::x16::Layout::repack`]).
pub(super) fn repack_group(src: &[u8], row_len: usize, dst: &mut [u8]) {
    let nb = row_len / BLOCK;
    let row_bytes = nb * TYPE_SIZE;
    let (ds, blocks) = dst.split_at_mut(d_area(nb));
    ds.fill(0);
    for (b, o) in blocks.chunks_exact_mut(BLOCK_BYTES).enumerate() {
        for r in 0..ROWS {
            let x = &src[r * row_bytes + b * TYPE_SIZE..][..TYPE_SIZE];
            let d = 2 * (ROWS * b + r);
            ds[d..d + 2].copy_from_slice(&x[0..2]);
            for k in 0..4 {
                let at = qs_at(k, r);
                o[at..at + 4].copy_from_slice(&x[2 + 4 * k..2 + 4 * k + 4]);
            }
        }
    }
}

/// The sixteen rows of one group (`n` values each) · one Q8_0 activation row, straight from the
/// repacked layout: the tested reference for the SIMD kernels, each lane bit for bit
/// [`super::q4_0::vec_dot_scalar`].
pub fn dot16_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_scalar_with::<false>(n, group, activations, out)
}

/// [`dot16_scalar`] over summed activation blocks ([`summed_activations`]).
pub fn dot16_summed_scalar(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_scalar_with::<true>(n, group, activations, out)
}

fn dot16_scalar_with<const SUMMED: bool>(
    n: usize,
    group: &[u8],
    activations: &[u8],
    out: &mut [f32; ROWS],
) {
    let nb = n / BLOCK;
    *out = [0.0; ROWS];
    let (ds, blocks) = group.split_at(d_area(nb));
    let stride = if SUMMED {
        SUMMED_BLOCK
    } else {
        q8_0::TYPE_SIZE
    };
    for (b, (x, y)) in blocks
        .chunks_exact(BLOCK_BYTES)
        .zip(activations.chunks_exact(stride))
        .take(nb)
        .enumerate()
    {
        let dy = f16_at(y, 0);
        let start = if SUMMED {
            let at = q8_0::TYPE_SIZE;
            i32::from_le_bytes([y[at], y[at + 1], y[at + 2], y[at + 3]])
        } else {
            offset(y)
        };
        for (r, o) in out.iter_mut().enumerate() {
            // As the kernels do it: nibble · a, less 8 · Σ a.
            let mut sumi = start;
            for k in 0..4 {
                for (i, &byte) in x[qs_at(k, r)..][..4].iter().enumerate() {
                    sumi += (byte & 0xF) as i32 * y[2 + 4 * k + i] as i8 as i32;
                    sumi += (byte >> 4) as i32 * y[2 + 16 + 4 * k + i] as i8 as i32;
                }
            }
            *o += sumi as f32 * (f16_at(ds, 2 * (ROWS * b + r)) * dy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::q4_0;
    use super::super::x16::{tests::*, Layout};
    use super::*;

    #[test]
    fn extreme_bytes_give_the_row_kernels_bits() {
        // Nibbles 0 and 15 (weights −8 and 7) against ±127 and −128 activations.
        let (n, rows) = (512, 32);
        let mut w = vec![0u8; rows * n / BLOCK * TYPE_SIZE];
        for (i, b) in w.chunks_exact_mut(TYPE_SIZE).enumerate() {
            b[0..2].copy_from_slice(&[0x00, 0x3C]); // d = 1
            b[2..].fill([0x00, 0xFF, 0x0F, 0xF0][i % 4]);
        }
        let mut a = vec![0u8; n / BLOCK * q8_0::TYPE_SIZE];
        for (i, y) in a.chunks_exact_mut(q8_0::TYPE_SIZE).enumerate() {
            y[0..2].copy_from_slice(&[0x00, 0x3C]);
            for (j, v) in y[2..].iter_mut().enumerate() {
                *v = [127u8, 0x81, 0x80, 3][(i + j) % 4];
            }
        }
        for dot in [dot16_scalar, dispatched(Layout::Q40)] {
            check_repacked(Layout::Q40, n, rows, &w, &a, dot);
        }
    }

    /// The prompt product's form: each column summed first, then the columns kernel, over the
    /// group or (`EXPANDED`, where this CPU has that form) its expansion.
    fn summed_cols<const EXPANDED: bool, const C: usize>(
        n: usize,
        g: &[u8],
        a: [&[u8]; C],
        o: &mut [[f32; ROWS]; C],
    ) {
        let summed: Vec<Vec<u8>> = a
            .iter()
            .map(|a| {
                let mut s = Vec::new();
                summed_activations(a, a.len(), 1, n, &mut s);
                s
            })
            .collect();
        let acts = std::array::from_fn(|c| &summed[c][..]);
        match Layout::Q40.expanded_group_bytes(n).filter(|_| EXPANDED) {
            Some(eb) => {
                let mut e = vec![0u8; eb];
                Layout::Q40.expand(n, g, &mut e);
                Layout::Q40.dot16_cols_summed(n, g, Some(&e), acts, o)
            }
            None => Layout::Q40.dot16_cols_summed(n, g, None, acts, o),
        }
    }

    #[test]
    fn summed_columns_give_the_row_kernels_bits() {
        check_columns_with::<4>(Layout::Q40, 512, summed_cols::<false, 4>);
        check_columns_with::<4>(Layout::Q40, 512, summed_cols::<true, 4>);
        check_columns_with::<3>(Layout::Q40, 1280, summed_cols::<false, 3>);
        check_columns_with::<3>(Layout::Q40, 1280, summed_cols::<true, 3>);
        check_columns_with::<2>(Layout::Q40, 96, summed_cols::<true, 2>);
        check_columns_with::<1>(Layout::Q40, 256, summed_cols::<false, 1>);
        check_columns_with::<1>(Layout::Q40, 256, summed_cols::<true, 1>);
        check_columns_with::<2>(Layout::Q40, 96, |n, g, a, o| {
            let mut s = [Vec::new(), Vec::new()];
            for (s, a) in s.iter_mut().zip(a) {
                summed_activations(a, a.len(), 1, n, s);
            }
            for (o, s) in o.iter_mut().zip(&s) {
                dot16_summed_scalar(n, g, s, o);
            }
        });
    }

    #[test]
    fn expansion_gives_each_rows_nibbles_on_every_isa() {
        let n = 160;
        let (w, packed) = noise_group(Layout::Q40, n);
        let len = expanded_group_bytes(n).unwrap();
        let want = expanded_on_every_isa(Layout::Q40, n, &packed, len, expand_scalar);
        let nb = n / BLOCK;
        assert_eq!(want[..d_area(nb)], packed[..d_area(nb)]);
        for (b, x) in want[d_area(nb)..]
            .chunks_exact(EXPANDED_BLOCK_BYTES)
            .enumerate()
        {
            for (k, h, r, i) in
                (0..4 * 2 * ROWS * 4).map(|v| (v / 128, v / 64 % 2, v / 4 % 16, v % 4))
            {
                let src = &w[(r * nb + b) * TYPE_SIZE..][..TYPE_SIZE];
                let nibble = (src[2 + 4 * k + i] >> (4 * h)) & 0xF;
                assert_eq!(
                    x[expanded_at(k, h) + 4 * r + i],
                    nibble,
                    "block {b} row {r}"
                );
            }
        }
    }

    #[test]
    fn repacked_block_holds_each_rows_bytes() {
        let n = 96;
        let (w, packed) = noise_group(Layout::Q40, n);
        let nb = n / BLOCK;
        let (ds, blocks) = packed.split_at(d_area(nb));
        for (b, x) in blocks.chunks_exact(BLOCK_BYTES).enumerate() {
            for r in 0..ROWS {
                let src = &w[(r * nb + b) * TYPE_SIZE..][..TYPE_SIZE];
                assert_eq!(ds[2 * (ROWS * b + r)..][..2], src[..2]);
                for k in 0..4 {
                    assert_eq!(x[qs_at(k, r)..][..4], src[2 + 4 * k..][..4]);
                }
            }
        }
        assert_eq!(q4_0::BLOCK, 32);
    }
}
