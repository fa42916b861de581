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
    f16::from_bits(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f32()
}

fn dequantize(src: &[u8], dst: &mut [f32]) {
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
}
