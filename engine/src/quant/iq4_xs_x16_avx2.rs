//! AVX-VNNI kernel for IQ4_XS repacked sixteen rows at a time ([`super::iq4_xs_x16`]): the
//! AVX-512 kernel's steps on 256-bit vectors, rows 0..8 and 8..16 of a group in two passes over
//! each (L1-resident) super-block, for CPUs with AVX-VNNI and no AVX-512 (Intel clients since
//! Alder Lake).
//!
//! Each nibble becomes its level + 128 (1..=241, unsigned) through `vpshufb`, one `vpdpbusd`
//! adds four products per row lane, and the lanes start at `−128 · Σ activations` of the
//! sub-block, so they end exact. There is no AVX2-alone version: `vpmaddubsw` would saturate on
//! 241·128 pairs, and moving the levels' signs onto the activations instead is wrong for the
//! activation −128 (which Q8_K gives the largest value of most blocks); those CPUs keep IQ4_XS in
//! the file layout. Bit for bit [`super::iq4_xs_x16::dot16_scalar`].

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{ByteDot, VnniDot};
use super::iq4_xs_x16::{
    expanded_at, expanded_blocks, qs_at, BLOCK_BYTES, EXPANDED_BLOCK_BYTES, LEVELS_PLUS_128, SCALES,
};
use super::q8_k;
use super::x16::{d_area, ROWS};
use std::arch::x86_64::*;

/// Rows of one pass: a 256-bit vector of four bytes each.
const HALF: usize = ROWS / 2;

/// The four activation bytes at `off`, broadcast to every 32-bit lane.
#[inline(always)]
unsafe fn act(a: *const u8, off: usize) -> __m256i {
    _mm256_set1_epi32((a.add(off) as *const i32).read_unaligned())
}

/// `−128 ·` the activation sum of each of the eight 32-element sub-blocks of one Q8_K block.
#[inline(always)]
pub(super) unsafe fn offsets(y: &[u8]) -> [i32; 8] {
    let bsums = _mm256_loadu_si256(y[q8_k::BSUMS..q8_k::BSUMS + 32].as_ptr() as *const __m256i);
    let mut out = [0i32; 8];
    let sums = _mm256_madd_epi16(bsums, _mm256_set1_epi16(-128));
    _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, sums);
    out
}

/// The levels + 128 of the low and the high nibbles of rows `8·rh..8·rh+8` in step `k`,
/// sub-block `j`.
#[inline(always)]
unsafe fn levels(
    x: *const u8,
    k: usize,
    j: usize,
    rh: usize,
    table: __m256i,
) -> (__m256i, __m256i) {
    let low = _mm256_set1_epi8(0x0F);
    let v = _mm256_loadu_si256(x.add(qs_at(k, j, 0) + 32 * rh) as *const __m256i);
    let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, low));
    let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16::<4>(v), low));
    (lo, hi)
}

/// The scales of sub-block `j` of rows `8·rh..8·rh+8` as i32 lanes.
#[inline(always)]
unsafe fn scales(x: *const u8, j: usize, rh: usize) -> __m256i {
    _mm256_cvtepi8_epi32(_mm_loadl_epi64(
        x.add(SCALES + ROWS * j + HALF * rh) as *const __m128i
    ))
}

/// `d·dy` of super-block `b`, rows `8·rh..8·rh+8`, as the scalar product lane by lane.
#[inline(always)]
unsafe fn scale_product(ds: &[u8], b: usize, rh: usize, y: &[u8]) -> __m256 {
    let d = _mm256_cvtph_ps(_mm_loadu_si128(
        ds[2 * (ROWS * b + HALF * rh)..].as_ptr() as *const __m128i
    ));
    _mm256_mul_ps(d, _mm256_set1_ps(q8_k::d(y)))
}

/// Decode: one activation row, the layout's memory order within a pass (eight accumulator
/// chains, one per sub-block).
#[inline(always)]
unsafe fn dot16_with<B: ByteDot>(
    n: usize,
    group: &[u8],
    activations: &[u8],
    out: &mut [f32; ROWS],
) {
    let nb = n / q8_k::BLOCK;
    let table = table();
    let (ds, blocks) = group.split_at(d_area(nb));
    let mut sumf = [_mm256_setzero_ps(); 2];
    for (b, (x, y)) in blocks
        .chunks_exact(BLOCK_BYTES)
        .zip(activations.chunks_exact(q8_k::TYPE_SIZE))
        .take(nb)
        .enumerate()
    {
        let (xp, a) = (x.as_ptr(), y[q8_k::QS..].as_ptr());
        let offs = offsets(y);
        for (rh, sumf) in sumf.iter_mut().enumerate() {
            let mut acc = offs.map(|o| _mm256_set1_epi32(o));
            for k in 0..4 {
                for (j, acc) in acc.iter_mut().enumerate() {
                    let (lo, hi) = levels(xp, k, j, rh, table);
                    *acc = B::dot(*acc, lo, act(a, 32 * j + 4 * k));
                    *acc = B::dot(*acc, hi, act(a, 32 * j + 16 + 4 * k));
                }
            }
            let mut sumi = _mm256_mullo_epi32(acc[0], scales(xp, 0, rh));
            for (j, &lanes) in acc.iter().enumerate().skip(1) {
                sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(lanes, scales(xp, j, rh)));
            }
            let d = scale_product(ds, b, rh, y);
            *sumf = _mm256_add_ps(*sumf, _mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi)));
        }
    }
    _mm256_storeu_ps(out.as_mut_ptr(), sumf[0]);
    _mm256_storeu_ps(out.as_mut_ptr().add(HALF), sumf[1]);
}

/// The lookup table of levels + 128 in both 128-bit lanes.
#[inline(always)]
unsafe fn table() -> __m256i {
    _mm256_broadcastsi128_si256(_mm_loadu_si128(LEVELS_PLUS_128.as_ptr() as *const __m128i))
}

/// Expands the first `n / 256` super-blocks of a repacked group into `out`
/// ([`super::iq4_xs_x16::expand_scalar`]'s bytes).
///
/// # Safety
/// The CPU must support AVX2; `out` holds [`super::iq4_xs_x16::expanded_group_bytes`]`(n)` bytes.
#[target_feature(enable = "avx2")]
pub unsafe fn expand(n: usize, group: &[u8], out: &mut [u8]) {
    let table = table();
    for (x, o) in expanded_blocks(n, group, out) {
        let op = o.as_mut_ptr();
        for j in 0..8 {
            for k in 0..4 {
                for rh in 0..2 {
                    let (lo, hi) = levels(x.as_ptr(), k, j, rh, table);
                    let at = |h: usize| op.add(expanded_at(j, k, h) + 32 * rh) as *mut __m256i;
                    _mm256_storeu_si256(at(0), lo);
                    _mm256_storeu_si256(at(1), hi);
                }
            }
        }
    }
}

/// Prompt: `C` activation rows (one or two: more would spill), each load's levels looked up once
/// for all of them, sub-block by sub-block (two accumulators per row); over repacked or
/// (`EXPANDED`) expanded super-blocks.
#[inline(always)]
unsafe fn cols_k<B: ByteDot, const EXPANDED: bool, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    let nb = n / q8_k::BLOCK;
    let table = table();
    let (ds, blocks) = group.split_at(d_area(nb));
    let mut sumf = [[_mm256_setzero_ps(); 2]; C];
    let block_bytes = if EXPANDED {
        EXPANDED_BLOCK_BYTES
    } else {
        BLOCK_BYTES
    };
    for (b, x) in blocks.chunks_exact(block_bytes).take(nb).enumerate() {
        let xp = x.as_ptr();
        let ys = activations.map(|a| &a[b * q8_k::TYPE_SIZE..(b + 1) * q8_k::TYPE_SIZE]);
        // Whole Q8_K blocks: every activation offset below lies inside them.
        let acts = ys.map(|y| y[q8_k::QS..].as_ptr());
        let mut offs = [[0i32; 8]; C];
        for (o, y) in offs.iter_mut().zip(ys) {
            *o = offsets(y);
        }
        for rh in 0..2 {
            let mut sumi = [_mm256_setzero_si256(); C];
            for j in 0..8 {
                let mut acc = [[_mm256_setzero_si256(); 2]; C];
                for (acc, offs) in acc.iter_mut().zip(&offs) {
                    acc[0] = _mm256_set1_epi32(offs[j]);
                }
                for k in 0..4 {
                    let (lo, hi) = if EXPANDED {
                        let at = |h: usize| xp.add(expanded_at(j, k, h) + 32 * rh) as *const _;
                        (_mm256_loadu_si256(at(0)), _mm256_loadu_si256(at(1)))
                    } else {
                        levels(xp, k, j, rh, table)
                    };
                    for (acc, &a) in acc.iter_mut().zip(&acts) {
                        acc[0] = B::dot(acc[0], lo, act(a, 32 * j + 4 * k));
                        acc[1] = B::dot(acc[1], hi, act(a, 32 * j + 16 + 4 * k));
                    }
                }
                let s = scales(xp, j, rh);
                for (sumi, acc) in sumi.iter_mut().zip(acc) {
                    let acc = _mm256_add_epi32(acc[0], acc[1]);
                    *sumi = _mm256_add_epi32(*sumi, _mm256_mullo_epi32(acc, s));
                }
            }
            for ((sumf, sumi), y) in sumf.iter_mut().zip(sumi).zip(ys) {
                let d = scale_product(ds, b, rh, y);
                sumf[rh] = _mm256_add_ps(sumf[rh], _mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi)));
            }
        }
    }
    for (o, s) in out.iter_mut().zip(sumf) {
        _mm256_storeu_ps(o.as_mut_ptr(), s[0]);
        _mm256_storeu_ps(o.as_mut_ptr().add(HALF), s[1]);
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-VNNI ([`super::avx2_util::has_avx_vnni`]).
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
pub unsafe fn dot16_vnni(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_with::<VnniDot>(n, group, activations, out)
}

/// The repacked-group prompt body ([`cols_k`]).
#[inline(always)]
unsafe fn cols_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, false, C>(n, group, activations, out)
}

/// The expanded-group prompt body ([`cols_k`]).
#[inline(always)]
unsafe fn cols_expanded_with<B: ByteDot, const C: usize>(
    n: usize,
    expanded: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_k::<B, true, C>(n, expanded, activations, out)
}

super::x16_avx2::avx_vnni_column_entry_point!(cols_with);
super::x16_avx2::avx_vnni_column_entry_point!(
    cols_expanded_with,
    expanded_cols_in_pairs,
    dot16_cols_expanded_vnni
);

#[cfg(test)]
mod tests {
    use super::super::avx2_util;
    use super::super::x16::{Layout, COLS};
    use super::super::x16_avx2::check_kernels;
    use super::*;

    #[test]
    fn avx_vnni_group_dot_is_the_row_dot_bit_for_bit() {
        if !avx2_util::has_avx_vnni() {
            println!("skipped: no AVX-VNNI on this CPU");
            return;
        }
        // SAFETY: AVX2, FMA, F16C and AVX-VNNI were detected above.
        unsafe {
            check_kernels(
                Layout::IQ4XS,
                dot16_vnni,
                dot16_cols_vnni::<COLS>,
                dot16_cols_vnni::<3>,
            )
        };
    }
}
