//! AVX-512 VNNI kernel for Q4_0 repacked sixteen rows at a time ([`super::q4_0_x16`]).
//!
//! Each 64-byte load holds four packed bytes of sixteen rows: its low nibbles are four elements
//! of each row's block, its high nibbles the four sixteen places on. One `vpdpbusd` of each
//! against the matching four activation bytes (broadcast to all lanes) adds them into the
//! sixteen row lanes, which start at `−8 · Σ activations` of the block, so they end exact; the
//! float step is the scalar one lane-wise. No horizontal reduction anywhere.

#![cfg(target_arch = "x86_64")]

// The scale area and the values are two streams: prefetched on every CPU ([`super::prefetch`]).
use super::prefetch::prefetch_ahead_always as prefetch_ahead;
use super::q4_0_x16::{expanded_at, expanded_blocks, qs_at, Walk, BLOCK_BYTES};
// The block's −8·Σa and the activation scale: scalar-width work, the same on both.
use super::q4_0_x16_avx2::{block_offset, block_scale};
use super::x16::ROWS;
use std::arch::x86_64::*;

/// The four activation bytes at `off` of the block at `y`, broadcast to every 32-bit lane.
#[inline(always)]
unsafe fn act(y: *const u8, off: usize) -> __m512i {
    _mm512_set1_epi32((y.add(2 + off) as *const i32).read_unaligned())
}

/// The low and the high nibbles of step `k` of the block at `x`.
#[inline(always)]
unsafe fn nibbles(x: *const u8, k: usize) -> (__m512i, __m512i) {
    let low = _mm512_set1_epi8(0x0F);
    let v = _mm512_loadu_si512(x.add(qs_at(k, 0)) as *const _);
    (
        _mm512_and_si512(v, low),
        _mm512_and_si512(_mm512_srli_epi16::<4>(v), low),
    )
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let mut one = [[0f32; ROWS]; 1];
    cols::<false, false, 1>(n, group, [activations], &mut one);
    *out = one[0];
}

/// [`dot16`] against `C` activation rows at once (the prompt product): each load's nibbles are
/// split once and meet every row's activations.
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
    cols::<false, false, C>(n, group, activations, out)
}

/// [`dot16_cols`] over summed activation rows ([`super::q4_0_x16::summed_activations`]).
///
/// # Safety
/// As [`dot16`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16_cols_summed<const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols::<true, false, C>(n, group, activations, out)
}

/// [`dot16_cols`] over a group expanded by [`expand`].
///
/// # Safety
/// As [`dot16`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16_cols_expanded<const C: usize>(
    n: usize,
    expanded: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols::<false, true, C>(n, expanded, activations, out)
}

/// [`dot16_cols_summed`] over a group expanded by [`expand`].
///
/// # Safety
/// As [`dot16`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16_cols_summed_expanded<const C: usize>(
    n: usize,
    expanded: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols::<true, true, C>(n, expanded, activations, out)
}

/// Expands the first `n / 32` blocks of a repacked group into `out`
/// ([`super::q4_0_x16::expand_scalar`]'s bytes).
///
/// # Safety
/// As [`dot16`]; `out` holds [`super::q4_0_x16::expanded_group_bytes`]`(n)` bytes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn expand(n: usize, group: &[u8], out: &mut [u8]) {
    for (x, o) in expanded_blocks(n, group, out) {
        for k in 0..4 {
            let (lo, hi) = nibbles(x.as_ptr(), k);
            _mm512_storeu_si512(o.as_mut_ptr().add(expanded_at(k, 0)) as *mut _, lo);
            _mm512_storeu_si512(o.as_mut_ptr().add(expanded_at(k, 1)) as *mut _, hi);
        }
    }
}

/// The body, over plain Q8_0 rows or (`SUMMED`) rows with each block's offset and scale stored
/// after it, and over repacked or (`EXPANDED`) expanded blocks.
#[inline(always)]
unsafe fn cols<const SUMMED: bool, const EXPANDED: bool, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let walk = Walk::new::<SUMMED, EXPANDED>(n, group, &activations);
    let mut sumf = [_mm512_setzero_ps(); C];
    for (b, x) in walk
        .blocks
        .chunks_exact(walk.block_bytes)
        .take(walk.nb)
        .enumerate()
    {
        let xp = x.as_ptr();
        if !EXPANDED {
            prefetch_ahead(xp, BLOCK_BYTES);
        }
        let ys = walk.activation_blocks(&activations, b);
        // Two chains per row (low and high nibbles), so that 2·C multiply-adds are in flight.
        // (A loop, not `array::from_fn`: its closure was left uninlined, a call per block.)
        let mut acc = [[_mm512_setzero_si512(); 2]; C];
        for (acc, &y) in acc.iter_mut().zip(&ys) {
            acc[0] = _mm512_set1_epi32(block_offset::<SUMMED>(y));
        }
        for k in 0..4 {
            let (lo, hi) = if EXPANDED {
                let at = |h: usize| xp.add(expanded_at(k, h)) as *const __m512i;
                (_mm512_loadu_si512(at(0)), _mm512_loadu_si512(at(1)))
            } else {
                nibbles(xp, k)
            };
            for (acc, &y) in acc.iter_mut().zip(&ys) {
                acc[0] = _mm512_dpbusd_epi32(acc[0], lo, act(y, 4 * k));
                acc[1] = _mm512_dpbusd_epi32(acc[1], hi, act(y, 16 + 4 * k));
            }
        }
        let d = _mm512_cvtph_ps(_mm256_loadu_si256(
            walk.ds.as_ptr().add(2 * ROWS * b) as *const __m256i
        ));
        for ((sumf, acc), &y) in sumf.iter_mut().zip(acc).zip(&ys) {
            let sumi = _mm512_add_epi32(acc[0], acc[1]);
            let d = _mm512_mul_ps(d, _mm512_set1_ps(block_scale::<SUMMED>(y)));
            *sumf = _mm512_add_ps(*sumf, _mm512_mul_ps(_mm512_cvtepi32_ps(sumi), d));
        }
    }
    for (o, s) in out.iter_mut().zip(sumf) {
        _mm512_storeu_ps(o.as_mut_ptr(), s);
    }
}
