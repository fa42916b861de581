//! AVX2 and AVX-VNNI kernels for Q4_0 repacked sixteen rows at a time ([`super::q4_0_x16`]): the
//! AVX-512 kernel's steps on 256-bit vectors, rows 0..8 and 8..16 of a group in two passes.
//!
//! The nibbles (0..=15) are the unsigned operand of `vpmaddubsw` / `vpdpbusd` against the Q8_0
//! activations (pairs at most 2 · 15 · 128, inside `vpmaddubsw`'s i16), and each block's lanes
//! start at `−8 · Σ activations`, so they end exact. Bit for bit
//! [`super::q4_0_x16::dot16_scalar`].

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{ByteDot, PlainDot, VnniDot};
use super::q4_0_x16::{
    expanded_at, expanded_blocks, qs_at, summed_offset, summed_scale, Walk, BLOCK_BYTES,
};
use super::x16::ROWS;
use std::arch::x86_64::*;

/// Rows of one pass: a 256-bit vector of four bytes each.
const HALF: usize = ROWS / 2;

/// `−8 ·` the sum of the 32 values of the Q8_0 activation block at `y`
/// ([`super::q4_0_x16::offset`]): biased to unsigned bytes and summed by `vpsadbw`.
#[inline(always)]
pub(super) unsafe fn offset(y: *const u8) -> i32 {
    let v = _mm256_loadu_si256(y.add(2) as *const __m256i);
    let biased = _mm256_xor_si256(v, _mm256_set1_epi8(i8::MIN));
    let sums = _mm256_sad_epu8(biased, _mm256_setzero_si256());
    let s = _mm_add_epi64(
        _mm256_castsi256_si128(sums),
        _mm256_extracti128_si256::<1>(sums),
    );
    let total = _mm_cvtsi128_si64(s) + _mm_extract_epi64::<1>(s);
    -8 * (total as i32 - 32 * 128)
}

/// The activation's f16 scale.
#[inline(always)]
pub(super) unsafe fn act_scale(y: *const u8) -> f32 {
    super::common::f16_bits_to_f32((y as *const u16).read_unaligned())
}

/// The starting value (`−8 · Σ a`) of the activation block at `y`: stored after a summed block,
/// worked out from a plain one.
#[inline(always)]
pub(super) unsafe fn block_offset<const SUMMED: bool>(y: *const u8) -> i32 {
    if SUMMED {
        summed_offset(y)
    } else {
        offset(y)
    }
}

/// The scale of the activation block at `y`, as [`block_offset`].
#[inline(always)]
pub(super) unsafe fn block_scale<const SUMMED: bool>(y: *const u8) -> f32 {
    if SUMMED {
        summed_scale(y)
    } else {
        act_scale(y)
    }
}

/// The four activation bytes at `off` of the block at `y`, broadcast to every 32-bit lane.
#[inline(always)]
unsafe fn act(y: *const u8, off: usize) -> __m256i {
    _mm256_set1_epi32((y.add(2 + off) as *const i32).read_unaligned())
}

/// The low and high nibbles of rows `8·rh..8·rh+8` in step `k` of the block at `x`.
#[inline(always)]
unsafe fn nibbles(x: *const u8, k: usize, rh: usize) -> (__m256i, __m256i) {
    let low = _mm256_set1_epi8(0x0F);
    let v = _mm256_loadu_si256(x.add(qs_at(k, 0) + 32 * rh) as *const __m256i);
    (
        _mm256_and_si256(v, low),
        _mm256_and_si256(_mm256_srli_epi16::<4>(v), low),
    )
}

/// The f16 scales of block `b`, rows `8·rh..8·rh+8`, as f32 lanes.
#[inline(always)]
unsafe fn block_d(ds: *const u8, b: usize, rh: usize) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(
        ds.add(2 * (ROWS * b + HALF * rh)) as *const __m128i
    ))
}

/// One pass's block: `sumf += sumi · (d · dy)` lane by lane, the scalar order.
#[inline(always)]
unsafe fn step(sumf: __m256, acc: [__m256i; 2], d: __m256, dy: f32) -> __m256 {
    let sumi = _mm256_add_epi32(acc[0], acc[1]);
    let d = _mm256_mul_ps(d, _mm256_set1_ps(dy));
    _mm256_add_ps(sumf, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), d))
}

/// The prompt bodies ([`cols_k`]): plain or summed activation rows, repacked or expanded groups.
#[inline(always)]
unsafe fn cols_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, false, false, C>(n, group, activations, out)
}

#[inline(always)]
unsafe fn cols_summed_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, true, false, C>(n, group, activations, out)
}

#[inline(always)]
unsafe fn cols_expanded_with<B: ByteDot, const C: usize>(
    n: usize,
    expanded: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, false, true, C>(n, expanded, activations, out)
}

#[inline(always)]
unsafe fn cols_summed_expanded_with<B: ByteDot, const C: usize>(
    n: usize,
    expanded: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, true, true, C>(n, expanded, activations, out)
}

/// Expands the first `n / 32` blocks of a repacked group into `out`
/// ([`super::q4_0_x16::expand_scalar`]'s bytes).
///
/// # Safety
/// The CPU must support AVX2; `out` holds [`super::q4_0_x16::expanded_group_bytes`]`(n)` bytes.
#[target_feature(enable = "avx2")]
pub unsafe fn expand(n: usize, group: &[u8], out: &mut [u8]) {
    for (x, o) in expanded_blocks(n, group, out) {
        for k in 0..4 {
            for rh in 0..2 {
                let (lo, hi) = nibbles(x.as_ptr(), k, rh);
                let op = o.as_mut_ptr();
                let at = |h: usize| op.add(expanded_at(k, h) + 32 * rh) as *mut __m256i;
                _mm256_storeu_si256(at(0), lo);
                _mm256_storeu_si256(at(1), hi);
            }
        }
    }
}

/// `C` activation rows (one or two: more would spill; decode is `C` = 1), each load's nibbles
/// split once for all of them; plain Q8_0 rows or (`SUMMED`) rows with each block's offset and
/// scale stored after it ([`super::q4_0_x16::summed_activations`]), over repacked or
/// (`EXPANDED`) expanded blocks.
#[inline(always)]
unsafe fn cols_k<B: ByteDot, const SUMMED: bool, const EXPANDED: bool, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let walk = Walk::new::<SUMMED, EXPANDED>(n, group, &activations);
    let mut sumf = [[_mm256_setzero_ps(); 2]; C];
    for (b, x) in walk
        .blocks
        .chunks_exact(walk.block_bytes)
        .take(walk.nb)
        .enumerate()
    {
        let xp = x.as_ptr();
        if !EXPANDED {
            super::prefetch_ahead_always(xp, BLOCK_BYTES);
        }
        let ys = walk.activation_blocks(&activations, b);
        let mut offs = [0i32; C];
        for (o, &y) in offs.iter_mut().zip(&ys) {
            *o = block_offset::<SUMMED>(y);
        }
        for rh in 0..2 {
            // (A loop, not `array::from_fn`, whose closure may be left uninlined.)
            let mut acc = [[_mm256_setzero_si256(); 2]; C];
            for (acc, &o) in acc.iter_mut().zip(&offs) {
                acc[0] = _mm256_set1_epi32(o);
            }
            for k in 0..4 {
                let (lo, hi) = if EXPANDED {
                    let at = |h: usize| xp.add(expanded_at(k, h) + 32 * rh) as *const __m256i;
                    (_mm256_loadu_si256(at(0)), _mm256_loadu_si256(at(1)))
                } else {
                    nibbles(xp, k, rh)
                };
                for (acc, &y) in acc.iter_mut().zip(&ys) {
                    acc[0] = B::dot(acc[0], lo, act(y, 4 * k));
                    acc[1] = B::dot(acc[1], hi, act(y, 16 + 4 * k));
                }
            }
            let d = block_d(walk.ds.as_ptr(), b, rh);
            for ((sumf, acc), &y) in sumf.iter_mut().zip(acc).zip(&ys) {
                sumf[rh] = step(sumf[rh], acc, d, block_scale::<SUMMED>(y));
            }
        }
    }
    for (o, s) in out.iter_mut().zip(sumf) {
        _mm256_storeu_ps(o.as_mut_ptr(), s[0]);
        _mm256_storeu_ps(o.as_mut_ptr().add(HALF), s[1]);
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C ([`super::avx2_util::available`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let mut one = [[0f32; ROWS]; 1];
    cols_k::<PlainDot, false, false, 1>(n, group, [activations], &mut one);
    *out = one[0];
}

/// # Safety
/// As [`dot16`], and AVX-VNNI ([`super::avx2_util::has_avx_vnni`]).
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
pub unsafe fn dot16_vnni(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let mut one = [[0f32; ROWS]; 1];
    cols_k::<VnniDot, false, false, 1>(n, group, [activations], &mut one);
    *out = one[0];
}

super::x16_avx2::avx2_column_entry_points!(cols_with);
super::x16_avx2::avx2_column_entry_points!(
    cols_summed_with,
    summed_cols_in_pairs,
    dot16_cols_summed,
    dot16_cols_summed_vnni
);
super::x16_avx2::avx2_column_entry_points!(
    cols_expanded_with,
    expanded_cols_in_pairs,
    dot16_cols_expanded,
    dot16_cols_expanded_vnni
);
super::x16_avx2::avx2_column_entry_points!(
    cols_summed_expanded_with,
    summed_expanded_cols_in_pairs,
    dot16_cols_summed_expanded,
    dot16_cols_summed_expanded_vnni
);

super::x16_avx2::avx2_kernel_tests!(Q40);

#[cfg(test)]
mod tests {
    use super::super::{avx2_util, q8_0};
    use super::*;

    #[test]
    fn offset_is_the_scalar_one() {
        let mut y = [0u8; q8_0::TYPE_SIZE];
        for (fill, seed) in [(0x80u8, 0u8), (0x7F, 0), (0, 37)] {
            for (i, v) in y[2..].iter_mut().enumerate() {
                *v = fill.wrapping_add(seed.wrapping_mul(i as u8));
            }
            // SAFETY: only AVX2 is used, checked first; `y` is a whole block.
            if avx2_util::available() {
                assert_eq!(
                    unsafe { offset(y.as_ptr()) },
                    super::super::q4_0_x16::offset(&y)
                );
            }
        }
    }
}
