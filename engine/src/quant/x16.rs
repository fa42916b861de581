//! Weights repacked at load sixteen rows at a time, for the CPU kernels: one kernel step covers
//! the same values of sixteen rows, whose results land in the sixteen lanes of one vector, so
//! there is no horizontal reduction and no scale unpacking in the loop. The layouts themselves
//! live with their formats ([`super::q4_k_x16`], [`super::q5_k_x16`], [`super::q6_k_x16`],
//! [`super::iq4_xs_x16`], [`super::q4_0_x16`]); this is what the rest of the engine sees of them.
//! Activation rows are the format's dot type (Q8_K; Q8_0 for Q4_0).
//!
//! A matrix repacks as groups of [`ROWS`] rows one after the other, each group its super-blocks
//! in order, so a slice of whole groups (one expert of a stacked tensor) is a contiguous range.

#[cfg(target_arch = "x86_64")]
use super::{
    avx2_util, iq4_xs_x16_avx2, iq4_xs_x16_avx512, k_x16_bytes_avx2, k_x16_bytes_avx512,
    q4_0_x16_avx2, q4_0_x16_avx512, q4_k_x16_avx2, q4_k_x16_avx512, q5_k_x16_avx2, q5_k_x16_avx512,
    q6_k_x16_avx2, q6_k_x16_avx512,
};
use super::{iq4_xs_x16, q4_0, q4_0_x16, q4_k, q4_k_x16, q5_k, q5_k_x16, q6_k, q6_k_x16};
use crate::gguf::GgmlType;
use std::ops::Range;

/// Rows per group.
pub const ROWS: usize = 16;
/// Activation rows the prompt product passes to one kernel call ([`Layout::dot16_cols`]).
pub const COLS: usize = 4;

/// A repacked layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Q4K,
    Q5K,
    Q6K,
    IQ4XS,
    Q40,
}

impl Layout {
    /// Every repacked layout.
    pub const ALL: [Layout; 5] = [
        Layout::Q4K,
        Layout::Q5K,
        Layout::Q6K,
        Layout::IQ4XS,
        Layout::Q40,
    ];

    /// The repacked layout of weights of type `ty`, if there is one.
    pub fn of(ty: GgmlType) -> Option<Layout> {
        match ty {
            GgmlType::Q4_K => Some(Layout::Q4K),
            GgmlType::Q5_K => Some(Layout::Q5K),
            GgmlType::Q6_K => Some(Layout::Q6K),
            GgmlType::IQ4_XS => Some(Layout::IQ4XS),
            GgmlType::Q4_0 => Some(Layout::Q40),
            _ => None,
        }
    }

    /// [`Layout::of`], where this CPU has the kernel that makes repacking pay (repacking for the
    /// scalar kernel would only slow decode down).
    pub fn for_this_cpu(ty: GgmlType) -> Option<Layout> {
        Layout::of(ty).filter(|l| l.has_fast_kernel())
    }

    /// Whether this CPU has a SIMD kernel for this layout: AVX-512 VNNI for all of them, AVX2
    /// for those that have an AVX2 kernel.
    pub fn has_fast_kernel(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            super::avx512_util::available() || self.avx2_kernel().is_some()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// This layout's AVX2-level decode kernel for this CPU (the AVX-VNNI one where it has
    /// that), if there is one: IQ4_XS has only the AVX-VNNI one.
    #[cfg(target_arch = "x86_64")]
    fn avx2_kernel(self) -> Option<Dot16Fn> {
        if !avx2_util::available() {
            return None;
        }
        match (self, avx2_util::has_avx_vnni()) {
            (Layout::Q4K, true) => Some(q4_k_x16_avx2::dot16_vnni),
            (Layout::Q4K, false) => Some(q4_k_x16_avx2::dot16),
            (Layout::Q5K, true) => Some(q5_k_x16_avx2::dot16_vnni),
            (Layout::Q5K, false) => Some(q5_k_x16_avx2::dot16),
            (Layout::Q6K, true) => Some(q6_k_x16_avx2::dot16_vnni),
            (Layout::Q6K, false) => Some(q6_k_x16_avx2::dot16),
            (Layout::IQ4XS, true) => Some(iq4_xs_x16_avx2::dot16_vnni),
            (Layout::IQ4XS, false) => None,
            (Layout::Q40, true) => Some(q4_0_x16_avx2::dot16_vnni),
            (Layout::Q40, false) => Some(q4_0_x16_avx2::dot16),
        }
    }

    /// Bytes of one group of rows of `row_len` values, or `None` when rows of that length do not
    /// repack (not whole super-blocks).
    pub fn group_bytes(self, row_len: usize) -> Option<usize> {
        match self {
            Layout::Q4K => q4_k_x16::group_bytes(row_len),
            Layout::Q5K => q5_k_x16::group_bytes(row_len),
            Layout::Q6K => q6_k_x16::group_bytes(row_len),
            Layout::IQ4XS => iq4_xs_x16::group_bytes(row_len),
            Layout::Q40 => q4_0_x16::group_bytes(row_len),
        }
    }

    /// Bytes of `n_rows` rows once repacked, or `None` when the matrix cannot be (rows not a
    /// multiple of [`ROWS`], or of a super-block of values).
    pub fn repacked_len(self, row_len: usize, n_rows: usize) -> Option<usize> {
        let gb = self.group_bytes(row_len)?;
        n_rows.is_multiple_of(ROWS).then(|| n_rows / ROWS * gb)
    }

    /// Where rows `[start, start + count)` lie in repacked rows of `row_len` values, when both
    /// are whole groups (an expert's rows of a stacked tensor).
    pub fn group_range(self, row_len: usize, start: usize, count: usize) -> Option<Range<usize>> {
        if !start.is_multiple_of(ROWS) || !count.is_multiple_of(ROWS) {
            return None;
        }
        let gb = self.group_bytes(row_len)?;
        Some(start / ROWS * gb..(start + count) / ROWS * gb)
    }

    /// Repacks `n_rows` rows of `row_len` values (`src`, the file's rows one after the other)
    /// into `dst` ([`Layout::repacked_len`] bytes). Returns `false` and leaves `dst` untouched on
    /// a size mismatch.
    pub fn repack(self, src: &[u8], row_len: usize, n_rows: usize, dst: &mut [u8]) -> bool {
        let (Some(len), Some(row_bytes)) = (
            self.repacked_len(row_len, n_rows),
            self.ggml_type().bytes_for(row_len as u64),
        ) else {
            return false;
        };
        let row_bytes = row_bytes as usize;
        if dst.len() != len || src.len() != n_rows * row_bytes || n_rows == 0 {
            return false;
        }
        let gb = len / (n_rows / ROWS);
        for (rows, out) in src
            .chunks_exact(ROWS * row_bytes)
            .zip(dst.chunks_exact_mut(gb))
        {
            match self {
                Layout::Q4K => q4_k_x16::repack_group(rows, row_len, out),
                Layout::Q5K => q5_k_x16::repack_group(rows, row_len, out),
                Layout::Q6K => q6_k_x16::repack_group(rows, row_len, out),
                Layout::IQ4XS => iq4_xs_x16::repack_group(rows, row_len, out),
                Layout::Q40 => q4_0_x16::repack_group(rows, row_len, out),
            }
        }
        true
    }

    /// The sixteen rows of one group (`n` values each) · one activation row, on the fastest
    /// kernel this CPU has; every lane is bit for bit the format's scalar row kernel.
    #[inline]
    pub fn dot16(self, n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
        #[cfg(target_arch = "x86_64")]
        if super::avx512_util::available() {
            // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
            return unsafe {
                match self {
                    Layout::Q4K => q4_k_x16_avx512::dot16(n, group, activations, out),
                    Layout::Q5K => q5_k_x16_avx512::dot16(n, group, activations, out),
                    Layout::Q6K => q6_k_x16_avx512::dot16(n, group, activations, out),
                    Layout::IQ4XS => iq4_xs_x16_avx512::dot16(n, group, activations, out),
                    Layout::Q40 => q4_0_x16_avx512::dot16(n, group, activations, out),
                }
            };
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(kernel) = self.avx2_kernel() {
            // SAFETY: `avx2_kernel` picks only kernels whose features were detected at run time.
            return unsafe { kernel(n, group, activations, out) };
        }
        self.dot16_scalar(n, group, activations, out)
    }

    /// [`Layout::dot16`] against `C` activation rows at once (up to [`COLS`]; more would spill
    /// the accumulators): the weights are unpacked once for all of them (the prompt product).
    /// Same bits per row.
    #[inline]
    pub fn dot16_cols<const C: usize>(
        self,
        n: usize,
        group: &[u8],
        activations: [&[u8]; C],
        out: &mut [[f32; ROWS]; C],
    ) {
        #[cfg(target_arch = "x86_64")]
        if super::avx512_util::available() {
            // SAFETY: as in `dot16`.
            return unsafe {
                match self {
                    Layout::Q4K => q4_k_x16_avx512::dot16_cols(n, group, activations, out),
                    Layout::Q5K => q5_k_x16_avx512::dot16_cols(n, group, activations, out),
                    Layout::Q6K => q6_k_x16_avx512::dot16_cols(n, group, activations, out),
                    Layout::IQ4XS => iq4_xs_x16_avx512::dot16_cols(n, group, activations, out),
                    Layout::Q40 => q4_0_x16_avx512::dot16_cols(n, group, activations, out),
                }
            };
        }
        #[cfg(target_arch = "x86_64")]
        if avx2_util::available() {
            let vnni = avx2_util::has_avx_vnni();
            // SAFETY: AVX2, FMA and F16C (and AVX-VNNI for the `_vnni` kernels) were detected at
            // run time.
            unsafe {
                match (self, vnni) {
                    (Layout::Q4K, true) => {
                        return q4_k_x16_avx2::dot16_cols_vnni(n, group, activations, out)
                    }
                    (Layout::Q4K, false) => {
                        return q4_k_x16_avx2::dot16_cols(n, group, activations, out)
                    }
                    (Layout::Q5K, true) => {
                        return q5_k_x16_avx2::dot16_cols_vnni(n, group, activations, out)
                    }
                    (Layout::Q5K, false) => {
                        return q5_k_x16_avx2::dot16_cols(n, group, activations, out)
                    }
                    (Layout::Q6K, true) => {
                        return q6_k_x16_avx2::dot16_cols_vnni(n, group, activations, out)
                    }
                    (Layout::Q6K, false) => {
                        return q6_k_x16_avx2::dot16_cols(n, group, activations, out)
                    }
                    (Layout::IQ4XS, true) => {
                        return iq4_xs_x16_avx2::dot16_cols_vnni(n, group, activations, out)
                    }
                    // No AVX2-alone kernel: not repacked on such a CPU; the scalar one serves.
                    (Layout::IQ4XS, false) => {}
                    (Layout::Q40, true) => {
                        return q4_0_x16_avx2::dot16_cols_vnni(n, group, activations, out)
                    }
                    (Layout::Q40, false) => {
                        return q4_0_x16_avx2::dot16_cols(n, group, activations, out)
                    }
                }
            }
        }
        for (a, o) in activations.into_iter().zip(out) {
            self.dot16_scalar(n, group, a, o);
        }
    }

    /// Whether the prompt product gives this layout's column kernel summed activation rows
    /// ([`Layout::sum_columns`], [`Layout::dot16_cols_summed`]): Q4_0, whose blocks' activation
    /// sums are not in Q8_0.
    pub fn sums_columns(self) -> bool {
        self == Layout::Q40
    }

    /// `n` activation rows of `arb` bytes (`k` values each) summed for
    /// [`Layout::dot16_cols_summed`] into `out`; returns the bytes per row.
    pub fn sum_columns(qa: &[u8], arb: usize, n: usize, k: usize, out: &mut Vec<u8>) -> usize {
        q4_0_x16::summed_activations(qa, arb, n, k, out)
    }

    /// [`Layout::dot16_cols`] over rows summed by [`Layout::sum_columns`], over the group or its
    /// `expanded` form (Q4_0 only: others have no such form, and get NaN). Same bits per row.
    #[inline]
    pub fn dot16_cols_summed<const C: usize>(
        self,
        n: usize,
        group: &[u8],
        expanded: Option<&[u8]>,
        activations: [&[u8]; C],
        out: &mut [[f32; ROWS]; C],
    ) {
        if self != Layout::Q40 {
            for o in out {
                o.fill(f32::NAN);
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if super::avx512_util::available() {
            // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
            return unsafe {
                match expanded {
                    Some(e) => q4_0_x16_avx512::dot16_cols_summed_expanded(n, e, activations, out),
                    None => q4_0_x16_avx512::dot16_cols_summed(n, group, activations, out),
                }
            };
        }
        #[cfg(target_arch = "x86_64")]
        if avx2_util::available() {
            use q4_0_x16_avx2 as k;
            // SAFETY: AVX2, FMA and F16C (and AVX-VNNI for the `_vnni` kernels) were detected at
            // run time.
            return unsafe {
                match (expanded, avx2_util::has_avx_vnni()) {
                    (Some(e), true) => k::dot16_cols_summed_expanded_vnni(n, e, activations, out),
                    (Some(e), false) => k::dot16_cols_summed_expanded(n, e, activations, out),
                    (None, true) => k::dot16_cols_summed_vnni(n, group, activations, out),
                    (None, false) => k::dot16_cols_summed(n, group, activations, out),
                }
            };
        }
        // No expanded form without the SIMD kernels (`expanded_group_bytes`).
        let _ = expanded;
        for (a, o) in activations.into_iter().zip(out) {
            q4_0_x16::dot16_summed_scalar(n, group, a, o);
        }
    }

    /// Bytes of one group of rows of `row_len` values expanded to a byte per value for the
    /// prompt product, where this CPU has the kernels for that form: Q4_K and Q5_K
    /// ([`super::k_x16_bytes`]), Q6_K ([`q6_k_x16::expand`]) and Q4_0 ([`q4_0_x16::expand_scalar`])
    /// with AVX2 or AVX-512 VNNI, IQ4_XS ([`iq4_xs_x16::expand_scalar`]) with AVX-VNNI or
    /// AVX-512 VNNI.
    pub fn expanded_group_bytes(self, row_len: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        {
            let avx512 = super::avx512_util::available();
            match self {
                Layout::Q4K | Layout::Q5K if avx512 || avx2_util::available() => {
                    return super::k_x16_bytes::group_bytes(row_len)
                }
                Layout::Q6K if avx512 || avx2_util::available() => {
                    return q6_k_x16::expanded_group_bytes(row_len)
                }
                Layout::IQ4XS if avx512 || avx2_util::has_avx_vnni() => {
                    return iq4_xs_x16::expanded_group_bytes(row_len)
                }
                Layout::Q40 if avx512 || avx2_util::available() => {
                    return q4_0_x16::expanded_group_bytes(row_len)
                }
                _ => {}
            }
        }
        let _ = row_len;
        None
    }

    /// From how many activation columns the prompt product expands a group first: the expansion
    /// costs about one call's unpacking, except Q6_K's on AVX-512, which measured slower than not
    /// expanding at 16 columns (178-187 vs 180-204 GFLOP/s) and faster from 24.
    pub fn expand_from_cols(self) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self == Layout::Q6K && super::avx512_util::available() {
            return 6 * COLS;
        }
        2 * COLS
    }

    /// Expands one group (`n` values per row) into `dst` ([`Layout::expanded_group_bytes`]).
    pub fn expand(self, n: usize, group: &[u8], dst: &mut [u8]) {
        match self {
            Layout::Q4K | Layout::Q5K => {
                super::k_x16_bytes::expand(self == Layout::Q5K, n, group, dst)
            }
            Layout::IQ4XS => {
                #[cfg(target_arch = "x86_64")]
                if super::avx512_util::available() {
                    // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
                    return unsafe { iq4_xs_x16_avx512::expand(n, group, dst) };
                }
                #[cfg(target_arch = "x86_64")]
                if avx2_util::available() {
                    // SAFETY: AVX2 was detected at run time.
                    return unsafe { iq4_xs_x16_avx2::expand(n, group, dst) };
                }
                iq4_xs_x16::expand_scalar(n, group, dst)
            }
            Layout::Q6K => q6_k_x16::expand(n, group, dst),
            Layout::Q40 => {
                #[cfg(target_arch = "x86_64")]
                if super::avx512_util::available() {
                    // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
                    return unsafe { q4_0_x16_avx512::expand(n, group, dst) };
                }
                #[cfg(target_arch = "x86_64")]
                if avx2_util::available() {
                    // SAFETY: AVX2 was detected at run time.
                    return unsafe { q4_0_x16_avx2::expand(n, group, dst) };
                }
                q4_0_x16::expand_scalar(n, group, dst)
            }
        }
    }

    /// [`Layout::dot16_cols`] over a group expanded by [`Layout::expand`]: same bits per row.
    #[inline]
    pub fn dot16_cols_expanded<const C: usize>(
        self,
        n: usize,
        expanded: &[u8],
        activations: [&[u8]; C],
        out: &mut [[f32; ROWS]; C],
    ) {
        #[cfg(target_arch = "x86_64")]
        if super::avx512_util::available() {
            // SAFETY: AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI were detected at run time.
            unsafe {
                match self {
                    Layout::Q4K | Layout::Q5K => {
                        return k_x16_bytes_avx512::dot16_cols(n, expanded, activations, out)
                    }
                    Layout::IQ4XS => {
                        return iq4_xs_x16_avx512::dot16_cols_expanded(
                            n,
                            expanded,
                            activations,
                            out,
                        )
                    }
                    Layout::Q6K => {
                        return q6_k_x16_avx512::dot16_cols_expanded(n, expanded, activations, out)
                    }
                    Layout::Q40 => {
                        return q4_0_x16_avx512::dot16_cols_expanded(n, expanded, activations, out)
                    }
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if avx2_util::available() {
            let vnni = avx2_util::has_avx_vnni();
            // SAFETY: AVX2, FMA and F16C (and AVX-VNNI for the `_vnni` kernels) were detected at
            // run time.
            unsafe {
                match (self, vnni) {
                    (Layout::Q4K | Layout::Q5K, true) => {
                        return k_x16_bytes_avx2::dot16_cols_vnni(n, expanded, activations, out)
                    }
                    (Layout::Q4K | Layout::Q5K, false) => {
                        return k_x16_bytes_avx2::dot16_cols(n, expanded, activations, out)
                    }
                    (Layout::Q6K, true) => {
                        return q6_k_x16_avx2::dot16_cols_expanded_vnni(
                            n,
                            expanded,
                            activations,
                            out,
                        )
                    }
                    (Layout::Q6K, false) => {
                        return q6_k_x16_avx2::dot16_cols_expanded(n, expanded, activations, out)
                    }
                    (Layout::IQ4XS, true) => {
                        return iq4_xs_x16_avx2::dot16_cols_expanded_vnni(
                            n,
                            expanded,
                            activations,
                            out,
                        )
                    }
                    (Layout::Q40, true) => {
                        return q4_0_x16_avx2::dot16_cols_expanded_vnni(
                            n,
                            expanded,
                            activations,
                            out,
                        )
                    }
                    (Layout::Q40, false) => {
                        return q4_0_x16_avx2::dot16_cols_expanded(n, expanded, activations, out)
                    }
                    _ => {}
                }
            }
        }
        // Only reached when `expanded_group_bytes` said there is no expanded form here: NaN
        // rather than a plausible wrong number.
        let _ = (n, expanded, activations);
        for o in out {
            o.fill(f32::NAN);
        }
    }

    /// The scalar reference for [`Layout::dot16`].
    pub fn dot16_scalar(self, n: usize, group: &[u8], activations: &[u8], out: &mut [f32; ROWS]) {
        match self {
            Layout::Q4K => q4_k_x16::dot16_scalar(n, group, activations, out),
            Layout::Q5K => q5_k_x16::dot16_scalar(n, group, activations, out),
            Layout::Q6K => q6_k_x16::dot16_scalar(n, group, activations, out),
            Layout::IQ4XS => iq4_xs_x16::dot16_scalar(n, group, activations, out),
            Layout::Q40 => q4_0_x16::dot16_scalar(n, group, activations, out),
        }
    }

    /// The weight format repacked.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            Layout::Q4K => GgmlType::Q4_K,
            Layout::Q5K => GgmlType::Q5_K,
            Layout::Q6K => GgmlType::Q6_K,
            Layout::IQ4XS => GgmlType::IQ4_XS,
            Layout::Q40 => GgmlType::Q4_0,
        }
    }

    /// The scalar row kernel whose bits every repacked lane reproduces: the format's own for the
    /// K-quants; for IQ4_XS one with each super-block's sum exact ([`iq4_xs_x16::row_dot`]), which
    /// agrees with the format's kernel to rounding.
    pub fn row_dot_scalar(self) -> fn(usize, &[u8], &[u8]) -> f32 {
        match self {
            Layout::Q4K => q4_k::vec_dot_scalar,
            Layout::Q5K => q5_k::vec_dot_scalar,
            Layout::Q6K => q6_k::vec_dot_scalar,
            Layout::IQ4XS => iq4_xs_x16::row_dot,
            Layout::Q40 => q4_0::vec_dot_scalar,
        }
    }
}

/// Bytes of the `d[nb][16]` (f16) area that layouts keeping the block scales ahead of the blocks
/// start a group with, padded to a multiple of 64 so that every super-block after it starts on a
/// cache line.
pub(super) fn d_area(nb: usize) -> usize {
    (nb * 2 * ROWS).next_multiple_of(64)
}

/// Bytes of a group of such a layout for rows of `row_len` values, its super-blocks
/// `block_bytes` each after the d area (whole super-blocks only).
pub(super) fn group_bytes_after_d_area(row_len: usize, block_bytes: usize) -> Option<usize> {
    let nb = row_len / super::common::QK_K;
    (row_len.is_multiple_of(super::common::QK_K) && nb > 0).then(|| d_area(nb) + nb * block_bytes)
}

/// What every expansion for the prompt product does first: copies the `lead` bytes ahead of a
/// group's super-blocks (a d area, or none) and the first `head` bytes of each super-block (its
/// scales) into `out`, then hands out the first `nb` (repacked, expanded) super-block pairs, of
/// `block` and `expanded_block` bytes, for their values.
#[inline(always)]
pub(super) fn expanded_blocks<'a>(
    group: &'a [u8],
    out: &'a mut [u8],
    nb: usize,
    lead: usize,
    [block, expanded_block, head]: [usize; 3],
) -> impl Iterator<Item = (&'a [u8], &'a mut [u8])> {
    let (ahead, blocks) = group.split_at(lead);
    let (out_ahead, out_blocks) = out.split_at_mut(lead);
    out_ahead.copy_from_slice(ahead);
    blocks
        .chunks_exact(block)
        .zip(out_blocks.chunks_exact_mut(expanded_block))
        .take(nb)
        .map(move |(x, o)| {
            o[..head].copy_from_slice(&x[..head]);
            (x, o)
        })
}

/// A group dot kernel ([`Layout::dot16`]'s signature).
#[cfg(target_arch = "x86_64")]
type Dot16Fn = unsafe fn(usize, &[u8], &[u8], &mut [f32; ROWS]);

/// Whether this CPU has a repacked kernel for any layout (AVX-512 VNNI for all, AVX2 for some).
pub fn has_fast_kernel() -> bool {
    Layout::ALL.iter().any(|l| l.has_fast_kernel())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::test_util::Rng;
    use super::*;

    /// A group dot: [`Layout::dot16`], [`Layout::dot16_scalar`] or a kernel directly.
    pub type Dot16 = fn(usize, &[u8], &[u8], &mut [f32; ROWS]);

    /// `layout`'s dispatched group dot ([`Layout::dot16`]) as a [`Dot16`].
    pub fn dispatched(layout: Layout) -> Dot16 {
        match layout {
            Layout::Q4K => |n, g, a, o| Layout::Q4K.dot16(n, g, a, o),
            Layout::Q5K => |n, g, a, o| Layout::Q5K.dot16(n, g, a, o),
            Layout::Q6K => |n, g, a, o| Layout::Q6K.dot16(n, g, a, o),
            Layout::IQ4XS => |n, g, a, o| Layout::IQ4XS.dot16(n, g, a, o),
            Layout::Q40 => |n, g, a, o| Layout::Q40.dot16(n, g, a, o),
        }
    }

    /// `layout`'s scalar group dot ([`Layout::dot16_scalar`]) as a [`Dot16`].
    fn scalar(layout: Layout) -> Dot16 {
        match layout {
            Layout::Q4K => |n, g, a, o| Layout::Q4K.dot16_scalar(n, g, a, o),
            Layout::Q5K => |n, g, a, o| Layout::Q5K.dot16_scalar(n, g, a, o),
            Layout::Q6K => |n, g, a, o| Layout::Q6K.dot16_scalar(n, g, a, o),
            Layout::IQ4XS => |n, g, a, o| Layout::IQ4XS.dot16_scalar(n, g, a, o),
            Layout::Q40 => |n, g, a, o| Layout::Q40.dot16_scalar(n, g, a, o),
        }
    }

    /// `rows` rows of `n` values of `layout`'s format quantized from a deterministic
    /// pseudo-random signal, and an activation row of its dot type.
    fn rows_and_activations(
        layout: Layout,
        n: usize,
        rows: usize,
        seed: u64,
    ) -> (Vec<u8>, Vec<u8>) {
        let mut rng = Rng::new(seed);
        let mut next = move || rng.uniform() * 2.0 - 1.0;
        let ty = layout.ggml_type();
        let quantize = super::super::kernels(ty).unwrap().quantize.unwrap();
        let row_bytes = ty.bytes_for(n as u64).unwrap() as usize;
        let mut w = vec![0u8; rows * row_bytes];
        for row in w.chunks_exact_mut(row_bytes) {
            let xs: Vec<f32> = (0..n)
                .map(|i| next() * (1.0 + (i % 97) as f32 / 9.0))
                .collect();
            quantize(&xs, row);
        }
        let act: Vec<f32> = (0..n).map(|_| next() * 3.0).collect();
        let mut a = Vec::new();
        let dot_type = super::super::kernels(ty).unwrap().dot_type;
        crate::cpu::quantize_rows(dot_type, &act, n, &mut a).unwrap();
        (w, a)
    }

    /// Every row of `w` (`rows` rows of `n` values), repacked, through `dot`, against the
    /// format's scalar row kernel, bit for bit.
    pub fn check_repacked(
        layout: Layout,
        n: usize,
        rows: usize,
        w: &[u8],
        a: &[u8],
        dot: impl Fn(usize, &[u8], &[u8], &mut [f32; ROWS]),
    ) {
        let mut packed = vec![0u8; layout.repacked_len(n, rows).unwrap()];
        assert!(layout.repack(w, n, rows, &mut packed));
        let row_bytes = w.len() / rows;
        let gb = layout.group_bytes(n).unwrap();
        for (g, group) in packed.chunks_exact(gb).enumerate() {
            let mut out = [0f32; ROWS];
            dot(n, group, a, &mut out);
            for (r, &got) in out.iter().enumerate() {
                let row = &w[(g * ROWS + r) * row_bytes..][..row_bytes];
                let want = layout.row_dot_scalar()(n, row, a);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{layout:?} n {n} group {g} row {r}"
                );
            }
        }
    }

    /// [`Layout::dot16_cols`] on one group against `C` activation rows, each row's lanes
    /// against the format's scalar row kernel, bit for bit.
    fn check_columns<const C: usize>(layout: Layout, n: usize) {
        check_columns_with::<C>(layout, n, |n, g, a, o| layout_cols(layout, n, g, a, o));
    }

    fn layout_cols<const C: usize>(
        layout: Layout,
        n: usize,
        g: &[u8],
        a: [&[u8]; C],
        o: &mut [[f32; ROWS]; C],
    ) {
        layout.dot16_cols(n, g, a, o)
    }

    /// [`check_columns`] through `cols` (a kernel's column product directly).
    pub fn check_columns_with<const C: usize>(
        layout: Layout,
        n: usize,
        cols: impl Fn(usize, &[u8], [&[u8]; C], &mut [[f32; ROWS]; C]),
    ) {
        let mut acts = Vec::new();
        let (w, _) = rows_and_activations(layout, n, ROWS, 7);
        for seed in 0..C as u64 {
            acts.push(rows_and_activations(layout, n, ROWS, 10 + seed).1);
        }
        let mut packed = vec![0u8; layout.repacked_len(n, ROWS).unwrap()];
        assert!(layout.repack(&w, n, ROWS, &mut packed));
        let mut out = [[0f32; ROWS]; C];
        cols(n, &packed, std::array::from_fn(|c| &acts[c][..]), &mut out);
        let row_bytes = w.len() / ROWS;
        for (c, lanes) in out.iter().enumerate() {
            for (r, &got) in lanes.iter().enumerate() {
                let want = layout.row_dot_scalar()(n, &w[r * row_bytes..][..row_bytes], &acts[c]);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{layout:?} n {n} column {c} row {r}"
                );
            }
        }
    }

    #[test]
    fn several_columns_at_once_give_each_columns_bits() {
        for layout in Layout::ALL {
            check_columns::<COLS>(layout, 256);
            check_columns::<COLS>(layout, 1280);
            check_columns::<3>(layout, 512);
            check_columns::<2>(layout, 512);
        }
    }

    /// The expanded form ([`Layout::expand`]) through [`Layout::dot16_cols_expanded`], against
    /// the row kernels, bit for bit.
    fn check_expanded<const C: usize>(layout: Layout, n: usize) {
        check_columns_with::<C>(layout, n, |n, g, a, o| {
            let mut e = vec![0u8; layout.expanded_group_bytes(n).unwrap()];
            layout.expand(n, g, &mut e);
            layout.dot16_cols_expanded(n, &e, a, o)
        });
    }

    #[test]
    fn expanded_columns_give_the_row_kernels_bits() {
        for layout in Layout::ALL {
            if layout.expanded_group_bytes(256).is_none() {
                println!("skipped: {layout:?} has no expanded form on this CPU");
                continue;
            }
            check_expanded::<COLS>(layout, 256);
            check_expanded::<COLS>(layout, 1280);
            check_expanded::<3>(layout, 768);
        }
    }

    /// One group of `layout` rows of `n` values made of arbitrary bytes (any bit pattern the
    /// file allows, not only what a quantizer writes), and that group repacked.
    pub fn noise_group(layout: Layout, n: usize) -> (Vec<u8>, Vec<u8>) {
        let row_bytes = layout.ggml_type().bytes_for(n as u64).unwrap() as usize;
        let w: Vec<u8> = (0..ROWS * row_bytes)
            .map(|i| ((i as u64 * 2654435761) >> 9) as u8)
            .collect();
        let mut packed = vec![0u8; layout.group_bytes(n).unwrap()];
        assert!(layout.repack(&w, n, ROWS, &mut packed));
        (w, packed)
    }

    /// A repacked group expanded by `reference` (the format's scalar expansion, `len` bytes),
    /// and [`Layout::expand`] (this CPU's) checked against it byte for byte; returns the bytes.
    pub fn expanded_on_every_isa(
        layout: Layout,
        n: usize,
        packed: &[u8],
        len: usize,
        reference: impl Fn(usize, &[u8], &mut [u8]),
    ) -> Vec<u8> {
        let mut want = vec![0u8; len];
        reference(n, packed, &mut want);
        let mut got = vec![0u8; len];
        layout.expand(n, packed, &mut got);
        assert_eq!(got, want, "{layout:?}");
        want
    }

    /// [`check_repacked`] on pseudo-random rows, three seeds.
    pub fn check_random_rows(
        layout: Layout,
        n: usize,
        rows: usize,
        dot: impl Fn(usize, &[u8], &[u8], &mut [f32; ROWS]),
    ) {
        for seed in 0..3 {
            let (w, a) = rows_and_activations(layout, n, rows, seed);
            check_repacked(layout, n, rows, &w, &a, &dot);
        }
    }

    #[test]
    fn scalar_group_dot_is_the_row_kernel_bit_for_bit() {
        for layout in Layout::ALL {
            check_random_rows(layout, 512, 32, scalar(layout));
            check_random_rows(layout, 768, 16, scalar(layout));
        }
    }

    #[test]
    fn dispatched_group_dot_is_the_row_kernel_bit_for_bit() {
        // Odd block counts (for Q6_K a padded d area) and several groups; on an AVX-512 CPU this
        // is the SIMD kernel.
        for layout in Layout::ALL {
            check_random_rows(layout, 256, 16, dispatched(layout));
            check_random_rows(layout, 768, 48, dispatched(layout));
            check_random_rows(layout, 2048, 32, dispatched(layout));
        }
    }

    #[test]
    fn slices_of_whole_groups_only() {
        for layout in Layout::ALL {
            let gb = layout.group_bytes(512).unwrap();
            assert_eq!(layout.group_range(512, 32, 16), Some(2 * gb..3 * gb));
            assert_eq!(layout.group_range(512, 8, 16), None);
            assert_eq!(layout.group_range(512, 16, 8), None);
        }
    }

    #[test]
    fn shapes_that_do_not_group_are_refused() {
        for layout in Layout::ALL {
            assert_eq!(layout.repacked_len(256, 15), None);
            assert_eq!(layout.repacked_len(250, 16), None);
            assert_eq!(layout.repacked_len(0, 16), None);
            let gb = layout.group_bytes(512).unwrap();
            assert_eq!(layout.repacked_len(512, 32), Some(2 * gb));
            let row_bytes = layout.ggml_type().bytes_for(256).unwrap() as usize;
            let mut dst = vec![0u8; 10];
            assert!(!layout.repack(&vec![0u8; 16 * row_bytes], 256, 16, &mut dst));
        }
        assert_eq!(Layout::of(GgmlType::Q5_0), None);
    }
}
