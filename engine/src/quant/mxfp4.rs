//! MXFP4 (OCP microscaling FP4): blocks of 32, `{ u8 e; u8 qs[16] }`. Each 4-bit code is an E2M1
//! value; ggml stores them doubled as integers (`kvalues_mxfp4`) and halves the E8M0 scale to
//! compensate: x = kvalues[q]·2^(e−128). Dots against Q8_0.

use super::common::{f16_at, whole_blocks};
use super::{q8_0, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 17;

/// `kvalues_mxfp4`: E2M1 values ×2 (0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives).
pub const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::MXFP4,
    dot_type: GgmlType::Q8_0,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// `GGML_E8M0_TO_FP32_HALF`: 2^(e−127)/2, built from bits (e < 2 gives the subnormals).
#[inline(always)]
pub fn e8m0_to_f32_half(e: u8) -> f32 {
    let bits = if e < 2 {
        0x0020_0000u32 << e
    } else {
        (e as u32 - 1) << 23
    };
    f32::from_bits(bits)
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = e8m0_to_f32_half(b[0]);
        for (j, &q) in b[1..].iter().enumerate() {
            y[j] = KVALUES_MXFP4[(q & 0xF) as usize] as f32 * d;
            y[j + 16] = KVALUES_MXFP4[(q >> 4) as usize] as f32 * d;
        }
    }
}

/// Nearest code to `x` at scale `d`; the first (lowest index) wins ties, as in `best_index_mxfp4`.
fn best_index(x: f32, d: f32) -> u8 {
    let mut best = 0;
    let mut best_err = (KVALUES_MXFP4[0] as f32 * d - x).abs();
    for (i, &k) in KVALUES_MXFP4.iter().enumerate().skip(1) {
        let err = (k as f32 * d - x).abs();
        if err < best_err {
            best = i;
            best_err = err;
        }
    }
    best as u8
}

/// `quantize_row_mxfp4_ref`: e = floor(log2(amax)) − 2 + 127, so the largest magnitude lands
/// near the top code (6 = 12/2).
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let amax = x
            .iter()
            .fold(0f32, |m, v| if m < v.abs() { v.abs() } else { m });
        // The float→u8 conversion saturates: amax below 2^−125 gets e = 0 (C leaves this undefined).
        let e = if amax > 0.0 {
            (amax.log2().floor() - 2.0 + 127.0) as u8
        } else {
            0
        };
        let d = e8m0_to_f32_half(e);
        b[0] = e;
        for j in 0..16 {
            b[1 + j] = best_index(x[j], d) | (best_index(x[j + 16], d) << 4);
        }
    }
}

/// MXFP4 weights · Q8_0 activations (`ggml_vec_dot_mxfp4_q8_0`).
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
            let q = x[1 + j];
            sumi += y[2 + j] as i8 as i32 * KVALUES_MXFP4[(q & 0xF) as usize] as i32;
            sumi += y[2 + j + 16] as i8 as i32 * KVALUES_MXFP4[(q >> 4) as usize] as i32;
        }
        sumf += f16_at(y, 0) * e8m0_to_f32_half(x[0]) * sumi as f32;
    }
    sumf
}

/// The dot kernel the table exposes: the AVX2 one where the CPU has it, else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::mxfp4_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::mxfp4_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use super::*;

    #[test]
    fn e8m0_half_is_two_to_the_e_minus_128() {
        for e in 0..=254u8 {
            assert_eq!(
                e8m0_to_f32_half(e) as f64,
                2f64.powi(e as i32 - 128),
                "e = {e}"
            );
        }
    }

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::MXFP4);
    }

    #[test]
    fn quantize_matches_gguf_py() {
        tu::check_quantize_testdata(GgmlType::MXFP4);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::MXFP4);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        // With 2^f ≤ amax < 2^(f+1) the grid is {0 … 6}·2^(f−2): the top code 1.5·2^f clips
        // amax by up to 0.5·2^f, and the steps near the top (2^(f−1)) err by half that: ≤ amax/4.
        tu::check_round_trip(GgmlType::MXFP4, 0.25 + 1e-6);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::MXFP4);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::MXFP4, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::mxfp4_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::MXFP4,
            &[],
            super::vec_dot_scalar,
            super::super::mxfp4_neon::vec_dot,
        );
    }
}
