//! AVX2 kernel for Q5_K repacked sixteen rows at a time ([`super::q5_k_x16`]): the repacked Q4_K
//! kernel ([`super::q4_k_x16_avx2`]) with each nibble vector's fifth bits merged in before its
//! product, for CPUs without AVX-512 (AVX-VNNI's `vpdpbusd` where the CPU has it).

#![cfg(target_arch = "x86_64")]

use super::avx2_util::{ByteDot, PlainDot, VnniDot};
use super::k_x16_bytes::form;
use super::q4_k_x16_avx2::{cols_with_k, dot16_with};
use super::x16::ROWS;

/// # Safety
/// The CPU must support AVX2, FMA and F16C ([`super::avx2_util::available`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot16(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_with::<PlainDot, { form::Q5 }>(n, group, activations, out)
}

/// # Safety
/// As [`dot16`], and AVX-VNNI ([`super::avx2_util::has_avx_vnni`]).
#[target_feature(enable = "avx2,fma,f16c,avxvnni")]
pub unsafe fn dot16_vnni(n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
    dot16_with::<VnniDot, { form::Q5 }>(n, group, activations, out)
}

/// The Q5_K prompt body ([`cols_with_k`]).
#[inline(always)]
unsafe fn cols_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_with_k::<B, { form::Q5 }, C>(n, group, activations, out)
}

super::x16_avx2::avx2_column_entry_points!(cols_with);

super::x16_avx2::avx2_kernel_tests!(Q5K);
