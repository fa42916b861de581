//! AVX-512 VNNI GEMM for IQ4_XS weights · Q8_K activations with the activations transposed:
//! one 512-bit vector holds four consecutive quants of sixteen columns.
//!
//! A weight row's four quants are then a broadcast 32-bit value, and one `vpdpbusd` does 64
//! multiply-adds for one row and sixteen columns, with nothing to unpack per column: a
//! sub-block (32 quants) of eight rows × sixteen columns is 64 `vpdpbusd`, and its scale is
//! one `vpmulld` per row. The AVX2-style tiles spend four or five instructions per 64
//! multiply-adds on moving signs and widening; this layout spends about 1.3.
//!
//! - The activations are repacked once per product ([`pack_columns`]), with +128 so that they
//!   are the unsigned operand; each weight block's `128 · Σ scale·Σx` is subtracted once per
//!   block, which makes the block's integer sum exact.
//! - Each (row, column) result is Σ over blocks of `(dx·dy) · block_sum` in f32: the same terms
//!   as the decode `vec_dot`, which splits each block sum over eight lanes first, so the two can
//!   differ in the last bits (the tests bound it).

#![cfg(target_arch = "x86_64")]

use super::gemm_simd::hsum_i32;
use crate::quant::{iq4_xs, q8_k};
use std::arch::x86_64::*;

/// Columns per vector.
pub const GROUP: usize = 16;
/// Weight rows per tile (three accumulators each: 24 of the 32 vector registers).
pub const ROWS: usize = 8;
/// Weight blocks unpacked per K chunk (2048 elements; eight rows take 17 KiB).
const KBLOCKS: usize = 8;
/// 512-bit vectors per (column group, block): 64 of quants, then the 16 scales.
const VECS_PER_BLOCK: usize = 65;
const SCALES_H: usize = 2;
const SCALES_L: usize = 4;
const QS: usize = 8;

/// Activations in the kernel's layout: for each group of 16 columns and each block,
/// 64 vectors of (4 quants + 128) × 16 columns, then the 16 columns' block scales (f32).
pub struct PackedColumns {
    vecs: Vec<__m512i>,
    nb: usize,
    groups: usize,
}

/// Repacks `n` Q8_K activation rows (`nb` blocks each, row stride `arb`). Columns past `n` in
/// the last group are zero (their results are not written).
pub fn pack_columns(qa: &[u8], arb: usize, n: usize, nb: usize) -> PackedColumns {
    let groups = n.div_ceil(GROUP);
    let mut words = vec![0u32; groups * nb * VECS_PER_BLOCK * GROUP];
    for g in 0..groups {
        for b in 0..nb {
            let base = (g * nb + b) * VECS_PER_BLOCK * GROUP;
            for lane in 0..GROUP {
                let col = g * GROUP + lane;
                if col >= n {
                    // Quants 0 (+128) and scale 0.
                    for k in 0..64 {
                        words[base + k * GROUP + lane] = 0x8080_8080;
                    }
                    continue;
                }
                let y = &qa[col * arb + b * q8_k::TYPE_SIZE..][..q8_k::TYPE_SIZE];
                for k in 0..64 {
                    let at = q8_k::QS + 4 * k;
                    let w = u32::from_le_bytes([y[at], y[at + 1], y[at + 2], y[at + 3]]);
                    words[base + k * GROUP + lane] = w ^ 0x8080_8080;
                }
                words[base + 64 * GROUP + lane] = q8_k::d(y).to_bits();
            }
        }
    }
    let vecs = words
        .chunks_exact(GROUP)
        .map(|c| {
            let mut v = [0u32; GROUP];
            v.copy_from_slice(c);
            // SAFETY: 16 u32 are 64 bytes, any bit pattern is a valid __m512i.
            unsafe { std::mem::transmute::<[u32; GROUP], __m512i>(v) }
        })
        .collect();
    PackedColumns { vecs, nb, groups }
}

/// One weight block of one row, unpacked: signed levels (four per word), sub-block scales, the
/// block's offset correction `128 · Σ_j scale_j · Σ levels of j`, and the block scale.
#[derive(Clone, Copy)]
struct Unpacked {
    levels: [u32; 64],
    scales: [i32; 8],
    correction: i32,
    d: f32,
}

const EMPTY: Unpacked = Unpacked {
    levels: [0; 64],
    scales: [0; 8],
    correction: 0,
    d: 0.0,
};

#[inline(always)]
unsafe fn unpack(x: &[u8], table: __m128i, dst: &mut Unpacked) {
    let m4 = _mm_set1_epi8(0x0F);
    let ones8 = _mm256_set1_epi8(1);
    let sh = u16::from_le_bytes([x[SCALES_H], x[SCALES_H + 1]]);
    // Σ_j scale_j · Σ levels of j, in eight lanes until the end.
    let mut scaled_sum = _mm256_setzero_si256();
    for ib in 0..8 {
        let q = _mm_loadu_si128(x[QS + 16 * ib..][..16].as_ptr() as *const __m128i);
        let lo = _mm_shuffle_epi8(table, _mm_and_si128(q, m4));
        let hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), m4));
        let levels = _mm256_set_m128i(hi, lo);
        _mm256_storeu_si256(dst.levels[8 * ib..].as_mut_ptr() as *mut __m256i, levels);
        let low = (x[SCALES_L + ib / 2] >> (4 * (ib % 2))) & 0xF;
        let high = ((sh >> (2 * ib)) & 3) as u8;
        let scale = (low | (high << 4)) as i32 - 32;
        dst.scales[ib] = scale;
        let pairs = _mm256_maddubs_epi16(ones8, levels);
        scaled_sum = _mm256_add_epi32(
            scaled_sum,
            _mm256_madd_epi16(pairs, _mm256_set1_epi16(scale as i16)),
        );
    }
    dst.correction = 128 * hsum_i32(scaled_sum);
    dst.d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(
        u16::from_le_bytes([x[0], x[1]]) as i32,
    )));
}

/// The output matrix shared by the row tasks; each task writes only its own rows.
#[derive(Clone, Copy)]
pub struct OutRows(pub *mut f32);
// SAFETY: tasks write disjoint elements (their own rows) and the buffer outlives the scope.
unsafe impl Send for OutRows {}
unsafe impl Sync for OutRows {}

/// `out[c * rows + r]` for rows `r0..r0 + nr` (nr <= [`ROWS`]) of `w` and every packed column
/// `c < n`.
///
/// # Safety
/// The CPU has AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI; `w` holds rows `r0..r0 + nr` at stride
/// `wrb` with `packed.nb` blocks each; `out` has `n * rows` elements, of which this call alone
/// writes those of rows `r0..r0 + nr`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn rows_times_columns(
    w: &[u8],
    wrb: usize,
    r0: usize,
    nr: usize,
    rows: usize,
    n: usize,
    packed: &PackedColumns,
    out: OutRows,
) {
    const TS: usize = iq4_xs::TYPE_SIZE;
    let nb = packed.nb;
    let nr = nr.min(ROWS);
    let table = _mm_loadu_si128(iq4_xs::KVALUES.as_ptr() as *const __m128i);
    // Rows past `nr` stay empty (zero levels and scales) and give zeros that are not written.
    let mut unpacked = [[EMPTY; KBLOCKS]; ROWS];
    let mut partial = vec![[_mm512_setzero_ps(); ROWS]; packed.groups];
    let chunks = nb.div_ceil(KBLOCKS);
    for ch in 0..chunks {
        let b0 = ch * KBLOCKS;
        let len = (nb - b0).min(KBLOCKS);
        for (r, row) in unpacked.iter_mut().enumerate().take(nr) {
            for (i, u) in row.iter_mut().enumerate().take(len) {
                unpack(&w[(r0 + r) * wrb + (b0 + i) * TS..][..TS], table, u);
            }
        }
        for g in 0..packed.groups {
            let mut acc = partial[g];
            for (i, blocks) in (0..len).map(|i| (i, b0 + i)) {
                let y = &packed.vecs[(g * nb + blocks) * VECS_PER_BLOCK..][..VECS_PER_BLOCK];
                block_step(&unpacked, i, y, &mut acc);
            }
            partial[g] = acc;
        }
    }
    for (g, acc) in partial.iter().enumerate() {
        for (r, v) in acc.iter().enumerate().take(nr) {
            let vals: [f32; GROUP] = std::mem::transmute(*v);
            for (lane, &val) in vals.iter().enumerate() {
                let c = g * GROUP + lane;
                if c < n {
                    // SAFETY: c < n and r0 + r < rows: in bounds, and only this call writes it.
                    *out.0.add(c * rows + r0 + r) = val;
                }
            }
        }
    }
}

/// One block of the tile's rows against one group of columns, added to `acc`.
#[inline(always)]
unsafe fn block_step(
    unpacked: &[[Unpacked; KBLOCKS]; ROWS],
    i: usize,
    y: &[__m512i],
    acc: &mut [__m512; ROWS],
) {
    let mut sums = [_mm512_setzero_si512(); ROWS];
    for j in 0..8 {
        let mut raw = [_mm512_setzero_si512(); ROWS];
        for k in 0..8 {
            let yk = y[8 * j + k];
            for (r, raw_r) in raw.iter_mut().enumerate() {
                let wk = _mm512_set1_epi32(unpacked[r][i].levels[8 * j + k] as i32);
                *raw_r = _mm512_dpbusd_epi32(*raw_r, yk, wk);
            }
        }
        for (r, s) in sums.iter_mut().enumerate() {
            let scale = _mm512_set1_epi32(unpacked[r][i].scales[j]);
            *s = _mm512_add_epi32(*s, _mm512_mullo_epi32(raw[r], scale));
        }
    }
    let dy = _mm512_castsi512_ps(y[64]);
    for (r, a) in acc.iter_mut().enumerate() {
        let u = &unpacked[r][i];
        let exact = _mm512_sub_epi32(sums[r], _mm512_set1_epi32(u.correction));
        let d = _mm512_mul_ps(_mm512_set1_ps(u.d), dy);
        *a = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(exact), *a);
    }
}
