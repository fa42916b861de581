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
use std::cell::RefCell;
use std::ops::Range;

/// Whether this CPU has AVX2, FMA and F16C.
#[inline]
pub fn available() -> bool {
    crate::isa_ceiling::avx2_allowed()
        && is_x86_feature_detected!("avx2")
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
        // Two heads × two rows per pass (eight accumulators) measured fastest; one head: four rows.
        let n = (g - h0).min(2);
        let (qh, ph) = (&q[h0 * hd..(h0 + n) * hd], &mut p[h0 * p_stride..]);
        match n {
            1 => scores_block::<4, 1>(k, rows.clone(), qh, hd, scale, ph, p_stride),
            _ => scores_block::<SR, 2>(k, rows.clone(), qh, hd, scale, ph, p_stride),
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

/// Bytes of V rows walked per block: small enough to stay in L1 while every lane and column
/// block of them is processed.
const SR: usize = 3;
const PV_BLOCK_BYTES: usize = 32 << 10;

thread_local! {
    /// Lane accumulators of `pv_f16` that persist across row blocks.
    static PV_LANES: RefCell<Vec<__m256>> = const { RefCell::new(Vec::new()) };
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
    // Rows per block: a multiple of 16, so each lane gets the same share of every block.
    let block = (PV_BLOCK_BYTES / v.row_bytes.max(1) / LANES).max(1) * LANES;
    PV_LANES.with(|lanes| {
        let mut lanes = lanes.borrow_mut();
        let mut h0 = 0;
        while h0 < g {
            // Heads × 8-column blocks ≤ 8 accumulators, V converted once per pass.
            let n = (g - h0).min(4);
            let (ph, oh) = (&p[h0 * p_stride..], &mut out[h0 * hv..(h0 + n) * hv]);
            let pv = PvArgs {
                v,
                rows: rows.clone(),
                p: ph,
                p_stride,
                block,
            };
            match n {
                1 => pv_heads::<1, 4>(&pv, oh, hv, &mut lanes),
                2 => pv_heads::<2, 4>(&pv, oh, hv, &mut lanes),
                3 => pv_heads::<3, 2>(&pv, oh, hv, &mut lanes),
                _ => pv_heads::<4, 2>(&pv, oh, hv, &mut lanes),
            }
            h0 += n;
        }
    })
}

struct PvArgs<'a> {
    v: HeadRows<'a>,
    rows: Range<usize>,
    /// Probabilities: head h, row j at `p[h * p_stride + j - rows.start]`.
    p: &'a [f32],
    p_stride: usize,
    /// Rows per block.
    block: usize,
}

/// All columns of `G` heads: blocks of `8 * NB` columns, then of 8, then single columns.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_heads<const G: usize, const NB: usize>(
    a: &PvArgs,
    out: &mut [f32],
    hv: usize,
    lanes: &mut Vec<__m256>,
) {
    let wide = hv / (8 * NB) * (8 * NB);
    let narrow = hv / 8 * 8;
    pv_columns::<G, NB>(a, out, hv, 0..wide, lanes);
    pv_columns::<G, 1>(a, out, hv, wide..narrow, lanes);
    pv_single_columns(a, G, out, hv, narrow..hv);
}

/// Columns `cols` of `g` heads one at a time: the reference loop.
unsafe fn pv_single_columns(a: &PvArgs, g: usize, out: &mut [f32], hv: usize, cols: Range<usize>) {
    let rows = a.rows.clone();
    for col in cols {
        for h in 0..g {
            let mut acc = [0f32; LANES];
            for j in rows.clone() {
                let b = a.v.bytes.as_ptr().add(j * a.v.stride + 2 * col);
                let x = f16::from_bits(u16::from_le_bytes([*b, *b.add(1)])).to_f32();
                let l = &mut acc[j % LANES];
                *l = a.p[h * a.p_stride + j - rows.start].mul_add(x, *l);
            }
            out[h * hv + col] = super::tinyblas::reduce_lanes(acc);
        }
    }
}

/// `pv_f16` for the columns `cols` of every head only (the rest of `out` is left as it is).
///
/// # Safety
/// As [`pv_f16`].
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn pv_f16_columns(
    v: HeadRows,
    rows: Range<usize>,
    p: &[f32],
    p_stride: usize,
    out: &mut [f32],
    hv: usize,
    cols: Range<usize>,
) {
    let g = out.len() / hv;
    let block = (PV_BLOCK_BYTES / v.row_bytes.max(1) / LANES).max(1) * LANES;
    let eights = cols.start..cols.start + cols.len() / 8 * 8;
    PV_LANES.with(|lanes| {
        let mut lanes = lanes.borrow_mut();
        for h in 0..g {
            let a = PvArgs {
                v,
                rows: rows.clone(),
                p: &p[h * p_stride..],
                p_stride,
                block,
            };
            let oh = &mut out[h * hv..(h + 1) * hv];
            pv_columns::<1, 1>(&a, oh, hv, eights.clone(), &mut lanes);
            pv_single_columns(&a, 1, oh, hv, eights.end..cols.end);
        }
    })
}

/// Columns `cols` (a multiple of `8 * NB` wide) of `G` heads. Lane `l` only ever sees rows
/// `j ≡ l (mod 16)`, in increasing order, so each lane is accumulated on its own (in registers
/// within a block of rows, in `lanes` between blocks), then the 16 lanes go through the tree.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_columns<const G: usize, const NB: usize>(
    a: &PvArgs,
    out: &mut [f32],
    hv: usize,
    cols: Range<usize>,
    lanes: &mut Vec<__m256>,
) {
    let n_cb = cols.len() / (8 * NB);
    if n_cb == 0 {
        return;
    }
    // lanes[((cb * G + h) * LANES + l) * NB + b]: column block cb, head h, lane l, vector b.
    lanes.clear();
    lanes.resize(n_cb * G * LANES * NB, _mm256_setzero_ps());
    let (vp, pp, start) = (a.v.bytes.as_ptr(), a.p.as_ptr(), a.rows.start);
    let mut b0 = start;
    while b0 < a.rows.end {
        let b1 = (b0 + a.block).min(a.rows.end);
        for cb in 0..n_cb {
            let col = cols.start + cb * 8 * NB;
            let lanes_cb = &mut lanes[cb * G * LANES * NB..(cb + 1) * G * LANES * NB];
            for l in 0..LANES {
                let mut acc: [[__m256; NB]; G] = std::array::from_fn(|h| {
                    std::array::from_fn(|b| lanes_cb[(h * LANES + l) * NB + b])
                });
                let mut j = b0 + (l + LANES - b0 % LANES) % LANES;
                while j < b1 {
                    let row = vp.add(j * a.v.stride + 2 * col);
                    let x: [__m256; NB] = std::array::from_fn(|b| load_f16x8(row.add(16 * b)));
                    for (h, acc_h) in acc.iter_mut().enumerate() {
                        let pj = _mm256_broadcast_ss(&*pp.add(h * a.p_stride + j - start));
                        for b in 0..NB {
                            acc_h[b] = _mm256_fmadd_ps(pj, x[b], acc_h[b]);
                        }
                    }
                    j += LANES;
                }
                for (h, acc_h) in acc.iter().enumerate() {
                    for b in 0..NB {
                        lanes_cb[(h * LANES + l) * NB + b] = acc_h[b];
                    }
                }
            }
        }
        b0 = b1;
    }
    for cb in 0..n_cb {
        let lanes_cb = &lanes[cb * G * LANES * NB..(cb + 1) * G * LANES * NB];
        for h in 0..G {
            for b in 0..NB {
                let lane = |l: usize| lanes_cb[(h * LANES + l) * NB + b];
                let s8: [__m256; 8] = std::array::from_fn(|i| _mm256_add_ps(lane(i), lane(i + 8)));
                let s4: [__m256; 4] = std::array::from_fn(|i| _mm256_add_ps(s8[i], s8[i + 4]));
                let s2 = [_mm256_add_ps(s4[0], s4[2]), _mm256_add_ps(s4[1], s4[3])];
                let o = h * hv + cols.start + cb * 8 * NB + 8 * b;
                _mm256_storeu_ps(out[o..o + 8].as_mut_ptr(), _mm256_add_ps(s2[0], s2[1]));
            }
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
