//! Dot products with the accumulation order of llama.cpp's AVX2 kernels, where that order shows
//! in the logits. ggml's Q8_0·Q8_0 keeps eight f32 lanes (lane l = the integer sum of products
//! 4l..4l+3 of each block, fused-multiply-added with the block scale) and sums them as a tree at
//! the end; summing block by block instead changes last bits that later roundings amplify.

use crate::gguf::GgmlType;
use crate::quant;

/// The `vec_dot` to use for weights of `ty`.
pub fn vec_dot_for(ty: GgmlType) -> Option<fn(usize, &[u8], &[u8]) -> f32> {
    match ty {
        GgmlType::Q8_0 => Some(q8_0_dot()),
        GgmlType::Q5_0 => Some(q5_0_dot()),
        _ => Some(quant::kernels(ty)?.vec_dot),
    }
}

#[inline(always)]
pub(crate) fn half(b: &[u8]) -> f32 {
    quant::common::f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))
}

/// `hsum_float_8`: (x[i] + x[i+4]), then pairs (0+2, 1+3), then the two.
#[inline]
pub fn hsum8(x: &[f32; 8]) -> f32 {
    let r = [x[0] + x[4], x[1] + x[5], x[2] + x[6], x[3] + x[7]];
    let s = [r[0] + r[2], r[1] + r[3]];
    s[0] + s[1]
}

pub(crate) fn dot_q8_0_q8_0(n: usize, w: &[u8], a: &[u8]) -> f32 {
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
pub(crate) fn dot_q5_0_q8_0(n: usize, w: &[u8], a: &[u8]) -> f32 {
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

/// Q5_0 · Q8_0: the SIMD version when the CPU has one (same lanes and order, so the same bits), else scalar.
fn q5_0_dot() -> fn(usize, &[u8], &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    match super::x86_dot_simd::detect() {
        Some(super::x86_dot_simd::Level::AvxVnni) => return q5_0_vnni_entry,
        Some(super::x86_dot_simd::Level::Avx2) => return q5_0_avx2_entry,
        None => {}
    }
    dot_q5_0_q8_0
}

/// Q8_0 · Q8_0: the SIMD version when the CPU has one, else scalar.
fn q8_0_dot() -> fn(usize, &[u8], &[u8]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    match super::x86_dot_simd::detect() {
        Some(super::x86_dot_simd::Level::AvxVnni) => return q8_0_vnni_entry,
        Some(super::x86_dot_simd::Level::Avx2) => return q8_0_avx2_entry,
        None => {}
    }
    dot_q8_0_q8_0
}

/// Safe entry points: whole blocks present in both operands, then the SIMD loop.
#[cfg(target_arch = "x86_64")]
macro_rules! entry {
    ($name:ident, $ts:expr, $kernel:ident, $level:ident) => {
        fn $name(n: usize, w: &[u8], a: &[u8]) -> f32 {
            use super::x86_dot_simd::{$kernel, Level};
            let nb = (n / 32).min(w.len() / $ts).min(a.len() / 34);
            // SAFETY: chosen only after `detect` found this level; `nb` blocks exist in both slices.
            unsafe { $kernel(Level::$level)(nb, w, a) }
        }
    };
}
#[cfg(target_arch = "x86_64")]
entry!(q8_0_avx2_entry, 34, q8_0_blocks, Avx2);
#[cfg(target_arch = "x86_64")]
entry!(q8_0_vnni_entry, 34, q8_0_blocks, AvxVnni);
#[cfg(target_arch = "x86_64")]
entry!(q5_0_avx2_entry, 22, q5_0_blocks, Avx2);
#[cfg(target_arch = "x86_64")]
entry!(q5_0_vnni_entry, 22, q5_0_blocks, AvxVnni);

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// Random blocks of `ts` bytes with a finite f16 scale first; quants in every byte pattern
    /// except that activations (`no_min`) never hold −128, as the quantizer never writes it.
    fn blocks(seed: u64, nb: usize, ts: usize, scale: f32, no_min: bool) -> Vec<u8> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<u8> = (0..nb * ts)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect();
        for b in 0..nb {
            let d = scale * (0.5 + v[b * ts + 7] as f32 / 128.0);
            v[b * ts..b * ts + 2].copy_from_slice(&f16::from_f32(d).to_bits().to_le_bytes());
            if no_min {
                for q in &mut v[b * ts + 2..(b + 1) * ts] {
                    if *q == 0x80 {
                        *q = 0x81;
                    }
                }
            }
        }
        v
    }

    /// Every SIMD level this CPU has, against the scalar lane-order kernel, bit for bit.
    fn check(ts: usize, scalar: fn(usize, &[u8], &[u8]) -> f32, q8_0: bool) {
        #[cfg(target_arch = "x86_64")]
        {
            use super::super::x86_dot_simd::{detect, q5_0_blocks, q8_0_blocks, Level};
            let Some(best) = detect() else {
                eprintln!("skipped: no AVX2/FMA/F16C");
                return;
            };
            let levels: &[Level] = if best == Level::AvxVnni {
                &[Level::Avx2, Level::AvxVnni]
            } else {
                &[Level::Avx2]
            };
            for &level in levels {
                let kernel = if q8_0 {
                    q8_0_blocks(level)
                } else {
                    q5_0_blocks(level)
                };
                for (seed, nb) in [(1u64, 1usize), (2, 20), (3, 80), (4, 7), (5, 128)] {
                    let w = blocks(seed, nb, ts, 0.01, false);
                    let a = blocks(seed + 100, nb, 34, 0.03, true);
                    // SAFETY: detected above; both slices hold `nb` blocks.
                    let got = unsafe { kernel(nb, &w, &a) };
                    let want = scalar(32 * nb, &w, &a);
                    assert_eq!(got.to_bits(), want.to_bits(), "{level:?} {nb} blocks");
                }
            }
        }
    }

    #[test]
    fn simd_q8_0_matches_scalar_bit_for_bit() {
        check(34, dot_q8_0_q8_0, true);
    }

    #[test]
    fn simd_q5_0_matches_scalar_bit_for_bit() {
        check(22, dot_q5_0_q8_0, false);
    }

    #[test]
    fn dispatched_kernels_truncate_short_slices() {
        let w = blocks(9, 3, 34, 0.01, false);
        let a = blocks(10, 3, 34, 0.01, true);
        // n claims 4 blocks; only 2 of the weight row are given.
        let got = q8_0_dot()(128, &w[..68], &a);
        assert_eq!(got.to_bits(), dot_q8_0_q8_0(64, &w[..68], &a).to_bits());
    }
}
