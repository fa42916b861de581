//! AVX2 kernel for Q6_K repacked sixteen rows at a time ([`super::q6_k_x16`]): the AVX-512
//! kernel's steps on 256-bit vectors, for CPUs without AVX-512.
//!
//! Each 64-byte part of a step is four bytes of sixteen rows; its 32-byte halves are rows 0..8 and
//! 8..16, taken in two passes over each (L1-resident) super-block. The 6-bit values (0..63, put
//! together with shifts and masks) meet the activations through [`ByteDot`] (AVX-VNNI's
//! `vpdpbusd`, else `vpmaddubsw` + `vpmaddwd`: at most 2·63·128, no saturation); the −32 offset
//! comes back as 32·Σ scale·(activation sum) through `vpmaddwd`. Exact integer sums, then the
//! scalar float step lane by lane: bit for bit [`super::q6_k_x16::dot16_scalar`].

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{ByteDot, PlainDot, VnniDot};
use super::q6_k_x16::{BLOCK_BYTES, EXPANDED_BLOCK_BYTES, EXPANDED_STEP, QS, SCALES, STEP};
use super::q8_k;
use super::x16::{d_area, ROWS};
use std::arch::x86_64::*;

/// Rows of one pass: a 256-bit vector of four bytes each.
const HALF: usize = ROWS / 2;

/// Σ_j scale_j · Σ q·a over sub-block j, and Σ_j scale_j · (activation sum of j), of one
/// super-block for rows `8·rh..8·rh+8` against each of `C` activation rows, exact i32 lanes.
// `p` below picks a scale pair and the matching accumulator of every column.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn block_sums<B: ByteDot, const C: usize, const EXPANDED: bool>(
    x: *const u8,
    ys: [&[u8]; C],
    rh: usize,
) -> [(__m256i, __m256i); C] {
    let low = _mm256_set1_epi8(0x0F);
    let bits45 = _mm256_set1_epi8(0x30);
    // Whole Q8_K blocks (the caller's slices): every offset below lies inside them.
    let blocks = ys.map(|y| y[..q8_k::TYPE_SIZE].as_ptr());
    let act = |col: usize, off: usize| {
        let a = blocks[col].add(q8_k::QS + off);
        _mm256_set1_epi32((a as *const i32).read_unaligned())
    };
    let bsum_pair = |col: usize, p: usize| {
        let b = blocks[col].add(q8_k::BSUMS + 4 * p);
        _mm256_set1_epi32((b as *const i32).read_unaligned())
    };
    let join =
        |nibbles: __m256i, high: __m256i| _mm256_or_si256(_mm256_and_si256(nibbles, low), high);
    let mut sums = [(_mm256_setzero_si256(), _mm256_setzero_si256()); C];
    for h in 0..2 {
        // Steps 4·kk .. 4·kk+4 of half h: quarter m of their positions is sub-block 8h + kk + 2m.
        for kk in 0..2 {
            let mut acc = [[_mm256_setzero_si256(); 4]; C];
            for k in 4 * kk..4 * kk + 4 {
                let q = if EXPANDED {
                    let s = x.add(QS + (8 * h + k) * EXPANDED_STEP + 32 * rh);
                    std::array::from_fn(|m| _mm256_loadu_si256(s.add(64 * m) as *const __m256i))
                } else {
                    let s = x.add(QS + (8 * h + k) * STEP + 32 * rh);
                    let ql0 = _mm256_loadu_si256(s as *const __m256i);
                    let ql1 = _mm256_loadu_si256(s.add(64) as *const __m256i);
                    let qh = _mm256_loadu_si256(s.add(128) as *const __m256i);
                    [
                        join(ql0, _mm256_and_si256(_mm256_slli_epi16::<4>(qh), bits45)),
                        join(ql1, _mm256_and_si256(_mm256_slli_epi16::<2>(qh), bits45)),
                        join(_mm256_srli_epi16::<4>(ql0), _mm256_and_si256(qh, bits45)),
                        join(
                            _mm256_srli_epi16::<4>(ql1),
                            _mm256_and_si256(_mm256_srli_epi16::<2>(qh), bits45),
                        ),
                    ]
                };
                for (col, acc) in acc.iter_mut().enumerate() {
                    for (m, (acc, &q)) in acc.iter_mut().zip(&q).enumerate() {
                        *acc = B::dot(*acc, q, act(col, 128 * h + 32 * m + 4 * k));
                    }
                }
            }
            for p in 0..4 {
                // Lane r: the scales of sub-blocks 2p and 2p+1 of half h of row 8·rh + r, two i16.
                let pair = 4 * h + p;
                let scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(
                    x.add(SCALES + 32 * pair + 16 * rh) as *const __m128i,
                ));
                let scale = if kk == 0 {
                    _mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(scales))
                } else {
                    _mm256_srai_epi32::<16>(scales)
                };
                for (col, (sum, offset)) in sums.iter_mut().enumerate() {
                    *sum = _mm256_add_epi32(*sum, _mm256_mullo_epi32(acc[col][p], scale));
                    if kk == 0 {
                        let pairs = _mm256_madd_epi16(scales, bsum_pair(col, pair));
                        *offset = _mm256_add_epi32(*offset, pairs);
                    }
                }
            }
        }
    }
    sums
}

/// `C` activation rows (one or two: more would spill) against one repacked group.
#[inline(always)]
unsafe fn cols_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, C, false>(n, group, activations, out)
}

/// `C` activation rows against one group expanded by [`super::q6_k_x16::expand`].
#[inline(always)]
unsafe fn cols_expanded_with<B: ByteDot, const C: usize>(
    n: usize,
    expanded: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, C, true>(n, expanded, activations, out)
}

/// The body, over repacked or (`EXPANDED`) expanded super-blocks.
#[inline(always)]
unsafe fn cols_k<B: ByteDot, const C: usize, const EXPANDED: bool>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let nb = n / q8_k::BLOCK;
    let (ds, blocks) = group.split_at(d_area(nb));
    let mut sumf = [[_mm256_setzero_ps(); 2]; C];
    let block_bytes = if EXPANDED {
        EXPANDED_BLOCK_BYTES
    } else {
        BLOCK_BYTES
    };
    for (b, x) in blocks.chunks_exact(block_bytes).take(nb).enumerate() {
        let xp = x.as_ptr();
        let ys = activations.map(|a| &a[b * q8_k::TYPE_SIZE..(b + 1) * q8_k::TYPE_SIZE]);
        for rh in 0..2 {
            let sums = block_sums::<B, C, EXPANDED>(xp, ys, rh);
            let d = _mm256_cvtph_ps(_mm_loadu_si128(
                ds[2 * (ROWS * b + HALF * rh)..].as_ptr() as *const __m128i
            ));
            for ((sumf, (sum, offset)), y) in sumf.iter_mut().zip(sums).zip(ys) {
                // Σ scale·(q − 32)·a = Σ scale·q·a − 32·Σ scale·(activation sum): exact in i32.
                let sumi = _mm256_sub_epi32(sum, _mm256_slli_epi32::<5>(offset));
                let value = _mm256_mul_ps(
                    _mm256_mul_ps(d, _mm256_set1_ps(q8_k::d(y))),
                    _mm256_cvtepi32_ps(sumi),
                );
                sumf[rh] = _mm256_add_ps(sumf[rh], value);
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
    cols_with::<PlainDot, 1>(n, group, [activations], &mut one);
    *out = one[0];
}

/// # Safety
/// As [`dot16`], and AVX-VNNI ([`super::avx2_util::has_avx_vnni`]).
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
pub unsafe fn dot16_vnni(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let mut one = [[0f32; ROWS]; 1];
    cols_with::<VnniDot, 1>(n, group, [activations], &mut one);
    *out = one[0];
}

super::x16_avx2::avx2_column_entry_points!(cols_with);
super::x16_avx2::avx2_column_entry_points!(
    cols_expanded_with,
    expanded_cols_in_pairs,
    dot16_cols_expanded,
    dot16_cols_expanded_vnni
);

super::x16_avx2::avx2_kernel_tests!(Q6K);
