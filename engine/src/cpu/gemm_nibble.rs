//! GEMM tile kernels for the 32-element nibble-table formats that dot against Q8_0 activations
//! (MXFP4, IQ4_NL), AVX2 and AVX-512 VNNI.
//!
//! Without a tile kernel each (row, column) was one `vec_dot`, which looks every block's 4-bit
//! codes up in the table again for every column. Here, per K chunk, each of the tile's weight rows
//! has its blocks expanded once (codes to signed levels, their absolute values, the block scale)
//! and then dotted with every activation column of the tile.
//!
//! Per (row, column) the float steps are those of the decode `vec_dot`
//! (`quant/nibble_lut_avx2.rs`, llama.cpp's `ggml_vec_dot_mxfp4_q8_0` order): even blocks into one
//! eight-lane accumulator, odd blocks into another, the two added and reduced at the end, an odd
//! last block added afterwards as a scalar. The integer block sums are exact in any order, so the
//! results are bit-identical.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS};
use super::gemm_simd::{f16_at, hsum_f32, hsum_i32, load32, tile_fns, IntDot};
use crate::quant::nibble_lut_avx2::levels32;
use crate::quant::{iq4_nl, iq4_xs, mxfp4, q8_0};
use std::arch::x86_64::*;

/// A 32-element block format: 16 bytes of 4-bit codes (element j in the low nibble of byte j,
/// element j + 16 in the high nibble) indexing a 16-entry table of signed levels, and a scale.
pub(super) trait NibbleFormat {
    const TYPE_SIZE: usize;
    /// Offset of the packed codes in a block.
    const QS: usize;
    /// The signed levels the codes index.
    const TABLE: [i8; 16];
    /// The block's scale (the factor the `vec_dot` multiplies with the activations' scale).
    fn scale(x: &[u8]) -> f32;
}

pub(super) struct Mxfp4;
impl NibbleFormat for Mxfp4 {
    const TYPE_SIZE: usize = mxfp4::TYPE_SIZE;
    const QS: usize = 1;
    const TABLE: [i8; 16] = mxfp4::KVALUES_MXFP4;
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        mxfp4::e8m0_to_f32_half(x[0])
    }
}

pub(super) struct Iq4Nl;
impl NibbleFormat for Iq4Nl {
    const TYPE_SIZE: usize = iq4_nl::TYPE_SIZE;
    const QS: usize = 2;
    // IQ4_NL and IQ4_XS share `kvalues_iq4nl`.
    const TABLE: [i8; 16] = iq4_xs::KVALUES;
    #[inline(always)]
    fn scale(x: &[u8]) -> f32 {
        f16_at(x, 0)
    }
}

/// One expanded weight block: the signed levels, their absolute values (the unsigned operand)
/// and the scale broadcast.
#[derive(Clone, Copy)]
struct Expanded {
    signed: __m256i,
    abs: __m256i,
    dv: __m256,
}

/// Weight blocks expanded at a time per row; even, so a chunk's block parity is its index's.
const KCHUNK: usize = 32;

/// Per (column, row) accumulators of a whole tile, kept across K chunks.
struct TileAcc<const R: usize> {
    even: [[__m256; R]; MAX_COLS],
    odd: [[__m256; R]; MAX_COLS],
    /// The odd last block's product, when the row has an odd number of blocks.
    tail: [[f32; R]; MAX_COLS],
}

#[inline(always)]
unsafe fn expand<F: NibbleFormat>(x: &[u8], table: __m128i) -> Expanded {
    let signed = levels32(table, &x[F::QS..]);
    Expanded {
        signed,
        abs: _mm256_sign_epi8(signed, signed),
        dv: _mm256_set1_ps(F::scale(x)),
    }
}

#[inline(always)]
unsafe fn nibble_rows<F: NibbleFormat, D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    let ts = F::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    let table = _mm_loadu_si128(F::TABLE.as_ptr() as *const __m128i);
    let mut acc = TileAcc::<R> {
        even: [[_mm256_setzero_ps(); R]; MAX_COLS],
        odd: [[_mm256_setzero_ps(); R]; MAX_COLS],
        tail: [[0f32; R]; MAX_COLS],
    };
    let zero = Expanded {
        signed: _mm256_setzero_si256(),
        abs: _mm256_setzero_si256(),
        dv: _mm256_setzero_ps(),
    };
    let mut exp = [[zero; KCHUNK]; R];
    for k0 in (0..nb).step_by(KCHUNK) {
        let len = (nb - k0).min(KCHUNK);
        for (r, row) in exp.iter_mut().enumerate() {
            for (i, e) in row.iter_mut().enumerate().take(len) {
                let at = r * wrb + (k0 + i) * ts;
                *e = expand::<F>(&w[at..at + ts], table);
            }
        }
        let mut c = 0;
        // 2 columns × 4 rows × 2 accumulators fill AVX2's 16 registers; AVX-512 has 32.
        if D::WIDE {
            while c + 2 <= nc {
                nibble_cols::<D, R, 2>(&exp, len, a, arb, c, k0, &mut acc);
                c += 2;
            }
        }
        while c < nc {
            nibble_cols::<D, R, 1>(&exp, len, a, arb, c, k0, &mut acc);
            c += 1;
        }
    }
    let columns = acc.even.iter().zip(&acc.odd).zip(&acc.tail);
    for (((even, odd), tail), out) in columns.zip(sums.iter_mut()).take(nc) {
        for r in 0..R {
            let mut s = hsum_f32(_mm256_add_ps(even[r], odd[r]));
            if nb % 2 == 1 {
                s += tail[r];
            }
            out[r] = s;
        }
    }
}

/// Columns `c0..c0 + C` against the expanded blocks `k0..k0 + len`, with the (row, column)
/// accumulators held in registers for the whole run. `k0` is even; an odd `len` means the chunk
/// ends with the row's odd last block.
#[inline(always)]
unsafe fn nibble_cols<D: IntDot, const R: usize, const C: usize>(
    exp: &[[Expanded; KCHUNK]; R],
    len: usize,
    a: &[u8],
    arb: usize,
    c0: usize,
    k0: usize,
    acc: &mut TileAcc<R>,
) {
    const ATS: usize = q8_0::TYPE_SIZE;
    let mut even: [[__m256; R]; C] = std::array::from_fn(|c| acc.even[c0 + c]);
    let mut odd: [[__m256; R]; C] = std::array::from_fn(|c| acc.odd[c0 + c]);
    // The integer lanes of block `i` (expanded) times column `c`, and that column's scale there.
    let block = |i: usize, c: usize| {
        let at = (c0 + c) * arb + (k0 + i) * ATS;
        let y = &a[at..at + ATS];
        (load32(y, 2), _mm256_set1_ps(f16_at(y, 0)))
    };
    let mut i = 0;
    while i + 2 <= len {
        for c in 0..C {
            let (qy, dy) = block(i, c);
            block_into::<D, R>(exp, i, qy, dy, &mut even[c]);
            let (qy, dy) = block(i + 1, c);
            block_into::<D, R>(exp, i + 1, qy, dy, &mut odd[c]);
        }
        i += 2;
    }
    if i < len {
        for c in 0..C {
            let (qy, dy) = block(i, c);
            for (row, tail) in exp.iter().zip(acc.tail[c0 + c].iter_mut()) {
                let e = &row[i];
                let sumi = hsum_i32(block_dot::<D>(e, qy));
                let d = _mm256_cvtss_f32(_mm256_mul_ps(dy, e.dv));
                *tail = d * sumi as f32;
            }
        }
    }
    acc.even[c0..c0 + C].copy_from_slice(&even);
    acc.odd[c0..c0 + C].copy_from_slice(&odd);
}

/// An expanded weight block times an activation block's quants, as eight i32 lanes.
#[inline(always)]
unsafe fn block_dot<D: IntDot>(e: &Expanded, qy: __m256i) -> __m256i {
    // maddubs/vpdpbusd need an unsigned operand: move x's sign onto y.
    D::dot_u8_i8(e.abs, _mm256_sign_epi8(qy, e.signed))
}

/// Block `i` of each row times one activation block (`qy`, scale `dy`) into that column's lanes.
#[inline(always)]
unsafe fn block_into<D: IntDot, const R: usize>(
    exp: &[[Expanded; KCHUNK]; R],
    i: usize,
    qy: __m256i,
    dy: __m256,
    lanes: &mut [__m256; R],
) {
    for (row, l) in exp.iter().zip(lanes.iter_mut()) {
        let e = &row[i];
        let dot = block_dot::<D>(e, qy);
        // set1(dy)·set1(dx) is the scalar product the vec_dot broadcasts.
        *l = _mm256_fmadd_ps(_mm256_mul_ps(dy, e.dv), _mm256_cvtepi32_ps(dot), *l);
    }
}

tile_fns!(mxfp4_tiles, mxfp4_tiles_vnni = nibble_rows<Mxfp4>);
tile_fns!(iq4_nl_tiles, iq4_nl_tiles_vnni = nibble_rows<Iq4Nl>);
