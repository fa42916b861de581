//! AVX-512 VNNI kernel for Q5_K repacked sixteen rows at a time ([`super::q5_k_x16`]): the
//! repacked Q4_K kernel ([`super::q4_k_x16_avx512`]) with each nibble vector's fifth bits merged
//! in before its `vpdpbusd` (values 0..31 are still unsigned bytes).

#![cfg(target_arch = "x86_64")]

use super::k_x16_bytes::form;
use super::q4_k_x16_avx512::{dot16_cols_k, dot16_k};
use super::x16::ROWS;

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI ([`super::avx512_util::available`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_k::<{ form::Q5 }>(n, group, activations, out)
}

/// [`dot16`] against `C` activation rows at once (the prompt product).
///
/// # Safety
/// As [`dot16`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub unsafe fn dot16_cols<const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    dot16_cols_k::<{ form::Q5 }, C>(n, group, activations, out)
}
