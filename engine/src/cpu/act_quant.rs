//! Activation quantizers as llama.cpp's x86 CPU backend runs them (`from_float` of the dot type).
//!
//! For Q8_0 and Q8_1 the AVX path differs from the reference quantizer: it scales by
//! `127 / amax` (not `1 / (amax / 127)`) and rounds ties to even. Those last-bit differences flip
//! activation codes and move logits by up to ~0.06, so activations use these versions.

use crate::gguf::GgmlType;
use crate::quant;
use half::f16;

const QK: usize = 32;

/// The function that converts activation rows to `ty` (a weight's dot type).
pub fn activation_quantizer(ty: GgmlType) -> Option<fn(&[f32], &mut [u8])> {
    match ty {
        GgmlType::Q8_0 => Some(quantize_q8_0_x86),
        GgmlType::Q8_1 => Some(quantize_q8_1_x86),
        _ => quant::kernels(ty)?.quantize,
    }
}

fn scale_and_codes(x: &[f32], q: &mut [u8]) -> (f32, i32) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut sum = 0i32;
    for (c, &v) in q.iter_mut().zip(x) {
        let r = (v * id).round_ties_even() as i32;
        sum += r;
        *c = r as i8 as u8;
    }
    (d, sum)
}

fn quantize_q8_0_x86(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(2 + QK)) {
        let (d, _) = scale_and_codes(x, &mut b[2..]);
        b[..2].copy_from_slice(&f16::from_f32(d).to_bits().to_le_bytes());
    }
}

fn quantize_q8_1_x86(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(dst.chunks_exact_mut(4 + QK)) {
        let (d, sum) = scale_and_codes(x, &mut b[4..]);
        b[..2].copy_from_slice(&f16::from_f32(d).to_bits().to_le_bytes());
        b[2..4].copy_from_slice(&f16::from_f32(d * sum as f32).to_bits().to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_codes_round_ties_to_even() {
        // amax 127 -> id 1: 2.5 rounds to 2, 3.5 to 4, -2.5 to -2.
        let mut x = vec![0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = 3.5;
        x[3] = -2.5;
        let mut b = vec![0u8; 34];
        quantize_q8_0_x86(&x, &mut b);
        assert_eq!(&b[2..6], &[127u8, 2, 4, (-2i8) as u8]);
        assert_eq!(
            f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32(),
            1.0
        );
    }
}
