//! AVX-512 VNNI kernel for Q6_K repacked sixteen rows at a time ([`super::q6_k_x16`]).
//!
//! One step is three 64-byte loads: four low-nibble bytes of two quarters of a half, and the
//! byte holding the high bits of all four, for sixteen rows. Each quarter's 6-bit values are put
//! together with a shift, a mask and one ternary-logic op, and go through one `vpdpbusd` (values
//! unsigned, 0..63) against the four matching activation bytes broadcast to all lanes. The −32
//! offset comes back once per super-block as 32·Σ scale·(activation sum of the sub-block), in
//! `vpdpwssd`; the scales multiply the sub-block lanes with `vpmulld` (exact). No horizontal
//! reduction anywhere, and the float step is the scalar one, lane by lane.

#![cfg(target_arch = "x86_64")]

// Measured the same with and without on Zen 4, so as on every other CPU ([`super::prefetch`]).
use super::prefetch::prefetch_ahead_always as prefetch_ahead;
use super::q6_k_x16::{BLOCK_BYTES, EXPANDED_BLOCK_BYTES, EXPANDED_STEP, QS, SCALES, STEP};
use super::q8_k;
use super::x16::{d_area, ROWS};
use std::arch::x86_64::*;

/// Σ_j scale_j · Σ (q + 32)·a over sub-block j, and Σ_j scale_j · (activation sum of j), of one
/// super-block against each of `C` activation rows (`ys`), as sixteen exact i32 row lanes each.
/// The 6-bit values are put together once and meet every row's activations (the prompt product
/// passes several columns; decode one).
// `p` below picks a scale pair and the matching accumulator of every column.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn block_sums<const C: usize, const EXPANDED: bool>(
    x: *const u8,
    ys: [&[u8]; C],
) -> [(__m512i, __m512i); C] {
    let low = _mm512_set1_epi8(0x0F);
    let bits45 = _mm512_set1_epi8(0x30);
    // Whole Q8_K blocks (the caller's slices): every offset below lies inside them.
    let blocks = ys.map(|y| y[..q8_k::TYPE_SIZE].as_ptr());
    let act = |col: usize, off: usize| {
        let a = blocks[col].add(q8_k::QS + off);
        _mm512_set1_epi32((a as *const i32).read_unaligned())
    };
    let bsum_pair = |col: usize, p: usize| {
        let b = blocks[col].add(q8_k::BSUMS + 4 * p);
        _mm512_set1_epi32((b as *const i32).read_unaligned())
    };
    // (nibbles & 0x0F) | high, high already masked to bits 4..5: ternary-logic 0xF8 is A | (B & C).
    let join =
        |nibbles: __m512i, high: __m512i| _mm512_ternarylogic_epi32(high, nibbles, low, 0xF8);
    let mut sums = [(_mm512_setzero_si512(), _mm512_setzero_si512()); C];
    for h in 0..2 {
        // Steps 4·kk .. 4·kk+4 of half h: quarter m of their positions is sub-block 8h + kk + 2m,
        // one accumulator each (indexing by m alone keeps them in registers).
        for kk in 0..2 {
            let mut acc = [[_mm512_setzero_si512(); 4]; C];
            for k in 4 * kk..4 * kk + 4 {
                let q = if EXPANDED {
                    let s = x.add(QS + (8 * h + k) * EXPANDED_STEP);
                    std::array::from_fn(|m| _mm512_loadu_si512(s.add(64 * m) as *const _))
                } else {
                    let s = x.add(QS + (8 * h + k) * STEP);
                    prefetch_ahead(s, STEP);
                    let ql0 = _mm512_loadu_si512(s as *const _);
                    let ql1 = _mm512_loadu_si512(s.add(64) as *const _);
                    let qh = _mm512_loadu_si512(s.add(128) as *const _);
                    [
                        join(ql0, _mm512_and_si512(_mm512_slli_epi16::<4>(qh), bits45)),
                        join(ql1, _mm512_and_si512(_mm512_slli_epi16::<2>(qh), bits45)),
                        join(_mm512_srli_epi16::<4>(ql0), _mm512_and_si512(qh, bits45)),
                        join(
                            _mm512_srli_epi16::<4>(ql1),
                            _mm512_and_si512(_mm512_srli_epi16::<2>(qh), bits45),
                        ),
                    ]
                };
                for (col, acc) in acc.iter_mut().enumerate() {
                    for (m, (acc, &q)) in acc.iter_mut().zip(&q).enumerate() {
                        *acc = _mm512_dpbusd_epi32(*acc, q, act(col, 128 * h + 32 * m + 4 * k));
                    }
                }
            }
            for p in 0..4 {
                // Lane r: the scales of sub-blocks 2p and 2p+1 of half h of row r as two i16.
                let pair = 4 * h + p;
                let scales = _mm512_cvtepi8_epi16(_mm256_loadu_si256(
                    x.add(SCALES + 32 * pair) as *const __m256i
                ));
                let scale = if kk == 0 {
                    _mm512_srai_epi32::<16>(_mm512_slli_epi32::<16>(scales))
                } else {
                    _mm512_srai_epi32::<16>(scales)
                };
                for (col, (sum, offset)) in sums.iter_mut().enumerate() {
                    *sum = _mm512_add_epi32(*sum, _mm512_mullo_epi32(acc[col][p], scale));
                    if kk == 0 {
                        *offset = _mm512_dpwssd_epi32(*offset, scales, bsum_pair(col, pair));
                    }
                }
            }
        }
    }
    sums
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    let mut outs = [[0f32; ROWS]];
    dot16_cols(n, group, [activations], &mut outs);
    *out = outs[0];
}

/// [`dot16`] against `C` activation rows at once.
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
    cols_k::<C, false>(n, group, activations, out)
}

/// [`dot16_cols`] over a group expanded by [`super::q6_k_x16::expand`].
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
    cols_k::<C, true>(n, expanded, activations, out)
}

/// The body, over repacked or (`EXPANDED`) expanded super-blocks.
#[inline(always)]
unsafe fn cols_k<const C: usize, const EXPANDED: bool>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let nb = n / q8_k::BLOCK;
    let (ds, blocks) = group.split_at(d_area(nb));
    prefetch_ahead(ds.as_ptr(), ds.len());
    let mut sumf = [_mm512_setzero_ps(); C];
    let block_bytes = if EXPANDED {
        EXPANDED_BLOCK_BYTES
    } else {
        BLOCK_BYTES
    };
    for (b, x) in blocks.chunks_exact(block_bytes).take(nb).enumerate() {
        let xp = x.as_ptr();
        if !EXPANDED {
            prefetch_ahead(xp, QS);
        }
        let ys = activations.map(|a| &a[b * q8_k::TYPE_SIZE..(b + 1) * q8_k::TYPE_SIZE]);
        let sums = block_sums::<C, EXPANDED>(xp, ys);
        let d = _mm512_cvtph_ps(_mm256_loadu_si256(
            ds[2 * ROWS * b..].as_ptr() as *const __m256i
        ));
        for ((sumf, (sum, offset)), y) in sumf.iter_mut().zip(sums).zip(ys) {
            // Σ scale·(q − 32)·a = Σ scale·q·a − 32·Σ scale·(activation sum): exact in i32.
            let sumi = _mm512_sub_epi32(sum, _mm512_slli_epi32::<5>(offset));
            // The scalar step `d·dy·Σ` lane by lane: same products, no fused multiply-add.
            let value = _mm512_mul_ps(
                _mm512_mul_ps(d, _mm512_set1_ps(q8_k::d(y))),
                _mm512_cvtepi32_ps(sumi),
            );
            *sumf = _mm512_add_ps(*sumf, value);
        }
    }
    for (o, s) in out.iter_mut().zip(sumf) {
        _mm512_storeu_ps(o.as_mut_ptr(), s);
    }
}
