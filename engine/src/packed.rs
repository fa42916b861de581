//! Weights repacked at load into a layout the CPU kernels read faster than the file's (llama.cpp's
//! "CPU_REPACK" buffers): Q4_K, Q5_K, Q6_K, IQ4_XS and Q4_0, sixteen rows interleaved
//! ([`crate::quant::x16`]), and only where this CPU has the kernels that make it pay (AVX-512
//! VNNI; AVX2 for the K-quants and Q4_0, AVX-VNNI for IQ4_XS).
//!
//! A repacked tensor is read only through this copy by the CPU products (decode and prompt), so
//! the file's pages of it are no longer touched after load.

use crate::gguf::GgmlType;
use crate::quant::x16::{self, Layout};
use std::ops::Range;
use std::sync::Arc;

/// A page-aligned anonymous mapping (so every group starts 64-byte aligned), zero until written:
/// mapped rather than taken from the allocator so that it may get huge pages
/// ([`crate::anon_memory::map_anonymous`]).
struct AlignedBytes {
    map: memmap2::MmapMut,
}

impl AlignedBytes {
    fn zeroed(len: usize) -> Option<AlignedBytes> {
        let map = crate::anon_memory::map_anonymous(len).ok()?;
        Some(AlignedBytes { map })
    }

    fn bytes(&self) -> &[u8] {
        &self.map[..]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map[..]
    }
}

/// The repacked rows of a tensor (or of some of its rows: one expert), shared by its views.
#[derive(Clone)]
pub struct PackedRows {
    layout: Layout,
    buf: Arc<AlignedBytes>,
    range: Range<usize>,
    row_len: usize,
}

impl PackedRows {
    /// Repacks `n_rows` rows of `row_len` values of type `ty` (`data`, row after row), or `None`
    /// when this type or shape has no repacked layout or this CPU no kernel for it.
    /// `rows_per_matrix` is the row count of one matrix of a stacked tensor (one expert): groups
    /// must not straddle two experts.
    pub fn repack(
        ty: GgmlType,
        data: &[u8],
        row_len: usize,
        n_rows: usize,
        rows_per_matrix: usize,
    ) -> Option<PackedRows> {
        let layout = Layout::for_this_cpu(ty)?;
        if !rows_per_matrix.is_multiple_of(x16::ROWS) {
            return None;
        }
        let len = layout.repacked_len(row_len, n_rows)?;
        let mut buf = AlignedBytes::zeroed(len)?;
        layout
            .repack(data, row_len, n_rows, &mut buf.bytes_mut()[..len])
            .then(|| PackedRows {
                layout,
                buf: Arc::new(buf),
                range: 0..len,
                row_len,
            })
    }

    /// The layout of these rows.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The bytes of these rows, groups of [`x16::ROWS`] one after the other.
    pub fn bytes(&self) -> &[u8] {
        &self.buf.bytes()[self.range.clone()]
    }

    /// Rows `[start, start + count)`, when both are whole groups.
    pub fn rows(&self, start: usize, count: usize) -> Option<PackedRows> {
        let within = self.layout.group_range(self.row_len, start, count)?;
        let (from, to) = (
            self.range.start + within.start,
            self.range.start + within.end,
        );
        (to <= self.range.end).then(|| PackedRows {
            layout: self.layout,
            buf: self.buf.clone(),
            range: from..to,
            row_len: self.row_len,
        })
    }
}
