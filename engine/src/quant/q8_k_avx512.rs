//! AVX-512 version of the Q8_K activation quantizer, bit for bit [`super::q8_k::quantize`] (the
//! reference, which stays the tested one). It ran as 4% of a prompt's samples on the IQ4_XS slice:
//! its max search is a serial compare per element.

#![cfg(target_arch = "x86_64")]

use super::common::whole_blocks;
use super::q8_k::{BLOCK, BSUMS, QS, TYPE_SIZE};
use std::arch::x86_64::*;

/// Same contract and bits as the reference for finite inputs. The sign of the scale comes from
/// the first element of largest magnitude, as the reference's strict `>` keeps it; the rounding
/// is `cvtps2dq`'s nearest-even, which the reference's magic-number `nearest_int` also gives for
/// these magnitudes (|iscale·v| ≤ 127).
///
/// # Safety
/// The CPU must support AVX-512 F and BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub unsafe fn quantize(src: &[f32], dst: &mut [u8]) {
    let nb = whole_blocks(dst.len(), TYPE_SIZE, src.len(), BLOCK);
    for (x, b) in src
        .chunks_exact(BLOCK)
        .zip(dst.chunks_exact_mut(TYPE_SIZE))
        .take(nb)
    {
        let load = |c: usize| _mm512_loadu_ps(x[16 * c..16 * c + 16].as_ptr());
        // max_ps returns its second operand when the first is NaN, so NaNs are skipped as the
        // reference's comparison skips them.
        let mut amax = _mm512_setzero_ps();
        for c in 0..BLOCK / 16 {
            amax = _mm512_max_ps(_mm512_abs_ps(load(c)), amax);
        }
        let amax = _mm512_reduce_max_ps(amax);
        if amax == 0.0 {
            b.fill(0);
            continue;
        }
        let splat = _mm512_set1_ps(amax);
        let mut max = amax;
        for c in 0..BLOCK / 16 {
            let hits = _mm512_cmpeq_ps_mask(_mm512_abs_ps(load(c)), splat);
            if hits != 0 {
                max = x[16 * c + hits.trailing_zeros() as usize];
                break;
            }
        }
        let iscale = -127.0 / max;
        let scale = _mm512_set1_ps(iscale);
        let top = _mm512_set1_epi32(127);
        for c in 0..BLOCK / 16 {
            let q = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(scale, load(c))), top);
            let out: &mut [u8; 16] = (&mut b[QS + 16 * c..QS + 16 * c + 16]).try_into().unwrap();
            _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, _mm512_cvtepi32_epi8(q));
            // One vector is one 16-element group: its bsum.
            let sum = _mm512_reduce_add_epi32(q) as i16;
            b[BSUMS + 2 * c..BSUMS + 2 * c + 2].copy_from_slice(&sum.to_le_bytes());
        }
        b[0..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    }
}
