//! AVX2 version of the IQ4_NL · Q8_0 dot product (chosen at run time; [`super::iq4_nl::vec_dot_scalar`]
//! is the reference it is tested against), in llama.cpp's `ggml_vec_dot_iq4_nl_q8_0` lane order.

#![cfg(target_arch = "x86_64")]

use super::avx2_util::f16c_product;
use super::iq4_nl::TYPE_SIZE;
use super::iq4_search::KVALUES_IQ4NL;
use super::nibble_lut_avx2::dot_q8_0_pairs;

/// Packed codes follow the f16 scale.
const QS: usize = 2;

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    dot_q8_0_pairs(
        n,
        weights,
        activations,
        (TYPE_SIZE, QS),
        &KVALUES_IQ4NL,
        |x, y| f16c_product(y, x),
    )
}
