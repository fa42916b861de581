//! Weights repacked at load into a layout the CPU kernels read faster than the file's (llama.cpp's
//! "CPU_REPACK" buffers): Q4_K and Q6_K, sixteen rows interleaved ([`crate::quant::x16`]), and
//! only where this CPU has the kernels that make it pay (AVX-512 VNNI).
//!
//! A repacked tensor is read only through this copy by the CPU products (decode and prompt), so
//! the file's pages of it are no longer touched after load.

use crate::gguf::GgmlType;
use crate::quant::x16::{self, Layout};
use std::ops::Range;
use std::sync::Arc;

/// One cache line: the buffer is built of these so every group starts 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A 64-byte aligned byte buffer.
struct AlignedBytes {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedBytes {
    fn zeroed(len: usize) -> AlignedBytes {
        AlignedBytes {
            lines: vec![Line([0; 64]); len.div_ceil(64)],
            len,
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `lines` holds at least `len` initialized bytes; Line is plain bytes.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const u8, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `bytes`, exclusively borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut u8, self.len) }
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
        let mut buf = AlignedBytes::zeroed(len);
        layout
            .repack(data, row_len, n_rows, buf.bytes_mut())
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
