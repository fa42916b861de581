//! AVX2 column product over expanded Q4_K/Q5_K groups ([`super::k_x16_bytes`]): the repacked
//! Q4_K prompt kernel reading a byte per value ([`super::q4_k_x16_avx2`]), with AVX-VNNI's
//! `vpdpbusd` where the CPU has it (values up to 31: `vpmaddubsw` pairs stay within 2·31·128).

#![cfg(target_arch = "x86_64")]

use super::avx2_util::ByteDot;
use super::k_x16_bytes::form;
use super::q4_k_x16_avx2::cols_with_k;
use super::x16::ROWS;

/// The expanded-group body ([`cols_with_k`]).
#[inline(always)]
unsafe fn cols_with<B: ByteDot, const C: usize>(
    n: usize,
    group: &[u8],
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    cols_with_k::<B, { form::BYTES }, C>(n, group, activations, out)
}

super::x16_avx2::avx2_column_entry_points!(cols_with);
