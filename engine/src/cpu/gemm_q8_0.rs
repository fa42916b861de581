//! GEMM tile kernels for the 32-element formats that dot against Q8_0 activations (Q8_0, Q5_0,
//! Q4_0 weights), AVX2 (the AVX-512 VNNI build of Q8_0 and Q5_0 is `gemm_q0_wide`).
//!
//! Per block, each of the tile's weight rows is expanded once to 32 signed bytes (and their
//! absolute values, for `maddubs`) and then dotted with every activation column of the tile. The
//! per-(row, column) arithmetic is that of the decode `vec_dot`: Q8_0 and Q5_0 keep ggml's eight
//! f32 lanes (`cpu/x86_dot.rs`), Q4_0 sums block by block (`quant/q5_0_avx2.rs`), so results
//! are bit-identical.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS};
use super::gemm_simd::{hsum_f32, hsum_i32, load32, tile_fns, IntDot};
use crate::quant::{q4_0, q5_0, q8_0};
use std::arch::x86_64::*;

/// f16 bits at `b[at..at + 2]` to f32 with F16C (exact, as `half`'s conversion).
#[inline(always)]
unsafe fn f16_at(b: &[u8], at: usize) -> f32 {
    let bits = u16::from_le_bytes([b[at], b[at + 1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// The f16 values `lo` and `hi` (bits) as f32 with F16C, exact. Both are built into one general
/// register and moved whole: a lone 16-bit value gets inserted (`vpinsrw`) into whatever vector
/// register LLVM picks, often a live accumulator, which chains unrelated work together.
#[inline(always)]
unsafe fn f16_two(lo: u16, hi: u16) -> (f32, f32) {
    let v = _mm_cvtph_ps(_mm_cvtsi32_si128((lo as u32 | (hi as u32) << 16) as i32));
    (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_movehdup_ps(v)))
}

/// A weight format whose blocks expand to 32 signed bytes scaled by an f16 at offset 0.
pub(super) trait Q0Format {
    const TYPE_SIZE: usize;
    /// Eight f32 lanes per (row, column) fused-multiply-added per block (ggml's Q8_0/Q5_0 order);
    /// false: each block's exact integer sum scaled and added to one f32 (the Q4_0 kernel).
    const LANES: bool;
    /// The block's 32 quants as signed bytes, in element order.
    unsafe fn expand(x: &[u8]) -> __m256i;
}

/// Low nibbles of 16 bytes in the low half, high nibbles in the high half (`bytes_from_nibbles_32`).
#[inline(always)]
unsafe fn nibbles32(qs: &[u8]) -> __m256i {
    let qs = &qs[..16];
    let lo = _mm_loadu_si128(qs.as_ptr() as *const __m128i);
    let both = _mm256_insertf128_si256(_mm256_castsi128_si256(lo), _mm_srli_epi16(lo, 4), 1);
    _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
}

/// 0xFF in byte j where bit j of `bits` is set, else 0 (`bytes_from_bits_32`).
#[inline(always)]
unsafe fn bytes_from_bits(bits: u32) -> __m256i {
    let shuf = _mm256_set_epi64x(
        0x0303030303030303,
        0x0202020202020202,
        0x0101010101010101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuf);
    let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
}

pub(super) struct Q8_0;
impl Q0Format for Q8_0 {
    const TYPE_SIZE: usize = q8_0::TYPE_SIZE;
    const LANES: bool = true;
    #[inline(always)]
    unsafe fn expand(x: &[u8]) -> __m256i {
        load32(x, 2)
    }
}

pub(super) struct Q5_0;
impl Q0Format for Q5_0 {
    const TYPE_SIZE: usize = q5_0::TYPE_SIZE;
    const LANES: bool = true;
    #[inline(always)]
    unsafe fn expand(x: &[u8]) -> __m256i {
        let qh = u32::from_le_bytes([x[2], x[3], x[4], x[5]]);
        // Bit 4 clear means q − 16 < 0: set the high nibble (0xF0) to make the byte negative.
        let hi = _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(0xF0u8 as i8));
        _mm256_or_si256(nibbles32(&x[6..]), hi)
    }
}

struct Q4_0;
impl Q0Format for Q4_0 {
    const TYPE_SIZE: usize = q4_0::TYPE_SIZE;
    const LANES: bool = false;
    #[inline(always)]
    unsafe fn expand(x: &[u8]) -> __m256i {
        _mm256_sub_epi8(nibbles32(&x[2..]), _mm256_set1_epi8(8))
    }
}

/// One expanded weight block: signed quants, their absolute values, and the scale (scalar and
/// broadcast).
#[derive(Clone, Copy)]
struct Expanded {
    qx: __m256i,
    ax: __m256i,
    dv: __m256,
    d: f32,
}

/// Weight blocks expanded at a time per row (bounded stack use: 4 rows × 32 blocks × 128 bytes).
const KCHUNK: usize = 32;

/// Per (column, row) accumulators of a whole tile, kept across K chunks.
struct TileAcc<const R: usize> {
    lanes: [[__m256; R]; MAX_COLS],
    scalar: [[f32; R]; MAX_COLS],
}

#[inline(always)]
unsafe fn q0_rows<F: Q0Format, D: IntDot, const R: usize>(
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
    let mut acc = TileAcc::<R> {
        lanes: [[_mm256_setzero_ps(); R]; MAX_COLS],
        scalar: [[0f32; R]; MAX_COLS],
    };
    let zero = Expanded {
        qx: _mm256_setzero_si256(),
        ax: _mm256_setzero_si256(),
        dv: _mm256_setzero_ps(),
        d: 0.0,
    };
    let mut exp = [[zero; KCHUNK]; R];
    // The weight scales again, the tile's rows side by side per block (for the block-ordered sums).
    let mut ds = [[0f32; R]; KCHUNK];
    for k0 in (0..nb).step_by(KCHUNK) {
        let len = (nb - k0).min(KCHUNK);
        // Expand each weight block once for all the tile's columns.
        for (r, row) in exp.iter_mut().enumerate() {
            for (i, e) in row.iter_mut().enumerate().take(len) {
                let at = r * wrb + (k0 + i) * ts;
                let x = &w[at..at + ts];
                let qx = F::expand(x);
                let d = f16_at(x, 0);
                *e = Expanded {
                    qx,
                    ax: _mm256_sign_epi8(qx, qx),
                    dv: _mm256_set1_ps(d),
                    d,
                };
                ds[i][r] = d;
            }
        }
        let mut c = 0;
        // Block-ordered formats over a whole tile of rows: the rows side by side in one vector.
        let four_rows = !F::LANES && R == 4;
        // Four columns per weight-block load where the tile has them.
        while four_rows && c + 4 <= nc {
            q0_cols_four_rows::<D, R, 4>(&exp, &ds, len, a, arb, c, k0, &mut acc);
            c += 4;
        }
        while c + 2 <= nc {
            if four_rows {
                q0_cols_four_rows::<D, R, 2>(&exp, &ds, len, a, arb, c, k0, &mut acc);
            } else {
                q0_cols::<F, D, R, 2>(&exp, len, a, arb, c, k0, &mut acc);
            }
            c += 2;
        }
        if c < nc {
            if four_rows {
                q0_cols_four_rows::<D, R, 1>(&exp, &ds, len, a, arb, c, k0, &mut acc);
            } else {
                q0_cols::<F, D, R, 1>(&exp, len, a, arb, c, k0, &mut acc);
            }
        }
    }
    for c in 0..nc {
        for r in 0..R {
            sums[c][r] = if F::LANES {
                hsum_f32(acc.lanes[c][r])
            } else {
                acc.scalar[c][r]
            };
        }
    }
}

/// The block-ordered sums (`scalar += sumi · (d_x · d_y)`, block after block: Q4_0) of a whole
/// tile of four rows, columns `c0..c0 + C`, over the expanded blocks `0..len`: per block the four
/// rows' integer sums are reduced together into one vector and scaled and added as four lanes,
/// each lane the scalar product and add of its row (a horizontal sum per row, column and block
/// made this product 0.6× llama.cpp's).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn q0_cols_four_rows<D: IntDot, const R: usize, const C: usize>(
    exp: &[[Expanded; KCHUNK]; R],
    ds: &[[f32; R]; KCHUNK],
    len: usize,
    a: &[u8],
    arb: usize,
    c0: usize,
    k0: usize,
    acc: &mut TileAcc<R>,
) {
    const ATS: usize = q8_0::TYPE_SIZE;
    // Four-lane loads and stores of the row accumulators: only for a whole tile (a constant, so
    // this costs nothing).
    assert!(R == 4);
    let mut rows: [__m128; C] = std::array::from_fn(|c| _mm_loadu_ps(acc.scalar[c0 + c].as_ptr()));
    let half = |y: &[u8]| u16::from_le_bytes([y[0], y[1]]);
    for (i, row_scales) in ds.iter().enumerate().take(len) {
        let ib = k0 + i;
        let ys: [&[u8]; C] = std::array::from_fn(|c| {
            let at = (c0 + c) * arb + ib * ATS;
            &a[at..at + ATS]
        });
        // Two at a time keeps each move whole (see `f16_two`).
        let mut dys = [0f32; C];
        for c in (0..C).step_by(2) {
            let next = (c + 1).min(C - 1);
            (dys[c], dys[next]) = f16_two(half(ys[c]), half(ys[next]));
        }
        for c in 0..C {
            let qy = load32(ys[c], 2);
            let dots: [__m256i; 4] = std::array::from_fn(|r| {
                let e = &exp[r][i];
                D::dot_u8_i8(e.ax, _mm256_sign_epi8(qy, e.qx))
            });
            // Lanes: the sums of lanes 0..4 of rows 0..4, then of lanes 4..8 of rows 0..4.
            let h = _mm256_hadd_epi32(
                _mm256_hadd_epi32(dots[0], dots[1]),
                _mm256_hadd_epi32(dots[2], dots[3]),
            );
            let sumi = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            let scales = _mm_mul_ps(_mm_loadu_ps(row_scales.as_ptr()), _mm_set1_ps(dys[c]));
            rows[c] = _mm_add_ps(rows[c], _mm_mul_ps(_mm_cvtepi32_ps(sumi), scales));
        }
    }
    for (c, &four) in rows.iter().enumerate() {
        _mm_storeu_ps(acc.scalar[c0 + c].as_mut_ptr(), four);
    }
}

/// Columns `c0..c0 + C` against the expanded blocks `k0..k0 + len`, with the (row, column)
/// accumulators held in registers for the whole run.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn q0_cols<F: Q0Format, D: IntDot, const R: usize, const C: usize>(
    exp: &[[Expanded; KCHUNK]; R],
    len: usize,
    a: &[u8],
    arb: usize,
    c0: usize,
    k0: usize,
    acc: &mut TileAcc<R>,
) {
    const ATS: usize = q8_0::TYPE_SIZE;
    let mut lanes: [[__m256; R]; C] = std::array::from_fn(|c| acc.lanes[c0 + c]);
    let mut scalar: [[f32; R]; C] = std::array::from_fn(|c| acc.scalar[c0 + c]);
    for i in 0..len {
        let ib = k0 + i;
        for c in 0..C {
            let at = (c0 + c) * arb + ib * ATS;
            let y = &a[at..at + ATS];
            let qy = load32(y, 2);
            let dy = f16_at(y, 0);
            let dyv = _mm256_set1_ps(dy);
            for r in 0..R {
                let e = &exp[r][i];
                // maddubs needs an unsigned operand: move x's sign onto y.
                let sy = _mm256_sign_epi8(qy, e.qx);
                let dot = D::dot_u8_i8(e.ax, sy);
                if F::LANES {
                    // set1(dx)·set1(dy) is the scalar product dx·dy the vec_dot broadcasts.
                    let d = _mm256_mul_ps(e.dv, dyv);
                    lanes[c][r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), lanes[c][r]);
                } else {
                    scalar[c][r] += hsum_i32(dot) as f32 * (e.d * dy);
                }
            }
        }
    }
    for c in 0..C {
        acc.lanes[c0 + c] = lanes[c];
        acc.scalar[c0 + c] = scalar[c];
    }
}

// The AVX-512 VNNI build of Q8_0 and Q5_0 is `gemm_q0_wide` (two rows per vector).
tile_fns!(q8_0 = q8_0_rows);
tile_fns!(q5_0 = q5_0_rows);
tile_fns!(q4_0, q4_0_vnni = q4_0_rows);

#[inline(always)]
unsafe fn q8_0_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    s: &mut Sums,
) {
    q0_rows::<Q8_0, D, R>(w, wrb, a, arb, nc, nb, s)
}

#[inline(always)]
unsafe fn q5_0_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    s: &mut Sums,
) {
    q0_rows::<Q5_0, D, R>(w, wrb, a, arb, nc, nb, s)
}

#[inline(always)]
unsafe fn q4_0_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    s: &mut Sums,
) {
    q0_rows::<Q4_0, D, R>(w, wrb, a, arb, nc, nb, s)
}
