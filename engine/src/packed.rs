//! Weights repacked at load into a layout the CPU kernels read faster than the file's (llama.cpp's
//! "CPU_REPACK" buffers). Only Q4_K so far, sixteen rows interleaved ([`crate::quant::q4_k_x16`]),
//! and only where this CPU has the kernel that makes it pay (AVX-512 VNNI).
//!
//! A repacked tensor is read only through this copy by the CPU products (decode and prompt), so
//! the file's pages of it are no longer touched after load.

use crate::gguf::GgmlType;
use crate::quant::q4_k_x16;
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
        if ty != GgmlType::Q4_K
            || !q4_k_x16::has_fast_kernel()
            || !rows_per_matrix.is_multiple_of(q4_k_x16::ROWS)
        {
            return None;
        }
        let len = q4_k_x16::repacked_len(row_len, n_rows)?;
        let mut buf = AlignedBytes::zeroed(len);
        repack_in_parallel(data, row_len, n_rows, buf.bytes_mut()).then(|| PackedRows {
            buf: Arc::new(buf),
            range: 0..len,
            row_len,
        })
    }

    /// The bytes of these rows, groups of [`q4_k_x16::ROWS`] one after the other.
    pub fn bytes(&self) -> &[u8] {
        &self.buf.bytes()[self.range.clone()]
    }

    /// Bytes of one group of rows.
    pub fn group_bytes(&self) -> usize {
        q4_k_x16::repacked_len(self.row_len, q4_k_x16::ROWS).unwrap_or(0)
    }

    /// Rows `[start, start + count)`, when both are whole groups.
    pub fn rows(&self, start: usize, count: usize) -> Option<PackedRows> {
        let g = q4_k_x16::ROWS;
        if !start.is_multiple_of(g) || !count.is_multiple_of(g) {
            return None;
        }
        let gb = self.group_bytes();
        let from = self.range.start + start / g * gb;
        let to = from + count / g * gb;
        (to <= self.range.end).then(|| PackedRows {
            buf: self.buf.clone(),
            range: from..to,
            row_len: self.row_len,
        })
    }
}

/// [`q4_k_x16::repack`] split by whole groups over the machine's cores (a 20 GB model has ~12 GB
/// of Q4_K to repack at load; one core does about 2 GB/s).
fn repack_in_parallel(src: &[u8], row_len: usize, n_rows: usize, dst: &mut [u8]) -> bool {
    let g = q4_k_x16::ROWS;
    let (Some(total), Some(group_out)) = (
        q4_k_x16::repacked_len(row_len, n_rows),
        q4_k_x16::repacked_len(row_len, g),
    ) else {
        return false;
    };
    let row_bytes = src.len() / n_rows.max(1);
    if dst.len() != total || src.len() != n_rows * row_bytes {
        return false;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Pieces of at least 4 MiB: smaller tensors are not worth a thread.
    let groups = n_rows / g;
    let per_piece = groups
        .div_ceil(cores)
        .max((4 << 20) / group_out.max(1))
        .max(1);
    if per_piece >= groups {
        return q4_k_x16::repack(src, row_len, n_rows, dst);
    }
    std::thread::scope(|s| {
        let pieces = src
            .chunks(per_piece * g * row_bytes)
            .zip(dst.chunks_mut(per_piece * group_out));
        let handles: Vec<_> = pieces
            .map(|(from, to)| {
                s.spawn(move || q4_k_x16::repack(from, row_len, from.len() / row_bytes, to))
            })
            .collect();
        handles.into_iter().all(|h| h.join().unwrap_or(false))
    })
}
