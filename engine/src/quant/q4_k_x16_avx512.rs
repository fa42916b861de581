//! AVX-512 VNNI kernel for Q4_K repacked sixteen rows at a time ([`super::q4_k_x16`]).
//!
//! Each 64-byte load holds four packed bytes of sixteen rows: its low nibbles are four values of
//! sub-block 2c of every row, its high nibbles the same positions of sub-block 2c+1. One
//! `vpdpbusd` against the four matching activation bytes (broadcast to all lanes) adds them into
//! that sub-block's sixteen row lanes; after a super-block each sub-block's lanes are multiplied
//! by its scales (`vpmulld`, exact), the mins go through the activation sums in four `vpdpwssd`,
//! and the float step is the scalar one lane-wise. No horizontal reduction anywhere.
//!
//! The bodies are generic over the values' form ([`super::k_x16_bytes::form`]): repacked Q5_K ([`super::q5_k_x16`]) is this layout plus a
//! fifth bit per value, merged into each nibble vector before its product; its entry points are
//! in [`super::q5_k_x16_avx512`].

#![cfg(target_arch = "x86_64")]

use super::k_x16_bytes::{block_bytes, bytes_at, form};
use super::prefetch::{prefetch_ahead, prefetch_ahead_always};
use super::q4_k_x16::{D, DMIN, MINS, QS, SCALES};
use super::q5_k_x16::QH;
use super::q8_k;
use super::x16::ROWS;
use std::arch::x86_64::*;

/// The fifth bits of step `k` of a Q5_K super-block (bits 2c, 2c+1 of each byte: chunk c).
#[inline(always)]
unsafe fn fifth_bits(x: *const u8, k: usize) -> __m512i {
    _mm512_loadu_si512(x.add(QH + 64 * k) as *const _)
}

/// `lo` and `hi` (nibbles of chunk c) with the fifth bits of `qh`, already shifted right by 2c
/// (bits 0 and 1 of each byte), set as their bit 4. Each byte's bits stay within the byte.
#[inline(always)]
unsafe fn with_fifth_bits(lo: __m512i, hi: __m512i, qh: __m512i) -> (__m512i, __m512i) {
    let bit4 = _mm512_set1_epi8(0x10);
    (
        _mm512_or_si512(lo, _mm512_and_si512(_mm512_slli_epi16::<4>(qh), bit4)),
        _mm512_or_si512(hi, _mm512_and_si512(_mm512_slli_epi16::<3>(qh), bit4)),
    )
}

/// Repacked Q5_K reads each block's values and fifth bits from two places and needs the software
/// prefetch on every CPU; Q4_K leaves it to the policy ([`super::prefetch`]).
#[inline(always)]
fn prefetch_for<const FORM: u8>(p: *const u8, len: usize) {
    if FORM == form::Q5 {
        prefetch_ahead_always(p, len);
    } else {
        prefetch_ahead(p, len);
    }
}

/// The Σ scale·q·a of one super-block as sixteen exact i32 row lanes.
#[inline(always)]
unsafe fn block_sums<const FORM: u8>(x: *const u8, a: *const u8) -> __m512i {
    let low = _mm512_set1_epi8(0x0F);
    let act = |off: usize| _mm512_set1_epi32((a.add(off) as *const i32).read_unaligned());
    let mut acc = [_mm512_setzero_si512(); 8];
    for k in 0..8 {
        // The lines this step reads, a few blocks on: spread over the steps, not one burst.
        prefetch_for::<FORM>(x.add(QS + k * 256), 256);
        let mut qh = _mm512_setzero_si512();
        if FORM == form::Q5 {
            prefetch_for::<FORM>(x.add(QH + k * 64), 64);
            qh = fifth_bits(x, k);
        }
        for c in 0..4 {
            let v = _mm512_loadu_si512(x.add(QS + (k * 4 + c) * 64) as *const _);
            let mut lo = _mm512_and_si512(v, low);
            let mut hi = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
            if FORM == form::Q5 {
                (lo, hi) = with_fifth_bits(lo, hi, qh);
                qh = _mm512_srli_epi16::<2>(qh);
            }
            acc[2 * c] = _mm512_dpbusd_epi32(acc[2 * c], lo, act(64 * c + 4 * k));
            acc[2 * c + 1] = _mm512_dpbusd_epi32(acc[2 * c + 1], hi, act(64 * c + 32 + 4 * k));
        }
    }
    let mut sum = _mm512_mullo_epi32(acc[0], scales(x, 0));
    for (j, &lanes) in acc.iter().enumerate().skip(1) {
        sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(lanes, scales(x, j)));
    }
    sum
}

/// The scales of sub-block `j` of the sixteen rows as i32 lanes.
#[inline(always)]
unsafe fn scales(x: *const u8, j: usize) -> __m512i {
    _mm512_cvtepu8_epi32(_mm_loadu_si128(x.add(SCALES + ROWS * j) as *const __m128i))
}

/// One super-block's contribution to the sixteen row results, from its exact sums `sumi`: the
/// scalar step `d·dy·Σ − dmin·dy·mins` lane by lane (same products, no fused multiply-add).
#[inline(always)]
unsafe fn block_value(x: *const u8, y: &[u8], sumi: __m512i) -> __m512 {
    let f16s = |off: usize| _mm512_cvtph_ps(_mm256_loadu_si256(x.add(off) as *const __m256i));
    let dy = _mm512_set1_ps(q8_k::d(y));
    _mm512_sub_ps(
        _mm512_mul_ps(_mm512_mul_ps(f16s(D), dy), _mm512_cvtepi32_ps(sumi)),
        _mm512_mul_ps(
            _mm512_mul_ps(f16s(DMIN), dy),
            _mm512_cvtepi32_ps(min_sums(x, y)),
        ),
    )
}

/// Σ min_j · (activation sum of sub-block j) as sixteen exact i32 row lanes.
#[inline(always)]
unsafe fn min_sums(x: *const u8, y: &[u8]) -> __m512i {
    // Sub-block sums as i16 (|Σ| ≤ 32·128): lane 0 of the result holds pairs (0,1), (2,3) in its
    // first two dwords, lane 1 pairs (4,5), (6,7).
    let bsums = _mm256_loadu_si256(y[q8_k::BSUMS..].as_ptr() as *const __m256i);
    let pairs = _mm256_hadd_epi16(bsums, bsums);
    let mut dwords = [0i32; 8];
    _mm256_storeu_si256(dwords.as_mut_ptr() as *mut __m256i, pairs);
    let mut sum = _mm512_setzero_si512();
    for (p, &at) in [0usize, 1, 4, 5].iter().enumerate() {
        let mins = _mm512_cvtepu8_epi16(_mm256_loadu_si256(x.add(MINS + 32 * p) as *const __m256i));
        sum = _mm512_dpwssd_epi32(sum, mins, _mm512_set1_epi32(dwords[at]));
    }
    sum
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_k::<{ form::Q4 }>(n, group, activations, out)
}

/// [`dot16`]'s body, for Q4_K or Q5_K (`FORM`).
#[inline(always)]
pub(super) unsafe fn dot16_k<const FORM: u8>(
    n: usize,
    group: &[u8],
    activations: &[u8],
    out: &mut [f32; ROWS],
) {
    let mut sumf = _mm512_setzero_ps();
    for (x, y) in group
        .chunks_exact(block_bytes(FORM))
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(n / q8_k::BLOCK)
    {
        let xp = x.as_ptr();
        prefetch_for::<FORM>(xp, QS);
        let sumi = block_sums::<FORM>(xp, y[q8_k::QS..].as_ptr());
        sumf = _mm512_add_ps(sumf, block_value(xp, y, sumi));
    }
    _mm512_storeu_ps(out.as_mut_ptr(), sumf);
}

/// [`dot16`] against `C` activation rows at once (the prompt product): each loaded vector's
/// nibbles are split once and meet every row's activations. The group is L1-resident there, so
/// the loop walks it chunk by chunk (two sub-blocks, two accumulators per row) rather than in
/// memory order, which keeps `C` = 4 rows' accumulators in registers.
///
/// # Safety
/// As [`dot16`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16_cols<const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    dot16_cols_k::<{ form::Q4 }, C>(n, group, activations, out)
}

/// [`dot16_cols`]' body, for Q4_K, Q5_K or a group expanded to bytes (`FORM`).
#[inline(always)]
pub(super) unsafe fn dot16_cols_k<const FORM: u8, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let low = _mm512_set1_epi8(0x0F);
    let mut sumf = [_mm512_setzero_ps(); C];
    for (b, x) in group
        .chunks_exact(block_bytes(FORM))
        .take(n / q8_k::BLOCK)
        .enumerate()
    {
        let xp = x.as_ptr();
        let ys = activations.map(|a| &a[b * q8_k::TYPE_SIZE..(b + 1) * q8_k::TYPE_SIZE]);
        // Whole Q8_K blocks: every activation offset below lies inside them.
        let acts = ys.map(|y| y[q8_k::QS..].as_ptr());
        let mut sumi = [_mm512_setzero_si512(); C];
        for c in 0..4 {
            let mut acc = [[_mm512_setzero_si512(); 2]; C];
            for k in 0..8 {
                let (lo, hi) = if FORM == form::BYTES {
                    let at = |half: usize| xp.add(bytes_at(c, k, half)) as *const __m512i;
                    (_mm512_loadu_si512(at(0)), _mm512_loadu_si512(at(1)))
                } else {
                    let v = _mm512_loadu_si512(xp.add(QS + (k * 4 + c) * 64) as *const _);
                    let lo = _mm512_and_si512(v, low);
                    let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(v), low);
                    if FORM == form::Q5 {
                        let shift = _mm_cvtsi32_si128(2 * c as i32);
                        let qh = _mm512_srl_epi16(fifth_bits(xp, k), shift);
                        with_fifth_bits(lo, hi, qh)
                    } else {
                        (lo, hi)
                    }
                };
                for (acc, &a) in acc.iter_mut().zip(&acts) {
                    let act =
                        |off: usize| _mm512_set1_epi32((a.add(off) as *const i32).read_unaligned());
                    acc[0] = _mm512_dpbusd_epi32(acc[0], lo, act(64 * c + 4 * k));
                    acc[1] = _mm512_dpbusd_epi32(acc[1], hi, act(64 * c + 32 + 4 * k));
                }
            }
            let (s0, s1) = (scales(xp, 2 * c), scales(xp, 2 * c + 1));
            for (sumi, acc) in sumi.iter_mut().zip(acc) {
                *sumi = _mm512_add_epi32(*sumi, _mm512_mullo_epi32(acc[0], s0));
                *sumi = _mm512_add_epi32(*sumi, _mm512_mullo_epi32(acc[1], s1));
            }
        }
        for ((sumf, sumi), y) in sumf.iter_mut().zip(sumi).zip(ys) {
            *sumf = _mm512_add_ps(*sumf, block_value(xp, y, sumi));
        }
    }
    for (o, s) in out.iter_mut().zip(sumf) {
        _mm512_storeu_ps(o.as_mut_ptr(), s);
    }
}
