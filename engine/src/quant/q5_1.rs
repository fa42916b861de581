//! Q5_1: blocks of 32, `{ f16 d; f16 m; u8 qh[4]; u8 qs[16] }`, x = d·q + m with 5-bit q packed
//! as in Q5_0. Dots against Q8_1.

use super::common::{f16_at, put_f16, whole_blocks};
use super::q5_0::{pack5, unpack5};
use super::{q8_1, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 24;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q5_1,
    dot_type: GgmlType::Q8_1,
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
        let (d, m) = (f16_at(b, 0), f16_at(b, 2));
        for (y, q) in y.iter_mut().zip(unpack5(b, 4)) {
            *y = q as f32 * d + m;
        }
    }
}

/// `quantize_row_q5_1_ref`: d = (max − min)/31, m = min.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        put_f16(b, 2, min);
        // C: (uint8_t)((x − min)·id + 0.5f), no clamp (the value cannot exceed 31.5).
        let l: [u8; 32] = std::array::from_fn(|j| ((x[j] - min) * id + 0.5) as u8);
        pack5(&l, b, 4);
    }
}

/// Q5_1 weights · Q8_1 activations (`ggml_vec_dot_q5_1_q8_1`).
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_1::TYPE_SIZE))
        .take(nb)
    {
        let q = unpack5(x, 4);
        let sumi: i32 = q
            .iter()
            .zip(&y[4..])
            .map(|(&q, &a)| q as i32 * a as i8 as i32)
            .sum();
        sumf += (f16_at(x, 0) * f16_at(y, 0)) * sumi as f32 + f16_at(x, 2) * f16_at(y, 2);
    }
    sumf
}

/// The dot kernel the table exposes: the AVX2 one where the CPU has it, else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q5_1_avx2::vec_dot(n, weights, activations) };
    }
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q5_1);
    }

    #[test]
    fn quantize_matches_gguf_py() {
        tu::check_quantize_testdata(GgmlType::Q5_1);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        // The f16 rounding of the activations' s field is allowed for in test_util.
        tu::check_vec_dot(GgmlType::Q5_1);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q5_1, 2.0 / 62.0 + 4e-3);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q5_1);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q5_1, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q5_1_avx2::vec_dot(n, w, a) }
        });
    }
}
