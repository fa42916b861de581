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

pub(crate) mod avx2_util;
mod avx512_util;
pub mod prefetch;
#[cfg(target_arch = "x86_64")]
pub(crate) use prefetch::{prefetch_ahead, prefetch_ahead_always};

/// Who fetches the decode kernels' weight bytes ahead in this process ([`prefetch::Policy`]):
/// `"software"` or `"hardware"`; `None` off x86-64. Bench records carry it.
pub fn weight_prefetch() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    return Some(prefetch::policy().name());
    #[cfg(not(target_arch = "x86_64"))]
    None
}
pub mod bf16;
pub(crate) mod common;
pub mod f16;
#[cfg(target_arch = "x86_64")]
mod f16_avx2;
pub mod f32;
#[cfg(test)]
mod fixture_agreement;
pub mod iq4_nl;
mod iq4_nl_avx2;
mod iq4_nl_neon;
mod iq4_search;
pub mod iq4_xs;
mod iq4_xs_avx2;
mod iq4_xs_avx512;
mod iq4_xs_neon;
pub mod iq4_xs_x16;
mod iq4_xs_x16_avx2;
mod iq4_xs_x16_avx512;
pub(crate) mod k16_scales_avx2;
pub mod k_x16_bytes;
mod k_x16_bytes_avx2;
mod k_x16_bytes_avx512;
#[cfg(test)]
mod kernel_timing;
mod kquant_search;
pub mod mxfp4;
mod mxfp4_avx2;
mod mxfp4_neon;
mod neon_util;
pub(crate) mod nibble_lut_avx2;
pub mod q2_k;
mod q2_k_avx2;
mod q2_k_avx512;
mod q2_k_neon;
pub mod q3_k;
pub(crate) mod q3_k_avx2;
mod q3_k_avx512;
mod q3_k_neon;
pub mod q4_0;
mod q4_0_neon;
pub mod q4_0_x16;
mod q4_0_x16_avx2;
mod q4_0_x16_avx512;
pub mod q4_1;
#[cfg(target_arch = "x86_64")]
mod q4_1_avx2;
pub mod q4_k;
mod q4_k_avx2;
mod q4_k_avx512;
mod q4_k_neon;
pub mod q4_k_x16;
mod q4_k_x16_avx2;
mod q4_k_x16_avx512;
pub mod q5_0;
#[cfg(target_arch = "x86_64")]
pub(crate) mod q5_0_avx2;
mod q5_0_neon;
pub mod q5_1;
#[cfg(target_arch = "x86_64")]
mod q5_1_avx2;
pub mod q5_k;
mod q5_k_avx2;
mod q5_k_avx512;
mod q5_k_neon;
pub mod q5_k_x16;
mod q5_k_x16_avx2;
mod q5_k_x16_avx512;
pub mod q6_k;
mod q6_k_avx2;
mod q6_k_avx512;
mod q6_k_neon;
pub mod q6_k_x16;
mod q6_k_x16_avx2;
mod q6_k_x16_avx512;
pub mod q8_0;
mod q8_0_avx2;
mod q8_0_neon;
pub mod q8_1;
pub mod q8_k;
mod q8_k_avx512;
#[cfg(test)]
pub(crate) mod test_util;
pub mod x16;
mod x16_avx2;
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

/// Whether the AVX2 + FMA kernels can run on this CPU (checked once by std, then cached).
pub fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx2_util::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A reference quantizer: whole blocks of f32 in, blocks of the format out.
pub type QuantizeFn = fn(src: &[f32], dst: &mut [u8]);

/// The functions one block format provides.
///
/// Length preconditions are checked with `debug_assert!` only (callers validate tensor shapes at
/// load); in release builds a short slice truncates the work to the whole blocks present. No
/// kernel reads or writes out of bounds or panics on any input length.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub ggml_type: GgmlType,
    /// The activation format `vec_dot` expects for its second operand.
    pub dot_type: GgmlType,
    /// Dequantizes whole blocks: `src.len() == dst.len() / block_size * type_size`.
    pub dequantize: fn(src: &[u8], dst: &mut [f32]),
    /// Quantizes whole blocks of f32 into this format (reference quantizer), if the format has one.
    pub quantize: Option<QuantizeFn>,
    /// Dot product of `n` elements (a multiple of the block size): one weight row in this format
    /// with activations in `dot_type` (`ty.bytes_for(n)` and `dot_type.bytes_for(n)` bytes).
    pub vec_dot: fn(n: usize, weights: &[u8], activations: &[u8]) -> f32,
}

/// The kernels for `ty`, or None if the engine does not support that format.
pub fn kernels(ty: GgmlType) -> Option<&'static Kernels> {
    // Each format file exports `pub const KERNELS: Kernels`; formats register here.
    match ty {
        GgmlType::IQ4_NL => Some(&iq4_nl::KERNELS),
        GgmlType::IQ4_XS => Some(&iq4_xs::KERNELS),
        GgmlType::MXFP4 => Some(&mxfp4::KERNELS),
        GgmlType::F32 => Some(&f32::KERNELS),
        GgmlType::F16 => Some(&f16::KERNELS),
        GgmlType::BF16 => Some(&bf16::KERNELS),
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

/// Dequantizes whole blocks of `ty` (a convenience over [`kernels`]). Converts as many whole
/// blocks as both slices hold, so mismatched lengths never panic: callers check
/// `src.len() == ty.bytes_for(dst.len())` when they load a tensor.
pub fn dequantize(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), UnsupportedType> {
    let k = kernels(ty).ok_or(UnsupportedType(ty))?;
    let (bs, ts) = (ty.block_size() as usize, ty.type_size() as usize);
    let blocks = (src.len() / ts).min(dst.len() / bs);
    (k.dequantize)(&src[..blocks * ts], &mut dst[..blocks * bs]);
    Ok(())
}

/// Quantizes activations to `dot_type` the way llama.cpp's CPU backend does on x86 (its
/// `from_float`): Q8_0 and Q8_1 round ties to even with id = 127/amax, Q8_K uses the reference
/// quantizer. Whole blocks as in [`dequantize`].
pub fn quantize_activations(
    dot_type: GgmlType,
    src: &[f32],
    dst: &mut [u8],
) -> Result<(), UnsupportedType> {
    let (bs, ts) = (
        dot_type.block_size() as usize,
        dot_type.type_size() as usize,
    );
    let blocks = (src.len() / bs).min(dst.len() / ts);
    let (src, dst) = (&src[..blocks * bs], &mut dst[..blocks * ts]);
    let quantize = activation_quantizer(dot_type).ok_or(UnsupportedType(dot_type))?;
    quantize(src, dst);
    Ok(())
}

/// The function that converts activations to `dot_type` as llama.cpp's x86 backend does: its
/// `from_float` for Q8_0/Q8_1 (127/amax, ties to even) differs from the reference quantizer in
/// rare ties, which is enough to move logits; other dot types use their reference quantizer.
pub fn activation_quantizer(dot_type: GgmlType) -> Option<QuantizeFn> {
    match dot_type {
        GgmlType::Q8_0 => Some(q8_0::quantize_activations),
        GgmlType::Q8_1 => Some(q8_1::quantize_activations),
        GgmlType::Q8_K => Some(q8_k::quantize_activations),
        _ => kernels(dot_type)?.quantize,
    }
}

#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("tensor type {0} is not supported by the engine")]
pub struct UnsupportedType(pub GgmlType);

#[cfg(test)]
mod tests {
    use super::*;

    /// The formats this engine has kernels for; everything else must say "unsupported".
    const SUPPORTED: [GgmlType; 25] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::IQ2_XXS,
        GgmlType::IQ2_XS,
        GgmlType::IQ2_S,
        GgmlType::IQ3_XXS,
        GgmlType::IQ3_S,
        GgmlType::IQ1_S,
        GgmlType::IQ1_M,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
        GgmlType::IQ4_NL,
        GgmlType::IQ4_XS,
        GgmlType::MXFP4,
    ];

    #[test]
    fn every_supported_type_has_consistent_kernels() {
        for ty in GgmlType::ALL {
            let Some(k) = kernels(ty) else {
                assert!(!SUPPORTED.contains(&ty), "{ty} should have kernels");
                continue;
            };
            assert!(
                SUPPORTED.contains(&ty),
                "{ty} has kernels but is not in the supported list"
            );
            assert_eq!(k.ggml_type, ty);
            let dot = kernels(k.dot_type)
                .unwrap_or_else(|| panic!("{ty}: dot type {} has no kernels", k.dot_type));
            assert!(
                dot.quantize.is_some(),
                "{ty}: activations must be quantizable to {}",
                k.dot_type
            );
            assert_eq!(
                ty.block_size() % dot.ggml_type.block_size(),
                0,
                "{ty}: a weight block must cover whole activation blocks"
            );
            // ggml's vec_dot_type pairing.
            let expected = match ty {
                GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q8_1 => GgmlType::Q8_1,
                GgmlType::Q4_0
                | GgmlType::Q5_0
                | GgmlType::Q8_0
                | GgmlType::IQ4_NL
                | GgmlType::MXFP4 => GgmlType::Q8_0,
                GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => ty,
                _ => GgmlType::Q8_K,
            };
            assert_eq!(k.dot_type, expected, "{ty}");
            // Sizes agree with the type table: one block in, one block out.
            let bs = ty.block_size() as usize;
            let ts = ty.type_size() as usize;
            let x: Vec<f32> = (0..bs).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut q = vec![0u8; ts];
            // I-quant quantizers need an importance matrix: out of scope, so they have none.
            let Some(quantize) = k.quantize else {
                assert!(
                    ty.name().starts_with("IQ") && ty != GgmlType::IQ4_NL && ty != GgmlType::IQ4_XS,
                    "{ty}"
                );
                continue;
            };
            quantize(&x, &mut q);
            let mut y = vec![0f32; bs];
            (k.dequantize)(&q, &mut y);
            assert!(y.iter().all(|v| v.is_finite()), "{ty}");
        }
    }

    #[test]
    fn short_slices_do_not_panic_in_release() {
        // Kernels only debug_assert their lengths; in release a short slice truncates the work.
        if cfg!(debug_assertions) {
            return;
        }
        for ty in SUPPORTED {
            let k = kernels(ty).unwrap();
            if k.quantize.is_none() || !ty.is_quantized() {
                continue;
            }
            let bs = ty.block_size() as usize;
            let ts = ty.type_size() as usize;
            let mut y = vec![0f32; 2 * bs];
            (k.dequantize)(&vec![0u8; ts + 3], &mut y);
            let mut q = vec![0u8; ts - 1];
            (k.quantize.unwrap())(&vec![1.0; bs], &mut q);
            let a_size = k.dot_type.type_size() as usize;
            let _ = (k.vec_dot)(2 * bs, &vec![0u8; ts], &vec![0u8; a_size]);
        }
    }

    #[test]
    fn dequantize_reports_unsupported_types() {
        let mut y = [0f32; 256];
        assert!(dequantize(GgmlType::TQ1_0, &[0u8; 54], &mut y).is_err());
        assert!(dequantize(GgmlType::Q8_0, &[0u8; 34], &mut y[..32]).is_ok());
        // Mismatched lengths convert what fits, in debug builds too.
        assert!(dequantize(GgmlType::Q4_K, &[0u8; 150], &mut y[..100]).is_ok());
        assert!(dequantize(GgmlType::Q8_0, &[0u8; 40], &mut y).is_ok());
    }
}
