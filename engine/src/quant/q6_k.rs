//! Q6_K: super-blocks of 256 = 16 sub-blocks of 16, `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`.
//! x = d·scale_j·(q − 32) with 6-bit q (low 4 bits in `ql`, high 2 in `qh`). Dots against Q8_K.

use super::common::{f16_at, nearest_int, put_f16, whole_blocks, QK_K};
use super::kquant_search::make_qx_quants;
use super::{q8_k, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 210;
pub(super) const QL: usize = 0;
pub(super) const QH: usize = 128;
pub(super) const SCALES: usize = 192;
pub(super) const D: usize = 208;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q6_K,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// The 256 signed 6-bit quants (q − 32) of one block, in element order.
#[inline(always)]
fn unpack(b: &[u8], out: &mut [i8; QK_K]) {
    for half in 0..2 {
        let ql = &b[QL + 64 * half..QL + 64 * half + 64];
        let qh = &b[QH + 32 * half..QH + 32 * half + 32];
        let o = &mut out[128 * half..128 * half + 128];
        for l in 0..32 {
            o[l] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i8 - 32;
            o[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
            o[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
            o[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
        }
    }
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    let mut q = [0i8; QK_K];
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = f16_at(b, D);
        unpack(b, &mut q);
        for (i, y) in y.iter_mut().enumerate() {
            // Same association as ggml: (d·scale)·q.
            *y = d * b[SCALES + i / 16] as i8 as f32 * q[i] as f32;
        }
    }
}

/// `quantize_row_q6_K_ref`.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let mut l = [0i8; QK_K];
        let mut scales = [0f32; 16];
        let (mut max_scale, mut max_abs_scale) = (0f32, 0f32);
        for ib in 0..16 {
            let scale = make_qx_quants(
                32,
                &x[16 * ib..16 * ib + 16],
                &mut l[16 * ib..16 * ib + 16],
                1,
                None,
            );
            scales[ib] = scale;
            if scale.abs() > max_abs_scale {
                max_abs_scale = scale.abs();
                max_scale = scale;
            }
        }
        if max_abs_scale < 1e-15 {
            b.fill(0);
            continue;
        }
        let iscale = -128.0 / max_scale;
        put_f16(b, D, 1.0 / iscale);
        for ib in 0..16 {
            // MIN(127, nearest_int(..)) stored into an int8_t.
            b[SCALES + ib] = nearest_int(iscale * scales[ib]).min(127) as i8 as u8;
        }
        let d_all = f16_at(b, D);
        for j in 0..16 {
            let d = d_all * b[SCALES + j] as i8 as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-32, 31) + 32) as i8;
            }
        }
        for half in 0..2 {
            let lh = &l[128 * half..128 * half + 128];
            for i in 0..32 {
                let q = |k: usize| lh[i + 32 * k] as u8;
                b[QL + 64 * half + i] = (q(0) & 0xF) | ((q(2) & 0xF) << 4);
                b[QL + 64 * half + i + 32] = (q(1) & 0xF) | ((q(3) & 0xF) << 4);
                b[QH + 32 * half + i] =
                    (q(0) >> 4) | ((q(1) >> 4) << 2) | ((q(2) >> 4) << 4) | ((q(3) >> 4) << 6);
            }
        }
    }
}

/// Q6_K weights · Q8_K activations (`ggml_vec_dot_q6_K_q8_K`).
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    let mut q = [0i8; QK_K];
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
    {
        unpack(x, &mut q);
        let q8 = q8_k::qs(y);
        let mut sumi = 0i32;
        for j in 0..16 {
            let s: i32 = (16 * j..16 * j + 16)
                .map(|i| q[i] as i32 * q8[i] as i32)
                .sum();
            sumi += x[SCALES + j] as i8 as i32 * s;
        }
        sumf += f16_at(x, D) * q8_k::d(y) * sumi as f32;
    }
    sumf
}

/// The dot kernel the table exposes: the AVX-512 or AVX2 one where the CPU has it (the same bits
/// as each other), else the scalar reference.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
        return unsafe { super::q6_k_avx512::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q6_k_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q6_k_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q6_K);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q6_K);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q6_K, 0.03);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q6_K);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q6_K, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q6_k_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_kernel_matches_avx2_bit_for_bit() {
        tu::check_avx512_identical(
            GgmlType::Q6_K,
            &[208],
            super::super::q6_k_avx2::vec_dot,
            super::super::q6_k_avx512::vec_dot,
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q6_K,
            &[208],
            super::vec_dot_scalar,
            super::super::q6_k_neon::vec_dot,
        );
    }
}
