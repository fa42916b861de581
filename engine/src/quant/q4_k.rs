//! Q4_K: super-blocks of 256 = 8 sub-blocks of 32, `{ f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }`.
//! x = d·sc_j·q − dmin·m_j with 6-bit (sc_j, m_j) packed in `scales` and 4-bit q. Dots against Q8_K.

use super::common::{
    f16_at, nearest_int, pack_scale_min_k4, put_f16, scale_min_k4, whole_blocks, QK_K,
};
use super::kquant_search::make_qkx2_quants;
use super::{q8_k, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 144;
pub(super) const SCALES: usize = 4;
pub(super) const QS: usize = 16;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q4_K,
    dot_type: GgmlType::Q8_K,
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
        let min = f16_at(b, 2);
        let scales = &b[SCALES..SCALES + 12];
        for (chunk, (q, y)) in b[QS..]
            .chunks_exact(32)
            .zip(y.chunks_exact_mut(64))
            .enumerate()
        {
            let (sc1, m1) = scale_min_k4(2 * chunk, scales);
            let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            for l in 0..32 {
                y[l] = d1 * (q[l] & 0xF) as f32 - m1;
                y[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    }
}

/// `quantize_row_q4_K_ref`.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let mut l = [0u8; QK_K];
        let mut scales = [0f32; 8];
        let mut mins = [0f32; 8];
        let (mut max_scale, mut max_min) = (0f32, 0f32);
        for j in 0..8 {
            let xs = &x[32 * j..32 * j + 32];
            let sum_x2: f32 = xs.iter().fold(0.0, |s, v| s + v * v);
            let av_x = (sum_x2 / 32.0).sqrt();
            let weights: [f32; 32] = std::array::from_fn(|i| av_x + xs[i].abs());
            let (scale, min) = make_qkx2_quants(
                15,
                xs,
                &weights,
                &mut l[32 * j..32 * j + 32],
                -1.0,
                0.1,
                20,
                false,
            );
            scales[j] = scale;
            mins[j] = min;
            if scale > max_scale {
                max_scale = scale;
            }
            if min > max_min {
                max_min = min;
            }
        }
        let inv_scale = if max_scale > 0.0 {
            63.0 / max_scale
        } else {
            0.0
        };
        let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
        // C stores nearest_int into a uint8_t before clamping: keep that truncation.
        let ls: [u8; 8] =
            std::array::from_fn(|j| (nearest_int(inv_scale * scales[j]) as u8).min(63));
        let lm: [u8; 8] = std::array::from_fn(|j| (nearest_int(inv_min * mins[j]) as u8).min(63));
        pack_scale_min_k4(&ls, &lm, &mut b[SCALES..SCALES + 12]);
        put_f16(b, 0, max_scale / 63.0);
        put_f16(b, 2, max_min / 63.0);
        let (d_all, dmin_all) = (f16_at(b, 0), f16_at(b, 2));
        for j in 0..8 {
            let (sc, m) = scale_min_k4(j, &b[SCALES..SCALES + 12]);
            let d = d_all * sc as f32;
            if d == 0.0 {
                continue;
            }
            let dm = dmin_all * m as f32;
            for ii in 0..32 {
                l[32 * j + ii] = nearest_int((x[32 * j + ii] + dm) / d).clamp(0, 15) as u8;
            }
        }
        for (chunk, q) in b[QS..].chunks_exact_mut(32).enumerate() {
            for i in 0..32 {
                q[i] = l[64 * chunk + i] | (l[64 * chunk + i + 32] << 4);
            }
        }
    }
}

/// Q4_K weights · Q8_K activations (`ggml_vec_dot_q4_K_q8_K`): integer sums per sub-block, the
/// minimums applied through the activations' 16-element sums.
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        let scales = &x[SCALES..SCALES + 12];
        let q8 = q8_k::qs(y);
        let mut sumi = 0i32;
        let mut summins = 0i32;
        for (chunk, q) in x[QS..].chunks_exact(32).enumerate() {
            let (sc1, m1) = scale_min_k4(2 * chunk, scales);
            let (sc2, m2) = scale_min_k4(2 * chunk + 1, scales);
            let a = &q8[64 * chunk..64 * chunk + 64];
            let (mut lo, mut hi) = (0i32, 0i32);
            for l in 0..32 {
                lo += (q[l] & 0xF) as i32 * a[l] as i32;
                hi += (q[l] >> 4) as i32 * a[l + 32] as i32;
            }
            sumi += sc1 as i32 * lo + sc2 as i32 * hi;
            let s = |j: usize| q8_k::bsum(y, j) as i32;
            summins += m1 as i32 * (s(4 * chunk) + s(4 * chunk + 1))
                + m2 as i32 * (s(4 * chunk + 2) + s(4 * chunk + 3));
        }
        let dy = q8_k::d(y);
        sumf += f16_at(x, 0) * dy * sumi as f32 - f16_at(x, 2) * dy * summins as f32;
    }
    sumf
}

/// The dot kernel the table exposes: the AVX-512 or AVX2 one where the CPU has it, else the scalar
/// reference (all three give the same bits).
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
        return unsafe { super::q4_k_avx512::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q4_k_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q4_k_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q4_K);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q4_K);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        // 4 bits over each sub-block's range: a step is at most (max−min)/15 ≤ 2·amax/15.
        tu::check_round_trip(GgmlType::Q4_K, 0.11);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q4_K);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q4_K, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q4_k_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_kernel_matches_avx2_bit_for_bit() {
        tu::check_avx512_identical(
            GgmlType::Q4_K,
            &[0, 2],
            super::super::q4_k_avx2::vec_dot,
            super::super::q4_k_avx512::vec_dot,
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q4_K,
            &[0, 2],
            super::vec_dot_scalar,
            super::super::q4_k_neon::vec_dot,
        );
    }
}
