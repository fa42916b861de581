//! AVX-512 versions of `tinyblas`'s attention kernels, bit-identical to the scalar reference and
//! to `tinyblas_avx2`: the 16 tinyBLAS lanes are one `__m512` instead of two `__m256`, so the
//! same FMAs take half the instructions. Reductions split the vector back into lanes 0–7 and
//! 8–15 and use the AVX2 halving tree.

#![cfg(target_arch = "x86_64")]

use super::tinyblas::LANES;
use super::tinyblas_avx2::{self as avx2, reduce16};
use crate::cache::HeadRows;
use std::arch::x86_64::*;
use std::cell::RefCell;
use std::ops::Range;

/// Whether this CPU has AVX-512F as well as what `tinyblas_avx2` needs (worked out once: the
/// attention row updates ask per (row, head)).
#[inline]
pub fn available() -> bool {
    static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX512.get_or_init(|| {
        crate::isa_ceiling::avx512_allowed()
            && avx2::available()
            && is_x86_feature_detected!("avx512f")
    })
}

/// 16 halves at `p` widened to f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn load_f16x16(p: *const u8) -> __m512 {
    _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn reduce(v: __m512) -> f32 {
    let lo = _mm512_castps512_ps256(v);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    reduce16(lo, hi)
}

/// `tinyblas::scores_f16`.
///
/// # Safety
/// AVX-512F, AVX2, FMA and F16C ([`available`]); the bounds of `tinyblas_avx2::scores_f16`.
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
pub unsafe fn scores_f16(
    k: HeadRows,
    rows: Range<usize>,
    q: &[f32],
    hd: usize,
    scale: f32,
    p: &mut [f32],
    p_stride: usize,
) {
    let g = q.len() / hd;
    let mut h0 = 0;
    while h0 < g {
        let n = (g - h0).min(2);
        let (qh, ph) = (&q[h0 * hd..(h0 + n) * hd], &mut p[h0 * p_stride..]);
        match n {
            1 => scores_block::<8, 1>(k, rows.clone(), qh, hd, scale, ph, p_stride),
            _ => scores_block::<4, 2>(k, rows.clone(), qh, hd, scale, ph, p_stride),
        }
        h0 += n;
    }
}

#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn scores_block<const R: usize, const G: usize>(
    k: HeadRows,
    rows: Range<usize>,
    q: &[f32],
    hd: usize,
    scale: f32,
    p: &mut [f32],
    p_stride: usize,
) {
    let mut j = rows.start;
    while j + R <= rows.end {
        scores_tile::<R, G>(k, j, rows.start, q, hd, scale, p, p_stride);
        j += R;
    }
    while j < rows.end {
        scores_tile::<1, G>(k, j, rows.start, q, hd, scale, p, p_stride);
        j += 1;
    }
}

/// Scores of rows `j..j + R` against `G` heads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn scores_tile<const R: usize, const G: usize>(
    k: HeadRows,
    j: usize,
    start: usize,
    q: &[f32],
    hd: usize,
    scale: f32,
    p: &mut [f32],
    p_stride: usize,
) {
    let mut acc = [[_mm512_setzero_ps(); G]; R];
    let qp = q.as_ptr();
    for c in (0..hd).step_by(LANES) {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let kr = load_f16x16(k.bytes.as_ptr().add((j + r) * k.stride + 2 * c));
            for (h, a) in acc_r.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(kr, _mm512_loadu_ps(qp.add(h * hd + c)), *a);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (h, a) in acc_r.iter().enumerate() {
            p[h * p_stride + j + r - start] = reduce(*a) * scale;
        }
    }
}

/// Bytes of V rows walked per block (as in `tinyblas_avx2`).
const PV_BLOCK_BYTES: usize = 32 << 10;

thread_local! {
    /// Lane accumulators of `pv_f16` that persist across row blocks.
    static PV_LANES: RefCell<Vec<__m512>> = const { RefCell::new(Vec::new()) };
}

/// `tinyblas::pv_f16`: one walk over all the rows per group of four heads, in 32 KiB blocks.
///
/// # Safety
/// AVX-512F, AVX2, FMA and F16C ([`available`]); the bounds of `tinyblas_avx2::pv_f16`.
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
pub unsafe fn pv_f16(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
) {
    let block = (PV_BLOCK_BYTES / v.row_bytes.max(1) / LANES).max(1) * LANES;
    pv_walk(v, rows, p, p_stride, out, hv, usize::MAX, block);
}

/// `tinyblas::pv_f16_chunked`: rows in chunks of `chunk`, every head's columns accumulated per
/// chunk, so each chunk of V is read from memory once for all heads. The chunk is in L2 after the
/// first heads, so it is walked whole: each lane accumulator is loaded and stored once per chunk.
///
/// # Safety
/// As [`pv_f16`].
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn pv_f16_chunked(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
    chunk: usize,
) {
    let chunk = chunk.max(1);
    pv_walk(v, rows, p, p_stride, out, hv, chunk, chunk);
}

/// P·V with the rows split into chunks aligned to multiples of `chunk` (`usize::MAX`: one chunk)
/// and each chunk walked `block` rows at a time by groups of up to four heads, every head's lane
/// accumulators kept across chunks. Lanes are fixed by the absolute row index, so any chunking
/// gives the same sums as the scalar reference.
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn pv_walk(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
    chunk: usize,
    block: usize,
) {
    let g = out.len() / hv;
    let wide = hv / 16 * 16;
    if wide < hv {
        // Columns past the last whole 16: the AVX2 kernel (it walks the same lanes).
        avx2::pv_f16_columns(v, rows.clone(), p, p_stride, out, hv, wide..hv);
    }
    if wide == 0 {
        return;
    }
    let per_head = wide / 16 * LANES;
    PV_LANES.with(|lanes| {
        let mut lanes = lanes.borrow_mut();
        lanes.clear();
        lanes.resize(g * per_head, _mm512_setzero_ps());
        let mut c0 = rows.start;
        while c0 < rows.end {
            let c1 = (c0 - c0 % chunk).saturating_add(chunk).min(rows.end);
            let mut h0 = 0;
            while h0 < g {
                let n = (g - h0).min(4);
                let a = Pv {
                    v,
                    rows: c0..c1,
                    p: &p[h0 * p_stride + c0 - rows.start..],
                    p_stride,
                    block,
                };
                pv_heads(n, &a, wide, &mut lanes[h0 * per_head..(h0 + n) * per_head]);
                h0 += n;
            }
            c0 = c1;
        }
        let mut h0 = 0;
        while h0 < g {
            let n = (g - h0).min(4);
            let oh = &mut out[h0 * hv..(h0 + n) * hv];
            pv_finish(n, &lanes[h0 * per_head..(h0 + n) * per_head], oh, hv, wide);
            h0 += n;
        }
    })
}

/// [`pv_columns`] for `n` (1..=4) heads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn pv_heads(n: usize, a: &Pv, wide: usize, lanes: &mut [__m512]) {
    match n {
        1 => pv_columns::<1>(a, wide, lanes),
        2 => pv_columns::<2>(a, wide, lanes),
        3 => pv_columns::<3>(a, wide, lanes),
        _ => pv_columns::<4>(a, wide, lanes),
    }
}

/// [`pv_reduce`] for `n` (1..=4) heads.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn pv_finish(n: usize, lanes: &[__m512], out: &mut [f32], hv: usize, wide: usize) {
    match n {
        1 => pv_reduce::<1>(lanes, out, hv, wide),
        2 => pv_reduce::<2>(lanes, out, hv, wide),
        3 => pv_reduce::<3>(lanes, out, hv, wide),
        _ => pv_reduce::<4>(lanes, out, hv, wide),
    }
}

struct Pv<'a> {
    v: HeadRows<'a>,
    rows: Range<usize>,
    p: &'a [f32],
    p_stride: usize,
    block: usize,
}

/// Adds rows `a.rows` into the lane accumulators of columns `0..wide` (a multiple of 16) of `G`
/// heads, 16 columns per vector. Lane `l` sees rows `j ≡ l (mod 16)` in increasing order, as in
/// the scalar reference.
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn pv_columns<const G: usize>(a: &Pv, wide: usize, lanes: &mut [__m512]) {
    /// Column vectors held per pass (with G ≤ 4 heads: at most 16 accumulators).
    const NB: usize = 4;
    let n_cb = wide / 16;
    // lanes[(cb * G + h) * LANES + l]: column vector cb, head h, lane l.
    assert!(lanes.len() >= n_cb * G * LANES);
    let (vp, pp, start) = (a.v.bytes.as_ptr(), a.p.as_ptr(), a.rows.start);
    let mut b0 = start;
    while b0 < a.rows.end {
        let b1 = (b0 + a.block).min(a.rows.end);
        let mut cb0 = 0;
        while cb0 < n_cb {
            let nb = (n_cb - cb0).min(NB);
            for l in 0..LANES {
                let mut acc = [[_mm512_setzero_ps(); NB]; G];
                for (h, acc_h) in acc.iter_mut().enumerate() {
                    for (b, v) in acc_h.iter_mut().enumerate().take(nb) {
                        *v = lanes[((cb0 + b) * G + h) * LANES + l];
                    }
                }
                let mut j = b0 + (l + LANES - b0 % LANES) % LANES;
                while j < b1 {
                    let row = vp.add(j * a.v.stride + 32 * cb0);
                    let mut x = [_mm512_setzero_ps(); NB];
                    for (b, xb) in x.iter_mut().enumerate().take(nb) {
                        *xb = load_f16x16(row.add(32 * b));
                    }
                    for (h, acc_h) in acc.iter_mut().enumerate() {
                        let pj = _mm512_set1_ps(*pp.add(h * a.p_stride + j - start));
                        for (b, v) in acc_h.iter_mut().enumerate().take(nb) {
                            *v = _mm512_fmadd_ps(pj, x[b], *v);
                        }
                    }
                    j += LANES;
                }
                for (h, acc_h) in acc.iter().enumerate() {
                    for (b, v) in acc_h.iter().enumerate().take(nb) {
                        lanes[((cb0 + b) * G + h) * LANES + l] = *v;
                    }
                }
            }
            cb0 += nb;
        }
        b0 = b1;
    }
}

/// The halving tree of each head's lanes into its `wide` columns of `out` (rows of `hv`).
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
unsafe fn pv_reduce<const G: usize>(lanes: &[__m512], out: &mut [f32], hv: usize, wide: usize) {
    let n_cb = wide / 16;
    for cb in 0..n_cb {
        for h in 0..G {
            // The halving tree: lane i += lane i + 8, i + 4, i + 2, i + 1 (plain loops: a
            // closure would not inherit the target features).
            let base = (cb * G + h) * LANES;
            let mut s8 = [_mm512_setzero_ps(); 8];
            for i in 0..8 {
                s8[i] = _mm512_add_ps(lanes[base + i], lanes[base + i + 8]);
            }
            let mut s4 = [_mm512_setzero_ps(); 4];
            for i in 0..4 {
                s4[i] = _mm512_add_ps(s8[i], s8[i + 4]);
            }
            let s2 = [_mm512_add_ps(s4[0], s4[2]), _mm512_add_ps(s4[1], s4[3])];
            let o = h * hv + 16 * cb;
            _mm512_storeu_ps(out[o..o + 16].as_mut_ptr(), _mm512_add_ps(s2[0], s2[1]));
        }
    }
}
