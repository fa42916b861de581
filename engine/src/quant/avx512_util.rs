//! AVX-512 helpers shared by the 512-bit dot kernels. The kernels using them are compiled with
//! `avx512f,avx512bw,avx512vl,avx512vnni` (plus AVX2/FMA/F16C) and only called after
//! [`available`] said yes.

#![cfg(target_arch = "x86_64")]

use super::prefetch::prefetch_ahead;
use std::arch::x86_64::*;

/// Whether the AVX-512 (F, BW, VL, VNNI) decode kernels can run here (std caches each detection).
#[inline(always)]
pub fn available() -> bool {
    // Asked once per row by the format dispatchers: one load instead of seven feature tests.
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHECKED.get_or_init(|| {
        crate::isa_ceiling::avx512_allowed()
            && super::avx2_util::available()
            && std::is_x86_feature_detected!("f16c")
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vnni")
    })
}

/// i16 permutation indices selecting, for each of the 32 i16 lanes, the value `first + lane / per`
/// (`per` = how many consecutive lanes share one scale).
pub const fn group_index(first: usize, per: usize) -> [i16; 32] {
    let mut idx = [0i16; 32];
    let mut i = 0;
    while i < 32 {
        idx[i] = (first + i / per) as i16;
        i += 1;
    }
    idx
}

/// 32 i16 lanes alternating between `a` and `b` every `run` lanes (`a` first).
pub const fn alternating(a: i16, b: i16, run: usize) -> [i16; 32] {
    let mut v = [a; 32];
    let mut i = 0;
    while i < 32 {
        if (i / run) % 2 == 1 {
            v[i] = b;
        }
        i += 1;
    }
    v
}

/// The high 256 bits of `v` added onto the low 256: i32 lane l + lane l + 8.
#[inline]
#[target_feature(enable = "avx2,avx512f")]
pub unsafe fn fold_halves(v: __m512i) -> __m256i {
    _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1))
}

/// Loads 32 i16 values.
#[inline(always)]
pub unsafe fn load_i16x32(v: &[i16; 32]) -> __m512i {
    _mm512_loadu_si512(v.as_ptr() as *const _)
}

/// `vpsrlvw`: each u16 lane of `a` shifted right by its lane of `count` (all below 16 here).
/// Written as the instruction because std's `_mm512_srlv_epi16` is generic code that guards counts
/// of 16 and more, which LLVM compiles to the shift plus a masked move per use (~8% of a Q4_K
/// block in these kernels).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn srlv16(a: __m512i, count: __m512i) -> __m512i {
    let r: __m512i;
    std::arch::asm!(
        "vpsrlvw {r}, {a}, {c}",
        r = lateout(zmm_reg) r,
        a = in(zmm_reg) a,
        c = in(zmm_reg) count,
        options(pure, nomem, nostack, preserves_flags)
    );
    r
}

/// `vpsllvw`, as [`srlv16`] shifting left.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn sllv16(a: __m512i, count: __m512i) -> __m512i {
    let r: __m512i;
    std::arch::asm!(
        "vpsllvw {r}, {a}, {c}",
        r = lateout(zmm_reg) r,
        a = in(zmm_reg) a,
        c = in(zmm_reg) count,
        options(pure, nomem, nostack, preserves_flags)
    );
    r
}

/// The two f16 values at `p` and `p + 2`, as exact f32s (lanes 0 and 1).
#[inline]
#[target_feature(enable = "avx2,f16c")]
pub unsafe fn two_f16(p: *const u8) -> (f32, f32) {
    let h = _mm_cvtsi32_si128((p as *const i32).read_unaligned());
    let f = _mm_cvtph_ps(h);
    (_mm_cvtss_f32(f), _mm_cvtss_f32(_mm_movehdup_ps(f)))
}

/// The (weight block, Q8_K activation block) pairs of a dot product over `n` elements of a
/// 256-element format whose blocks are `type_size` bytes, each weight block's bytes
/// [`super::prefetch::PREFETCH_AHEAD`] on asked for as its pair is handed out ([`prefetch_ahead`]).
#[inline(always)]
pub fn q8_k_blocks<'a>(
    weights: &'a [u8],
    type_size: usize,
    activations: &'a [u8],
    n: usize,
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
    weights
        .chunks_exact(type_size)
        .zip(activations.chunks_exact(super::q8_k::TYPE_SIZE))
        .take(n / super::q8_k::BLOCK)
        .inspect(move |(x, _)| prefetch_ahead(x.as_ptr(), type_size))
}
