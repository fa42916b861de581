//! AVX-512 VNNI column product over expanded Q4_K/Q5_K groups ([`super::k_x16_bytes`]): the
//! repacked Q4_K prompt kernel reading a byte per value ([`super::q4_k_x16_avx512`]).

#![cfg(target_arch = "x86_64")]

use super::k_x16_bytes::form;
use super::q4_k_x16_avx512::dot16_cols_k;
use super::x16::ROWS;

/// The sixteen rows of an expanded group · `C` Q8_K activation rows.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16_cols<const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    dot16_cols_k::<{ form::BYTES }, C>(n, group, activations, out)
}
