//! F32: plain little-endian floats. Dot type F32 (ggml multiplies F32 weights with F32 activations).

use super::Kernels;
use crate::gguf::GgmlType;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::F32,
    dot_type: GgmlType::F32,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

fn dequantize(src: &[u8], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
        *d = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    }
}

fn quantize(src: &[f32], dst: &mut [u8]) {
    for (s, d) in src.iter().zip(dst.chunks_exact_mut(4)) {
        d.copy_from_slice(&s.to_le_bytes());
    }
}

fn read(b: &[u8], i: usize) -> f32 {
    f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    // Eight partial sums, as ggml's SIMD path keeps several accumulators.
    let mut acc = [0f32; 8];
    let full = n / 8 * 8;
    let mut i = 0;
    while i < full {
        for (j, a) in acc.iter_mut().enumerate() {
            *a += read(weights, i + j) * read(activations, i + j);
        }
        i += 8;
    }
    let mut sum: f32 = acc.iter().sum();
    for j in full..n {
        sum += read(weights, j) * read(activations, j);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_dot() {
        let x: Vec<f32> = (0..19).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut b = vec![0u8; 19 * 4];
        quantize(&x, &mut b);
        let mut y = vec![0f32; 19];
        dequantize(&b, &mut y);
        assert_eq!(x, y);
        let expect: f32 = x.iter().map(|v| v * v).sum();
        assert!((vec_dot(19, &b, &b) - expect).abs() < 1e-4);
    }
}
