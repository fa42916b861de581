//! AVX2 `fa_gemm::gemm_acc`: 4 rows × 16 columns of C in eight registers, each element's fused
//! multiply-add chain over `k` in order (the same bits as the scalar reference).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// # Safety
/// Needs AVX2 and FMA; `c`, `a`, `b` hold at least m×n, m×k and k×n elements.
#[target_feature(enable = "avx2,fma")]
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
#[target_feature(enable = "avx2,fma")]
unsafe fn row_block<const RM: usize>(
    c: *mut f32,
    a: *const f32,
    b: *const f32,
    k: usize,
    n: usize,
) {
    let all = _mm256_set1_epi32(-1);
    let mut j = 0;
    while j + 16 <= n {
        tile::<RM, 2>(c.add(j), a, b.add(j), k, n, all);
        j += 16;
    }
    while j + 8 <= n {
        tile::<RM, 1>(c.add(j), a, b.add(j), k, n, all);
        j += 8;
    }
    if j < n {
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((n - j) as i32), lanes);
        tile::<RM, 1>(c.add(j), a, b.add(j), k, n, mask);
    }
}

/// RM rows × RN vectors of C (the lanes under `mask` in each vector).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const RM: usize, const RN: usize>(
    c: *mut f32,
    a: *const f32,
    b: *const f32,
    k: usize,
    n: usize,
    mask: __m256i,
) {
    let mut acc = [[_mm256_setzero_ps(); RN]; RM];
    for (i, row) in acc.iter_mut().enumerate() {
        for (r, v) in row.iter_mut().enumerate() {
            *v = _mm256_maskload_ps(c.add(i * n + r * 8), mask);
        }
    }
    for kk in 0..k {
        let mut bv = [_mm256_setzero_ps(); RN];
        for (r, v) in bv.iter_mut().enumerate() {
            *v = _mm256_maskload_ps(b.add(kk * n + r * 8), mask);
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let p = _mm256_set1_ps(*a.add(i * k + kk));
            for (v, &bb) in row.iter_mut().zip(&bv) {
                *v = _mm256_fmadd_ps(bb, p, *v);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (r, &v) in row.iter().enumerate() {
            _mm256_maskstore_ps(c.add(i * n + r * 8), mask, v);
        }
    }
}
