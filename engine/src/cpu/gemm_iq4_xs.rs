//! GEMM tile kernel for IQ4_XS weights · Q8_K activations, AVX2.
//!
//! Each of the tile's weight rows is unpacked once per 256-element block (nibbles to signed levels
//! through the 16-entry table, the eight 6-bit sub-block scales to broadcast i16 vectors) and then
//! dotted with every activation column. For every (row, column) the integer lanes and the f32
//! lane accumulation are those of `quant/iq4_xs_avx2.rs` (llama.cpp's order), so results are
//! bit-identical to the decode `vec_dot`.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS};
use super::gemm_simd::{
    f16_at, hsum_f32, load256_wide, load32, scaled_dot_wide, tile_fns, widen, IntDot, ZERO512,
};
use crate::quant::nibble_lut_avx2::levels32;
use crate::quant::{iq4_xs, q8_k};
use std::arch::x86_64::*;

const SCALES_H: usize = 2;
const SCALES_L: usize = 4;
const QS: usize = 8;

/// One IQ4_XS block row, unpacked: per 32-element sub-block the absolute levels, the levels
/// themselves (their signs move onto the activations) and the scale; then the block scale.
struct Iq4Block {
    abs: [__m256i; 8],
    signs: [__m256i; 8],
    scale: [__m256i; 8],
    d: f32,
}

#[inline(always)]
unsafe fn unpack(x: &[u8], table: __m128i) -> Iq4Block {
    let sh = u16::from_le_bytes([x[SCALES_H], x[SCALES_H + 1]]);
    let mut abs = [_mm256_setzero_si256(); 8];
    let mut signs = [_mm256_setzero_si256(); 8];
    let mut scale = [_mm256_setzero_si256(); 8];
    for ib in 0..8 {
        let levels = levels32(table, &x[QS + 16 * ib..]);
        abs[ib] = _mm256_sign_epi8(levels, levels);
        signs[ib] = levels;
        let low = (x[SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0xF;
        let high = ((sh >> (2 * ib)) & 3) as u8;
        scale[ib] = _mm256_set1_epi16((low | (high << 4)) as i16 - 32);
    }
    Iq4Block {
        abs,
        signs,
        scale,
        d: f16_at(x, 0),
    }
}

/// An unpacked block row in 512-bit vectors (see [`widen`]), with the levels' signs as masks.
struct WideIq4 {
    abs: [__m512i; 4],
    negative: [__mmask64; 4],
    scale: [__m512i; 4],
}

const EMPTY_WIDE: WideIq4 = WideIq4 {
    abs: [ZERO512; 4],
    negative: [0; 4],
    scale: [ZERO512; 4],
};
// SAFETY: an all-zero bit pattern is a valid __m256i.
const ZERO: __m256i = unsafe { std::mem::transmute([0u8; 32]) };

#[inline(always)]
unsafe fn widen_iq4(b: &Iq4Block) -> WideIq4 {
    let levels = widen(&b.signs);
    let mut negative = [0; 4];
    for (m, l) in negative.iter_mut().zip(&levels) {
        *m = _mm512_movepi8_mask(*l);
    }
    WideIq4 {
        abs: widen(&b.abs),
        negative,
        scale: widen(&b.scale),
    }
}

tile_fns!(iq4_xs, iq4_xs_vnni = iq4_xs_rows);

#[inline(always)]
unsafe fn iq4_xs_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = iq4_xs::TYPE_SIZE;
    let table = _mm_loadu_si128(iq4_xs::KVALUES.as_ptr() as *const __m128i);
    let nc = nc.min(MAX_COLS);
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    for ib in 0..nb {
        let blocks: [Iq4Block; R] =
            std::array::from_fn(|r| unpack(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS], table));
        let mut wide = [EMPTY_WIDE; R];
        if D::WIDE {
            for (wb, b) in wide.iter_mut().zip(&blocks) {
                *wb = widen_iq4(b);
            }
        }
        for c in 0..nc {
            let y = &a[c * arb + ib * q8_k::TYPE_SIZE..c * arb + (ib + 1) * q8_k::TYPE_SIZE];
            let dy = q8_k::d(y);
            let (qa, qa_wide) = if D::WIDE {
                ([ZERO; 8], load256_wide(y, q8_k::QS))
            } else {
                (
                    std::array::from_fn(|j| load32(y, q8_k::QS + 32 * j)),
                    [ZERO512; 4],
                )
            };
            for (r, (b, wb)) in blocks.iter().zip(&wide).enumerate() {
                // Integer sums are exact, so summing the sub-blocks in one chain (rather than
                // the vec_dot's even/odd pair) gives the same lanes.
                let sumi = if D::WIDE {
                    // The levels' signs move onto the activations with a masked negation
                    // (AVX-512 has no byte `sign`; levels are never zero, so it is the same).
                    let mut signed = [ZERO512; 4];
                    for i in 0..4 {
                        let q = qa_wide[i];
                        signed[i] =
                            _mm512_mask_sub_epi8(q, wb.negative[i], _mm512_setzero_si512(), q);
                    }
                    scaled_dot_wide(&wb.abs, &signed, &wb.scale)
                } else {
                    let mut sumi = _mm256_setzero_si256();
                    let sub_blocks = b.abs.iter().zip(&b.signs).zip(&b.scale).zip(&qa);
                    for (((&abs, &signs), &scale), &q) in sub_blocks {
                        let p16 = _mm256_maddubs_epi16(abs, _mm256_sign_epi8(q, signs));
                        sumi = D::madd_acc(sumi, p16, scale);
                    }
                    sumi
                };
                let d = _mm256_set1_ps(b.d * dy);
                lanes[c][r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), lanes[c][r]);
            }
        }
    }
    for c in 0..nc {
        for r in 0..R {
            sums[c][r] = hsum_f32(lanes[c][r]);
        }
    }
}
