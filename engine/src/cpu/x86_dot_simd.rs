//! SIMD Q8_0 · Q8_0 and Q5_0 · Q8_0 in ggml's eight-lane order (the scalar lane-order kernels in
//! [`super::x86_dot`] are the reference; results are bit-identical, tested there).
//!
//! Two variants, picked at run time: AVX2 (`maddubs` + `madd` to i32 lanes) and AVX-VNNI
//! (`vpdpbusd`, one instruction for the same four-product i32 sums, as llama.cpp uses when built
//! for such CPUs). The integer sums are exact either way: |w| ≤ 128 and |a| ≤ 127 keep the
//! AVX2 pair sums within i16. Block scales go through F16C (`vcvtph2ps`), exact like any f16 → f32.
//! Decode reads the weights once per token, so these loops must keep up with memory bandwidth:
//! few instructions per 34-byte block, raw pointers after one length check.

#![cfg(target_arch = "x86_64")]

use crate::quant::{prefetch_ahead, prefetch_ahead_always};
use std::arch::x86_64::*;

/// A dot kernel over `nb` whole blocks; the caller checked that every slice holds them.
pub type BlocksFn = unsafe fn(nb: usize, w: &[u8], a: &[u8]) -> f32;

/// Which SIMD level this CPU offers for these kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Avx2,
    AvxVnni,
}

pub fn detect() -> Option<Level> {
    let avx2 = crate::isa_ceiling::avx2_allowed()
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c");
    if !avx2 {
        return None;
    }
    if crate::isa_ceiling::avx_vnni_allowed() && std::is_x86_feature_detected!("avxvnni") {
        Some(Level::AvxVnni)
    } else {
        Some(Level::Avx2)
    }
}

pub fn q8_0_blocks(level: Level) -> BlocksFn {
    match level {
        Level::Avx2 => q8_0_avx2,
        Level::AvxVnni => q8_0_vnni,
    }
}

pub fn q5_0_blocks(level: Level) -> BlocksFn {
    match level {
        Level::Avx2 => q5_0_avx2,
        Level::AvxVnni => q5_0_vnni,
    }
}

/// `f16(x) · f16(y)` broadcast to eight lanes, both scales converted by one F16C instruction.
/// The two halves are packed in a general register first: when LLVM instead inserts a loaded
/// half into a vector register, it picks the accumulator as the merge source, which chains each
/// block's scale onto the previous block's FMA (measured: 8 instead of 4 cycles per block).
#[inline(always)]
unsafe fn scale_product(x: *const u8, y: *const u8) -> __m256 {
    let dx = (x as *const u16).read_unaligned() as u32;
    let dy = (y as *const u16).read_unaligned() as u32;
    let both = _mm_cvtph_ps(_mm_cvtsi32_si128((dx | (dy << 16)) as i32));
    _mm256_broadcastss_ps(_mm_mul_ss(both, _mm_movehdup_ps(both)))
}

/// ggml's `hsum_float_8` order.
#[inline(always)]
unsafe fn hsum8(acc: __m256) -> f32 {
    // (l + h) lanes, then pairs (0 + 2, 1 + 3), then the two: the scalar `hsum8` order.
    let s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Per i32 lane: Σ of four products x·y (x, y signed bytes), AVX2.
#[inline(always)]
unsafe fn sum4_avx2(qx: __m256i, qy: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(qx, qx);
    let sy = _mm256_sign_epi8(qy, qx);
    _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1))
}

/// The sums with the kernel's instruction set.
#[inline(always)]
unsafe fn sum4<const VNNI: bool>(qx: __m256i, qy: __m256i) -> __m256i {
    if VNNI {
        sum4_vnni(qx, qy)
    } else {
        sum4_avx2(qx, qy)
    }
}

/// The same sums with AVX-VNNI.
#[inline(always)]
unsafe fn sum4_vnni(qx: __m256i, qy: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(qx, qx);
    let sy = _mm256_sign_epi8(qy, qx);
    _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, sy)
}

/// The Q8_0 loop: lane sums scaled by d_w·d_a, fused-multiply-added block by block.
#[inline(always)]
unsafe fn q8_0_loop<const VNNI: bool>(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    let (wp, ap) = (w.as_ptr(), a.as_ptr());
    let mut acc = _mm256_setzero_ps();
    for ib in 0..nb {
        let (x, y) = (wp.add(ib * 34), ap.add(ib * 34));
        // Blocks start every 34 bytes, so the line of each block's start covers them all. On
        // every CPU, Zen 4 included: Gemma 3's Q8_0 output head was slower without it.
        prefetch_ahead_always(x, 34);
        let d = scale_product(x, y);
        let qx = _mm256_loadu_si256(x.add(2) as *const __m256i);
        let qy = _mm256_loadu_si256(y.add(2) as *const __m256i);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sum4::<VNNI>(qx, qy)), acc);
    }
    hsum8(acc)
}

/// The Q5_0 loop: each block expanded to 32 signed bytes q − 16, then as Q8_0.
#[inline(always)]
unsafe fn q5_0_loop<const VNNI: bool>(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    let (wp, ap) = (w.as_ptr(), a.as_ptr());
    let mut acc = _mm256_setzero_ps();
    let low = _mm256_set1_epi8(0x0F);
    let high = _mm256_set1_epi8(0xF0u8 as i8);
    // bytes_from_bits: byte j takes bit j of qh.
    let spread = _mm256_set_epi64x(
        0x0303030303030303,
        0x0202020202020202,
        0x0101010101010101,
        0,
    );
    let bit_of_byte = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    let all = _mm256_set1_epi64x(-1);
    for ib in 0..nb {
        let (x, y) = (wp.add(ib * 22), ap.add(ib * 34));
        prefetch_ahead(x, 22);
        let d = scale_product(x, y);
        let qh = (x.add(2) as *const u32).read_unaligned();
        let bits = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), spread);
        let set = _mm256_cmpeq_epi8(_mm256_or_si256(bits, bit_of_byte), all);
        let lo = _mm_loadu_si128(x.add(6) as *const __m128i);
        let nib = _mm256_insertf128_si256(_mm256_castsi128_si256(lo), _mm_srli_epi16(lo, 4), 1);
        // Bit 4 clear means q − 16 < 0: set the high nibble to make the byte negative.
        let qx = _mm256_or_si256(_mm256_and_si256(nib, low), _mm256_andnot_si256(set, high));
        let qy = _mm256_loadu_si256(y.add(2) as *const __m256i);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sum4::<VNNI>(qx, qy)), acc);
    }
    hsum8(acc)
}

/// # Safety
/// AVX2, FMA and F16C; `w` and `a` hold `nb` blocks.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_0_avx2(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    q8_0_loop::<false>(nb, w, a)
}

/// # Safety
/// As above, plus AVX-VNNI.
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
unsafe fn q8_0_vnni(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    q8_0_loop::<true>(nb, w, a)
}

/// # Safety
/// AVX2, FMA and F16C; `w` holds `nb` Q5_0 blocks and `a` `nb` Q8_0 blocks.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q5_0_avx2(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    q5_0_loop::<false>(nb, w, a)
}

/// # Safety
/// As above, plus AVX-VNNI.
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
unsafe fn q5_0_vnni(nb: usize, w: &[u8], a: &[u8]) -> f32 {
    q5_0_loop::<true>(nb, w, a)
}
