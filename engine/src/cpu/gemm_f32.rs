//! GEMM tile kernel for F32 weights · F32 activations (MoE routers, small gates), AVX2.
//!
//! Same arithmetic per (row, column) as `quant/f32.rs`'s `vec_dot`: eight partial sums fed by
//! multiply-then-add (no FMA) over each run of eight elements, summed in order, then the tail
//! elements one by one, so results are bit-identical. Accumulators for 4 rows × 2 columns live in
//! registers across the whole row.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS};
use super::gemm_simd::dispatch_rows;
use std::arch::x86_64::*;

/// Eight f32 from `s[at..at + 32]` (bounds-checked).
#[inline(always)]
unsafe fn load8(s: &[u8], at: usize) -> __m256 {
    let s = &s[at..at + 32];
    _mm256_loadu_ps(s.as_ptr() as *const f32)
}

#[inline(always)]
fn read(s: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]])
}

/// # Safety
/// See [`super::gemm::TileFn`] (`nb` is the row length in elements); needs AVX2.
#[allow(clippy::too_many_arguments)]
pub unsafe fn f32(
    w: &[u8],
    wrb: usize,
    nr: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    dispatch_rows!(f32_rows, w, wrb, nr, a, arb, nc, nb, sums)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn f32_rows<const R: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    n: usize,
    sums: &mut Sums,
) {
    let nc = nc.min(MAX_COLS);
    let mut c = 0;
    while c + 2 <= nc {
        f32_cols::<R, 2>(w, wrb, a, arb, c, n, sums);
        c += 2;
    }
    if c < nc {
        f32_cols::<R, 1>(w, wrb, a, arb, c, n, sums);
    }
}

#[inline(always)]
unsafe fn f32_cols<const R: usize, const C: usize>(
    w: &[u8],
    wrb: usize,
    a: &[u8],
    arb: usize,
    c0: usize,
    n: usize,
    sums: &mut Sums,
) {
    let full = n / 8 * 8;
    let mut acc = [[_mm256_setzero_ps(); C]; R];
    for i in (0..full).step_by(8) {
        let av: [__m256; C] = std::array::from_fn(|c| load8(a, (c0 + c) * arb + 4 * i));
        for (r, row) in acc.iter_mut().enumerate() {
            let wv = load8(w, r * wrb + 4 * i);
            for (lane, &x) in row.iter_mut().zip(&av) {
                *lane = _mm256_add_ps(*lane, _mm256_mul_ps(wv, x));
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), v);
            // The vec_dot's final order: the eight partial sums in order, then the tail.
            let mut sum: f32 = lanes.iter().sum();
            for j in full..n {
                sum += read(w, r * wrb + 4 * j) * read(a, (c0 + c) * arb + 4 * j);
            }
            sums[c0 + c][r] = sum;
        }
    }
}
