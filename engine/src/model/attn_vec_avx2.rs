//! AVX2/FMA/F16C versions of `attn_vec`'s row operations, bit-identical to the scalar reference:
//! `v_expf` is evaluated lane-wise with the same fused steps (lanes whose exponent is out of range
//! take libm's `expf`, as the scalar code does), and the 16-wide chunk sums use the same tree.

#![cfg(target_arch = "x86_64")]

use super::ggml_math::{v_expf, SIMD_WIDTH};
use super::tinyblas_avx2::reduce16;
use std::arch::x86_64::*;

// The chunking below assumes ggml's AVX-512 width, as `ggml_math::exp_sum` does.
const _: () = assert!(SIMD_WIDTH == 16);

/// `ggml_math::v_expf` on 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn v_expf8(x: __m256) -> __m256 {
    let c = |bits: u32| _mm256_set1_ps(f32::from_bits(bits));
    let r = c(0x4b40_0000);
    let z = _mm256_fmadd_ps(x, c(0x3fb8_aa3b), r);
    let n = _mm256_sub_ps(z, r);
    let neg_n = _mm256_xor_ps(n, _mm256_set1_ps(-0.0));
    let b = _mm256_fmadd_ps(
        neg_n,
        c(0x35bf_be8e),
        _mm256_fmadd_ps(neg_n, c(0x3f31_7200), x),
    );
    let u = _mm256_mul_ps(b, b);
    let p_hi = _mm256_fmadd_ps(c(0x3c07_2010), b, c(0x3d2b_9f17));
    let p_lo = _mm256_fmadd_ps(c(0x3e2a_af33), b, c(0x3eff_fedb));
    let j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(p_hi, u, p_lo),
        u,
        _mm256_fmadd_ps(c(0x3f7f_fff6), b, _mm256_set1_ps(1.0)),
    );
    let e = _mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127));
    let k = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(e));
    let y = _mm256_mul_ps(j, k);
    let abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0), n);
    let out_of_range =
        _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(abs_n, _mm256_set1_ps(126.0)));
    if out_of_range == 0 {
        return y;
    }
    let (mut xs, mut ys) = ([0f32; 8], [0f32; 8]);
    // SAFETY: both arrays hold 8 floats.
    unsafe {
        _mm256_storeu_ps(xs.as_mut_ptr(), x);
        _mm256_storeu_ps(ys.as_mut_ptr(), y);
    }
    for i in 0..8 {
        if out_of_range & (1 << i) != 0 {
            ys[i] = xs[i].exp();
        }
    }
    // SAFETY: ys holds 8 floats.
    unsafe { _mm256_loadu_ps(ys.as_ptr()) }
}

/// `ggml_math::exp_sum`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn exp_sum(x: &mut [f32], max: f32, row_len: usize) -> f64 {
    let bulk = (row_len / SIMD_WIDTH * SIMD_WIDTH).min(x.len());
    let (body, tail) = x.split_at_mut(bulk);
    let m = _mm256_set1_ps(max);
    let mut sum = 0f64;
    let mut chunks = body.chunks_exact_mut(SIMD_WIDTH);
    for c in &mut chunks {
        let lo = v_expf8(_mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), m));
        let hi = v_expf8(_mm256_sub_ps(_mm256_loadu_ps(c.as_ptr().add(8)), m));
        _mm256_storeu_ps(c.as_mut_ptr(), lo);
        _mm256_storeu_ps(c.as_mut_ptr().add(8), hi);
        sum += reduce16(lo, hi) as f64;
    }
    // A last partial chunk: zero lanes beyond it in the tree.
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut lanes = [0f32; SIMD_WIDTH];
        for (v, l) in rest.iter_mut().zip(lanes.iter_mut()) {
            *v = v_expf(*v - max);
            *l = *v;
        }
        let s = reduce16(
            _mm256_loadu_ps(lanes.as_ptr()),
            _mm256_loadu_ps(lanes.as_ptr().add(8)),
        );
        sum += s as f64;
    }
    for v in tail.iter_mut() {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    sum
}

/// `attn_vec::scale_acc_scalar`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn scale_acc(acc: &mut [f32], ms: f32, round: bool) {
    let s = _mm256_set1_ps(ms);
    let mut chunks = acc.chunks_exact_mut(8);
    for c in &mut chunks {
        let y = _mm256_mul_ps(_mm256_loadu_ps(c.as_ptr()), s);
        _mm256_storeu_ps(c.as_mut_ptr(), round_if(y, round));
    }
    super::attn_vec::scale_acc_scalar(chunks.into_remainder(), ms, round);
}

/// `attn_vec::mad_acc_scalar`.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn mad_acc(acc: &mut [f32], v: &[f32], vs: f32, round: bool) {
    let n = acc.len().min(v.len());
    let (acc, v) = (&mut acc[..n], &v[..n]);
    let s = _mm256_set1_ps(vs);
    let full = n / 8 * 8;
    for i in (0..full).step_by(8) {
        let a = acc.as_mut_ptr().add(i);
        let y = _mm256_fmadd_ps(_mm256_loadu_ps(v.as_ptr().add(i)), s, _mm256_loadu_ps(a));
        _mm256_storeu_ps(a, round_if(y, round));
    }
    super::attn_vec::mad_acc_scalar(&mut acc[full..], &v[full..], vs, round);
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn round_if(y: __m256, round: bool) -> __m256 {
    if round {
        _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(y))
    } else {
        y
    }
}
