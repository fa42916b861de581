//! F16: IEEE half floats. Dot type F16: ggml rounds activations to half (nearest even) and accumulates in f32.

use super::Kernels;
use crate::gguf::GgmlType;
use half::f16;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::F16,
    dot_type: GgmlType::F16,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

#[inline]
fn read(b: &[u8], i: usize) -> f32 {
    super::common::f16_bits_to_f32(u16::from_le_bytes([b[2 * i], b[2 * i + 1]]))
}

fn dequantize(src: &[u8], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::f16_avx2::available() {
        // SAFETY: AVX2 and F16C were detected at run time.
        return unsafe { super::f16_avx2::dequantize(src, dst) };
    }
    dequantize_scalar(src, dst)
}

fn dequantize_scalar(src: &[u8], dst: &mut [f32]) {
    for (i, d) in dst.iter_mut().enumerate() {
        *d = read(src, i);
    }
}

fn quantize(src: &[f32], dst: &mut [u8]) {
    for (s, d) in src.iter().zip(dst.chunks_exact_mut(2)) {
        d.copy_from_slice(&f16::from_f32(*s).to_bits().to_le_bytes());
    }
}

fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if super::f16_avx2::available() {
        // SAFETY: AVX2 and F16C were detected at run time.
        return unsafe { super::f16_avx2::vec_dot(n, weights, activations) };
    }
    vec_dot_scalar(n, weights, activations)
}

fn vec_dot_scalar(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    const CHUNK: usize = 64;
    let mut wf = [0f32; CHUNK];
    let mut af = [0f32; CHUNK];
    let mut acc = [0f32; 8];
    let mut i = 0;
    while i < n {
        let len = CHUNK.min(n - i);
        for j in 0..len {
            wf[j] = read(weights, i + j);
            af[j] = read(activations, i + j);
        }
        let full = len / 8 * 8;
        for k in (0..full).step_by(8) {
            for (l, a) in acc.iter_mut().enumerate() {
                *a += wf[k + l] * af[k + l];
            }
        }
        for k in full..len {
            acc[0] += wf[k] * af[k];
        }
        i += len;
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_half_and_dots() {
        let x: Vec<f32> = (0..70).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut b = vec![0u8; 140];
        quantize(&x, &mut b);
        let mut y = vec![0f32; 70];
        dequantize(&b, &mut y);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() <= a.abs() * 1e-3 + 1e-7);
        }
        let expect: f32 = y.iter().map(|v| v * v).sum();
        assert!((vec_dot(70, &b, &b) - expect).abs() < 1e-4);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernels_are_bit_identical_to_scalar() {
        if !super::super::f16_avx2::available() {
            eprintln!("skipped: no AVX2/F16C on this CPU");
            return;
        }
        for n in [1usize, 7, 8, 64, 70, 128, 200, 256] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
            let y: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos() - 0.2).collect();
            let (mut bx, mut by) = (vec![0u8; 2 * n], vec![0u8; 2 * n]);
            quantize(&x, &mut bx);
            quantize(&y, &mut by);
            let s = vec_dot_scalar(n, &bx, &by);
            // SAFETY: AVX2 and F16C were detected above.
            let v = unsafe { super::super::f16_avx2::vec_dot(n, &bx, &by) };
            assert_eq!(s.to_bits(), v.to_bits(), "n={n}: {s} vs {v}");
            let (mut ds, mut dv) = (vec![0f32; n], vec![0f32; n]);
            dequantize_scalar(&bx, &mut ds);
            // SAFETY: as above.
            unsafe { super::super::f16_avx2::dequantize(&bx, &mut dv) };
            assert_eq!(ds, dv);
        }
    }
}
