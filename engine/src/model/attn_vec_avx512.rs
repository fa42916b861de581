//! AVX-512 versions of flash attention's accumulator updates ([`super::attn_vec`]): each element
//! is the same single fused multiply-add (or multiply) and f16 rounding as the scalar reference,
//! so sixteen lanes give the same bits as eight. Half the instructions per (row, head) of a
//! `-fa 1` decode.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// `attn_vec::scale_acc_scalar`.
///
/// # Safety
/// The CPU must support AVX-512F, AVX2, FMA and F16C ([`super::tinyblas_avx512::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
pub unsafe fn scale_acc(acc: &mut [f32], ms: f32, round: bool) {
    let s = _mm512_set1_ps(ms);
    let mut chunks = acc.chunks_exact_mut(16);
    for c in &mut chunks {
        let y = _mm512_mul_ps(_mm512_loadu_ps(c.as_ptr()), s);
        _mm512_storeu_ps(c.as_mut_ptr(), round_if(y, round));
    }
    super::attn_vec::scale_acc_scalar(chunks.into_remainder(), ms, round);
}

/// `attn_vec::mad_acc_scalar`.
///
/// # Safety
/// The CPU must support AVX-512F, AVX2, FMA and F16C ([`super::tinyblas_avx512::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
pub unsafe fn mad_acc(acc: &mut [f32], v: &[f32], vs: f32, round: bool) {
    let n = acc.len().min(v.len());
    let (acc, v) = (&mut acc[..n], &v[..n]);
    let s = _mm512_set1_ps(vs);
    let full = n / 16 * 16;
    for i in (0..full).step_by(16) {
        let a = acc.as_mut_ptr().add(i);
        let y = _mm512_fmadd_ps(_mm512_loadu_ps(v.as_ptr().add(i)), s, _mm512_loadu_ps(a));
        _mm512_storeu_ps(a, round_if(y, round));
    }
    super::attn_vec::mad_acc_scalar(&mut acc[full..], &v[full..], vs, round);
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f")]
fn round_if(y: __m512, round: bool) -> __m512 {
    if round {
        _mm512_cvtph_ps(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(y))
    } else {
        y
    }
}
