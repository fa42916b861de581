//! Q8_0: blocks of 32 weights, `{ f16 d; i8 qs[32] }`, x = d·q. Also the activation format for
//! Q4_0, Q5_0, Q8_0, IQ4_NL and MXFP4 dot products.

use super::common::{f16_at, nearest_int, put_f16, round_to_i8, whole_blocks};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 34;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q8_0,
    dot_type: GgmlType::Q8_0,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = f16_at(b, 0);
        for (y, &q) in y.iter_mut().zip(&b[2..]) {
            *y = q as i8 as f32 * d;
        }
    }
}

/// `quantize_row_q8_0_ref`: d = max|x|/127, q = round(x/d).
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        for (q, &v) in b[2..].iter_mut().zip(x) {
            *q = round_to_i8(v * id) as u8;
        }
    }
}

/// Activation quantizer as llama.cpp's CPU backend runs it on x86 (`quantize_row_q8_0`, the
/// `from_float` of Q8_0): id = 127/amax and round-half-to-even, where the reference quantizer uses
/// 1/(amax/127) and round-half-away. The two differ only in rare ties; use this one to match
/// llama.cpp's activations bit for bit.
pub fn quantize_activations(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        put_f16(b, 0, amax / 127.0);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        for (q, &v) in b[2..].iter_mut().zip(x) {
            *q = nearest_int(v * id) as i8 as u8;
        }
    }
}

/// Q8_0 weights · Q8_0 activations (`ggml_vec_dot_q8_0_q8_0`).
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    debug_assert!(weights.len() >= nb * TYPE_SIZE && activations.len() >= nb * TYPE_SIZE);
    let mut sum = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(TYPE_SIZE))
        .take(nb)
    {
        let mut sumi = 0i32;
        for (&a, &b) in x[2..].iter().zip(&y[2..]) {
            sumi += a as i8 as i32 * b as i8 as i32;
        }
        sum += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sum
}

/// The dot kernel the table exposes: the AVX2 one where the CPU has it, else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q8_0_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q8_0_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q8_0);
    }

    #[test]
    fn quantize_matches_gguf_py() {
        tu::check_quantize_testdata(GgmlType::Q8_0);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q8_0);
    }

    #[test]
    fn activation_quantizer_rounds_ties_to_even() {
        // amax 127 gives d = 1: 0.5 and 2.5 are ties, which the reference rounds away from zero.
        let mut x = [0.0f32; 32];
        x[0] = 127.0;
        x[1] = 0.5;
        x[2] = 2.5;
        x[3] = -0.5;
        let (mut reference, mut cpu) = ([0u8; 34], [0u8; 34]);
        super::quantize(&x, &mut reference);
        super::quantize_activations(&x, &mut cpu);
        assert_eq!(
            [reference[3], reference[4], reference[5] as i8 as u8],
            [1, 3, (-1i8) as u8]
        );
        assert_eq!([cpu[3], cpu[4], cpu[5]], [0, 2, 0]);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        // Half a quantization step (amax/254) plus the f16 rounding of d.
        tu::check_round_trip(GgmlType::Q8_0, 1.0 / 254.0 + 2e-3);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q8_0);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q8_0, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q8_0_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q8_0,
            &[0],
            super::vec_dot_scalar,
            super::super::q8_0_neon::vec_dot,
        );
    }
}
