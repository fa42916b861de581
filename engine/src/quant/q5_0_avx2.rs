//! AVX2 versions of the Q5_0 and Q4_0 · Q8_0 dot products (chosen at run time; the scalar
//! `vec_dot_scalar` in each format file is the reference they are tested against).
//!
//! Each block is expanded to 32 signed bytes (as ggml's AVX2 kernels do) and its exact integer sum
//! scaled and added block by block, the scalar order, so results are bit-identical to the scalar
//! kernel. ggml's own AVX2 order (eight FMA lanes summed at the end) was tried: it moved the Gemma 3
//! 270M top-1 agreement with llama.cpp from 33/33 to 31/33 (prompt1) and 246 to 244/256 (gpl3).

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{f16c_product, hsum_i32, load32};
use super::prefetch_ahead;
use super::q8_0;
use std::arch::x86_64::*;

/// Low nibbles of 16 bytes in the low half, high nibbles in the high half (`bytes_from_nibbles_32`).
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn nibbles32(qs: &[u8]) -> __m256i {
    let qs = &qs[..16];
    let lo = _mm_loadu_si128(qs.as_ptr() as *const __m128i);
    let both = _mm256_insertf128_si256(_mm256_castsi128_si256(lo), _mm_srli_epi16(lo, 4), 1);
    _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
}

/// 0xFF in byte j where bit j of `bits` is set, else 0 (`bytes_from_bits_32`).
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn bytes_from_bits(bits: u32) -> __m256i {
    let shuf = _mm256_set_epi64x(
        0x0303030303030303,
        0x0202020202020202,
        0x0101010101010101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), shuf);
    let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
}

/// The eight i32 lane sums of eight blocks reduced to one vector of the eight block totals
/// (exact integer sums, so the order of the adds does not matter).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block_totals(s: &[__m256i; 8]) -> __m256i {
    let h01 = _mm256_hadd_epi32(s[0], s[1]);
    let h23 = _mm256_hadd_epi32(s[2], s[3]);
    let h45 = _mm256_hadd_epi32(s[4], s[5]);
    let h67 = _mm256_hadd_epi32(s[6], s[7]);
    // Lanes: blocks 0..4 (resp. 4..8), first the sums of lanes 0..4, then of lanes 4..8.
    let q0 = _mm256_hadd_epi32(h01, h23);
    let q1 = _mm256_hadd_epi32(h45, h67);
    _mm256_add_epi32(
        _mm256_permute2x128_si256(q0, q1, 0x20),
        _mm256_permute2x128_si256(q0, q1, 0x31),
    )
}

/// Per i32 lane: Σ of four products of the 32 signed bytes (exact: |x| ≤ 16, |y| ≤ 127 keep the
/// i16 pairs in range).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lane_sums(x: __m256i, y: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(x, x);
    let sy = _mm256_sign_epi8(y, x);
    _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
}

/// The shared loop: `expand` turns one weight block into 32 signed bytes. The float sum is the
/// scalar one (`sumf += sumi · (d_x · d_y)` block after block); eight blocks at a time get their
/// integer sums reduced together and scaled in one vector multiply, which leaves only the
/// in-order adds serial (a horizontal sum and a software f16 conversion per block made
/// this 3× slower than Q8_0).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_blocks(
    n: usize,
    weights: &[u8],
    activations: &[u8],
    type_size: usize,
    expand: impl Fn(&[u8]) -> __m256i,
) -> f32 {
    let nb = (n / 32)
        .min(weights.len() / type_size)
        .min(activations.len() / q8_0::TYPE_SIZE);
    let block = |i: usize| {
        (
            &weights[i * type_size..(i + 1) * type_size],
            &activations[i * q8_0::TYPE_SIZE..(i + 1) * q8_0::TYPE_SIZE],
        )
    };
    let mut sumf = 0f32;
    let mut ib = 0;
    while ib + 8 <= nb {
        let mut sums = [_mm256_setzero_si256(); 8];
        let mut scales = [0f32; 8];
        for j in 0..8 {
            let (x, y) = block(ib + j);
            prefetch_ahead(x.as_ptr(), type_size);
            sums[j] = lane_sums(expand(x), load32(y, 2));
            scales[j] = f16c_product(x, y);
        }
        let scaled = _mm256_mul_ps(
            _mm256_cvtepi32_ps(block_totals(&sums)),
            _mm256_loadu_ps(scales.as_ptr()),
        );
        let mut terms = [0f32; 8];
        _mm256_storeu_ps(terms.as_mut_ptr(), scaled);
        for t in terms {
            sumf += t;
        }
        ib += 8;
    }
    for i in ib..nb {
        let (x, y) = block(i);
        let sumi = hsum_i32(lane_sums(expand(x), load32(y, 2)));
        sumf += sumi as f32 * f16c_product(x, y);
    }
    sumf
}

/// Q5_0 · Q8_0 (`ggml_vec_dot_q5_0_q8_0`, AVX2 path).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q5_0(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    dot_blocks(n, weights, activations, super::q5_0::TYPE_SIZE, |x| {
        let qh = u32::from_le_bytes([x[2], x[3], x[4], x[5]]);
        // Bit 4 clear means q − 16 < 0: set the high nibble (0xF0) to make the byte negative.
        let hi = _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(0xF0u8 as i8));
        _mm256_or_si256(nibbles32(&x[6..]), hi)
    })
}

/// Q4_0 · Q8_0 (`ggml_vec_dot_q4_0_q8_0`, AVX2 path).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn vec_dot_q4_0(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    dot_blocks(n, weights, activations, super::q4_0::TYPE_SIZE, |x| {
        _mm256_sub_epi8(nibbles32(&x[2..]), _mm256_set1_epi8(8))
    })
}
