//! AVX2 kernel for Q4_K repacked sixteen rows at a time ([`super::q4_k_x16`]): the AVX-512
//! kernel's steps on 256-bit vectors, for CPUs without AVX-512 (most Intel desktops and laptops).
//!
//! A 64-byte step of the layout holds four bytes of sixteen rows; its two 32-byte halves are rows
//! 0..8 and 8..16, taken in two passes over each (L1-resident) super-block, since sixteen row
//! accumulators per sub-block would not fit in sixteen registers. The four products of a row go
//! through [`ByteDot`] (AVX-VNNI's `vpdpbusd`, else `vpmaddubsw` + `vpmaddwd`: nibbles × activations
//! stay within 2·15·128, no saturation). Exact integer sums, then the scalar float step lane by
//! lane: bit for bit [`super::q4_k_x16::dot16_scalar`].
//!
//! The bodies are generic over the values' form ([`super::k_x16_bytes::form`]): repacked Q5_K ([`super::q5_k_x16`]) is this layout plus a
//! fifth bit per value, merged into each nibble vector before its product (values up to 31:
//! `vpmaddubsw` pairs stay within 2·31·128); its entry points are in [`super::q5_k_x16_avx2`].

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{ByteDot, PlainDot, VnniDot};
use super::k_x16_bytes::{block_bytes, bytes_at, form};
use super::q4_k_x16::{D, DMIN, MINS, QS, SCALES};
use super::q5_k_x16::QH;
use super::q8_k;
use super::x16::ROWS;
use std::arch::x86_64::*;

/// Rows of one pass: a 256-bit vector of four bytes each.
const HALF: usize = ROWS / 2;

/// The four activation bytes at `off`, broadcast to every 32-bit lane.
#[inline(always)]
unsafe fn act(a: *const u8, off: usize) -> __m256i {
    _mm256_set1_epi32((a.add(off) as *const i32).read_unaligned())
}

/// The low and high nibbles of the 32 bytes of rows `8h..8h+8` in step `k`, chunk `c`.
#[inline(always)]
unsafe fn nibbles(x: *const u8, k: usize, c: usize, h: usize) -> (__m256i, __m256i) {
    let low = _mm256_set1_epi8(0x0F);
    let v = _mm256_loadu_si256(x.add(QS + (k * 4 + c) * 64 + 32 * h) as *const __m256i);
    (
        _mm256_and_si256(v, low),
        _mm256_and_si256(_mm256_srli_epi16::<4>(v), low),
    )
}

/// The fifth bits of step `k` of a Q5_K super-block for rows `8h..8h+8` (bits 2c, 2c+1 of each
/// byte: chunk c).
#[inline(always)]
unsafe fn fifth_bits(x: *const u8, k: usize, h: usize) -> __m256i {
    _mm256_loadu_si256(x.add(QH + 64 * k + 32 * h) as *const __m256i)
}

/// `lo` and `hi` (nibbles of chunk c) with the fifth bits of `qh`, already shifted right by 2c
/// (bits 0 and 1 of each byte), set as their bit 4. Each byte's bits stay within the byte.
#[inline(always)]
unsafe fn with_fifth_bits(lo: __m256i, hi: __m256i, qh: __m256i) -> (__m256i, __m256i) {
    let bit4 = _mm256_set1_epi8(0x10);
    (
        _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16::<4>(qh), bit4)),
        _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16::<3>(qh), bit4)),
    )
}

/// The scales of sub-block `j` of rows `8h..8h+8` as i32 lanes.
#[inline(always)]
unsafe fn scales(x: *const u8, j: usize, h: usize) -> __m256i {
    _mm256_cvtepu8_epi32(_mm_loadl_epi64(
        x.add(SCALES + ROWS * j + HALF * h) as *const __m128i
    ))
}

/// Σ min_j · (activation sum of sub-block j) for rows `8h..8h+8`, exact i32 lanes.
#[inline(always)]
unsafe fn min_sums(x: *const u8, y: &[u8], h: usize) -> __m256i {
    // Sub-block sums as i16 pairs: dwords 0, 1 hold (0,1), (2,3); dwords 4, 5 hold (4,5), (6,7).
    let bsums = _mm256_loadu_si256(y[q8_k::BSUMS..].as_ptr() as *const __m256i);
    let pairs = _mm256_hadd_epi16(bsums, bsums);
    let mut dwords = [0i32; 8];
    _mm256_storeu_si256(dwords.as_mut_ptr() as *mut __m256i, pairs);
    let mut sum = _mm256_setzero_si256();
    for (p, &at) in [0usize, 1, 4, 5].iter().enumerate() {
        let mins = _mm256_cvtepu8_epi16(_mm_loadu_si128(
            x.add(MINS + 32 * p + 16 * h) as *const __m128i
        ));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(mins, _mm256_set1_epi32(dwords[at])));
    }
    sum
}

/// One super-block's contribution to rows `8h..8h+8`: the scalar `d·dy·Σ − dmin·dy·mins`.
#[inline(always)]
unsafe fn block_value(x: *const u8, y: &[u8], h: usize, sumi: __m256i) -> __m256 {
    let f16s = |off: usize| _mm256_cvtph_ps(_mm_loadu_si128(x.add(off + 16 * h) as *const __m128i));
    let dy = _mm256_set1_ps(q8_k::d(y));
    _mm256_sub_ps(
        _mm256_mul_ps(_mm256_mul_ps(f16s(D), dy), _mm256_cvtepi32_ps(sumi)),
        _mm256_mul_ps(
            _mm256_mul_ps(f16s(DMIN), dy),
            _mm256_cvtepi32_ps(min_sums(x, y, h)),
        ),
    )
}

/// Decode: one activation row, the layout's memory order within a pass (eight accumulator
/// chains, one per sub-block).
#[inline(always)]
pub(super) unsafe fn dot16_with<B: ByteDot, const FORM: u8>(
    n: usize,
    group: &[u8],
    activations: &[u8],
    out: &mut [f32; ROWS],
) {
    let mut sumf = [_mm256_setzero_ps(); 2];
    for (x, y) in group
        .chunks_exact(block_bytes(FORM))
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(n / q8_k::BLOCK)
    {
        let (xp, a) = (x.as_ptr(), y[q8_k::QS..].as_ptr());
        for (h, sumf) in sumf.iter_mut().enumerate() {
            let mut acc = [_mm256_setzero_si256(); 8];
            for k in 0..8 {
                let mut qh = _mm256_setzero_si256();
                if FORM == form::Q5 {
                    qh = fifth_bits(xp, k, h);
                }
                for c in 0..4 {
                    let (mut lo, mut hi) = nibbles(xp, k, c, h);
                    if FORM == form::Q5 {
                        (lo, hi) = with_fifth_bits(lo, hi, qh);
                        qh = _mm256_srli_epi16::<2>(qh);
                    }
                    acc[2 * c] = B::dot(acc[2 * c], lo, act(a, 64 * c + 4 * k));
                    acc[2 * c + 1] = B::dot(acc[2 * c + 1], hi, act(a, 64 * c + 32 + 4 * k));
                }
            }
            let mut sumi = _mm256_mullo_epi32(acc[0], scales(xp, 0, h));
            for (j, &lanes) in acc.iter().enumerate().skip(1) {
                sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(lanes, scales(xp, j, h)));
            }
            *sumf = _mm256_add_ps(*sumf, block_value(xp, y, h, sumi));
        }
    }
    _mm256_storeu_ps(out.as_mut_ptr(), sumf[0]);
    _mm256_storeu_ps(out.as_mut_ptr().add(HALF), sumf[1]);
}

/// Prompt: `C` activation rows (one or two: more would spill), the weights' nibbles split once
/// for all of them, chunk by chunk (two accumulators per row).
#[inline(always)]
pub(super) unsafe fn cols_with_k<B: ByteDot, const FORM: u8, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let mut sumf = [[_mm256_setzero_ps(); 2]; C];
    for (b, x) in group
        .chunks_exact(block_bytes(FORM))
        .take(n / q8_k::BLOCK)
        .enumerate()
    {
        let xp = x.as_ptr();
        let ys = activations.map(|a| &a[b * q8_k::TYPE_SIZE..(b + 1) * q8_k::TYPE_SIZE]);
        // Whole Q8_K blocks: every activation offset below lies inside them.
        let acts = ys.map(|y| y[q8_k::QS..].as_ptr());
        for h in 0..2 {
            let mut sumi = [_mm256_setzero_si256(); C];
            for c in 0..4 {
                let mut acc = [[_mm256_setzero_si256(); 2]; C];
                for k in 0..8 {
                    let (lo, hi) = if FORM == form::BYTES {
                        let at =
                            |half: usize| xp.add(bytes_at(c, k, half) + 32 * h) as *const __m256i;
                        (_mm256_loadu_si256(at(0)), _mm256_loadu_si256(at(1)))
                    } else {
                        let (lo, hi) = nibbles(xp, k, c, h);
                        if FORM == form::Q5 {
                            let shift = _mm_cvtsi32_si128(2 * c as i32);
                            let qh = _mm256_srl_epi16(fifth_bits(xp, k, h), shift);
                            with_fifth_bits(lo, hi, qh)
                        } else {
                            (lo, hi)
                        }
                    };
                    for (acc, &a) in acc.iter_mut().zip(&acts) {
                        acc[0] = B::dot(acc[0], lo, act(a, 64 * c + 4 * k));
                        acc[1] = B::dot(acc[1], hi, act(a, 64 * c + 32 + 4 * k));
                    }
                }
                let (s0, s1) = (scales(xp, 2 * c, h), scales(xp, 2 * c + 1, h));
                for (sumi, acc) in sumi.iter_mut().zip(acc) {
                    *sumi = _mm256_add_epi32(*sumi, _mm256_mullo_epi32(acc[0], s0));
                    *sumi = _mm256_add_epi32(*sumi, _mm256_mullo_epi32(acc[1], s1));
                }
            }
            for ((sumf, sumi), y) in sumf.iter_mut().zip(sumi).zip(ys) {
                sumf[h] = _mm256_add_ps(sumf[h], block_value(xp, y, h, sumi));
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
    dot16_with::<PlainDot, { form::Q4 }>(n, group, activations, out)
}

/// # Safety
/// As [`dot16`], and AVX-VNNI ([`super::avx2_util::has_avx_vnni`]).
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
pub unsafe fn dot16_vnni(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_with::<VnniDot, { form::Q4 }>(n, group, activations, out)
}

/// The Q4_K prompt body ([`cols_with_k`]).
#[inline(always)]
unsafe fn cols_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_with_k::<B, { form::Q4 }, C>(n, group, activations, out)
}

super::x16_avx2::avx2_column_entry_points!(cols_with);

super::x16_avx2::avx2_kernel_tests!(Q4K);
