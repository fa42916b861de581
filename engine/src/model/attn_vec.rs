//! Row operations of attention with llama.cpp's numerics: the softmax of a score row and flash
//! attention's accumulator updates. The scalar code is the reference; `attn_vec_avx2` (and, for
//! the accumulator updates, `attn_vec_avx512`) hold bit-identical versions, chosen at run time.

use super::ggml_math::{exp_sum, softmax_masked_row_len};
use half::f16;

#[cfg(target_arch = "x86_64")]
#[inline]
fn simd() -> bool {
    super::tinyblas_avx2::available()
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn simd() -> bool {
    false
}

/// `ggml_math::softmax_masked_row_len`: softmax of `x`, the start of a row of `row_len` whose
/// rest is masked (the row length decides which entries fall in 16-wide SIMD chunks).
pub fn softmax_row(x: &mut [f32], row_len: usize) {
    #[cfg(target_arch = "x86_64")]
    if simd() {
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // SAFETY: AVX2, FMA and F16C were detected.
        let sum = unsafe { super::attn_vec_avx2::exp_sum(x, max, row_len) };
        let inv = (1.0 / sum) as f32;
        for v in x.iter_mut() {
            *v *= inv;
        }
        return;
    }
    softmax_masked_row_len(x, row_len)
}

/// `ggml_math::exp_sum`, vectorized where the CPU allows.
pub fn exp_sum_fast(x: &mut [f32], max: f32, row_len: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if simd() {
        // SAFETY: AVX2, FMA and F16C were detected.
        return unsafe { super::attn_vec_avx2::exp_sum(x, max, row_len) };
    }
    exp_sum(x, max, row_len)
}

/// Flash attention's rescale on a new maximum: `acc[i] = acc[i] * ms`, rounded to f16 when the
/// accumulator is f16 (ggml_vec_scale_f16).
pub fn scale_acc(acc: &mut [f32], ms: f32, round: bool) {
    #[cfg(target_arch = "x86_64")]
    if super::tinyblas_avx512::available() {
        // SAFETY: AVX-512F, AVX2, FMA and F16C were detected.
        return unsafe { super::attn_vec_avx512::scale_acc(acc, ms, round) };
    }
    #[cfg(target_arch = "x86_64")]
    if simd() {
        // SAFETY: AVX2, FMA and F16C were detected.
        return unsafe { super::attn_vec_avx2::scale_acc(acc, ms, round) };
    }
    scale_acc_scalar(acc, ms, round)
}

pub fn scale_acc_scalar(acc: &mut [f32], ms: f32, round: bool) {
    for a in acc.iter_mut() {
        *a = round_if(*a * ms, round);
    }
}

/// Flash attention's V accumulation: `acc[i] = v[i] * vs + acc[i]` (fused), rounded to f16 when
/// the accumulator is f16 (ggml_vec_mad_f16).
pub fn mad_acc(acc: &mut [f32], v: &[f32], vs: f32, round: bool) {
    #[cfg(target_arch = "x86_64")]
    if super::tinyblas_avx512::available() {
        // SAFETY: AVX-512F, AVX2, FMA and F16C were detected.
        return unsafe { super::attn_vec_avx512::mad_acc(acc, v, vs, round) };
    }
    #[cfg(target_arch = "x86_64")]
    if simd() {
        // SAFETY: AVX2, FMA and F16C were detected.
        return unsafe { super::attn_vec_avx2::mad_acc(acc, v, vs, round) };
    }
    mad_acc_scalar(acc, v, vs, round)
}

pub fn mad_acc_scalar(acc: &mut [f32], v: &[f32], vs: f32, round: bool) {
    for (a, &x) in acc.iter_mut().zip(v) {
        *a = round_if(x.mul_add(vs, *a), round);
    }
}

#[inline]
fn round_if(x: f32, round: bool) -> f32 {
    if round {
        f16::from_f32(x).to_f32()
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_rng::Rng;

    #[test]
    fn simd_row_ops_match_the_scalar_reference_bit_for_bit() {
        let mut rng = Rng::new(11);
        for n in (1..300).chain([511, 512, 513, 1000, 4096]) {
            let scale = [0.1f32, 3.0, 30.0][n % 3];
            let x: Vec<f32> = (0..n).map(|_| rng.normal() * scale).collect();
            let mut masked = x.clone();
            // A few leading masked entries, as a sliding window leaves them.
            for v in masked.iter_mut().take(n % 7) {
                *v = f32::NEG_INFINITY;
            }
            for row_len in [n, n.next_multiple_of(16), n.next_multiple_of(256), n + 5] {
                for src in [&x, &masked] {
                    let max = src.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let (mut a, mut b) = (src.clone(), src.clone());
                    let (sa, sb) = (
                        exp_sum(&mut a, max, row_len),
                        exp_sum_fast(&mut b, max, row_len),
                    );
                    assert_eq!(sa.to_bits(), sb.to_bits(), "sum n={n} row_len={row_len}");
                    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
                    let (mut a, mut b) = (src.clone(), src.clone());
                    softmax_masked_row_len(&mut a, row_len);
                    softmax_row(&mut b, row_len);
                    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
                }
            }
            let v: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
            for round in [false, true] {
                let ms = rng.uniform();
                let (mut a, mut b) = (x.clone(), x.clone());
                scale_acc_scalar(&mut a, ms, round);
                scale_acc(&mut b, ms, round);
                assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
                mad_acc_scalar(&mut a, &v, ms, round);
                mad_acc(&mut b, &v, ms, round);
                assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
                // The AVX2 versions too, where the dispatch above took the AVX-512 ones.
                #[cfg(target_arch = "x86_64")]
                if simd() {
                    let mut c = x.clone();
                    // SAFETY: AVX2, FMA and F16C were detected.
                    unsafe {
                        crate::model::attn_vec_avx2::scale_acc(&mut c, ms, round);
                        crate::model::attn_vec_avx2::mad_acc(&mut c, &v, ms, round);
                    }
                    assert!(a.iter().zip(&c).all(|(p, q)| p.to_bits() == q.to_bits()));
                }
            }
        }
    }
}
