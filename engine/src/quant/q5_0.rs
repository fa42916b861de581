//! Q5_0: blocks of 32, `{ f16 d; u8 qh[4]; u8 qs[16] }`, x = d·(q − 16); low 4 bits as in Q4_0,
//! bit 4 of element j in bit j of the little-endian u32 `qh`. Dots against Q8_0.

use super::common::{f16_at, put_f16, whole_blocks};
use super::{q8_0, Kernels};
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 22;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q5_0,
    dot_type: GgmlType::Q8_0,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// The 32 unsigned 5-bit quants of a Q5_0 or Q5_1 block whose `qh` starts at `at`.
#[inline(always)]
pub fn unpack5(b: &[u8], at: usize) -> [u8; 32] {
    let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let qs = &b[at + 4..at + 20];
    std::array::from_fn(|j| {
        let low = if j < 16 { qs[j] & 0xF } else { qs[j - 16] >> 4 };
        low | ((((qh >> j) & 1) as u8) << 4)
    })
}

/// Packs 32 unsigned 5-bit quants at `at` (qh then qs), the inverse of [`unpack5`].
pub fn pack5(l: &[u8; 32], b: &mut [u8], at: usize) {
    let mut qh = 0u32;
    for j in 0..16 {
        b[at + 4 + j] = (l[j] & 0x0F) | ((l[j + 16] & 0x0F) << 4);
        qh |= (((l[j] & 0x10) >> 4) as u32) << j;
        qh |= (((l[j + 16] & 0x10) >> 4) as u32) << (j + 16);
    }
    b[at..at + 4].copy_from_slice(&qh.to_le_bytes());
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = f16_at(b, 0);
        for (y, q) in y.iter_mut().zip(unpack5(b, 2)) {
            *y = (q as i32 - 16) as f32 * d;
        }
    }
}

/// `quantize_row_q5_0_ref`: d = max/−16 where max is the value of largest magnitude.
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
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        // C: MIN(31, (int8_t)(x*id + 16.5f)).
        let l: [u8; 32] = std::array::from_fn(|j| ((x[j] * id + 16.5) as i8).min(31) as u8);
        pack5(&l, b, 2);
    }
}

/// Q5_0 weights · Q8_0 activations: the AVX2 kernel when the CPU has it, else scalar.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2, FMA and F16C were detected at run time.
        return unsafe { super::q5_0_avx2::vec_dot_q5_0(n, weights, activations) };
    }
    #[cfg(target_arch = "aarch64")]
    return super::q5_0_neon::vec_dot(n, weights, activations);
    #[cfg(not(target_arch = "aarch64"))]
    vec_dot_scalar(n, weights, activations)
}

/// Q5_0 weights · Q8_0 activations (`ggml_vec_dot_q5_0_q8_0`), the scalar reference.
pub fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sumf = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(q8_0::TYPE_SIZE))
        .take(nb)
    {
        let q = unpack5(x, 2);
        let sumi: i32 = q
            .iter()
            .zip(&y[2..])
            .map(|(&q, &a)| (q as i32 - 16) * a as i8 as i32)
            .sum();
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
        tu::check_dequantize_testdata(GgmlType::Q5_0);
    }

    #[test]
    fn quantize_matches_gguf_py() {
        tu::check_quantize_testdata(GgmlType::Q5_0);
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q5_0);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q5_0, 1.0 / 16.0 + 2e-3);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q5_0);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel_matches_scalar() {
        tu::check_simd_against_scalar(GgmlType::Q5_0, super::vec_dot_scalar, |n, w, a| {
            // SAFETY: only called after check_simd_against_scalar confirmed AVX2 and FMA.
            unsafe { super::super::q5_0_avx2::vec_dot_q5_0(n, w, a) }
        });
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_matches_scalar_bit_for_bit() {
        tu::check_neon_identical(
            GgmlType::Q5_0,
            &[0],
            super::vec_dot_scalar,
            super::super::q5_0_neon::vec_dot,
        );
    }
}
