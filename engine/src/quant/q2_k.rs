//! Q2_K: super-blocks of 256 = 16 groups of 16, `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }`.
//! x = d·(sc_g & 15)·q − dmin·(sc_g >> 4) with 2-bit q. Dots against Q8_K.

use super::common::{f16_at, nearest_int, put_f16, whole_blocks, QK_K};
use super::kquant_search::make_qkx2_quants;
use super::{q8_k, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 84;
pub(super) const SCALES: usize = 0;
pub(super) const QS: usize = 16;
pub(super) const D: usize = 80;
pub(super) const DMIN: usize = 82;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q2_K,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// The 256 2-bit quants in element order: element 128n + 32j + l sits in bits 2j of qs[32n + l].
#[inline(always)]
fn unpack(b: &[u8], out: &mut [u8; QK_K]) {
    for (e, o) in out.iter_mut().enumerate() {
        let (n, j, l) = (e / 128, (e % 128) / 32, e % 32);
        *o = (b[QS + 32 * n + l] >> (2 * j)) & 3;
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
        let (d, min) = (f16_at(b, D), f16_at(b, DMIN));
        unpack(b, &mut q);
        for (g, (y, q)) in y.chunks_exact_mut(16).zip(q.chunks_exact(16)).enumerate() {
            let sc = b[SCALES + g];
            let (dl, ml) = (d * (sc & 0xF) as f32, min * (sc >> 4) as f32);
            for (y, &q) in y.iter_mut().zip(q) {
                *y = dl * q as f32 - ml;
            }
        }
    }
}

/// `quantize_row_q2_K_ref`.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    const Q4SCALE: f32 = 15.0;
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let mut l = [0u8; QK_K];
        let mut scales = [0f32; 16];
        let mut mins = [0f32; 16];
        let (mut max_scale, mut max_min) = (0f32, 0f32);
        for j in 0..16 {
            let xs = &x[16 * j..16 * j + 16];
            let weights: [f32; 16] = std::array::from_fn(|i| xs[i].abs());
            let (scale, min) = make_qkx2_quants(
                3,
                xs,
                &weights,
                &mut l[16 * j..16 * j + 16],
                -0.5,
                0.1,
                15,
                true,
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
        if max_scale > 0.0 {
            let iscale = Q4SCALE / max_scale;
            for j in 0..16 {
                b[SCALES + j] = nearest_int(iscale * scales[j]) as u8;
            }
            put_f16(b, D, max_scale / Q4SCALE);
        } else {
            b[SCALES..SCALES + 16].fill(0);
            put_f16(b, D, 0.0);
        }
        if max_min > 0.0 {
            let iscale = Q4SCALE / max_min;
            for j in 0..16 {
                b[SCALES + j] |= (nearest_int(iscale * mins[j]) << 4) as u8;
            }
            put_f16(b, DMIN, max_min / Q4SCALE);
        } else {
            put_f16(b, DMIN, 0.0);
        }
        let (d_all, dmin_all) = (f16_at(b, D), f16_at(b, DMIN));
        for j in 0..16 {
            let d = d_all * (b[SCALES + j] & 0xF) as f32;
            if d == 0.0 {
                continue;
            }
            let dm = dmin_all * (b[SCALES + j] >> 4) as f32;
            for ii in 0..16 {
                l[16 * j + ii] = nearest_int((x[16 * j + ii] + dm) / d).clamp(0, 3) as u8;
            }
        }
        for n in 0..2 {
            for i in 0..32 {
                let e = 128 * n + i;
                b[QS + 32 * n + i] = l[e] | (l[e + 32] << 2) | (l[e + 64] << 4) | (l[e + 96] << 6);
            }
        }
    }
}

/// Q2_K weights · Q8_K activations (`ggml_vec_dot_q2_K_q8_K`).
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
        let (mut isum, mut summs) = (0i32, 0i32);
        for g in 0..16 {
            let sc = x[SCALES + g];
            summs += q8_k::bsum(y, g) as i32 * (sc >> 4) as i32;
            let s: i32 = (16 * g..16 * g + 16)
                .map(|e| q[e] as i32 * q8[e] as i32)
                .sum();
            isum += (sc & 0xF) as i32 * s;
        }
        let dy = q8_k::d(y);
        sumf += dy * f16_at(x, D) * isum as f32 - dy * f16_at(x, DMIN) * summs as f32;
    }
    sumf
}

/// The dot kernel the table exposes: the AVX-512 or AVX2 one where the CPU has it (the same bits
/// as each other), else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
        return unsafe { super::q2_k_avx512::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q2_k_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q2_k_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q2_K);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q2_K);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q2_K, 0.6);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q2_K);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q2_K, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q2_k_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_kernel_matches_avx2_bit_for_bit() {
        tu::check_avx512_identical(
            GgmlType::Q2_K,
            &[80, 82],
            super::super::q2_k_avx2::vec_dot,
            super::super::q2_k_avx512::vec_dot,
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q2_K,
            &[80, 82],
            super::vec_dot_scalar,
            super::super::q2_k_neon::vec_dot,
        );
    }
}
