//! Helpers shared by the aarch64 NEON dot kernels. They use baseline ARMv8 NEON only (every
//! aarch64 CPU has it), and their integer sums are exact, so each kernel can keep its scalar
//! reference's float arithmetic and give the same bits.

#![cfg(target_arch = "aarch64")]

use std::arch::aarch64::*;

/// `acc` plus the products of 16 signed bytes, summed pairwise into four i32 lanes.
/// Each product fits in i16 (|−128·−128| = 16384), so nothing saturates.
#[inline(always)]
pub fn dot_i8x16(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
        let hi = vmull_high_s8(a, b);
        vpadalq_s16(vpadalq_s16(acc, lo), hi)
    }
}

/// 16 signed bytes from `bytes[at..at + 16]`.
#[inline(always)]
pub fn load_i8x16(bytes: &[u8], at: usize) -> int8x16_t {
    let s: &[u8; 16] = bytes[at..at + 16].try_into().expect("16 bytes");
    // SAFETY: `s` is 16 readable bytes; NEON is part of the aarch64 baseline.
    unsafe { vld1q_s8(s.as_ptr() as *const i8) }
}

/// 16 unsigned bytes from `bytes[at..at + 16]`.
#[inline(always)]
pub fn load_u8x16(bytes: &[u8], at: usize) -> uint8x16_t {
    let s: &[u8; 16] = bytes[at..at + 16].try_into().expect("16 bytes");
    // SAFETY: as in `load_i8x16`.
    unsafe { vld1q_u8(s.as_ptr()) }
}

/// The low and high nibbles of 16 bytes, as signed bytes (0..=15).
#[inline(always)]
pub fn nibbles(q: uint8x16_t) -> (int8x16_t, int8x16_t) {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let lo = vandq_u8(q, vdupq_n_u8(0x0F));
        let hi = vshrq_n_u8::<4>(q);
        (vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi))
    }
}

/// Sum of the four lanes.
#[inline(always)]
pub fn hsum(v: int32x4_t) -> i32 {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vaddvq_s32(v) }
}

#[inline(always)]
pub fn zero() -> int32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vdupq_n_s32(0) }
}

/// `acc + v·s`, lane by lane.
#[inline(always)]
pub fn mla(acc: int32x4_t, v: int32x4_t, s: i32) -> int32x4_t {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe { vmlaq_n_s32(acc, v, s) }
}

/// Exact dot of 32 signed weights, given as two vectors (elements 0..16 and 16..32), with the 32
/// activation bytes at `y[at..at + 32]`, as four i32 lanes.
#[inline(always)]
pub fn dot32(w0: int8x16_t, w1: int8x16_t, y: &[u8], at: usize) -> int32x4_t {
    dot_i8x16(
        dot_i8x16(zero(), w0, load_i8x16(y, at)),
        w1,
        load_i8x16(y, at + 16),
    )
}

/// The four 2-bit fields of 16 bytes (bits 0–1, 2–3, 4–5, 6–7), each as signed bytes 0..=3.
#[inline(always)]
pub fn crumbs(q: uint8x16_t) -> [int8x16_t; 4] {
    // SAFETY: NEON is part of the aarch64 baseline.
    unsafe {
        let three = vdupq_n_u8(3);
        [
            vreinterpretq_s8_u8(vandq_u8(q, three)),
            vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8::<2>(q), three)),
            vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8::<4>(q), three)),
            vreinterpretq_s8_u8(vshrq_n_u8::<6>(q)),
        ]
    }
}

/// Exact integer dot of one 32-element block of 4-bit codes (16 bytes at `x[at..]`, low nibbles
/// first) looked up in `table`, with 32 signed activation bytes at `y[at_y..]`.
#[inline(always)]
pub fn table_dot32(table: int8x16_t, x: &[u8], at: usize, y: &[u8], at_y: usize) -> i32 {
    let (lo, hi) = nibbles(load_u8x16(x, at));
    // SAFETY: NEON is part of the aarch64 baseline; the indices are below 16.
    let (lo, hi) = unsafe {
        (
            vqtbl1q_s8(table, vreinterpretq_u8_s8(lo)),
            vqtbl1q_s8(table, vreinterpretq_u8_s8(hi)),
        )
    };
    hsum(dot32(lo, hi, y, at_y))
}

/// A 16-entry signed byte table in a register.
#[inline(always)]
pub fn table(values: &[i8; 16]) -> int8x16_t {
    // SAFETY: `values` is 16 readable bytes; NEON is part of the aarch64 baseline.
    unsafe { vld1q_s8(values.as_ptr()) }
}
