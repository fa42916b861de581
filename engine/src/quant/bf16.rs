//! BF16: the top half of an f32. Dot type BF16: activations rounded to bf16 (nearest even, as ggml), f32 sums.

use super::Kernels;
use crate::gguf::GgmlType;
use half::bf16;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::BF16,
    dot_type: GgmlType::BF16,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

#[inline]
fn read(b: &[u8], i: usize) -> f32 {
    f32::from_bits((u16::from_le_bytes([b[2 * i], b[2 * i + 1]]) as u32) << 16)
}

fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (i, d) in dst.iter_mut().enumerate() {
        *d = read(src, i);
    }
}

fn quantize(src: &[f32], dst: &mut [u8]) {
    for (s, d) in src.iter().zip(dst.chunks_exact_mut(2)) {
        d.copy_from_slice(&bf16::from_f32(*s).to_bits().to_le_bytes());
    }
}

fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let mut acc = [0f32; 8];
    let full = n / 8 * 8;
    for i in (0..full).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += read(weights, i + l) * read(activations, i + l);
        }
    }
    for i in full..n {
        acc[0] += read(weights, i) * read(activations, i);
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_nearest_even_and_dots() {
        // 1 + 2^-8 exactly halfway between two bf16 values: ties to even (1.0).
        let mut b = [0u8; 2];
        quantize(&[1.0 + 1.0 / 256.0], &mut b);
        assert_eq!(read(&b, 0), 1.0);
        let x: Vec<f32> = (0..13).map(|i| i as f32 - 6.0).collect();
        let mut bytes = vec![0u8; 26];
        quantize(&x, &mut bytes);
        let expect: f32 = x.iter().map(|v| v * v).sum();
        assert_eq!(vec_dot(13, &bytes, &bytes), expect);
    }
}
