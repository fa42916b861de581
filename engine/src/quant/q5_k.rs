//! Q5_K: super-blocks of 256 = 8 sub-blocks of 32,
//! `{ f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }`. x = d·sc_j·q − dmin·m_j with 5-bit q
//! (low 4 bits as in Q4_K, the fifth in `qh`) and the Q4_K scale packing. Dots against Q8_K.

use super::common::{
    f16_at, nearest_int, pack_scale_min_k4, put_f16, scale_min_k4, whole_blocks, QK_K,
};
use super::kquant_search::make_qkx2_quants;
use super::{q8_k, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 176;
pub(super) const SCALES: usize = 4;
pub(super) const QH: usize = 16;
pub(super) const QS: usize = 48;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q5_K,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// The 256 unsigned 5-bit quants: element 64c + l (l < 32) is the low nibble of qs[32c + l] plus
/// 16 if bit 2c of qh[l] is set; element 64c + 32 + l the high nibble, bit 2c + 1.
#[inline(always)]
fn unpack(b: &[u8], out: &mut [u8; QK_K]) {
    for c in 0..4 {
        for l in 0..32 {
            let (q, h) = (b[QS + 32 * c + l], b[QH + l]);
            out[64 * c + l] = (q & 0xF) | (((h >> (2 * c)) & 1) << 4);
            out[64 * c + 32 + l] = (q >> 4) | (((h >> (2 * c + 1)) & 1) << 4);
        }
    }
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    let mut q = [0u8; QK_K];
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let (d, min) = (f16_at(b, 0), f16_at(b, 2));
        unpack(b, &mut q);
        for (j, (y, q)) in y.chunks_exact_mut(32).zip(q.chunks_exact(32)).enumerate() {
            let (sc, m) = scale_min_k4(j, &b[SCALES..SCALES + 12]);
            let (dl, ml) = (d * sc as f32, min * m as f32);
            for (y, &q) in y.iter_mut().zip(q) {
                *y = dl * q as f32 - ml;
            }
        }
    }
}

/// `quantize_row_q5_K_ref`.
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
                31,
                xs,
                &weights,
                &mut l[32 * j..32 * j + 32],
                -0.5,
                0.1,
                15,
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
                l[32 * j + ii] = nearest_int((x[32 * j + ii] + dm) / d).clamp(0, 31) as u8;
            }
        }
        b[QH..QH + 32].fill(0);
        for c in 0..4 {
            for i in 0..32 {
                let (mut l1, mut l2) = (l[64 * c + i], l[64 * c + 32 + i]);
                if l1 > 15 {
                    l1 -= 16;
                    b[QH + i] |= 1 << (2 * c);
                }
                if l2 > 15 {
                    l2 -= 16;
                    b[QH + i] |= 2 << (2 * c);
                }
                b[QS + 32 * c + i] = l1 | (l2 << 4);
            }
        }
    }
}

/// Q5_K weights · Q8_K activations (`ggml_vec_dot_q5_K_q8_K`).
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    let mut q = [0u8; QK_K];
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        unpack(x, &mut q);
        let q8 = q8_k::qs(y);
        let (mut sumi, mut summins) = (0i32, 0i32);
        for j in 0..8 {
            let (sc, m) = scale_min_k4(j, &x[SCALES..SCALES + 12]);
            let s: i32 = (32 * j..32 * j + 32)
                .map(|e| q[e] as i32 * q8[e] as i32)
                .sum();
            sumi += sc as i32 * s;
            summins += m as i32 * (q8_k::bsum(y, 2 * j) as i32 + q8_k::bsum(y, 2 * j + 1) as i32);
        }
        let dy = q8_k::d(y);
        sumf += f16_at(x, 0) * dy * sumi as f32 - f16_at(x, 2) * dy * summins as f32;
    }
    sumf
}

/// The dot kernel the table exposes: the AVX-512 or AVX2 one where the CPU has it (the same bits
/// as each other), else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
        return unsafe { super::q5_k_avx512::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q5_k_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q5_k_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q5_K);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q5_K);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q5_K, 0.06);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q5_K);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q5_K, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q5_k_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_kernel_matches_avx2_bit_for_bit() {
        tu::check_avx512_identical(
            GgmlType::Q5_K,
            &[0, 2],
            super::super::q5_k_avx2::vec_dot,
            super::super::q5_k_avx512::vec_dot,
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q5_K,
            &[0, 2],
            super::vec_dot_scalar,
            super::super::q5_k_neon::vec_dot,
        );
    }
}
