//! AVX-512 VNNI GEMM with the activations transposed, for the formats of 32-element blocks with
//! one float scale each against Q8_0 activations (Q4_0, Q5_0, Q8_0, IQ4_NL, MXFP4).
//!
//! The layout is `gemm_cols`'s: one 512-bit vector holds four consecutive quants of sixteen
//! columns, a weight row's four quants are a broadcast 32-bit value, and one `vpdpbusd` does 64
//! multiply-adds for one row and sixteen columns. A block of eight rows × sixteen columns is then
//! 64 `vpdpbusd` and, per row, one subtract, one convert and two float operations: about 1.5
//! instructions per 64 multiply-adds where the tiles (`gemm_q8_0.rs`, `gemm_nibble.rs`) spend four
//! to six on unpacking, moving signs and per-column float steps.
//!
//! - The loop over rows, K chunks and column groups is `gemm_cols_driver`'s.
//! - The activations are repacked once per product ([`pack_columns`]) with +128 so that they are
//!   `vpdpbusd`'s unsigned operand; each weight block's `128 · Σ q` is subtracted from its integer
//!   sum, which makes it exact.
//! - Each (row, column) result is Σ over blocks of `(dx·dy) · block_sum` in f32, the terms of the
//!   decode `vec_dot`, which splits each block sum over eight lanes first, so the two differ in
//!   the last bits (`gemm_tests` bounds it).
//! - A format supplies only its block's 32 levels and scale ([`BlockFormat`]), taken from the
//!   tiles' own format descriptions: [`Q0`] for Q4_0, Q5_0 and Q8_0 (`gemm_q8_0::Q0Format`),
//!   [`Nibble`] for IQ4_NL and MXFP4 (`gemm_nibble::NibbleFormat`).

#![cfg(target_arch = "x86_64")]

use super::gemm_cols_driver::{as_tile, ColumnBlocks, PackedColumns, ROWS};
use super::gemm_nibble::NibbleFormat;
use super::gemm_q8_0::Q0Format;
use super::gemm_simd::f16_at;
use crate::quant::nibble_lut_avx2::levels32;
use crate::quant::q8_0;
use std::arch::x86_64::*;
use std::marker::PhantomData;

/// Weight blocks unpacked per K chunk (2048 elements; eight rows take 20 KiB).
const KBLOCKS: usize = 64;
/// 512-bit vectors per (column group, block): eight of quants, then the sixteen scales.
const VECS_PER_BLOCK: usize = 9;
const SCALE_VEC: usize = 8;

/// Repacks `n` Q8_0 activation rows (`nb` blocks each, row stride `arb`) for [`B32`]: for each
/// group of 16 columns and each block, eight vectors of (4 quants + 128) × 16 columns, then the 16
/// columns' block scales (f32).
fn pack_columns(qa: &[u8], arb: usize, n: usize, nb: usize) -> PackedColumns {
    PackedColumns::pack(n, nb, VECS_PER_BLOCK, |col, b, words| {
        let y = &qa[col * arb + b * q8_0::TYPE_SIZE..][..q8_0::TYPE_SIZE];
        for (k, quad) in y[2..].chunks_exact(4).enumerate() {
            words[k] = u32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]) ^ 0x8080_8080;
        }
        words[SCALE_VEC] = f16_at(y, 0).to_bits();
    })
}

/// A weight format of 32-element blocks with one scale: its levels are signed bytes.
pub trait BlockFormat {
    const TYPE_SIZE: usize;
    /// The block's 32 levels in element order (AVX2 and BMI2 available).
    unsafe fn levels(x: &[u8]) -> __m256i;
    /// The block's scale.
    fn scale(x: &[u8]) -> f32;
}

/// Q4_0, Q5_0, Q8_0: the tiles' expansion, the f16 scale at offset 0.
pub struct Q0<F>(PhantomData<F>);

impl<F: Q0Format> BlockFormat for Q0<F> {
    const TYPE_SIZE: usize = F::TYPE_SIZE;
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        F::expand(x)
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        f16_at(x, 0)
    }
}

/// IQ4_NL, MXFP4: codes looked up in the format's table, as the tiles and the `vec_dot` do.
pub struct Nibble<F>(PhantomData<F>);

impl<F: NibbleFormat> BlockFormat for Nibble<F> {
    const TYPE_SIZE: usize = F::TYPE_SIZE;
    #[inline(always)]
    unsafe fn levels(x: &[u8]) -> __m256i {
        let table = _mm_loadu_si128(F::TABLE.as_ptr() as *const __m128i);
        levels32(table, &x[F::QS..])
    }
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        F::scale(x)
    }
}

/// One weight block of one row, unpacked for the kernel.
#[derive(Clone, Copy)]
pub struct Unpacked {
    /// Signed levels, four per word, in element order.
    levels: [u32; 8],
    /// `128 · Σ levels` (what the activations' +128 adds).
    correction: i32,
    d: f32,
}

/// The 32-element formats as a [`ColumnBlocks`] family.
pub struct B32<F>(PhantomData<F>);

// SAFETY: `Unpacked` is integers and floats only (any bits are a value), aligned to 4.
unsafe impl<F: BlockFormat> ColumnBlocks for B32<F> {
    type Unpacked = Unpacked;
    const TYPE_SIZE: usize = F::TYPE_SIZE;
    const KBLOCKS: usize = KBLOCKS;
    const VECS_PER_BLOCK: usize = VECS_PER_BLOCK;

    fn pack_columns(qa: &[u8], arb: usize, n: usize, nb: usize) -> PackedColumns {
        pack_columns(qa, arb, n, nb)
    }

    #[inline(always)]
    unsafe fn unpack(x: &[u8], dst: &mut Unpacked) {
        let levels = F::levels(x);
        _mm256_storeu_si256(dst.levels.as_mut_ptr() as *mut __m256i, levels);
        // Σ (level + 128) per eight bytes, then less 32 · 128.
        let biased = _mm256_xor_si256(levels, _mm256_set1_epi8(-128));
        let sad = _mm256_sad_epu8(biased, _mm256_setzero_si256());
        let s = _mm256_extract_epi64::<0>(sad)
            + _mm256_extract_epi64::<1>(sad)
            + _mm256_extract_epi64::<2>(sad)
            + _mm256_extract_epi64::<3>(sad);
        dst.correction = 128 * (s as i32 - 32 * 128);
        dst.d = F::scale(x);
    }

    /// Eight `vpdpbusd` per row, then the exact block sum scaled into the row's accumulator.
    #[inline(always)]
    unsafe fn step(unpacked: &[Unpacked], i: usize, y: &[__m512i], acc: &mut [__m512; ROWS]) {
        let tile = as_tile::<_, KBLOCKS>(unpacked);
        let mut raw = [_mm512_setzero_si512(); ROWS];
        for (k, &yk) in y[..8].iter().enumerate() {
            for (r, raw_r) in raw.iter_mut().enumerate() {
                let wk = _mm512_set1_epi32(tile[r][i].levels[k] as i32);
                *raw_r = _mm512_dpbusd_epi32(*raw_r, yk, wk);
            }
        }
        let dy = _mm512_castsi512_ps(y[SCALE_VEC]);
        for (r, a) in acc.iter_mut().enumerate() {
            let u = &tile[r][i];
            let exact = _mm512_sub_epi32(raw[r], _mm512_set1_epi32(u.correction));
            let d = _mm512_mul_ps(_mm512_set1_ps(u.d), dy);
            *a = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(exact), *a);
        }
    }
}
