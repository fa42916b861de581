//! Q4_0: blocks of 32, `{ f16 d; u8 qs[16] }`, x = d·(q − 8); element j in the low nibble of
//! byte j, element j+16 in the high nibble. Dots against Q8_0.

use super::common::{f16_at, put_f16, whole_blocks};
use super::{q8_0, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 18;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q4_0,
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
        for (j, &q) in b[2..].iter().enumerate() {
            y[j] = ((q & 0xF) as i32 - 8) as f32 * d;
            y[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// `quantize_row_q4_0_ref`: d = max/−8 where max is the value of largest magnitude.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        for j in 0..16 {
            // C: MIN(15, (int8_t)(x*id + 8.5f)), a truncating conversion.
            let q0 = ((x[j] * id + 8.5) as i8).min(15) as u8;
            let q1 = ((x[j + 16] * id + 8.5) as i8).min(15) as u8;
            b[2 + j] = q0 | (q1 << 4);
        }
    }
}

/// Q4_0 weights · Q8_0 activations: the AVX2 kernel when the CPU has it (bit-identical), else scalar.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q5_0_avx2::vec_dot_q4_0(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q4_0_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

/// Q4_0 weights · Q8_0 activations (`ggml_vec_dot_q4_0_q8_0`), the scalar reference.
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        let mut sumi = 0i32;
        for j in 0..16 {
            let q = x[2 + j];
            sumi += ((q & 0xF) as i32 - 8) * y[2 + j] as i8 as i32;
            sumi += ((q >> 4) as i32 - 8) * y[2 + j + 16] as i8 as i32;
        }
        sumf += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q4_0);
    }

    #[test]
    fn quantize_matches_gguf_py() {
        tu::check_quantize_testdata(GgmlType::Q4_0);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q4_0);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        // Step amax/8, so at most half a step plus the edge level (−8 only on one side): amax/8.
        tu::check_round_trip(GgmlType::Q4_0, 1.0 / 8.0 + 2e-3);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q4_0);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q4_0, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q5_0_avx2::vec_dot_q4_0(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q4_0,
            &[0],
            super::vec_dot_scalar,
            super::super::q4_0_neon::vec_dot,
        );
    }
}
