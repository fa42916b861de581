//! AVX2 version of the MXFP4 · Q8_0 dot product (chosen at run time; [`super::mxfp4::vec_dot_scalar`]
//! is the reference it is tested against), in llama.cpp's `ggml_vec_dot_mxfp4_q8_0` lane order:
//! the doubled E2M1 values (`kvalues_mxfp4`) are looked up like IQ4_NL's, with the halved E8M0 scale.

#![cfg(target_arch = "x86_64")]

use super::common::f16_at;
use super::mxfp4::{e8m0_to_f32_half, KVALUES_MXFP4, TYPE_SIZE};
use super::nibble_lut_avx2::dot_q8_0_pairs;

/// Packed codes follow the one-byte exponent.
const QS: usize = 1;

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    dot_q8_0_pairs(
        n,
        weights,
        activations,
        (TYPE_SIZE, QS),
        &KVALUES_MXFP4,
        |x, y| f16_at(y, 0) * e8m0_to_f32_half(x[0]),
    )
}
