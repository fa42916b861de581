//! Q3_K: super-blocks of 256 = 16 groups of 16, `{ u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }`.
//! x = d·(s_g − 32)·(q − 4) with 3-bit q (2 low bits in `qs`, the high bit in `hmask`) and 6-bit
//! group scales s_g packed in `scales`. Dots against Q8_K.

use super::common::{f16_at, nearest_int, put_f16, whole_blocks, QK_K};
use super::kquant_search::make_q3_quants;
use super::{q8_k, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 110;
pub(super) const HMASK: usize = 0;
pub(super) const QS: usize = 32;
pub(super) const SCALES: usize = 96;
pub(super) const D: usize = 108;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q3_K,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// Signed scale of group g (s_g − 32): low 4 bits in scales[g % 8] (nibble g / 8), high 2 bits in
/// scales[8 + g % 4] at bit 2·(g / 4).
#[inline(always)]
pub(super) fn group_scale(s: &[u8], g: usize) -> i32 {
    let low = if g < 8 { s[g] & 0xF } else { s[g - 8] >> 4 };
    let high = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
    (low | (high << 4)) as i32 - 32
}

/// The 256 signed quants (q − 4) in element order: element 128n + 32j + l has its low bits at
/// bits 2j of qs[32n + l] and its high bit at bit 4n + j of hmask[l].
#[inline(always)]
fn unpack(b: &[u8], out: &mut [i8; QK_K]) {
    for (e, o) in out.iter_mut().enumerate() {
        let (n, j, l) = (e / 128, (e % 128) / 32, e % 32);
        let low = ((b[QS + 32 * n + l] >> (2 * j)) & 3) as i8;
        let high_set = b[HMASK + l] & (1 << (4 * n + j)) != 0;
        *o = low - if high_set { 0 } else { 4 };
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
        let d_all = f16_at(b, D);
        unpack(b, &mut q);
        for (g, (y, q)) in y.chunks_exact_mut(16).zip(q.chunks_exact(16)).enumerate() {
            let dl = d_all * group_scale(&b[SCALES..], g) as f32;
            for (y, &q) in y.iter_mut().zip(q) {
                *y = dl * q as f32;
            }
        }
    }
}

/// `quantize_row_q3_K_ref`.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let mut l = [0i8; QK_K];
        let mut scales = [0f32; 16];
        let (mut max_scale, mut amax) = (0f32, 0f32);
        for j in 0..16 {
            scales[j] = make_q3_quants(
                4,
                &x[16 * j..16 * j + 16],
                &mut l[16 * j..16 * j + 16],
                true,
            );
            if scales[j].abs() > amax {
                amax = scales[j].abs();
                max_scale = scales[j];
            }
        }
        b[SCALES..SCALES + 12].fill(0);
        if max_scale != 0.0 {
            let iscale = -32.0 / max_scale;
            for j in 0..16 {
                // C: int8_t l = nearest_int(..); l = MAX(-32, MIN(31, l)) + 32;
                let lj = ((nearest_int(iscale * scales[j]) as i8).clamp(-32, 31) + 32) as u8;
                if j < 8 {
                    b[SCALES + j] = lj & 0xF;
                } else {
                    b[SCALES + j - 8] |= (lj & 0xF) << 4;
                }
                b[SCALES + 8 + j % 4] |= (lj >> 4) << (2 * (j / 4));
            }
            put_f16(b, D, 1.0 / iscale);
        } else {
            put_f16(b, D, 0.0);
        }
        let d_all = f16_at(b, D);
        for j in 0..16 {
            let d = d_all * group_scale(&b[SCALES..], j) as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-4, 3) + 4) as i8;
            }
        }
        b[HMASK..HMASK + 32].fill(0);
        for (e, le) in l.iter_mut().enumerate() {
            if *le > 3 {
                b[HMASK + e % 32] |= 1 << (e / 32);
                *le -= 4;
            }
        }
        for n in 0..2 {
            for i in 0..32 {
                let e = 128 * n + i;
                let q = |k: usize| l[e + 32 * k] as u8;
                b[QS + 32 * n + i] = q(0) | (q(1) << 2) | (q(2) << 4) | (q(3) << 6);
            }
        }
    }
}

/// Q3_K weights · Q8_K activations (`ggml_vec_dot_q3_K_q8_K`).
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
        for g in 0..16 {
            let s: i32 = (16 * g..16 * g + 16)
                .map(|e| q[e] as i32 * q8[e] as i32)
                .sum();
            sumi += group_scale(&x[SCALES..], g) * s;
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
        return unsafe { super::q3_k_avx512::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q3_k_avx2::vec_dot(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q3_k_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use crate::gguf::GgmlType;

    #[test]
    fn dequantize_matches_gguf_py() {
        tu::check_dequantize_testdata(GgmlType::Q3_K);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q3_K);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q3_K, 0.3);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q3_K);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q3_K, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q3_k_avx2::vec_dot(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_kernel_matches_avx2_bit_for_bit() {
        tu::check_avx512_identical(
            GgmlType::Q3_K,
            &[108],
            super::super::q3_k_avx2::vec_dot,
            super::super::q3_k_avx512::vec_dot,
        );
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q3_K,
            &[108],
            super::vec_dot_scalar,
            super::super::q3_k_neon::vec_dot,
        );
    }
}
