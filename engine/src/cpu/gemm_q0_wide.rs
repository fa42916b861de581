//! AVX-512 VNNI tiles for Q8_0 and Q5_0 weights against Q8_0 activations: two weight rows per
//! 512-bit vector.
//!
//! Each 512-bit vector holds one block of two weight rows (row 2p in the low half, 2p + 1 in
//! the high half) and the activation block broadcast to both halves, so each half is exactly the
//! 256-bit computation of the decode `vec_dot` for its row: the same i32 lanes (sums of four
//! byte products), the same f32 scale product `dx·dy`, the same FMA per block into the same
//! eight lanes, the same final horizontal sum. Results are bit for bit those of `vec_dot` (and of
//! llama.cpp's tinyBLAS, which keeps that order), at one `vpdpbusd`, one conversion, one multiply
//! and one FMA per block and *two* (row, column) pairs.
//!
//! `vpdpbusd` needs one unsigned operand: the activations get +128 (`y ^ 0x80`, once per column
//! and block, shared by the tile's rows), and each expanded weight block starts its accumulator
//! at `−128·Σx` per lane, which cancels the offset exactly.

#![cfg(target_arch = "x86_64")]

use super::gemm::{Sums, MAX_COLS, MAX_ROWS};
use super::gemm_q8_0::{Q0Format, Q5_0, Q8_0};
use super::gemm_simd::hsum_f32;
use crate::quant::q8_0;
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Weight blocks expanded per K chunk (a 2048-element row in one chunk; two row pairs of expanded
/// blocks take 24 KiB, which stays in L1 beside the activations being read).
const KBLOCKS: usize = 64;
/// Activation columns whose accumulators are held in registers at once (2, 3, 6 and 8 measured
/// no faster on Zen 5; at most 8, as the remainder arms below go to 7).
const COLS: usize = 4;
/// Row pairs in a tile.
const MAX_PAIRS: usize = MAX_ROWS / 2;
/// Bytes of one Q8_0 activation block.
const ATS: usize = q8_0::TYPE_SIZE;

/// One weight block of two rows, expanded for the column loop.
#[derive(Clone, Copy)]
struct PairBlock {
    /// Signed quants: the even row's in the low 32 bytes, the odd row's in the high 32.
    x: __m512i,
    /// `−128 · Σ x` over each lane's four bytes (cancels the activations' +128).
    start: __m512i,
    /// Each row's block scale, broadcast to its eight lanes.
    dx: __m512,
}

/// f16 bits at `p` as f32 (F16C, exact).
#[inline(always)]
unsafe fn f16_at(p: *const u8) -> f32 {
    let bits = u16::from_le_bytes([*p, *p.add(1)]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// Expands blocks `b0 .. b0 + len` of rows `2p, 2p + 1` for every pair `p < P`; a row at or past
/// `nr` (an odd tile) is zeros and contributes nothing.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn expand_chunk<F: Q0Format, const P: usize>(
    w: &[u8],
    wrb: usize,
    nr: usize,
    b0: usize,
    len: usize,
    wts: &mut [[MaybeUninit<PairBlock>; KBLOCKS]; P],
) {
    let ts = F::TYPE_SIZE;
    let zero = _mm512_setzero_si512();
    let offset = _mm512_set1_epi8(0x80u8 as i8);
    for (p, pair) in wts.iter_mut().enumerate() {
        let (r0, r1) = (2 * p, 2 * p + 1);
        for (i, slot) in pair.iter_mut().enumerate().take(len) {
            let at = (b0 + i) * ts;
            let x0 = &w[r0 * wrb + at..][..ts];
            let (q1, d1) = if r1 < nr {
                let x1 = &w[r1 * wrb + at..][..ts];
                (F::expand(x1), f16_at(x1.as_ptr()))
            } else {
                (_mm256_setzero_si256(), 0.0)
            };
            let x = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(F::expand(x0)), q1);
            let dx = _mm512_castpd_ps(_mm512_insertf64x4::<1>(
                _mm512_castps_pd(_mm512_set1_ps(f16_at(x0.as_ptr()))),
                _mm256_castps_pd(_mm256_set1_ps(d1)),
            ));
            slot.write(PairBlock {
                x,
                start: _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, offset, x)),
                dx,
            });
        }
    }
}

/// The tile body for `P` row pairs (`nr` rows, `2P − 1 <= nr <= 2P`); see
/// [`super::gemm::TileFn`] for the contract.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn q0_pair_rows<F: Q0Format, const P: usize>(
    w: &[u8],
    wrb: usize,
    nr: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
) {
    let nc = nc.min(MAX_COLS);
    // The activation reads below are unchecked; this is the bound they rely on.
    assert!(
        nc == 0 || a.len() >= (nc - 1) * arb + nb * ATS,
        "activation tile too short"
    );
    let chunks = nb.div_ceil(KBLOCKS);
    let mut wts = [[MaybeUninit::<PairBlock>::uninit(); KBLOCKS]; P];
    // Running sums between K chunks (only rows longer than one chunk use it).
    let mut partial = [[MaybeUninit::<__m512>::uninit(); P]; MAX_COLS];
    for ch in 0..chunks {
        let b0 = ch * KBLOCKS;
        let len = (nb - b0).min(KBLOCKS);
        expand_chunk::<F, P>(w, wrb, nr, b0, len, &mut wts);
        let step = Chunk {
            wts: &wts,
            b0,
            len,
            nr,
            a: a.as_ptr(),
            arb,
            first: ch == 0,
            last: ch + 1 == chunks,
        };
        let mut c = 0;
        while c + COLS <= nc {
            step.cols::<COLS>(c, &mut partial, sums);
            c += COLS;
        }
        match nc - c {
            1 => step.cols::<1>(c, &mut partial, sums),
            2 => step.cols::<2>(c, &mut partial, sums),
            3 => step.cols::<3>(c, &mut partial, sums),
            4 => step.cols::<4>(c, &mut partial, sums),
            5 => step.cols::<5>(c, &mut partial, sums),
            6 => step.cols::<6>(c, &mut partial, sums),
            7 => step.cols::<7>(c, &mut partial, sums),
            _ => {}
        }
    }
}

/// One K chunk of expanded weights and where its activations are.
struct Chunk<'a, const P: usize> {
    wts: &'a [[MaybeUninit<PairBlock>; KBLOCKS]; P],
    b0: usize,
    len: usize,
    nr: usize,
    a: *const u8,
    arb: usize,
    first: bool,
    last: bool,
}

impl<const P: usize> Chunk<'_, P> {
    /// Columns `c0..c0 + C` against the chunk, accumulators in registers.
    #[inline(always)]
    unsafe fn cols<const C: usize>(
        &self,
        c0: usize,
        partial: &mut [[MaybeUninit<__m512>; P]; MAX_COLS],
        sums: &mut Sums,
    ) {
        let mut acc: [[__m512; P]; C] = if self.first {
            [[_mm512_setzero_ps(); P]; C]
        } else {
            std::array::from_fn(|c| partial[c0 + c].map(|v| v.assume_init()))
        };
        let offset = _mm512_set1_epi8(0x80u8 as i8);
        for i in 0..self.len {
            for (c, acc_c) in acc.iter_mut().enumerate() {
                // SAFETY: block b0 + i of column c0 + c lies within the bound asserted in
                // `q0_pair_rows`.
                let y = self.a.add((c0 + c) * self.arb + (self.b0 + i) * ATS);
                let qy = _mm512_broadcast_i64x4(_mm256_loadu_si256(y.add(2) as *const __m256i));
                let yu = _mm512_xor_si512(qy, offset);
                let dy = _mm512_set1_ps(f16_at(y));
                for (p, acc_cp) in acc_c.iter_mut().enumerate() {
                    let wb = self.wts[p][i].assume_init_ref();
                    let dot = _mm512_dpbusd_epi32(wb.start, yu, wb.x);
                    // Lane by lane the vec_dot's broadcast scalar product dx·dy.
                    let d = _mm512_mul_ps(wb.dx, dy);
                    *acc_cp = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dot), *acc_cp);
                }
            }
        }
        for (c, acc_c) in acc.iter().enumerate() {
            if !self.last {
                partial[c0 + c] = acc_c.map(MaybeUninit::new);
                continue;
            }
            for (p, v) in acc_c.iter().enumerate() {
                let lo = _mm512_castps512_ps256(*v);
                let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(*v)));
                sums[c0 + c][2 * p] = hsum_f32(lo);
                if 2 * p + 1 < self.nr {
                    sums[c0 + c][2 * p + 1] = hsum_f32(hi);
                }
            }
        }
    }
}

macro_rules! pair_tile_fn {
    ($name:ident, $format:ty) => {
        /// # Safety
        /// See [`super::gemm::TileFn`]; needs AVX2, FMA, F16C and AVX-512 F/VL/BW/VNNI.
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $name(
            w: &[u8],
            wrb: usize,
            nr: usize,
            a: &[u8],
            arb: usize,
            nc: usize,
            nb: usize,
            sums: &mut Sums,
        ) {
            #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn pairs<const P: usize>(
                w: &[u8],
                wrb: usize,
                nr: usize,
                a: &[u8],
                arb: usize,
                nc: usize,
                nb: usize,
                sums: &mut Sums,
            ) {
                q0_pair_rows::<$format, P>(w, wrb, nr, a, arb, nc, nb, sums)
            }
            if nr <= 2 {
                pairs::<1>(w, wrb, nr, a, arb, nc, nb, sums)
            } else {
                pairs::<MAX_PAIRS>(w, wrb, nr.min(MAX_ROWS), a, arb, nc, nb, sums)
            }
        }
    };
}

pair_tile_fn!(q8_0_pairs, Q8_0);
pair_tile_fn!(q5_0_pairs, Q5_0);
