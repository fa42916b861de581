//! Block formats: one file per ggml type, each holding its layout, dequantize, dot kernels and tests.
//!
//! The contract every format file implements is [`Kernels`]: a table of plain functions, so that a
//! SIMD variant can replace the scalar one at run time without changing any caller. The scalar
//! functions stay as the tested reference.
//!
//! Numerics follow llama.cpp's CPU backend: a weight type's dot product consumes activations that were
//! first quantized to its `dot_type` (ggml's `vec_dot_type`): Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4,
//! Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants and the other I-quants, F16 for F16, BF16 for BF16,
//! F32 for F32. Matching this is what keeps our logits within the reference tolerances.

use crate::gguf::GgmlType;

mod common;
mod kquant_search;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod q8_1;
pub mod q8_k;
#[cfg(test)]
mod test_util;
// I-quants with grids (dot type Q8_K).
pub mod iq1_m;
pub mod iq1_s;
pub mod iq2_s;
pub mod iq2_xs;
pub mod iq2_xxs;
pub mod iq2_xxs_avx2;
pub mod iq3_s;
pub mod iq3_xxs;
pub mod iq3_xxs_avx2;
#[cfg(target_arch = "x86_64")]
mod iq_avx2;
mod iq_common;
pub mod iq_grids;

/// The functions one block format provides.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub ggml_type: GgmlType,
    /// The activation format `vec_dot` expects for its second operand.
    pub dot_type: GgmlType,
    /// Dequantizes whole blocks: `src.len() == dst.len() / block_size * type_size`.
    pub dequantize: fn(src: &[u8], dst: &mut [f32]),
    /// Quantizes whole blocks of f32 into this format (reference quantizer), if the format has one.
    pub quantize: Option<fn(src: &[f32], dst: &mut [u8])>,
    /// Dot product of `n` elements: one weight row in this format with activations in `dot_type`.
    pub vec_dot: fn(n: usize, weights: &[u8], activations: &[u8]) -> f32,
}

/// The kernels for `ty`, or None if the engine does not support that format.
pub fn kernels(ty: GgmlType) -> Option<&'static Kernels> {
    // Each format file exports `pub const KERNELS: Kernels`; formats register here.
    match ty {
        GgmlType::Q2_K => Some(&q2_k::KERNELS),
        GgmlType::Q3_K => Some(&q3_k::KERNELS),
        GgmlType::Q4_0 => Some(&q4_0::KERNELS),
        GgmlType::Q4_1 => Some(&q4_1::KERNELS),
        GgmlType::Q4_K => Some(&q4_k::KERNELS),
        GgmlType::Q5_0 => Some(&q5_0::KERNELS),
        GgmlType::Q5_1 => Some(&q5_1::KERNELS),
        GgmlType::Q5_K => Some(&q5_k::KERNELS),
        GgmlType::Q6_K => Some(&q6_k::KERNELS),
        GgmlType::Q8_0 => Some(&q8_0::KERNELS),
        GgmlType::Q8_1 => Some(&q8_1::KERNELS),
        GgmlType::Q8_K => Some(&q8_k::KERNELS),
        GgmlType::IQ2_XXS => Some(iq2_xxs_avx2::detected().unwrap_or(&iq2_xxs::KERNELS)),
        GgmlType::IQ2_XS => Some(&iq2_xs::KERNELS),
        GgmlType::IQ2_S => Some(&iq2_s::KERNELS),
        GgmlType::IQ3_XXS => Some(iq3_xxs_avx2::detected().unwrap_or(&iq3_xxs::KERNELS)),
        GgmlType::IQ3_S => Some(&iq3_s::KERNELS),
        GgmlType::IQ1_S => Some(&iq1_s::KERNELS),
        GgmlType::IQ1_M => Some(&iq1_m::KERNELS),
        _ => None,
    }
}

/// Dequantizes whole blocks of `ty` (a convenience over [`kernels`]).
pub fn dequantize(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), UnsupportedType> {
    let k = kernels(ty).ok_or(UnsupportedType(ty))?;
    (k.dequantize)(src, dst);
    Ok(())
}

#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("tensor type {0} is not supported by the engine")]
pub struct UnsupportedType(pub GgmlType);
