//! Dot products with the accumulation order of llama.cpp's AVX2 kernels, where that order shows
//! in the logits. ggml's Q8_0·Q8_0 keeps eight f32 lanes (lane l = the integer sum of products
//! 4l..4l+3 of each block, fused-multiply-added with the block scale) and sums them as a tree at
//! the end; summing block by block instead changes last bits that later roundings amplify.

use crate::gguf::GgmlType;
use crate::quant;
use half::f16;

/// The `vec_dot` to use for weights of `ty`.
pub fn vec_dot_for(ty: GgmlType) -> Option<fn(usize, &[u8], &[u8]) -> f32> {
    match ty {
        GgmlType::Q8_0 => Some(q8_0_dot()),
        GgmlType::Q5_0 => Some(q5_0_dot()),
        _ => Some(quant::kernels(ty)?.vec_dot),
    }
}

#[inline]
fn half(b: &[u8]) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()
}

/// `hsum_float_8`: (x[i] + x[i+4]), then pairs (0+2, 1+3), then the two.
#[inline]
pub fn hsum8(x: &[f32; 8]) -> f32 {
    let r = [x[0] + x[4], x[1] + x[5], x[2] + x[6], x[3] + x[7]];
    let s = [r[0] + r[2], r[1] + r[3]];
    s[0] + s[1]
}

fn dot_q8_0_q8_0(n: usize, w: &[u8], a: &[u8]) -> f32 {
    const TS: usize = 34;
    let mut acc = [0f32; 8];
    for (x, y) in w.chunks_exact(TS).zip(a.chunks_exact(TS)).take(n / 32) {
        let d = half(x) * half(y);
        for (l, lane) in acc.iter_mut().enumerate() {
            let mut s = 0i32;
            for i in 4 * l..4 * l + 4 {
                s += x[2 + i] as i8 as i32 * y[2 + i] as i8 as i32;
            }
            *lane = d.mul_add(s as f32, *lane);
        }
    }
    hsum8(&acc)
}

/// ggml's AVX2 Q5_0·Q8_0 (and llamafile's tinyBLAS_Q0_AVX): the same eight lanes as Q8_0.
fn dot_q5_0_q8_0(n: usize, w: &[u8], a: &[u8]) -> f32 {
    const TS: usize = 22;
    let mut acc = [0f32; 8];
    for (x, y) in w.chunks_exact(TS).zip(a.chunks_exact(34)).take(n / 32) {
        let d = half(x) * half(y);
        let q = quant::q5_0::unpack5(x, 2);
        for (l, lane) in acc.iter_mut().enumerate() {
            let mut s = 0i32;
            for i in 4 * l..4 * l + 4 {
                s += (q[i] as i32 - 16) * y[2 + i] as i8 as i32;
            }
            *lane = d.mul_add(s as f32, *lane);
        }
    }
    hsum8(&acc)
}

/// Q5_0 · Q8_0: the AVX2 version when the CPU has it (same lanes and order, so the same bits), else scalar.
fn q5_0_dot() -> fn(usize, &[u8], &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return dot_q5_0_q8_0_avx2_entry;
        }
    }
    dot_q5_0_q8_0
}

#[cfg(target_arch = "x86_64")]
fn dot_q5_0_q8_0_avx2_entry(n: usize, w: &[u8], a: &[u8]) -> f32 {
    let nb = (n / 32).min(w.len() / 22).min(a.len() / 34);
    // SAFETY: selected only after runtime detection of AVX2 and FMA; reads stay within `nb` blocks.
    unsafe { dot_q5_0_q8_0_avx2(nb, w, a) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_q5_0_q8_0_avx2(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    use crate::quant::q5_0_avx2::{bytes_from_bits, nibbles32};
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    let ones = _mm256_set1_epi16(1);
    for ib in 0..nb {
        let (x, y) = (&w[ib * 22..ib * 22 + 22], &a[ib * 34..ib * 34 + 34]);
        let d = _mm256_set1_ps(half(x) * half(y));
        // 32 signed values q - 16 in element order: bit 4 clear makes the byte negative.
        let qh = u32::from_le_bytes([x[2], x[3], x[4], x[5]]);
        let hi = _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(0xF0u8 as i8));
        let qx = _mm256_or_si256(nibbles32(&x[6..]), hi);
        let qy = _mm256_loadu_si256(y[2..].as_ptr() as *const __m256i);
        let ax = _mm256_sign_epi8(qx, qx);
        let sy = _mm256_sign_epi8(qy, qx);
        let dot32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), ones);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot32), acc);
    }
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    hsum8(&lanes)
}

/// The AVX2 version when the CPU has it (same lanes and order, so the same result), else scalar.
fn q8_0_dot() -> fn(usize, &[u8], &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return dot_q8_0_q8_0_avx2_entry;
        }
    }
    dot_q8_0_q8_0
}

#[cfg(target_arch = "x86_64")]
fn dot_q8_0_q8_0_avx2_entry(n: usize, w: &[u8], a: &[u8]) -> f32 {
    let nb = (n / 32).min(w.len() / 34).min(a.len() / 34);
    // SAFETY: selected only after runtime detection of AVX2 and FMA; reads stay within `nb` blocks.
    unsafe { dot_q8_0_q8_0_avx2(nb, w, a) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_q8_0_q8_0_avx2(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    let ones = _mm256_set1_epi16(1);
    for ib in 0..nb {
        let (x, y) = (&w[ib * 34..ib * 34 + 34], &a[ib * 34..ib * 34 + 34]);
        let d = _mm256_set1_ps(half(x) * half(y));
        let qx = _mm256_loadu_si256(x[2..].as_ptr() as *const __m256i);
        let qy = _mm256_loadu_si256(y[2..].as_ptr() as *const __m256i);
        // mul_sum_i8_pairs_float: |x| * sign(y, x), pairwise to i16, then to i32 lanes of 4 products.
        let ax = _mm256_sign_epi8(qx, qx);
        let sy = _mm256_sign_epi8(qy, qx);
        let dot16 = _mm256_maddubs_epi16(ax, sy);
        let dot32 = _mm256_madd_epi16(dot16, ones);
        let q = _mm256_cvtepi32_ps(dot32);
        acc = _mm256_fmadd_ps(d, q, acc);
    }
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    hsum8(&lanes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_q5_0_matches_scalar_bit_for_bit() {
        let nb = 9;
        let mut w = vec![0u8; 22 * nb];
        let mut a = vec![0u8; 34 * nb];
        for b in 0..nb {
            w[b * 22..b * 22 + 2].copy_from_slice(
                &f16::from_f32(0.013 * (b + 1) as f32)
                    .to_bits()
                    .to_le_bytes(),
            );
            a[b * 34..b * 34 + 2]
                .copy_from_slice(&f16::from_f32(0.29 / (b + 1) as f32).to_bits().to_le_bytes());
            for i in 2..22 {
                w[b * 22 + i] = ((i * 53 + b * 29 + 5) % 256) as u8;
            }
            // Q8_0 activations stay within -127..=127 (the quantizer never writes -128).
            for i in 0..32 {
                a[b * 34 + 2 + i] = (((i * 91 + b * 7 + 3) % 255) as i32 - 127) as i8 as u8;
            }
        }
        assert_eq!(
            q5_0_dot()(32 * nb, &w, &a).to_bits(),
            dot_q5_0_q8_0(32 * nb, &w, &a).to_bits()
        );
    }

    #[test]
    fn avx2_q8_0_matches_scalar_bit_for_bit() {
        let n = 32 * 7;
        let mut w = vec![0u8; 34 * 7];
        let mut a = vec![0u8; 34 * 7];
        for b in 0..7 {
            w[b * 34..b * 34 + 2]
                .copy_from_slice(&f16::from_f32(0.01 * (b + 1) as f32).to_bits().to_le_bytes());
            a[b * 34..b * 34 + 2]
                .copy_from_slice(&f16::from_f32(0.3 / (b + 1) as f32).to_bits().to_le_bytes());
            for i in 0..32 {
                w[b * 34 + 2 + i] = ((i * 37 + b * 11) % 255) as u8;
                a[b * 34 + 2 + i] = ((i * 91 + b * 7 + 3) % 255) as u8;
            }
        }
        assert_eq!(
            q8_0_dot()(n, &w, &a).to_bits(),
            dot_q8_0_q8_0(n, &w, &a).to_bits()
        );
    }
}
