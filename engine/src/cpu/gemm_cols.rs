//! AVX-512 VNNI GEMM with the activations transposed: one 512-bit vector holds four consecutive
//! quants of sixteen columns.
//!
//! A weight row's four quants are then a broadcast 32-bit value, and one `vpdpbusd` does 64
//! multiply-adds for one row and sixteen columns, with nothing to unpack per column: a
//! 32-element sub-block of eight rows × sixteen columns is 64 `vpdpbusd`, and its scale is one
//! `vpmulld` per row. The tiles (`gemm_kquant.rs` and siblings) spend four or five instructions
//! per 64 multiply-adds on moving signs and widening; this layout spends about 1.3.
//!
//! - The activations (Q8_K) are repacked once per product ([`pack_columns`]), with +128 so that
//!   they are `vpdpbusd`'s unsigned operand; each weight block's `128 · Σ_j scale_j · Σ q_j`
//!   is subtracted once per block, which makes the block's integer sum exact. Formats with
//!   minimums (Q4_K, Q5_K) take `Σ_j min_j · Σ y_j` from the packed sub-block sums (`vpdpwssd`).
//! - Each (row, column) result is Σ over blocks of `(dx·dy) · block_sum − (dmin·dy) · min_sum` in
//!   f32: the same terms as the decode `vec_dot`, which splits each block sum over eight lanes
//!   first, so the two differ in the last bits (the tests bound it).
//! - A format supplies only its block unpacking ([`ColumnFormat`]).

#![cfg(target_arch = "x86_64")]

use super::gemm_cols_driver::{as_tile, ColumnBlocks, PackedColumns, ROWS};
use super::gemm_simd::hsum_i32;
use crate::quant::q8_k;
use std::arch::x86_64::*;

/// Weight blocks unpacked per K chunk (2048 elements; eight rows take 17 KiB).
const KBLOCKS: usize = 8;
/// 512-bit vectors per (column group, block): 64 of quants, the 16 scales, then four of
/// sub-block sums.
const VECS_PER_BLOCK: usize = 69;
/// Where the scales and the sub-block sums are among a block's vectors.
const SCALE_VEC: usize = 64;
const SUMS_VEC: usize = 65;

/// Repacks `n` Q8_K activation rows (`nb` blocks each, row stride `arb`) for [`K256`]: for each
/// group of 16 columns and each block, 64 vectors of (4 quants + 128) × 16 columns, the 16
/// columns' block scales (f32), then four vectors of the 32-element sub-block sums as i16 pairs
/// (sub-blocks 2p and 2p + 1 in vector p).
fn pack_columns(qa: &[u8], arb: usize, n: usize, nb: usize) -> PackedColumns {
    const BSUMS: usize = q8_k::QS + 256;
    PackedColumns::pack(n, nb, VECS_PER_BLOCK, |col, b, words| {
        let y = &qa[col * arb + b * q8_k::TYPE_SIZE..][..q8_k::TYPE_SIZE];
        for (k, quad) in y[q8_k::QS..q8_k::QS + 256].chunks_exact(4).enumerate() {
            words[k] = u32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]) ^ 0x8080_8080;
        }
        words[SCALE_VEC] = q8_k::d(y).to_bits();
        // Q8_K's sums of 16 quants, two per 32-element sub-block.
        let bsum = |i: usize| i16::from_le_bytes([y[BSUMS + 2 * i], y[BSUMS + 2 * i + 1]]);
        let sum = |j: usize| (bsum(2 * j) + bsum(2 * j + 1)) as u16 as u32;
        for p in 0..4 {
            words[SUMS_VEC + p] = sum(2 * p) | (sum(2 * p + 1) << 16);
        }
    })
}

/// One weight block of one row, unpacked for the kernel.
#[derive(Clone, Copy)]
pub struct Unpacked {
    /// Signed quants, four per word, in element order.
    pub levels: [u32; 64],
    /// The sub-blocks' integer scales (eight of 32 elements or sixteen of 16: see
    /// [`ColumnFormat::SUBS`]).
    pub scales: [i32; 16],
    /// `128 · Σ_j scales_j · Σ quants of j` (what the activations' +128 adds).
    pub correction: i32,
    /// The block scale.
    pub d: f32,
    /// Formats with minimums: the sub-blocks' integer minimums as i16 pairs (2p, 2p + 1).
    pub min_pairs: [u32; 4],
    /// Formats with minimums: the block's minimum scale.
    pub dmin: f32,
}

/// A weight format the kernel runs: 256-element blocks against Q8_K activations, each block
/// `d · Σ_j scale_j · (q_j · y_j) − dmin · Σ_j min_j · Σ y_j` with quants in −128..=127 and
/// scales in i8 (every sum then stays within i32).
pub trait ColumnFormat {
    const TYPE_SIZE: usize;
    /// Scaled sub-blocks per block: 8 (32 elements each) or 16 (16 each).
    const SUBS: usize;
    /// Whether blocks have minimums (only with 8 sub-blocks).
    const HAS_MIN: bool;
    /// Unpacks block `x` into `dst` (AVX2 available).
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked);
}

/// `128 · Σ_j scale_j · Σ levels of j` from the levels (32 per vector) and the `subs` (8 or 16)
/// sub-blocks' scales.
#[inline(always)]
pub unsafe fn offset_correction(levels: &[__m256i; 8], scales: &[i32; 16], subs: usize) -> i32 {
    let ones8 = _mm256_set1_epi8(1);
    let mut scaled_sum = _mm256_setzero_si256();
    for (v, l) in levels.iter().enumerate() {
        let scale = if subs == 8 {
            _mm256_set1_epi16(scales[v] as i16)
        } else {
            // Elements 0..16 of the vector are in its low 128 bits.
            _mm256_setr_m128i(
                _mm_set1_epi16(scales[2 * v] as i16),
                _mm_set1_epi16(scales[2 * v + 1] as i16),
            )
        };
        let pairs = _mm256_maddubs_epi16(ones8, *l);
        scaled_sum = _mm256_add_epi32(scaled_sum, _mm256_madd_epi16(pairs, scale));
    }
    128 * hsum_i32(scaled_sum)
}

/// Stores eight sub-blocks of levels into `dst.levels`.
#[inline(always)]
pub unsafe fn store_levels(levels: &[__m256i; 8], dst: &mut Unpacked) {
    for (j, l) in levels.iter().enumerate() {
        _mm256_storeu_si256(dst.levels[8 * j..].as_mut_ptr() as *mut __m256i, *l);
    }
}

/// f16 bits at `x[at..at + 2]` as f32 (F16C, exact).
#[inline(always)]
pub unsafe fn f16_at(x: &[u8], at: usize) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(
        u16::from_le_bytes([x[at], x[at + 1]]) as i32,
    )))
}

/// The 256-element formats as a [`ColumnBlocks`] family.
pub struct K256<F>(std::marker::PhantomData<F>);

// SAFETY: `Unpacked` is integers and floats only (any bits are a value), aligned to 4.
unsafe impl<F: ColumnFormat> ColumnBlocks for K256<F> {
    type Unpacked = Unpacked;
    const TYPE_SIZE: usize = F::TYPE_SIZE;
    const KBLOCKS: usize = KBLOCKS;
    const VECS_PER_BLOCK: usize = VECS_PER_BLOCK;

    fn pack_columns(qa: &[u8], arb: usize, n: usize, nb: usize) -> PackedColumns {
        pack_columns(qa, arb, n, nb)
    }

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        F::unpack(x, dst)
    }

    #[inline(always)]
    unsafe fn step(unpacked: &[Unpacked], i: usize, y: &[__m512i], acc: &mut [__m512; ROWS]) {
        block_step::<F>(unpacked, i, y, acc)
    }
}

/// One block of the tile's rows against one group of columns, added to `acc`.
#[inline(always)]
unsafe fn block_step<F: ColumnFormat>(
    unpacked: &[Unpacked],
    i: usize,
    y: &[__m512i],
    acc: &mut [__m512; ROWS],
) {
    let tile = as_tile::<_, KBLOCKS>(unpacked);
    let mut sums = [_mm512_setzero_si512(); ROWS];
    // Four-quant groups per sub-block.
    let per = 64 / F::SUBS;
    for j in 0..F::SUBS {
        let mut raw = [_mm512_setzero_si512(); ROWS];
        for k in 0..per {
            let yk = y[per * j + k];
            for (r, raw_r) in raw.iter_mut().enumerate() {
                let wk = _mm512_set1_epi32(tile[r][i].levels[per * j + k] as i32);
                *raw_r = _mm512_dpbusd_epi32(*raw_r, yk, wk);
            }
        }
        for (r, s) in sums.iter_mut().enumerate() {
            let scale = _mm512_set1_epi32(tile[r][i].scales[j]);
            *s = _mm512_add_epi32(*s, _mm512_mullo_epi32(raw[r], scale));
        }
    }
    let dy = _mm512_castsi512_ps(y[SCALE_VEC]);
    for (r, a) in acc.iter_mut().enumerate() {
        let u = &tile[r][i];
        let exact = _mm512_sub_epi32(sums[r], _mm512_set1_epi32(u.correction));
        let d = _mm512_mul_ps(_mm512_set1_ps(u.d), dy);
        *a = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(exact), *a);
        if F::HAS_MIN {
            let mut mins = _mm512_setzero_si512();
            for (p, &pair) in u.min_pairs.iter().enumerate() {
                mins = _mm512_dpwssd_epi32(mins, y[SUMS_VEC + p], _mm512_set1_epi32(pair as i32));
            }
            let dmin = _mm512_mul_ps(_mm512_set1_ps(u.dmin), dy);
            *a = _mm512_fnmadd_ps(dmin, _mm512_cvtepi32_ps(mins), *a);
        }
    }
}
