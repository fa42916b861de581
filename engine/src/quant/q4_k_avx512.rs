//! AVX-512 (BW + VNNI) version of the Q4_K · Q8_K dot product, chosen at run time over
//! [`super::q4_k_avx2`]. Each block's integer sum is exact and the per-block float formula is the
//! scalar one, so the result is bit for bit the scalar kernel's (and the AVX2 one's).
//!
//! Why a separate kernel: decode of a Q4_K model is compute-bound on the AVX2 one (about 60% of a
//! Qwen3.5-MoE decode step sat in it at 2 threads, at well under the RAM bandwidth). Here one
//! 512-bit step covers a 64-element chunk: the 32 packed bytes are broadcast to both halves and
//! shifted by 0 and 4 bits (low nibbles = sub-block 2c, high = 2c+1, which is also the order of
//! the activations), one `maddubs`, and one `vpdpwssd` against the two sub-block scales.

#![cfg(target_arch = "x86_64")]

use super::avx512_util::{fold_halves, group_index, load_i16x32, q8_k_blocks, two_f16};
use super::q4_k::{BLOCK, TYPE_SIZE};
use super::q8_k;
use std::arch::x86_64::*;

const SCALES: usize = 4;
const QS: usize = 16;

/// For chunk c: scale 2c in i16 lanes 0..16 (the low nibbles), 2c+1 in lanes 16..32.
pub(super) const SCALE_INDEX: [[i16; 32]; 4] = [
    group_index(0, 16),
    group_index(2, 16),
    group_index(4, 16),
    group_index(6, 16),
];

/// `v` with its high 256 bits shifted right by 4 in each i16 lane (high nibbles), the low half as
/// it is. A masked immediate shift: the per-lane `vpsrlvw` with a constant count vector was compiled
/// with an extra masked move per use (LLVM guarding counts of 16 and more).
#[inline(always)]
pub(super) unsafe fn high_half_shifted(v: __m512i) -> __m512i {
    _mm512_mask_srli_epi16::<4>(v, 0xFFFF_0000, v)
}

/// Byte shuffles for [`scales_and_min_lanes`]: A gathers the bytes holding each value's low bits
/// (scales 0..4, 4..8, mins 0..4, 4..8), B the bytes whose top two bits are the high bits of
/// scales and mins 4..8 (0x80: zero).
const LOW_SOURCE: [u8; 16] = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11];
const HIGH_SOURCE: [u8; 16] = [
    0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 4, 5, 6, 7,
];
/// Which bits of A's bytes are low bits: 6 for scales/mins 0..4, the low nibble for scales
/// 4..8; mins 4..8 take A's high nibble instead.
const LOW_MASK: [u8; 16] = [
    0x3F, 0x3F, 0x3F, 0x3F, 0x0F, 0x0F, 0x0F, 0x0F, 0x3F, 0x3F, 0x3F, 0x3F, 0, 0, 0, 0,
];
const HIGH_NIBBLE_MASK: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0F, 0x0F, 0x0F, 0x0F];
/// Each min byte (bytes 8..16 of the unpacked vector) twice, to line up with Q8_K's sixteen sums.
const MIN_PAIRS: [u8; 16] = [8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15];

/// The 6-bit scales and mins of a Q4_K/Q5_K block (`scale_min_k4`), unpacked with byte shuffles:
/// bytes 0..8 the scales, 8..16 the mins.
#[inline(always)]
unsafe fn unpack_scales_mins(scale_bytes: &[u8]) -> __m128i {
    // 16 bytes from the 12 scale bytes on: the last 4 (quants) are never selected.
    let v = _mm_loadu_si128(scale_bytes[..16].as_ptr() as *const __m128i);
    let load = |m: &[u8; 16]| _mm_loadu_si128(m.as_ptr() as *const __m128i);
    let a = _mm_shuffle_epi8(v, load(&LOW_SOURCE));
    let b = _mm_shuffle_epi8(v, load(&HIGH_SOURCE));
    let low = _mm_and_si128(a, load(&LOW_MASK));
    let nibble = _mm_and_si128(_mm_srli_epi16(a, 4), load(&HIGH_NIBBLE_MASK));
    let top = _mm_and_si128(_mm_srli_epi16(b, 2), _mm_set1_epi8(0x30));
    _mm_or_si128(_mm_or_si128(low, nibble), top)
}

/// The 6-bit scales of a Q4_K/Q5_K block as i16 lanes 0..8 of a vector (for `vpermw`), and
/// the i32 lanes of min_j · (a-sums of the two 16-element groups of sub-block j), exact.
/// `scale_bytes` starts at the block's 12 scale bytes and has at least 16 bytes.
#[inline(always)]
pub(super) unsafe fn scales_and_min_lanes(scale_bytes: &[u8], y: &[u8]) -> (__m512i, __m256i) {
    let u = unpack_scales_mins(scale_bytes);
    let mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(
        u,
        _mm_loadu_si128(MIN_PAIRS.as_ptr() as *const __m128i),
    ));
    let q8sums = _mm256_loadu_si256(y[q8_k::BSUMS..].as_ptr() as *const __m256i);
    (
        _mm512_castsi256_si512(_mm256_cvtepu8_epi16(u)),
        _mm256_madd_epi16(mins, q8sums),
    )
}

/// As [`scales_and_min_lanes`], the min lanes summed (exact).
#[inline(always)]
pub(super) unsafe fn scales_and_min_sums(scale_bytes: &[u8], y: &[u8]) -> (__m512i, i32) {
    let (scales, min_lanes) = scales_and_min_lanes(scale_bytes, y);
    let m = _mm_add_epi32(
        _mm256_castsi256_si128(min_lanes),
        _mm256_extracti128_si256(min_lanes, 1),
    );
    let m = _mm_add_epi32(m, _mm_unpackhi_epi64(m, m));
    let m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0b01));
    (scales, _mm_cvtsi128_si32(m))
}

/// The integer parts of one block: Σ scale·q·a and Σ min·(activation sums), exact.
#[inline(always)]
unsafe fn block_sums(x: &[u8], y: &[u8], index: &[__m512i; 4]) -> (i32, i32) {
    let low_nibbles = _mm512_set1_epi8(0x0F);
    let (scales, min_lanes) = scales_and_min_lanes(&x[SCALES..SCALES + 16], y);
    let qs = x[QS..QS + 128].as_ptr();
    let a = y[q8_k::QS..q8_k::QS + BLOCK].as_ptr();
    // Two accumulators: the four chunks are two independent `vpdpwssd` chains.
    let mut acc = [_mm512_setzero_si512(); 2];
    for c in 0..4 {
        let packed = _mm512_broadcast_i64x4(_mm256_loadu_si256(qs.add(32 * c) as *const __m256i));
        let q = _mm512_and_si512(high_half_shifted(packed), low_nibbles);
        let act = _mm512_loadu_si512(a.add(64 * c) as *const _);
        let products = _mm512_maddubs_epi16(q, act);
        let scale = _mm512_permutexvar_epi16(index[c], scales);
        acc[c % 2] = _mm512_dpwssd_epi32(acc[c % 2], products, scale);
    }
    // Both horizontal sums at once: lanes of Σ scale·q·a folded to 256 bits next to the min lanes.
    let sums = fold_halves(_mm512_add_epi32(acc[0], acc[1]));
    let t = _mm256_hadd_epi32(sums, min_lanes);
    let t = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    let t = _mm_hadd_epi32(t, t);
    (_mm_cvtsi128_si32(t), _mm_extract_epi32(t, 1))
}

/// The scalar kernel's float step for one block.
#[inline(always)]
unsafe fn block_value(x: &[u8], y: &[u8], sumi: i32, summins: i32) -> f32 {
    let (d, dmin) = two_f16(x.as_ptr());
    let dy = q8_k::d(y);
    d * dy * sumi as f32 - dmin * dy * summins as f32
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
    let index = SCALE_INDEX.map(|i| load_i16x32(&i));
    let mut sumf = 0.0f32;
    // (Summing two blocks' lanes in one vector measured no faster: the horizontal sums overlap
    // with the next block's loads.)
    for (x, y) in q8_k_blocks(weights, TYPE_SIZE, activations, n) {
        let (sumi, summins) = block_sums(x, y, &index);
        sumf += block_value(x, y, sumi, summins);
    }
    sumf
}
