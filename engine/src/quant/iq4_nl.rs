//! IQ4_NL: blocks of 32, `{ f16 d; u8 qs[16] }`, x = d·kvalues[q] on the non-linear 16-level grid
//! (element j low nibble of byte j, element j+16 high nibble). Dots against Q8_0.

use super::common::{f16_at, put_f16, whole_blocks};
use super::iq4_search::{search, KVALUES_IQ4NL};
use super::{q8_0, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 18;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ4_NL,
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
            y[j] = d * KVALUES_IQ4NL[(q & 0xF) as usize] as f32;
            y[j + 16] = d * KVALUES_IQ4NL[(q >> 4) as usize] as f32;
        }
    }
}

/// `quantize_row_iq4_nl_ref`: one weighted least-squares scale per block.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let s = search(x, -1);
        put_f16(b, 0, s.d);
        for j in 0..16 {
            b[2 + j] = s.levels[j] | (s.levels[j + 16] << 4);
        }
    }
}

/// IQ4_NL weights · Q8_0 activations (`ggml_vec_dot_iq4_nl_q8_0`).
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
            sumi += y[2 + j] as i8 as i32 * KVALUES_IQ4NL[(q & 0xF) as usize] as i32;
            sumi += y[2 + j + 16] as i8 as i32 * KVALUES_IQ4NL[(q >> 4) as usize] as i32;
        }
        sumf += (f16_at(x, 0) * f16_at(y, 0)) * sumi as f32;
    }
    sumf
}

/// The dot kernel the table exposes: the AVX2 one where the CPU has it, else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::iq4_nl_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::iq4_nl_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::IQ4_NL);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::IQ4_NL);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::IQ4_NL, 0.12);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::IQ4_NL);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::IQ4_NL, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::iq4_nl_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::IQ4_NL,
            &[0],
            super::vec_dot_scalar,
            super::super::iq4_nl_neon::vec_dot,
        );
    }
}
