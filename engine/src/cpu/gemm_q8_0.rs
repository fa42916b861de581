//! GEMM tile kernels for the 32-element formats that dot against Q8_0 activations (Q8_0, Q5_0,
//! Q4_0 weights), AVX2 (the AVX-512 VNNI build of Q8_0 and Q5_0 is `gemm_q0_wide`).
//!
//! Per block, each of the tile's weight rows is expanded once to 32 signed bytes (and their
//! absolute values, for `maddubs`) and then dotted with every activation column of the tile. The
//! per-(row, column) arithmetic is that of the decode `vec_dot`: Q8_0 and Q5_0 keep ggml's eight
//! f32 lanes (`cpu/x86_dot.rs`), Q4_0 sums block by block (`quant/q5_0_avx2.rs`), so results
//! are bit-identical. Q4_0 tiles of four rows interleave the rows once per block instead, so that
//! one `vpdpbusd` lane is one row and the block sums need no horizontal reduction (the same
//! integer sums and float steps, so still bit-identical).

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS};
use super::gemm_simd::{hsum_f32, hsum_i32, load32, tile_fns, IntDot};
use crate::quant::avx2_util::f16c_two;
// The decode kernels' block expansion, so that prompt and decode read a block the same way.
use crate::quant::q5_0_avx2::{bytes_from_bits, nibbles32};
use crate::quant::{q4_0, q5_0, q8_0};
use std::arch::x86_64::*;

/// f16 bits at `b[at..at + 2]` to f32 with F16C (exact, as `half`'s conversion).
#[inline(always)]
unsafe fn f16_at(b: &[u8], at: usize) -> f32 {
    let bits = u16::from_le_bytes([b[at], b[at + 1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
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

pub(super) struct Q8_0;
impl Q0Format for Q8_0 {
    const TYPE_SIZE: usize = q8_0::TYPE_SIZE;
    // Summed block by block (as Q4_0) this tile ran 1.4x faster, but moved a Qwen3.5 fixture's
    // prompt logits past its tolerance: the eight lanes stay.
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

pub(super) struct Q4_0;
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
    if !F::LANES && R == 4 {
        return q0_four_rows_ordered::<F, D>(w, wrb, a, arb, nc, nb, sums);
    }
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
            }
        }
        let mut c = 0;
        while c + 2 <= nc {
            q0_cols::<F, D, R, 2>(&exp, len, a, arb, c, k0, &mut acc);
            c += 2;
        }
        if c < nc {
            q0_cols::<F, D, R, 1>(&exp, len, a, arb, c, k0, &mut acc);
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

/// A block's four weight rows interleaved by groups of four quants: vector j holds group j of
/// rows 0..4 in its low half and group j + 4 in its high half, so one `vpdpbusd` lane is one row
/// (as llama.cpp's repacked Q4_0) and the rows' sums need no horizontal reduction.
#[derive(Clone, Copy)]
struct FourRows {
    /// |q| (the unsigned operand).
    abs: [__m256i; 4],
    /// q, whose sign moves onto the activations.
    signed: [__m256i; 4],
    /// The four rows' block scales.
    d: __m128,
}

/// A whole tile of four rows of a block-ordered format (Q4_0: `sum += sumi · (d_x · d_y)` block
/// after block): each block's four rows are interleaved once ([`FourRows`]) for all columns, and
/// per column and block the four rows' integer sums come out side by side in one vector, to be
/// scaled and added lane by lane, each lane the scalar product and add of its row. (A horizontal
/// sum per row, column and block made this product 0.6× llama.cpp's.)
#[inline(always)]
unsafe fn q0_four_rows_ordered<F: Q0Format, D: IntDot>(
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
    let mut acc = [_mm_setzero_ps(); MAX_COLS];
    let zero = FourRows {
        abs: [_mm256_setzero_si256(); 4],
        signed: [_mm256_setzero_si256(); 4],
        d: _mm_setzero_ps(),
    };
    let mut blocks = [zero; KCHUNK];
    for k0 in (0..nb).step_by(KCHUNK) {
        let len = (nb - k0).min(KCHUNK);
        for (i, b) in blocks.iter_mut().enumerate().take(len) {
            let mut q = [_mm256_setzero_si256(); 4];
            let mut d = [0f32; 4];
            for r in 0..4 {
                let at = r * wrb + (k0 + i) * ts;
                let x = &w[at..at + ts];
                q[r] = F::expand(x);
                d[r] = f16_at(x, 0);
            }
            // Per 128-bit half: rows 0,1 (and 2,3) of groups 0,1 (low) or 2,3 (high) alternating,
            // then their 64-bit halves paired into one group of all four rows.
            let lo01 = _mm256_unpacklo_epi32(q[0], q[1]);
            let lo23 = _mm256_unpacklo_epi32(q[2], q[3]);
            let hi01 = _mm256_unpackhi_epi32(q[0], q[1]);
            let hi23 = _mm256_unpackhi_epi32(q[2], q[3]);
            let signed = [
                _mm256_unpacklo_epi64(lo01, lo23),
                _mm256_unpackhi_epi64(lo01, lo23),
                _mm256_unpacklo_epi64(hi01, hi23),
                _mm256_unpackhi_epi64(hi01, hi23),
            ];
            *b = FourRows {
                abs: signed.map(|v| _mm256_sign_epi8(v, v)),
                signed,
                d: _mm_loadu_ps(d.as_ptr()),
            };
        }
        let mut c = 0;
        while c + 4 <= nc {
            four_rows_cols::<D, 4>(&blocks[..len], a, arb, c, k0, &mut acc);
            c += 4;
        }
        while c + 2 <= nc {
            four_rows_cols::<D, 2>(&blocks[..len], a, arb, c, k0, &mut acc);
            c += 2;
        }
        if c < nc {
            four_rows_cols::<D, 1>(&blocks[..len], a, arb, c, k0, &mut acc);
        }
    }
    for (c, four) in acc.iter().enumerate().take(nc) {
        _mm_storeu_ps(sums[c].as_mut_ptr(), *four);
    }
}

/// Columns `c0..c0 + C` of [`q0_four_rows_ordered`] over the interleaved blocks `k0..`: the
/// columns in pairs, each pair's two sets of four row sums side by side in one 256-bit vector
/// for the float step (`C` is 1 or even).
#[inline(always)]
unsafe fn four_rows_cols<D: IntDot, const C: usize>(
    blocks: &[FourRows],
    a: &[u8],
    arb: usize,
    c0: usize,
    k0: usize,
    acc: &mut [__m128; MAX_COLS],
) {
    const ATS: usize = q8_0::TYPE_SIZE;
    // Lanes 0..4: column 2p's four rows; 4..8: column 2p + 1's (for C = 1 the second is a copy).
    const PAIRS: usize = 2;
    let pairs = C.div_ceil(2);
    debug_assert!(pairs <= PAIRS && (C == 1 || C.is_multiple_of(2)));
    let col = |p: usize, h: usize| c0 + (2 * p + h).min(C - 1);
    let mut rows = [_mm256_setzero_ps(); PAIRS];
    for (p, r) in rows.iter_mut().enumerate().take(pairs) {
        *r = _mm256_set_m128(acc[col(p, 1)], acc[col(p, 0)]);
    }
    let half = |y: &[u8]| u16::from_le_bytes([y[0], y[1]]);
    for (i, b) in blocks.iter().enumerate() {
        let d2 = _mm256_set_m128(b.d, b.d);
        for (p, r) in rows.iter_mut().enumerate().take(pairs) {
            let ys: [&[u8]; 2] = std::array::from_fn(|h| {
                let at = col(p, h) * arb + (k0 + i) * ATS;
                &a[at..at + ATS]
            });
            // Both converted together keeps the move whole (see `f16c_two`).
            let (dy0, dy1) = f16c_two(half(ys[0]), half(ys[1]));
            // A loop, not `array::from_fn`: a closure of intrinsics that LLVM declines to inline
            // is compiled without AVX2, and every intrinsic becomes a call (30× slower).
            let mut lanes = [_mm256_setzero_si256(); 2];
            for (lane, y) in lanes.iter_mut().zip(ys) {
                let qy = load32(y, 2);
                // Group j of the activations in the low half, group j + 4 in the high half.
                let act = [
                    _mm256_shuffle_epi32::<0x00>(qy),
                    _mm256_shuffle_epi32::<0x55>(qy),
                    _mm256_shuffle_epi32::<0xAA>(qy),
                    _mm256_shuffle_epi32::<0xFF>(qy),
                ];
                let mut s = act;
                for (s, &signs) in s.iter_mut().zip(&b.signed) {
                    *s = _mm256_sign_epi8(*s, signs);
                }
                // Two short chains (exact integer sums: any order gives the same lanes).
                let even = D::dot_acc(D::dot_u8_i8(b.abs[0], s[0]), b.abs[2], s[2]);
                let odd = D::dot_acc(D::dot_u8_i8(b.abs[1], s[1]), b.abs[3], s[3]);
                *lane = _mm256_add_epi32(even, odd);
            }
            // Row r of column h: lane r (groups 0..4) plus lane r + 4 (groups 4..8).
            let sumi = _mm256_add_epi32(
                _mm256_permute2x128_si256::<0x20>(lanes[0], lanes[1]),
                _mm256_permute2x128_si256::<0x31>(lanes[0], lanes[1]),
            );
            let dy = _mm256_set_m128(_mm_set1_ps(dy1), _mm_set1_ps(dy0));
            *r = _mm256_add_ps(
                *r,
                _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), _mm256_mul_ps(d2, dy)),
            );
        }
    }
    for (p, r) in rows.iter().enumerate().take(pairs) {
        acc[col(p, 0)] = _mm256_castps256_ps128(*r);
        acc[col(p, 1)] = _mm256_extractf128_ps(*r, 1);
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
tile_fns!(q8_0 = q0_rows<Q8_0>);
tile_fns!(q5_0 = q0_rows<Q5_0>);
tile_fns!(q4_0, q4_0_vnni = q0_rows<Q4_0>);
