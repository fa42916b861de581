//! IQ4_XS: super-blocks of 256 = 8 sub-blocks of 32,
//! `{ f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128] }`, x = d·(s_j − 32)·kvalues[q] with 6-bit
//! sub-block scales s_j (low 4 bits in scales_l, high 2 in scales_h). Dots against Q8_K.

use super::common::{f16_at, put_f16, whole_blocks, QK_K};
use super::iq4_search::search;
/// The 16 non-linear levels the 4-bit codes index (`kvalues_iq4nl`), shared with IQ4_NL.
pub use super::iq4_search::KVALUES_IQ4NL as KVALUES;
use super::{q8_k, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 136;
const SCALES_H: usize = 2;
const SCALES_L: usize = 4;
pub(super) const QS: usize = 8;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::IQ4_XS,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// Signed scale of sub-block `ib` (s − 32).
#[inline(always)]
pub(super) fn sub_scale(b: &[u8], ib: usize) -> i32 {
    let h = u16::from_le_bytes([b[SCALES_H], b[SCALES_H + 1]]);
    let low = (b[SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0xF;
    let high = ((h >> (2 * ib)) & 3) as u8;
    (low | (high << 4)) as i32 - 32
}

/// Level of element `l` (< 32) of sub-block `ib`.
#[inline(always)]
fn level(b: &[u8], ib: usize, l: usize) -> i8 {
    let q = b[QS + 16 * ib + l % 16];
    KVALUES[if l < 16 { q & 0xF } else { q >> 4 } as usize]
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = f16_at(b, 0);
        for (ib, y) in y.chunks_exact_mut(32).enumerate() {
            let dl = d * sub_scale(b, ib) as f32;
            for (l, y) in y.iter_mut().enumerate() {
                *y = dl * level(b, ib, l) as f32;
            }
        }
    }
}

/// `quantize_row_iq4_xs_ref` (ggml's `quantize_iq4_xs` without an importance matrix).
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let s = search(x, 7);
        put_f16(b, 0, s.d);
        let mut h = 0u16;
        b[SCALES_L..SCALES_L + 4].fill(0);
        for ib in 0..8 {
            let code = s.scale_codes[ib];
            b[SCALES_L + ib / 2] |= (code & 0xF) << (4 * (ib % 2));
            h |= ((code >> 4) as u16) << (2 * ib);
        }
        b[SCALES_H..SCALES_H + 2].copy_from_slice(&h.to_le_bytes());
        for ib in 0..8 {
            for j in 0..16 {
                b[QS + 16 * ib + j] = s.levels[32 * ib + j] | (s.levels[32 * ib + 16 + j] << 4);
            }
        }
    }
}

/// IQ4_XS weights · Q8_K activations (`ggml_vec_dot_iq4_xs_q8_K`).
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let q8 = q8_k::qs(y);
        let d4d8 = f16_at(x, 0) * q8_k::d(y);
        for ib in 0..8 {
            let s: i32 = (0..32)
                .map(|l| level(x, ib, l) as i32 * q8[32 * ib + l] as i32)
                .sum();
            sumf += d4d8 * sub_scale(x, ib) as f32 * s as f32;
        }
    }
    sumf
}

/// The dot kernel the table exposes: the AVX-512 or AVX2 one where the CPU has it (the same bits
/// as each other), else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
        return unsafe { super::iq4_xs_avx512::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::iq4_xs_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::iq4_xs_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::IQ4_XS);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::IQ4_XS);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::IQ4_XS, 0.15);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::IQ4_XS);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::IQ4_XS, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::iq4_xs_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_kernel_matches_avx2_bit_for_bit() {
        tu::check_avx512_identical(
            GgmlType::IQ4_XS,
            &[0],
            super::super::iq4_xs_avx2::vec_dot,
            super::super::iq4_xs_avx512::vec_dot,
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::IQ4_XS,
            &[0],
            super::vec_dot_scalar,
            super::super::iq4_xs_neon::vec_dot,
        );
    }
}
