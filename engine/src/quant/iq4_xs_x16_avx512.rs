//! AVX-512 VNNI kernel for IQ4_XS repacked sixteen rows at a time ([`super::iq4_xs_x16`]).
//!
//! Each 64-byte load holds four packed bytes of sixteen rows, all of one sub-block: its low
//! nibbles are four elements of that sub-block, its high nibbles the four sixteen places on. A
//! `vpshufb` turns each nibble into its level + 128 (an unsigned byte), and one `vpdpbusd`
//! against the four matching activation bytes (broadcast to all lanes) adds them into the
//! sub-block's sixteen row lanes, which start at `−128 · Σ activations` of the sub-block, so
//! they end exact. After a super-block each sub-block's lanes are multiplied by its scales
//! (`vpmulld`) and the float step is the scalar one lane-wise. No horizontal reduction anywhere.

#![cfg(target_arch = "x86_64")]

use super::iq4_xs_x16::{
    expanded_at, expanded_blocks, qs_at, BLOCK_BYTES, EXPANDED_BLOCK_BYTES, LEVELS_PLUS_128, SCALES,
};
use super::prefetch::prefetch_ahead;
// The sub-blocks' −128·Σa starting values: 256-bit work, the same on both.
use super::iq4_xs_x16_avx2::offsets;
use super::q8_k;
use super::x16::{d_area, ROWS};
use std::arch::x86_64::*;

/// The lookup table of levels + 128 in every 128-bit lane.
#[inline(always)]
unsafe fn table() -> __m512i {
    _mm512_broadcast_i32x4(_mm_loadu_si128(LEVELS_PLUS_128.as_ptr() as *const __m128i))
}

/// The four activation bytes at `off`, broadcast to every 32-bit lane.
#[inline(always)]
unsafe fn act(a: *const u8, off: usize) -> __m512i {
    _mm512_set1_epi32((a.add(off) as *const i32).read_unaligned())
}

/// The scales of sub-block `j` of the sixteen rows as i32 lanes.
#[inline(always)]
unsafe fn scales(x: *const u8, j: usize) -> __m512i {
    _mm512_cvtepi8_epi32(_mm_loadu_si128(x.add(SCALES + ROWS * j) as *const __m128i))
}

/// The levels + 128 of the low and the high nibbles of one 64-byte load.
#[inline(always)]
unsafe fn levels(x: *const u8, at: usize, table: __m512i) -> (__m512i, __m512i) {
    let low = _mm512_set1_epi8(0x0F);
    let v = _mm512_loadu_si512(x.add(at) as *const _);
    let lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, low));
    let hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16::<4>(v), low));
    (lo, hi)
}

/// The f16 scales `d` of super-block `b`'s sixteen rows as f32 lanes.
#[inline(always)]
unsafe fn block_d(ds: *const u8, b: usize) -> __m512 {
    _mm512_cvtph_ps(_mm256_loadu_si256(ds.add(2 * ROWS * b) as *const __m256i))
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let nb = n / q8_k::BLOCK;
    let table = table();
    let (ds, blocks) = group.split_at(d_area(nb));
    let mut sumf = _mm512_setzero_ps();
    for (b, (x, y)) in blocks
        .chunks_exact(BLOCK_BYTES)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
        .enumerate()
    {
        let xp = x.as_ptr();
        let a = y[q8_k::QS..].as_ptr();
        let mut acc = offsets(y).map(|o| _mm512_set1_epi32(o));
        for k in 0..4 {
            // The lines this step reads, a few blocks on: spread over the steps, not one burst.
            prefetch_ahead(xp.add(qs_at(k, 0, 0)), 512);
            for (j, acc) in acc.iter_mut().enumerate() {
                let (lo, hi) = levels(xp, qs_at(k, j, 0), table);
                *acc = _mm512_dpbusd_epi32(*acc, lo, act(a, 32 * j + 4 * k));
                *acc = _mm512_dpbusd_epi32(*acc, hi, act(a, 32 * j + 16 + 4 * k));
            }
        }
        let mut sumi = _mm512_mullo_epi32(acc[0], scales(xp, 0));
        for (j, &lanes) in acc.iter().enumerate().skip(1) {
            sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(lanes, scales(xp, j)));
        }
        let d = _mm512_mul_ps(block_d(ds.as_ptr(), b), _mm512_set1_ps(q8_k::d(y)));
        sumf = _mm512_add_ps(sumf, _mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi)));
    }
    _mm512_storeu_ps(out.as_mut_ptr(), sumf);
}

/// [`dot16`] against `C` activation rows at once (the prompt product): each load's levels are
/// looked up once and meet every row's activations. The group is L1-resident there, so the loop
/// walks it sub-block by sub-block (one accumulator per row) rather than in memory order.
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
    cols_k::<false, C>(n, group, activations, out)
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
    cols_k::<true, C>(n, expanded, activations, out)
}

/// Expands the first `n / 256` super-blocks of a repacked group into `out`
/// ([`super::iq4_xs_x16::expand_scalar`]'s bytes).
///
/// # Safety
/// As [`dot16`]; `out` holds [`super::iq4_xs_x16::expanded_group_bytes`]`(n)` bytes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn expand(n: usize, group: &[u8], out: &mut [u8]) {
    let table = table();
    for (x, o) in expanded_blocks(n, group, out) {
        let op = o.as_mut_ptr();
        for j in 0..8 {
            for k in 0..4 {
                let (lo, hi) = levels(x.as_ptr(), qs_at(k, j, 0), table);
                _mm512_storeu_si512(op.add(expanded_at(j, k, 0)) as *mut _, lo);
                _mm512_storeu_si512(op.add(expanded_at(j, k, 1)) as *mut _, hi);
            }
        }
    }
}

/// The prompt body, over repacked or (`EXPANDED`) expanded super-blocks.
#[inline(always)]
unsafe fn cols_k<const EXPANDED: bool, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let nb = n / q8_k::BLOCK;
    let table = table();
    let (ds, blocks) = group.split_at(d_area(nb));
    let mut sumf = [_mm512_setzero_ps(); C];
    let block_bytes = if EXPANDED {
        EXPANDED_BLOCK_BYTES
    } else {
        BLOCK_BYTES
    };
    for (b, x) in blocks.chunks_exact(block_bytes).take(nb).enumerate() {
        let xp = x.as_ptr();
        let ys = activations.map(|a| &a[b * q8_k::TYPE_SIZE..(b + 1) * q8_k::TYPE_SIZE]);
        // Whole Q8_K blocks: every activation offset below lies inside them.
        let acts = ys.map(|y| y[q8_k::QS..].as_ptr());
        let offs = ys.map(|y| offsets(y));
        let mut sumi = [_mm512_setzero_si512(); C];
        #[allow(clippy::needless_range_loop)] // j also places the weights and activations
        for j in 0..8 {
            // Two chains per row (low and high nibbles), so that 2·C multiply-adds are in flight.
            let mut acc: [[__m512i; 2]; C] =
                std::array::from_fn(|c| [_mm512_set1_epi32(offs[c][j]), _mm512_setzero_si512()]);
            for k in 0..4 {
                let (lo, hi) = if EXPANDED {
                    let at = |h: usize| xp.add(expanded_at(j, k, h)) as *const __m512i;
                    (_mm512_loadu_si512(at(0)), _mm512_loadu_si512(at(1)))
                } else {
                    levels(xp, qs_at(k, j, 0), table)
                };
                for (acc, &a) in acc.iter_mut().zip(&acts) {
                    acc[0] = _mm512_dpbusd_epi32(acc[0], lo, act(a, 32 * j + 4 * k));
                    acc[1] = _mm512_dpbusd_epi32(acc[1], hi, act(a, 32 * j + 16 + 4 * k));
                }
            }
            let s = scales(xp, j);
            for (sumi, acc) in sumi.iter_mut().zip(acc) {
                let acc = _mm512_add_epi32(acc[0], acc[1]);
                *sumi = _mm512_add_epi32(*sumi, _mm512_mullo_epi32(acc, s));
            }
        }
        let d = block_d(ds.as_ptr(), b);
        for ((sumf, sumi), y) in sumf.iter_mut().zip(sumi).zip(ys) {
            let d = _mm512_mul_ps(d, _mm512_set1_ps(q8_k::d(y)));
            *sumf = _mm512_add_ps(*sumf, _mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi)));
        }
    }
    for (o, s) in out.iter_mut().zip(sumf) {
        _mm512_storeu_ps(o.as_mut_ptr(), s);
    }
}
