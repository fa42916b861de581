//! AVX2/FMA/F16C versions of `tinyblas`'s kernels, bit-identical to the scalar reference: the
//! 16 tinyBLAS lanes are two `__m256` (lanes 0–7 and 8–15) updated with `_mm256_fmadd_ps`
//! (exactly rounded, like `f32::mul_add`), F16→F32 by `_mm256_cvtph_ps` (exact), then the same
//! halving tree. Only the work layout differs: several K rows and heads per pass (K converted
//! once for all heads of a group), and P·V walked lane by lane with the accumulators in registers.

#![cfg(target_arch = "x86_64")]

use super::tinyblas::LANES;
use crate::cache::HeadRows;
use half::f16;
use std::arch::x86_64::*;
use std::ops::Range;

/// Whether this CPU has AVX2, FMA and F16C.
#[inline]
pub fn available() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

/// 8 halves at `p` widened to f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_f16x8(p: *const u8) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
}

/// `reduce_lanes` of the 16 lanes `lo` (0–7) and `hi` (8–15): i += i + 8, i + 4, i + 2, i + 1.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub fn reduce16(lo: __m256, hi: __m256) -> f32 {
    let s8 = _mm256_add_ps(lo, hi);
    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2));
    _mm_cvtss_f32(s1)
}

/// `tinyblas::dot_f16`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C ([`available`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_f16(n: usize, a: &[u8], b: &[u8]) -> f32 {
    assert!(n % LANES == 0 && a.len() >= 2 * n && b.len() >= 2 * n);
    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    for c in (0..n).step_by(LANES) {
        lo = _mm256_fmadd_ps(load_f16x8(pa.add(2 * c)), load_f16x8(pb.add(2 * c)), lo);
        hi = _mm256_fmadd_ps(
            load_f16x8(pa.add(2 * c + 16)),
            load_f16x8(pb.add(2 * c + 16)),
            hi,
        );
    }
    reduce16(lo, hi)
}

/// `tinyblas::scores_f16`.
///
/// # Safety
/// AVX2, FMA and F16C ([`available`]); `k` holds rows `..rows.end` of at least `2 * hd` bytes,
/// `hd % 16 == 0`, and `p` holds `(q.len() / hd - 1) * p_stride + rows.len()` values.
#[target_feature(enable = "avx2,fma,f16c")]
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
        // Up to 8 accumulator pairs: rows × heads per pass.
        let n = (g - h0).min(4);
        let (qh, ph) = (&q[h0 * hd..(h0 + n) * hd], &mut p[h0 * p_stride..]);
        match n {
            1 => scores_block::<4, 1>(k, rows.clone(), qh, hd, scale, ph, p_stride),
            2 => scores_block::<2, 2>(k, rows.clone(), qh, hd, scale, ph, p_stride),
            3 => scores_block::<1, 3>(k, rows.clone(), qh, hd, scale, ph, p_stride),
            _ => scores_block::<1, 4>(k, rows.clone(), qh, hd, scale, ph, p_stride),
        }
        h0 += n;
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
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
#[target_feature(enable = "avx2,fma,f16c")]
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
    let mut acc = [[[_mm256_setzero_ps(); 2]; G]; R];
    let kp: [*const u8; R] = std::array::from_fn(|r| k.bytes.as_ptr().add((j + r) * k.stride));
    let qp = q.as_ptr();
    for c in (0..hd).step_by(LANES) {
        for r in 0..R {
            let k0 = load_f16x8(kp[r].add(2 * c));
            let k1 = load_f16x8(kp[r].add(2 * c + 16));
            for (h, a) in acc[r].iter_mut().enumerate() {
                let qa = qp.add(h * hd + c);
                a[0] = _mm256_fmadd_ps(k0, _mm256_loadu_ps(qa), a[0]);
                a[1] = _mm256_fmadd_ps(k1, _mm256_loadu_ps(qa.add(8)), a[1]);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (h, a) in acc_r.iter().enumerate() {
            p[h * p_stride + j + r - start] = reduce16(a[0], a[1]) * scale;
        }
    }
}

/// `tinyblas::pv_f16`.
///
/// # Safety
/// AVX2, FMA and F16C ([`available`]); `v` holds rows `..rows.end` of at least `2 * hv` bytes,
/// and `p` holds `(out.len() / hv - 1) * p_stride + rows.len()` values.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn pv_f16(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
) {
    let g = out.len() / hv;
    let mut h0 = 0;
    while h0 < g {
        // Heads × 8-column blocks ≤ 8 accumulators, V converted once per pass.
        let n = (g - h0).min(4);
        let (ph, oh) = (&p[h0 * p_stride..], &mut out[h0 * hv..(h0 + n) * hv]);
        match n {
            1 => pv_block::<1, 4>(v, rows.clone(), ph, p_stride, oh, hv),
            2 => pv_block::<2, 4>(v, rows.clone(), ph, p_stride, oh, hv),
            3 => pv_block::<3, 2>(v, rows.clone(), ph, p_stride, oh, hv),
            _ => pv_block::<4, 2>(v, rows.clone(), ph, p_stride, oh, hv),
        }
        h0 += n;
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_block<const G: usize, const NB: usize>(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
) {
    let mut d = 0;
    while d + 8 * NB <= hv {
        pv_columns::<G, NB>(v, rows.clone(), p, p_stride, out, hv, d);
        d += 8 * NB;
    }
    while d + 8 <= hv {
        pv_columns::<G, 1>(v, rows.clone(), p, p_stride, out, hv, d);
        d += 8;
    }
    // Leftover columns (hv % 8): the reference loop, one column at a time.
    for col in d..hv {
        for h in 0..G {
            let mut lanes = [0f32; LANES];
            for j in rows.clone() {
                let b = v.bytes.as_ptr().add(j * v.stride + 2 * col);
                let x = f16::from_bits(u16::from_le_bytes([*b, *b.add(1)])).to_f32();
                let a = &mut lanes[j % LANES];
                *a = p[h * p_stride + j - rows.start].mul_add(x, *a);
            }
            out[h * hv + col] = super::tinyblas::reduce_lanes(lanes);
        }
    }
}

/// Columns `d..d + 8 * NB` of `G` heads. Lane `l` only ever sees rows `j ≡ l (mod 16)`, in
/// increasing order, so each lane is accumulated on its own (in registers), then the tree.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_columns<const G: usize, const NB: usize>(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
    d: usize,
) {
    let mut lanes = [[[_mm256_setzero_ps(); NB]; LANES]; G];
    let (vp, pp) = (v.bytes.as_ptr().add(2 * d), p.as_ptr());
    for l in 0..LANES {
        let mut acc = [[_mm256_setzero_ps(); NB]; G];
        let mut j = rows.start + (l + LANES - rows.start % LANES) % LANES;
        while j < rows.end {
            let row = vp.add(j * v.stride);
            let x: [__m256; NB] = std::array::from_fn(|b| load_f16x8(row.add(16 * b)));
            for (h, a) in acc.iter_mut().enumerate() {
                let pj = _mm256_broadcast_ss(&*pp.add(h * p_stride + j - rows.start));
                for b in 0..NB {
                    a[b] = _mm256_fmadd_ps(pj, x[b], a[b]);
                }
            }
            j += LANES;
        }
        for h in 0..G {
            lanes[h][l] = acc[h];
        }
    }
    for (h, lh) in lanes.iter().enumerate() {
        for b in 0..NB {
            let s8: [__m256; 8] = std::array::from_fn(|i| _mm256_add_ps(lh[i][b], lh[i + 8][b]));
            let s4: [__m256; 4] = std::array::from_fn(|i| _mm256_add_ps(s8[i], s8[i + 4]));
            let s2 = [_mm256_add_ps(s4[0], s4[2]), _mm256_add_ps(s4[1], s4[3])];
            let o = &mut out[h * hv + d + 8 * b..h * hv + d + 8 * b + 8];
            _mm256_storeu_ps(o.as_mut_ptr(), _mm256_add_ps(s2[0], s2[1]));
        }
    }
}

/// `tinyblas::round_f16_scalar`: F16C rounds to nearest even, as `f16::from_f32`.
///
/// # Safety
/// The CPU must support AVX2 and F16C ([`available`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn round_f16(x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(c.as_ptr()));
        _mm256_storeu_ps(c.as_mut_ptr(), _mm256_cvtph_ps(h));
    }
    super::tinyblas::round_f16_scalar(chunks.into_remainder());
}
