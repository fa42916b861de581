//! F16C/AVX2 versions of the F16 kernels (chosen at run time; the scalar ones in `f16.rs` are the
//! reference). Half-to-single conversion is exact either way, and the dot keeps the scalar
//! kernel's eight lanes (multiply, then add) and final order, so results are bit-identical.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// Whether this CPU has F16C as well as AVX2 and FMA.
#[inline]
pub fn available() -> bool {
    super::avx2_util::available() && std::is_x86_feature_detected!("f16c")
}

#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn load8(b: &[u8], i: usize) -> __m256 {
    let s = &b[2 * i..2 * i + 16];
    _mm256_cvtph_ps(_mm_loadu_si128(s.as_ptr() as *const __m128i))
}

#[inline]
fn read(b: &[u8], i: usize) -> f32 {
    super::common::f16_bits_to_f32(u16::from_le_bytes([b[2 * i], b[2 * i + 1]]))
}

/// # Safety
/// The CPU must support AVX2 and F16C ([`available`]).
#[target_feature(enable = "avx2,f16c")]
pub unsafe fn dequantize(src: &[u8], dst: &mut [f32]) {
    let n = dst.len().min(src.len() / 2);
    let full = n / 8 * 8;
    for i in (0..full).step_by(8) {
        let d = &mut dst[i..i + 8];
        _mm256_storeu_ps(d.as_mut_ptr(), load8(src, i));
    }
    for i in full..n {
        dst[i] = read(src, i);
    }
}

/// # Safety
/// The CPU must support AVX2 and F16C ([`available`]).
#[target_feature(enable = "avx2,f16c")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let n = n.min(weights.len() / 2).min(activations.len() / 2);
    let full = n / 8 * 8;
    let mut acc = _mm256_setzero_ps();
    for i in (0..full).step_by(8) {
        // Multiply then add (no FMA), as the scalar reference does.
        acc = _mm256_add_ps(acc, _mm256_mul_ps(load8(weights, i), load8(activations, i)));
    }
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    for i in full..n {
        lanes[0] += read(weights, i) * read(activations, i);
    }
    lanes.iter().sum()
}
