//! AVX-512 `fa_gemm::gemm_acc`: 4 rows × 64 columns of C in sixteen registers, each element's
//! fused multiply-add chain over `k` in order (the same bits as the scalar reference).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// # Safety
/// Needs AVX-512F; `c`, `a`, `b` hold at least m×n, m×k and k×n elements.
#[target_feature(enable = "avx512f")]
pub unsafe fn gemm_acc(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    debug_assert!(c.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    let (c, a, b) = (c.as_mut_ptr(), a.as_ptr(), b.as_ptr());
    let mut i = 0;
    while i + 4 <= m {
        row_block::<4>(c.add(i * n), a.add(i * k), b, k, n);
        i += 4;
    }
    while i < m {
        row_block::<1>(c.add(i * n), a.add(i * k), b, k, n);
        i += 1;
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn row_block<const RM: usize>(
    c: *mut f32,
    a: *const f32,
    b: *const f32,
    k: usize,
    n: usize,
) {
    let mut j = 0;
    while j + 64 <= n {
        tile::<RM, 4>(c.add(j), a, b.add(j), k, n, 0xFFFF);
        j += 64;
    }
    while j + 16 <= n {
        tile::<RM, 1>(c.add(j), a, b.add(j), k, n, 0xFFFF);
        j += 16;
    }
    if j < n {
        let mask = ((1u32 << (n - j)) - 1) as __mmask16;
        tile::<RM, 1>(c.add(j), a, b.add(j), k, n, mask);
    }
}

/// RM rows × RN vectors of C (the lanes under `mask` in each vector).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const RM: usize, const RN: usize>(
    c: *mut f32,
    a: *const f32,
    b: *const f32,
    k: usize,
    n: usize,
    mask: __mmask16,
) {
    let mut acc = [[_mm512_setzero_ps(); RN]; RM];
    for (i, row) in acc.iter_mut().enumerate() {
        for (r, v) in row.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_ps(mask, c.add(i * n + r * 16));
        }
    }
    for kk in 0..k {
        let mut bv = [_mm512_setzero_ps(); RN];
        for (r, v) in bv.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_ps(mask, b.add(kk * n + r * 16));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let p = _mm512_set1_ps(*a.add(i * k + kk));
            for (v, &bb) in row.iter_mut().zip(&bv) {
                *v = _mm512_fmadd_ps(bb, p, *v);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (r, &v) in row.iter().enumerate() {
            _mm512_mask_storeu_ps(c.add(i * n + r * 16), mask, v);
        }
    }
}
