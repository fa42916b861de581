//! AVX2 helpers shared by the SIMD dot kernels. Every function requires AVX2 (and FMA where
//! noted); callers check with `is_x86_feature_detected!` before calling.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// Whether the AVX2 kernels can run on this CPU (worked out once).
#[inline(always)]
pub fn available() -> bool {
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHECKED.get_or_init(|| {
        crate::isa_ceiling::avx2_allowed()
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    })
}

// Block scales through F16C (exact, as `common::f16_at`, whose branches cost about ten
// instructions: too many once per 32-weight block). These helpers build the halves in a general
// register and move it whole into a vector: a lone 16-bit value gets inserted (`vpinsrw`) into
// whatever register LLVM picks, often an accumulator, which chains every block onto the one
// before (Q4_1 decode ran 3× slower so). Both results must be used, or LLVM narrows the move
// back to 16 bits. Callers must be compiled with `f16c`.

/// The f16 values `lo` and `hi` (bits) as f32.
#[inline(always)]
pub unsafe fn f16c_two(lo: u16, hi: u16) -> (f32, f32) {
    let v = _mm_cvtph_ps(_mm_cvtsi32_si128((lo as u32 | (hi as u32) << 16) as i32));
    (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_movehdup_ps(v)))
}

/// The product of the f16 at `x[0..2]` and the f16 at `y[0..2]`, as the scalar `dx * dy`.
#[inline(always)]
pub unsafe fn f16c_product(x: &[u8], y: &[u8]) -> f32 {
    let (dx, dy) = f16c_two(
        u16::from_le_bytes([x[0], x[1]]),
        u16::from_le_bytes([y[0], y[1]]),
    );
    dx * dy
}

/// The two f16 pairs `x[0..4]` and `y[0..4]` multiplied half by half: `(x0 · y0, x1 · y1)`.
#[inline(always)]
pub unsafe fn f16c_pair_products(x: &[u8], y: &[u8]) -> (f32, f32) {
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
    let four = _mm_cvtph_ps(_mm_cvtsi64_si128((word(x) | word(y) << 32) as i64));
    let products = _mm_mul_ps(four, _mm_movehl_ps(four, four));
    (
        _mm_cvtss_f32(products),
        _mm_cvtss_f32(_mm_movehdup_ps(products)),
    )
}

/// Loads 32 bytes from `s[at..at + 32]`; panics (bounds check) if the slice is shorter.
#[inline(always)]
pub unsafe fn load32(s: &[u8], at: usize) -> __m256i {
    let s = &s[at..at + 32];
    _mm256_loadu_si256(s.as_ptr() as *const __m256i)
}

/// Sum of the eight i32 lanes.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// Sum of the eight f32 lanes, in ggml's `hsum_float_8` order: (l+h) lanes, then pairs, then the two.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn hsum_f32(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Unsigned bytes `u` (each < 128) times signed bytes `s`, summed in adjacent pairs to i16 and
/// then (times `scale` per i16 lane) in adjacent pairs to i32. Exact for |u·s| sums within i16.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn dot_u8_i8_scaled(u: __m256i, s: __m256i, scale: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale)
}

/// `acc` plus, in each 32-bit lane, the four products of unsigned bytes `u` and signed bytes `s`
/// summed: one `vpdpbusd` with AVX-VNNI, `vpmaddubsw` then `vpmaddwd` by ones without it. The
/// two agree exactly while no pair of products passes 32767 (`vpmaddubsw` saturates); callers
/// keep `u` small enough.
pub trait ByteDot {
    /// # Safety
    /// AVX2 (and AVX-VNNI for [`VnniDot`]) in the calling function's features.
    unsafe fn dot(acc: __m256i, u: __m256i, s: __m256i) -> __m256i;
}

/// [`ByteDot`] with AVX2 alone.
pub struct PlainDot;
/// [`ByteDot`] with AVX-VNNI.
pub struct VnniDot;

impl ByteDot for PlainDot {
    #[inline(always)]
    unsafe fn dot(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        let pairs = _mm256_maddubs_epi16(u, s);
        _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }
}

impl ByteDot for VnniDot {
    #[inline(always)]
    unsafe fn dot(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_avx_epi32(acc, u, s)
    }
}

/// Whether this CPU has AVX-VNNI as well as the AVX2 kernels' features (worked out once).
#[inline(always)]
pub fn has_avx_vnni() -> bool {
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHECKED.get_or_init(|| {
        available()
            && crate::isa_ceiling::avx_vnni_allowed()
            && std::is_x86_feature_detected!("avxvnni")
    })
}
