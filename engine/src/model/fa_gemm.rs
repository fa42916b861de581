//! `C[m×n] += A[m×k] · B[k×n]` in f32 with the numerics of ggml's `simd_gemm` (the GEMM inside
//! llama.cpp's tiled CPU flash attention): every element of C is one chain of fused
//! multiply-adds over `k` in order, starting from its value in C. That order does not depend on
//! the vector width or the blocking, so the AVX-512 and AVX2 siblings give the same bits as the
//! scalar reference below.

/// Row-major `c` (m×n) += `a` (m×k) · `b` (k×n).
pub fn gemm_acc(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    assert!(
        c.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "gemm_acc: {m}×{k}·{k}×{n} does not fit the buffers ({}, {}, {})",
        a.len(),
        b.len(),
        c.len()
    );
    #[cfg(target_arch = "x86_64")]
    {
        if super::tinyblas_avx512::available() {
            // SAFETY: AVX-512F detected; the buffer sizes were checked above.
            return unsafe { super::fa_gemm_avx512::gemm_acc(c, a, b, m, k, n) };
        }
        if super::tinyblas_avx2::available() {
            // SAFETY: AVX2 and FMA detected; the buffer sizes were checked above.
            return unsafe { super::fa_gemm_avx2::gemm_acc(c, a, b, m, k, n) };
        }
    }
    gemm_acc_scalar(c, a, b, m, k, n)
}

/// The reference: one fused multiply-add chain per element.
pub fn gemm_acc_scalar(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = c[i * n + j];
            for kk in 0..k {
                acc = a[i * k + kk].mul_add(b[kk * n + j], acc);
            }
            c[i * n + j] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_rng::Rng;

    #[test]
    fn simd_gemm_matches_the_scalar_chain_bit_for_bit() {
        let mut rng = Rng::new(5);
        for (m, k, n) in [
            (1, 1, 1),
            (4, 64, 64),
            (5, 256, 64),
            (7, 64, 256),
            (9, 13, 80),
            (3, 64, 7),
            (12, 64, 129),
            (128, 64, 256),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal() * 3.0).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| rng.normal()).collect();
            let (mut want, mut got) = (c0.clone(), c0.clone());
            gemm_acc_scalar(&mut want, &a, &b, m, k, n);
            gemm_acc(&mut got, &a, &b, m, k, n);
            for (i, (x, y)) in want.iter().zip(&got).enumerate() {
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{m}×{k}×{n} element {i}: {x} vs {y}"
                );
            }
            #[cfg(target_arch = "x86_64")]
            if crate::model::tinyblas_avx2::available() {
                let mut got2 = c0.clone();
                // SAFETY: AVX2 and FMA detected; sizes as above.
                unsafe { crate::model::fa_gemm_avx2::gemm_acc(&mut got2, &a, &b, m, k, n) };
                assert!(want
                    .iter()
                    .zip(&got2)
                    .all(|(x, y)| x.to_bits() == y.to_bits()));
            }
        }
    }

    #[test]
    fn gemm_is_a_matrix_product() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] + 1 = [[20, 23], [44, 51]]
        let mut c = vec![1f32; 4];
        gemm_acc(
            &mut c,
            &[1.0, 2.0, 3.0, 4.0],
            &[5.0, 6.0, 7.0, 8.0],
            2,
            2,
            2,
        );
        assert_eq!(c, [20.0, 23.0, 44.0, 51.0]);
    }
}
