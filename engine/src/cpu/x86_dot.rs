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
        GgmlType::Q8_0 => Some(dot_q8_0_q8_0),
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
