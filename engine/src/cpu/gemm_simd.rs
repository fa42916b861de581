//! Small AVX2 helpers for the GEMM tile kernels (kept here so the kernels do not reach into the
//! private helpers of `quant`). Each reproduces the operation the `vec_dot` kernels use.

#![cfg(target_arch = "x86_64")]

use half::f16;
use std::arch::x86_64::*;

/// Loads 32 bytes from `s[at..at + 32]` (bounds-checked).
#[inline(always)]
pub unsafe fn load32(s: &[u8], at: usize) -> __m256i {
    let s = &s[at..at + 32];
    _mm256_loadu_si256(s.as_ptr() as *const __m256i)
}

/// Little-endian f16 at `b[at..at + 2]`, as f32.
#[inline(always)]
pub fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[at], b[at + 1]])).to_f32()
}

/// Sum of the eight i32 lanes (exact, so any order will do).
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}

/// Sum of the eight f32 lanes in ggml's `hsum_float_8` order (the order the `vec_dot`s use).
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn hsum_f32(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

// SAFETY: an all-zero bit pattern is a valid __m512i.
pub const ZERO512: __m512i = unsafe { std::mem::transmute([0u8; 64]) };

/// Eight 32-byte vectors (sub-blocks in element order) as four 512-bit ones: vector i holds
/// sub-block 2i in its low half and 2i + 1 in its high half. Needs AVX-512F.
#[inline(always)]
pub unsafe fn widen(v: &[__m256i; 8]) -> [__m512i; 4] {
    let mut w = [ZERO512; 4];
    for (i, wi) in w.iter_mut().enumerate() {
        *wi = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(v[2 * i]), v[2 * i + 1]);
    }
    w
}

/// 256 bytes from `s[at..]` as four 512-bit vectors (element order, matching [`widen`]).
#[inline(always)]
pub unsafe fn load256_wide(s: &[u8], at: usize) -> [__m512i; 4] {
    let s = &s[at..at + 256];
    let mut v = [ZERO512; 4];
    for (i, vi) in v.iter_mut().enumerate() {
        *vi = _mm512_loadu_si512(s[64 * i..].as_ptr() as *const _);
    }
    v
}

/// The eight i32 lanes of the 256-bit version of a sub-block sum from its 512-bit version:
/// low half (even sub-blocks) plus high half (odd ones), lane by lane (exact).
#[inline(always)]
pub unsafe fn fold512(v: __m512i) -> __m256i {
    _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v))
}

/// Σ over sub-blocks of `scale · (u · s)` in 512-bit vectors, folded to the eight lanes the
/// 256-bit loop over eight sub-blocks gives (`u` unsigned, `s` signed bytes, i16 scales).
#[inline(always)]
pub unsafe fn scaled_dot_wide(u: &[__m512i; 4], s: &[__m512i; 4], scale: &[__m512i; 4]) -> __m256i {
    let mut acc = _mm512_setzero_si512();
    for i in 0..4 {
        let p16 = _mm512_maddubs_epi16(u[i], s[i]);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(p16, scale[i]));
    }
    fold512(acc)
}

/// The 6-bit scale and min of sub-block `j` from the 12 bytes Q4_K and Q5_K share
/// (ggml's `get_scale_min_k4`).
#[inline(always)]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The integer multiply-accumulate steps of the tile kernels, in two instruction sets: AVX2
/// (`maddubs` then `madd`) and AVX-512 VNNI (`vpdpbusd` for the byte dot in one instruction).
/// They give the same integers wherever AVX2's i16 pair sums do not saturate, which holds for
/// every format here: the largest pair is Q8_0's or IQ4_XS's 2·128·127 = 32512 (Q8_0
/// activations stay within ±127; Q8_K's may reach −128, against weights of at most 127).
pub trait IntDot {
    /// Whether 512-bit integer vectors (AVX-512BW) may be used: on CPUs with full-width AVX-512
    /// units they do twice the byte products per instruction.
    const WIDE: bool;
    /// Each group of four unsigned bytes of `u` times the signed bytes of `s`, summed to i32.
    unsafe fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i;
    /// `acc` plus [`IntDot::dot_u8_i8`] (one `vpdpbusd` where there is one).
    #[inline(always)]
    unsafe fn dot_acc(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        _mm256_add_epi32(acc, Self::dot_u8_i8(u, s))
    }
    /// `acc` plus the i16 pairs of `p16` times `scale`, summed to i32 (`acc + madd(p16, scale)`).
    unsafe fn madd_acc(acc: __m256i, p16: __m256i, scale: __m256i) -> __m256i;
}

/// AVX2 (the baseline every tile kernel needs).
pub struct Avx2;

impl IntDot for Avx2 {
    const WIDE: bool = false;
    #[inline(always)]
    unsafe fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
    }
    #[inline(always)]
    unsafe fn madd_acc(acc: __m256i, p16: __m256i, scale: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scale))
    }
}

/// AVX-512 VNNI on 256-bit vectors (with AVX-512VL the compiler also has 32 vector registers,
/// which ends the accumulator spills of the wider tiles).
pub struct Vnni;

impl IntDot for Vnni {
    const WIDE: bool = true;
    #[inline(always)]
    unsafe fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
    }
    #[inline(always)]
    unsafe fn dot_acc(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_epi32(acc, u, s)
    }
    #[inline(always)]
    unsafe fn madd_acc(acc: __m256i, p16: __m256i, scale: __m256i) -> __m256i {
        // Not `vpdpwssd`: fusing into one accumulator chain measured slower on the K-quant
        // tiles (its accumulate latency serializes the eight sub-blocks of a block).
        _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scale))
    }
}

/// AVX-VNNI: `vpdpbusd` on 256-bit vectors without AVX-512 (Intel client CPUs since Alder Lake),
/// so the same sixteen registers as [`Avx2`] and one instruction for the byte dot.
pub struct AvxVnni;

impl IntDot for AvxVnni {
    const WIDE: bool = false;
    #[inline(always)]
    unsafe fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s)
    }
    #[inline(always)]
    unsafe fn dot_acc(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_avx_epi32(acc, u, s)
    }
    #[inline(always)]
    unsafe fn madd_acc(acc: __m256i, p16: __m256i, scale: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scale))
    }
}

/// The target features of the VNNI build of the tile kernels.
pub fn has_vnni() -> bool {
    // BMI2 (`pdep`, which some unpackers use) comes with every AVX-512 CPU; checked all the same.
    crate::isa_ceiling::avx512_allowed()
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vnni")
}

/// Defines [`TileFn`](super::gemm::TileFn)s around the generic `#[inline(always)]` body
/// `$body::<D, R>` (or, written `$body<F>`, the format-generic `$body::<F, D, R>`): `$avx2`
/// compiled for AVX2/FMA/F16C with [`Avx2`] and, when named, `$vnni` compiled with AVX-512
/// VL/BW/VNNI as well, with [`Vnni`]. One source, two instruction selections.
macro_rules! tile_fns {
    ($avx2:ident = $body:ident $(<$fmt:ty>)?) => {
        /// # Safety
        /// See [`super::gemm::TileFn`]; needs AVX2, FMA and F16C (it takes AVX-VNNI's
        /// `vpdpbusd` where the CPU has that too: the same integers).
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $avx2(
            w: &[u8],
            wrb: usize,
            nr: usize,
            a: &[u8],
            arb: usize,
            nc: usize,
            nb: usize,
            sums: &mut $crate::cpu::gemm::Sums,
        ) {
            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn rows<const R: usize>(
                w: &[u8],
                wrb: usize,
                a: &[u8],
                arb: usize,
                nc: usize,
                nb: usize,
                sums: &mut $crate::cpu::gemm::Sums,
            ) {
                $body::<$($fmt,)? $crate::cpu::gemm_simd::Avx2, R>(w, wrb, a, arb, nc, nb, sums)
            }
            #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
            unsafe fn rows_avx_vnni<const R: usize>(
                w: &[u8],
                wrb: usize,
                a: &[u8],
                arb: usize,
                nc: usize,
                nb: usize,
                sums: &mut $crate::cpu::gemm::Sums,
            ) {
                $body::<$($fmt,)? $crate::cpu::gemm_simd::AvxVnni, R>(w, wrb, a, arb, nc, nb, sums)
            }
            if $crate::quant::avx2_util::has_avx_vnni() {
                $crate::cpu::gemm_simd::dispatch_rows!(rows_avx_vnni, w, wrb, nr, a, arb, nc, nb, sums)
            } else {
                $crate::cpu::gemm_simd::dispatch_rows!(rows, w, wrb, nr, a, arb, nc, nb, sums)
            }
        }
    };
    ($avx2:ident, $vnni:ident = $body:ident $(<$fmt:ty>)?) => {
        $crate::cpu::gemm_simd::tile_fns!($avx2 = $body $(<$fmt>)?);

        /// # Safety
        /// See [`super::gemm::TileFn`]; needs AVX2, FMA, F16C and AVX-512 F/VL/BW/VNNI.
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $vnni(
            w: &[u8],
            wrb: usize,
            nr: usize,
            a: &[u8],
            arb: usize,
            nc: usize,
            nb: usize,
            sums: &mut $crate::cpu::gemm::Sums,
        ) {
            #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")]
            unsafe fn rows<const R: usize>(
                w: &[u8],
                wrb: usize,
                a: &[u8],
                arb: usize,
                nc: usize,
                nb: usize,
                sums: &mut $crate::cpu::gemm::Sums,
            ) {
                $body::<$($fmt,)? $crate::cpu::gemm_simd::Vnni, R>(w, wrb, a, arb, nc, nb, sums)
            }
            $crate::cpu::gemm_simd::dispatch_rows!(rows, w, wrb, nr, a, arb, nc, nb, sums)
        }
    };
}
pub(crate) use tile_fns;

/// Calls `$kernel::<R>` for the tile's row count (1..=MAX_ROWS, which is 4).
macro_rules! dispatch_rows {
    ($kernel:ident, $w:expr, $wrb:expr, $nr:expr, $a:expr, $arb:expr, $nc:expr, $nb:expr, $sums:expr) => {
        match $nr {
            1 => $kernel::<1>($w, $wrb, $a, $arb, $nc, $nb, $sums),
            2 => $kernel::<2>($w, $wrb, $a, $arb, $nc, $nb, $sums),
            3 => $kernel::<3>($w, $wrb, $a, $arb, $nc, $nb, $sums),
            _ => $kernel::<4>($w, $wrb, $a, $arb, $nc, $nb, $sums),
        }
    };
}
pub(crate) use dispatch_rows;
