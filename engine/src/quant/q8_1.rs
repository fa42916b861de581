//! Q8_1: blocks of 32, `{ f16 d; f16 s; i8 qs[32] }`, x = d·q, s = d·Σq. The activation format of
//! the Q4_1 and Q5_1 dot products (`s` folds their per-block minimum into one multiply).

use super::common::{f16_at, nearest_int, put_f16, round_to_i8, whole_blocks};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK: usize = 32;
pub const TYPE_SIZE: usize = 36;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q8_1,
    dot_type: GgmlType::Q8_1,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = f16_at(b, 0);
        for (y, &q) in y.iter_mut().zip(&b[4..]) {
            *y = q as i8 as f32 * d;
        }
    }
}

/// `quantize_row_q8_1_ref`.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        put_f16(b, 0, d);
        let mut sum = 0i32;
        for (q, &v) in b[4..].iter_mut().zip(x) {
            let qi = round_to_i8(v * id);
            *q = qi as u8;
            sum += qi as i32;
        }
        put_f16(b, 2, sum as f32 * d);
    }
}

/// Activation quantizer as llama.cpp's CPU backend runs it on x86 (`quantize_row_q8_1`):
/// id = 127/amax, round-half-to-even, s = f16(d·Σq). See [`super::q8_0::quantize_activations`].
pub fn quantize_activations(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        put_f16(b, 0, d);
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let mut sum = 0i32;
        for (q, &v) in b[4..].iter_mut().zip(x) {
            let qi = nearest_int(v * id) as i8;
            *q = qi as u8;
            sum += qi as i32;
        }
        put_f16(b, 2, d * sum as f32);
    }
}

/// Q8_1 · Q8_1. Not a ggml kernel (Q8_1 is only an activation format); exact in the integer part.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sum = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(TYPE_SIZE))
        .take(nb)
    {
        let sumi: i32 = x[4..]
            .iter()
            .zip(&y[4..])
            .map(|(&a, &b)| a as i8 as i32 * b as i8 as i32)
            .sum();
        sum += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use super::*;

    #[test]
    fn sum_field_is_d_times_sum_of_quants() {
        let x: Vec<f32> = (0..64).map(|i| ((i * 37) % 23) as f32 - 11.3).collect();
        let mut b = vec![0u8; 2 * TYPE_SIZE];
        quantize(&x, &mut b);
        let mut y = vec![0f32; 64];
        dequantize(&b, &mut y);
        for blk in 0..2 {
            let s: f32 = y[32 * blk..32 * blk + 32].iter().sum();
            let stored = f16_at(&b[blk * TYPE_SIZE..], 2);
            assert!(
                (stored - s).abs() <= s.abs() * 1e-3 + 1e-3,
                "block {blk}: {stored} vs {s}"
            );
        }
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q8_1);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q8_1, 1.0 / 254.0 + 2e-3);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q8_1);
    }
}
