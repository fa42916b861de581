//! AVX2 version of the Q8_0 · Q8_0 dot product (chosen at run time; [`super::q8_0::vec_dot_scalar`]
//! is the reference it is tested against).

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{f16c_product, hsum_f32, load32};
use super::q8_0::{BLOCK, TYPE_SIZE};
use std::arch::x86_64::*;

/// Same contract as the scalar kernel. Block sums are exact integers; only the f32 accumulation
/// (fused multiply-add into eight lanes) differs from the scalar order.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut acc = _mm256_setzero_ps();
    let ones = _mm256_set1_epi16(1);
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(TYPE_SIZE))
        .take(nb)
    {
        let qx = load32(x, 2);
        let qy = load32(y, 2);
        // maddubs needs an unsigned operand: move x's sign onto y.
        let ax = _mm256_sign_epi8(qx, qx);
        let sy = _mm256_sign_epi8(qy, qx);
        let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), ones);
        let d = _mm256_set1_ps(f16c_product(x, y));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc);
    }
    hsum_f32(acc)
}
