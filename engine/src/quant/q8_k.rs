//! Q8_K: the activation format of the K-quant and IQ4_XS dot products.
//! Block of 256: `{ f32 d; i8 qs[256]; i16 bsums[16] }`, x = d·q; `bsums[j]` is the sum of
//! `qs[16j..16j+16]`, which lets the dot kernels apply per-sub-block minimums cheaply.

use super::common::{nearest_int, whole_blocks, QK_K};
use super::Kernels;
use crate::gguf::GgmlType;

pub const BLOCK: usize = QK_K;
pub const TYPE_SIZE: usize = 292;
/// Byte offsets inside a block.
pub const QS: usize = 4;
pub const BSUMS: usize = 4 + QK_K;

pub const KERNELS: Kernels = Kernels {
    ggml_type: GgmlType::Q8_K,
    dot_type: GgmlType::Q8_K,
    dequantize,
    quantize: Some(quantize),
    vec_dot,
};

/// The block scale.
#[inline(always)]
pub fn d(block: &[u8]) -> f32 {
    f32::from_le_bytes([block[0], block[1], block[2], block[3]])
}

/// The 256 quants.
#[inline(always)]
pub fn qs(block: &[u8]) -> &[i8; QK_K] {
    let s: &[u8; QK_K] = block[QS..QS + QK_K]
        .try_into()
        .expect("Q8_K block has 256 quants");
    // SAFETY: u8 and i8 have the same size and alignment; every bit pattern is valid for both.
    unsafe { &*(s as *const [u8; QK_K] as *const [i8; QK_K]) }
}

/// Sum of quants `16j..16j+16`.
#[inline(always)]
pub fn bsum(block: &[u8], j: usize) -> i16 {
    i16::from_le_bytes([block[BSUMS + 2 * j], block[BSUMS + 2 * j + 1]])
}

pub fn dequantize(src: &[u8], dst: &mut [f32]) {
    let nb = whole_blocks(src.len(), TYPE_SIZE, dst.len(), BLOCK);
    for (b, y) in src
        .chunks_exact(TYPE_SIZE)
        .zip(dst.chunks_exact_mut(BLOCK))
        .take(nb)
    {
        let d = d(b);
        for (y, &q) in y.iter_mut().zip(qs(b)) {
            *y = d * q as f32;
        }
    }
}

/// `quantize_row_q8_K_ref`: scale by -127/max (max = the value of largest magnitude), round half
/// to even, clamp at 127.
pub fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let (mut max, mut amax) = (0.0f32, 0.0f32);
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            // ggml leaves bsums untouched here; zeros are the only sensible content.
            b.fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in b[QS..QS + QK_K].iter_mut().zip(x) {
            *q = nearest_int(iscale * v).min(127) as i8 as u8;
        }
        for j in 0..QK_K / 16 {
            let sum: i32 = b[QS + 16 * j..QS + 16 * j + 16]
                .iter()
                .map(|&q| q as i8 as i32)
                .sum();
            b[BSUMS + 2 * j..BSUMS + 2 * j + 2].copy_from_slice(&(sum as i16).to_le_bytes());
        }
        b[0..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    }
}

/// Q8_K · Q8_K. ggml has no such kernel (Q8_K is only an activation format); it is here so the
/// table is complete and is exact in the integer part.
pub fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let nb = n / BLOCK;
    let mut sum = 0.0f32;
    for (x, y) in weights
        .chunks_exact(TYPE_SIZE)
        .zip(activations.chunks_exact(TYPE_SIZE))
        .take(nb)
    {
        let sumi: i32 = qs(x)
            .iter()
            .zip(qs(y))
            .map(|(&a, &b)| a as i32 * b as i32)
            .sum();
        sum += d(x) * d(y) * sumi as f32;
    }
    sum
}

/// The quantizer the dot products' activations go through: the AVX-512 one where the CPU has
/// it, else the reference. Both give the same bits.
pub fn quantize_activations(src: &[f32], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX-512 F and BW were detected at run time.
        return unsafe { super::q8_k_avx512::quantize(src, dst) };
    }
    quantize(src, dst)
}

#[cfg(test)]
mod tests {
    use super::super::test_util as tu;
    use super::*;

    #[test]
    fn quantize_matches_reference_rules() {
        // Independent check of the reference rules on a hand-made block: the largest-magnitude
        // value maps to -127·sign·(-1) = ±127 exactly, bsums are the sums of 16 quants.
        let mut x = [0.0f32; QK_K];
        for (i, v) in x.iter_mut().enumerate() {
            *v = (i as f32 - 100.0) * 0.25;
        }
        x[7] = -80.0; // largest magnitude, negative
        let mut b = [0u8; TYPE_SIZE];
        quantize(&x, &mut b);
        assert!((d(&b) as f64 - 80.0 / 127.0).abs() < 1e-7);
        assert_eq!(qs(&b)[7], -127);
        for (i, &v) in x.iter().enumerate() {
            let expected = (v as f64 * 127.0 / 80.0).round_ties_even();
            assert_eq!(qs(&b)[i] as f64, expected, "element {i}");
        }
        for j in 0..16 {
            let s: i32 = qs(&b)[16 * j..16 * j + 16].iter().map(|&q| q as i32).sum();
            assert_eq!(bsum(&b, j) as i32, s);
        }
    }

    #[test]
    fn zero_block_quantizes_to_zeros() {
        let mut b = [0xAAu8; TYPE_SIZE];
        quantize(&[0.0; QK_K], &mut b);
        assert!(b.iter().all(|&v| v == 0));
    }

    #[test]
    fn vec_dot_matches_f64_reference() {
        tu::check_vec_dot(GgmlType::Q8_K);
    }

    #[test]
    fn round_trip_error_is_bounded() {
        tu::check_round_trip(GgmlType::Q8_K, 1.0 / 254.0 + 1e-6);
    }

    #[test]
    fn bit_exact_with_llama_cpp_and_dot_agrees() {
        tu::check_against_ggml(GgmlType::Q8_K);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_quantizer_matches_the_reference_bit_for_bit() {
        if !crate::quant::avx512_util::available() {
            eprintln!("skipped: no AVX-512 F/BW/VL/VNNI on this CPU");
            return;
        }
        let n = 9 * QK_K;
        let mut inputs: Vec<Vec<f32>> = tu::test_vectors(n, QK_K, 5)
            .into_iter()
            .map(|(_, x)| x)
            .collect();
        // Ties: +m and -m both present (the first one sets the sign), and halves that round to even.
        let mut ties: Vec<f32> = (0..n).map(|i| ((i % 255) as f32 - 127.0) * 0.5).collect();
        ties[3] = 127.0;
        ties[QK_K + 9] = -127.0;
        ties[QK_K + 200] = 127.0;
        inputs.push(ties);
        for (i, x) in inputs.iter().enumerate() {
            let (mut reference, mut fast) = (vec![0u8; 9 * TYPE_SIZE], vec![0xAAu8; 9 * TYPE_SIZE]);
            quantize(x, &mut reference);
            // SAFETY: AVX-512 F and BW were detected above.
            unsafe { super::super::q8_k_avx512::quantize(x, &mut fast) };
            assert_eq!(reference, fast, "input {i}");
        }
    }
}
