//! AVX2 `vec_dot` for IQ2_XXS (see `iq2_xxs.rs` for the format), chosen at run time by
//! [`detected`]. Same result as the scalar kernel, bit for bit.

use super::Kernels;

/// The IQ2_XXS kernels with the AVX2 dot product, if this CPU has AVX2.
pub fn detected() -> Option<&'static Kernels> {
    #[cfg(target_arch = "x86_64")]
    if crate::isa_ceiling::avx2_allowed() && std::arch::is_x86_feature_detected!("avx2") {
        return Some(&imp::KERNELS);
    }
    None
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use std::arch::x86_64::*;

    use super::super::iq2_xxs::{self, BLOCK_BYTES};
    use super::super::iq_avx2::{hsum_i32, scaled_signed_dot32, signs_from_codes};
    use super::super::iq_common::{read_f16, read_u32, row_blocks, QK_K};
    use super::super::iq_grids::IQ2XXS_GRID;
    use super::super::Kernels;

    /// Handed out only by `detected()`, after the AVX2 check.
    pub(super) const KERNELS: Kernels = Kernels {
        vec_dot,
        ..iq2_xxs::KERNELS
    };

    fn vec_dot(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
        // SAFETY: this function is only reachable through KERNELS, which `detected()` returns
        // only when the CPU supports AVX2.
        unsafe { vec_dot_avx2(n, weights, activations) }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn vec_dot_avx2(n: usize, weights: &[u8], activations: &[u8]) -> f32 {
        let mut sumf = 0f32;
        for (block, y) in row_blocks(n, weights, BLOCK_BYTES, activations) {
            let d = read_f16(block, 0) * y.d;
            let mut acc = _mm256_setzero_si256();
            for ib32 in 0..QK_K / 32 {
                let idx = read_u32(block, 2 + 8 * ib32).to_le_bytes();
                let codes = read_u32(block, 6 + 8 * ib32);
                let g = |l: usize| IQ2XXS_GRID[idx[l] as usize] as i64;
                let grid = _mm256_set_epi64x(g(3), g(2), g(1), g(0));
                let scale = (2 * (codes >> 28) + 1) as i16;
                let q8 = &y.qs[32 * ib32..32 * ib32 + 32];
                acc = _mm256_add_epi32(
                    acc,
                    scaled_signed_dot32(grid, signs_from_codes(codes), q8, scale),
                );
            }
            sumf += d * hsum_i32(acc) as f32;
        }
        0.125 * sumf
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::super::iq2_xxs;
    use super::super::iq_common::testing::check_simd_matches_scalar;

    #[test]
    fn avx2_equals_scalar() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            println!("skipped: no AVX2 on this CPU");
            return;
        }
        let simd = |n: usize, w: &[u8], a: &[u8]| unsafe { super::imp::vec_dot_avx2(n, w, a) };
        check_simd_matches_scalar(&iq2_xxs::KERNELS, "iq2_xxs.bin", &simd);
    }
}
