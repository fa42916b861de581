//! GEMM tile kernels for the K-quants (Q4_K, Q5_K, Q6_K weights · Q8_K activations), AVX2.
//!
//! Per 256-element block, each of the tile's weight rows is unpacked once (quants to bytes, scales
//! to broadcast i16 vectors) and then dotted with every activation column of the tile. For every
//! (row, column) the integer lanes and the float accumulation are those of the format's `vec_dot`
//! (`quant/q4_k_avx2.rs`, `q5_k_avx2.rs`, `q6_k_avx2.rs`), so results are bit-identical.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS, MAX_ROWS};
use super::gemm_simd::{
    f16_at, hsum_f32, hsum_i32, load256_wide, load32, scale_min_k4, scaled_dot_wide, tile_fns,
    widen, IntDot, ZERO512,
};
use crate::quant::{q4_k, q5_k, q6_k, q8_k};
use std::arch::x86_64::*;

/// Q8_K's sixteen 16-element sums `bsums` as i16 lanes.
#[inline(always)]
unsafe fn bsums(y: &[u8]) -> __m256i {
    load32(y, q8_k::BSUMS)
}

/// One Q4_K or Q5_K block row, unpacked: 32-byte quant vectors per sub-block, scales and mins.
struct KBlock {
    q: [__m256i; 8],
    scale: [__m256i; 8],
    /// Each sub-block's min twice, as i16 lanes matching `bsums` (two 16-sums per sub-block).
    min_dup: __m256i,
    d: f32,
    dmin: f32,
}

/// Placeholder rows, overwritten before use (keeps the unpacking a plain loop).
const EMPTY_K: KBlock = KBlock {
    q: [ZERO; 8],
    scale: [ZERO; 8],
    min_dup: ZERO,
    d: 0.0,
    dmin: 0.0,
};
// SAFETY: an all-zero bit pattern is a valid __m256i.
const ZERO: __m256i = unsafe { std::mem::transmute([0u8; 32]) };

#[inline(always)]
unsafe fn scales_and_mins(scales: &[u8]) -> ([__m256i; 8], __m256i) {
    let mut sc = [_mm256_setzero_si256(); 8];
    let mut mn = [0i16; 16];
    for j in 0..8 {
        let (s, m) = scale_min_k4(j, scales);
        sc[j] = _mm256_set1_epi16(s as i16);
        mn[2 * j] = m as i16;
        mn[2 * j + 1] = m as i16;
    }
    (sc, _mm256_loadu_si256(mn.as_ptr() as *const __m256i))
}

#[inline(always)]
unsafe fn unpack_q4_k(x: &[u8]) -> KBlock {
    let m4 = _mm256_set1_epi8(0x0F);
    let (scale, min_dup) = scales_and_mins(&x[4..16]);
    let mut q = [_mm256_setzero_si256(); 8];
    for c in 0..4 {
        let v = load32(x, 16 + 32 * c);
        q[2 * c] = _mm256_and_si256(v, m4);
        q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
    KBlock {
        q,
        scale,
        min_dup,
        d: f16_at(x, 0),
        dmin: f16_at(x, 2),
    }
}

/// Bit `bit` of every byte of `h`, moved to bit 4 (the fifth bit of a Q5 quant).
#[inline(always)]
unsafe fn high_bit(h: __m256i, bit: i32) -> __m256i {
    let isolated = _mm256_and_si256(h, _mm256_set1_epi8(1 << bit));
    let at_zero = _mm256_srl_epi16(isolated, _mm_cvtsi32_si128(bit));
    _mm256_slli_epi16(at_zero, 4)
}

#[inline(always)]
unsafe fn unpack_q5_k(x: &[u8]) -> KBlock {
    let m4 = _mm256_set1_epi8(0x0F);
    let (scale, min_dup) = scales_and_mins(&x[4..16]);
    let hbits = load32(x, 16);
    let mut q = [_mm256_setzero_si256(); 8];
    for c in 0..4 {
        let v = load32(x, 48 + 32 * c);
        let b = 2 * c as i32;
        q[2 * c] = _mm256_add_epi8(_mm256_and_si256(v, m4), high_bit(hbits, b));
        q[2 * c + 1] = _mm256_add_epi8(
            _mm256_and_si256(_mm256_srli_epi16(v, 4), m4),
            high_bit(hbits, b + 1),
        );
    }
    KBlock {
        q,
        scale,
        min_dup,
        d: f16_at(x, 0),
        dmin: f16_at(x, 2),
    }
}

/// Integer lanes of Σ_j scale_j · (q_j · a_j) over the block, and lanes of min_j · asum_j.
#[inline(always)]
unsafe fn k_block_dot<D: IntDot>(
    b: &KBlock,
    a: &[__m256i; 8],
    bsums: __m256i,
) -> (__m256i, __m256i) {
    let mut acc = _mm256_setzero_si256();
    for j in 0..8 {
        acc = D::madd_acc(acc, _mm256_maddubs_epi16(b.q[j], a[j]), b.scale[j]);
    }
    // Lane j: min_j · (bsum(2j) + bsum(2j+1)), exact in i32.
    (acc, _mm256_madd_epi16(bsums, b.min_dup))
}

/// Prefetches the cache lines of `w[at..at + len]` (nothing past the end of `w`).
#[inline(always)]
unsafe fn prefetch_block(w: &[u8], at: usize, len: usize) {
    let end = (at + len).min(w.len());
    let mut i = at;
    while i < end {
        _mm_prefetch::<_MM_HINT_T0>(w.as_ptr().add(i) as *const i8);
        i += 64;
    }
}

/// A K-quant block row in 512-bit vectors (see [`widen`]).
struct WideK {
    q: [__m512i; 4],
    scale: [__m512i; 4],
}

const EMPTY_WIDE: WideK = WideK {
    q: [ZERO512; 4],
    scale: [ZERO512; 4],
};

#[inline(always)]
unsafe fn widen_k(q: &[__m256i; 8], scale: &[__m256i; 8]) -> WideK {
    WideK {
        q: widen(q),
        scale: widen(scale),
    }
}

#[inline(always)]
unsafe fn q8_k_quants(y: &[u8]) -> [__m256i; 8] {
    std::array::from_fn(|j| load32(y, q8_k::QS + 32 * j))
}

tile_fns!(q4_k, q4_k_vnni = q4_k_rows);

#[inline(always)]
unsafe fn q4_k_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q4_k::TYPE_SIZE;
    const YS: usize = q8_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    // Columns in pairs: lane r + 4h of `acc[p]` is row r, column 2p + h. The per-block integer
    // sums of all eight (row, column) pairs are reduced together and the scalar kernel's float
    // formula runs on eight lanes at once (a horizontal sum per pair cost as much as the dot).
    const _: () = assert!(MAX_ROWS == 4, "lane r + 4h assumes four rows");
    let mut acc = [_mm256_setzero_ps(); MAX_COLS / 2];
    for ib in 0..nb {
        // The rows' next blocks: with few columns per tile (a prompt's tokens per expert) the
        // unpacking otherwise waits on memory for each new block.
        for r in 0..R {
            prefetch_block(w, r * wrb + (ib + 2) * TS, TS);
        }
        let mut blocks = [EMPTY_K; R];
        for (r, b) in blocks.iter_mut().enumerate() {
            *b = unpack_q4_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]);
        }
        let mut wide = [EMPTY_WIDE; R];
        if D::WIDE {
            for (wb, b) in wide.iter_mut().zip(&blocks) {
                *wb = widen_k(&b.q, &b.scale);
            }
        }
        let (mut d, mut dmin) = ([0f32; 8], [0f32; 8]);
        for (r, b) in blocks.iter().enumerate() {
            (d[r], d[r + 4], dmin[r], dmin[r + 4]) = (b.d, b.d, b.dmin, b.dmin);
        }
        let dv = _mm256_loadu_ps(d.as_ptr());
        let dminv = _mm256_loadu_ps(dmin.as_ptr());
        for (p, accp) in acc.iter_mut().enumerate().take(nc.div_ceil(2)) {
            let mut ints = [_mm256_setzero_si256(); 8];
            let mut mins = [_mm256_setzero_si256(); 8];
            let mut dy = [0f32; 2];
            for (h, dyh) in dy.iter_mut().enumerate() {
                let c = 2 * p + h;
                if c >= nc {
                    break;
                }
                let y = &a[c * arb + ib * YS..c * arb + (ib + 1) * YS];
                *dyh = q8_k::d(y);
                let bs = bsums(y);
                if D::WIDE {
                    let qa = load256_wide(y, q8_k::QS);
                    for (r, (b, wb)) in blocks.iter().zip(&wide).enumerate() {
                        ints[4 * h + r] = scaled_dot_wide(&wb.q, &qa, &wb.scale);
                        mins[4 * h + r] = _mm256_madd_epi16(bs, b.min_dup);
                    }
                } else {
                    let qa = q8_k_quants(y);
                    for (r, b) in blocks.iter().enumerate() {
                        (ints[4 * h + r], mins[4 * h + r]) = k_block_dot::<D>(b, &qa, bs);
                    }
                }
            }
            let dyv = _mm256_setr_m128(_mm_set1_ps(dy[0]), _mm_set1_ps(dy[1]));
            let sumi = _mm256_cvtepi32_ps(hsum8_i32(&ints));
            let summins = _mm256_cvtepi32_ps(hsum8_i32(&mins));
            // The scalar kernel's `sumf += d * dy * sumi - dmin * dy * summins`, same association.
            let plus = _mm256_mul_ps(_mm256_mul_ps(dv, dyv), sumi);
            let minus = _mm256_mul_ps(_mm256_mul_ps(dminv, dyv), summins);
            *accp = _mm256_add_ps(*accp, _mm256_sub_ps(plus, minus));
        }
    }
    for (c, col) in sums.iter_mut().enumerate().take(nc) {
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc[c / 2]);
        for (r, s) in col.iter_mut().enumerate().take(R) {
            *s = lanes[r + 4 * (c % 2)];
        }
    }
}

/// Lane k: the sum of the eight i32 lanes of `v[k]` (exact, so the order does not matter).
#[inline(always)]
unsafe fn hsum8_i32(v: &[__m256i; 8]) -> __m256i {
    let t0 = _mm256_hadd_epi32(v[0], v[1]);
    let t1 = _mm256_hadd_epi32(v[2], v[3]);
    let t2 = _mm256_hadd_epi32(v[4], v[5]);
    let t3 = _mm256_hadd_epi32(v[6], v[7]);
    // Low 128 bits: v0..v3's lanes 0-3 summed, high 128 bits: their lanes 4-7 (then v4..v7).
    let u0 = _mm256_hadd_epi32(t0, t1);
    let u1 = _mm256_hadd_epi32(t2, t3);
    _mm256_add_epi32(
        _mm256_permute2x128_si256(u0, u1, 0x20),
        _mm256_permute2x128_si256(u0, u1, 0x31),
    )
}

tile_fns!(q5_k, q5_k_vnni = q5_k_rows);

#[inline(always)]
unsafe fn q5_k_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q5_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    // Per (column, row): eight f32 lanes as ggml's kernel keeps them, plus the scalar min term.
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    let mut summs = [[0f32; R]; MAX_COLS];
    for ib in 0..nb {
        let blocks: [KBlock; R] =
            std::array::from_fn(|r| unpack_q5_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]));
        let mut wide = [EMPTY_WIDE; R];
        if D::WIDE {
            for (wb, b) in wide.iter_mut().zip(&blocks) {
                *wb = widen_k(&b.q, &b.scale);
            }
        }
        for c in 0..nc {
            let y = &a[c * arb + ib * q8_k::TYPE_SIZE..c * arb + (ib + 1) * q8_k::TYPE_SIZE];
            let (dy, bs) = (q8_k::d(y), bsums(y));
            let (qa, qa_wide) = if D::WIDE {
                ([ZERO; 8], load256_wide(y, q8_k::QS))
            } else {
                (q8_k_quants(y), [ZERO512; 4])
            };
            for (r, (b, wb)) in blocks.iter().zip(&wide).enumerate() {
                let d = dy * b.d;
                let dmin = -dy * b.dmin;
                let (sumi, min_lanes) = if D::WIDE {
                    (
                        scaled_dot_wide(&wb.q, &qa_wide, &wb.scale),
                        _mm256_madd_epi16(bs, b.min_dup),
                    )
                } else {
                    k_block_dot::<D>(b, &qa, bs)
                };
                let mins = hsum_i32(min_lanes);
                summs[c][r] += dmin * mins as f32;
                lanes[c][r] =
                    _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), lanes[c][r]);
            }
        }
    }
    for c in 0..nc {
        for r in 0..R {
            sums[c][r] = hsum_f32(lanes[c][r]) + summs[c][r];
        }
    }
}

/// One Q6_K block row, unpacked: eight vectors of 32 unsigned 6-bit quants (element order), the
/// per-vector i16 scales (two 16-element groups each), all 16 scales as i16 and the block scale.
pub(super) struct Q6Block {
    pub(super) q: [__m256i; 8],
    scale: [__m256i; 8],
    scales16: __m256i,
    pub(super) d: f32,
}

#[inline(always)]
pub(super) unsafe fn unpack_q6_k(x: &[u8]) -> Q6Block {
    const QH: usize = 128;
    const SCALES: usize = 192;
    const D: usize = 208;
    let m4 = _mm256_set1_epi8(0x0F);
    let m2 = _mm256_set1_epi8(0x03);
    let sc = |g: usize| x[SCALES + g] as i8 as i16;
    let mut q = [_mm256_setzero_si256(); 8];
    let mut scale = [_mm256_setzero_si256(); 8];
    for h in 0..2 {
        let ql0 = load32(x, 64 * h);
        let ql1 = load32(x, 64 * h + 32);
        let qh = load32(x, QH + 32 * h);
        // ((qh >> shift) & 3) << 4, with 16-bit shifts whose spill the masks remove.
        let high0 = _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4);
        let high2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4);
        let high4 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4);
        let high6 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4);
        q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, m4), high0);
        q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), high2);
        q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), high4);
        q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), high6);
        for k in 0..4 {
            let g = 8 * h + 2 * k;
            scale[4 * h + k] = _mm256_setr_m128i(_mm_set1_epi16(sc(g)), _mm_set1_epi16(sc(g + 1)));
        }
    }
    let s = &x[SCALES..SCALES + 16];
    let scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(s.as_ptr() as *const __m128i));
    Q6Block {
        q,
        scale,
        scales16,
        d: f16_at(x, D),
    }
}

tile_fns!(q6_k, q6_k_vnni = q6_k_rows);

#[inline(always)]
unsafe fn q6_k_rows<D: IntDot, const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    const TS: usize = q6_k::TYPE_SIZE;
    let nc = nc.min(MAX_COLS);
    let mut lanes = [[_mm256_setzero_ps(); R]; MAX_COLS];
    for ib in 0..nb {
        let blocks: [Q6Block; R] =
            std::array::from_fn(|r| unpack_q6_k(&w[r * wrb + ib * TS..r * wrb + (ib + 1) * TS]));
        let mut wide = [EMPTY_WIDE; R];
        if D::WIDE {
            for (wb, b) in wide.iter_mut().zip(&blocks) {
                *wb = widen_k(&b.q, &b.scale);
            }
        }
        for c in 0..nc {
            let y = &a[c * arb + ib * q8_k::TYPE_SIZE..c * arb + (ib + 1) * q8_k::TYPE_SIZE];
            let dy = q8_k::d(y);
            let bsums = bsums(y);
            let (qa, qa_wide) = if D::WIDE {
                ([ZERO; 8], load256_wide(y, q8_k::QS))
            } else {
                (q8_k_quants(y), [ZERO512; 4])
            };
            for (r, (b, wb)) in blocks.iter().zip(&wide).enumerate() {
                let acc = if D::WIDE {
                    scaled_dot_wide(&wb.q, &qa_wide, &wb.scale)
                } else {
                    let mut acc = _mm256_setzero_si256();
                    for j in 0..8 {
                        acc = D::madd_acc(acc, _mm256_maddubs_epi16(b.q[j], qa[j]), b.scale[j]);
                    }
                    acc
                };
                // Lane k: 32·(bsum(2k)·sc(2k) + bsum(2k+1)·sc(2k+1)), as the vec_dot subtracts it.
                let offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, b.scales16), 5);
                let sumi = _mm256_sub_epi32(acc, offset);
                let d = _mm256_set1_ps(dy * b.d);
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
