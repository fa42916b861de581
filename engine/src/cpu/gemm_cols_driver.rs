//! The loop shared by the transposed-activation kernels (`gemm_cols` for 256-element blocks against
//! Q8_K, `gemm_cols32` for 32-element blocks against Q8_0): a tile of [`ROWS`] weight rows is
//! unpacked one K chunk at a time and meets every packed group of [`GROUP`] columns, each group's
//! sums kept in eight 512-bit accumulators.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// Columns per vector.
pub const GROUP: usize = 16;
/// Weight rows per tile.
pub const ROWS: usize = 8;

/// Activations repacked for a kernel family: `vecs_per_block` vectors for each (group of
/// [`GROUP`] columns, block), groups outermost.
pub struct PackedColumns {
    vecs: Vec<__m512i>,
    vecs_per_block: usize,
    nb: usize,
    groups: usize,
}

impl PackedColumns {
    /// All-zero storage for `n` columns of `nb` blocks.
    fn zeroed(n: usize, nb: usize, vecs_per_block: usize) -> PackedColumns {
        let groups = n.div_ceil(GROUP);
        PackedColumns {
            // SAFETY: all-zero bits are a valid __m512i.
            vecs: vec![unsafe { std::mem::zeroed::<__m512i>() }; groups * nb * vecs_per_block],
            vecs_per_block,
            nb,
            groups,
        }
    }

    /// Packs `n` columns of `nb` blocks: `column(c, b, words)` writes lane `c`'s 32-bit word of
    /// each of block `b`'s `vecs_per_block` vectors. Lanes past `n` in the last group stay zero
    /// (their results are not written).
    pub fn pack(
        n: usize,
        nb: usize,
        vecs_per_block: usize,
        mut column: impl FnMut(usize, usize, &mut [u32]),
    ) -> PackedColumns {
        let mut packed = PackedColumns::zeroed(n, nb, vecs_per_block);
        // SAFETY: the vectors are plain 64-byte values; viewed as u32 they are 16 words each,
        // and u32's alignment divides __m512i's.
        let words: &mut [u32] = unsafe {
            std::slice::from_raw_parts_mut(
                packed.vecs.as_mut_ptr() as *mut u32,
                packed.vecs.len() * GROUP,
            )
        };
        let mut one = vec![0u32; vecs_per_block];
        // Block by block, so that the sixteen lanes of a block's vectors are written while
        // they are in L1.
        for g in 0..packed.groups {
            for b in 0..nb {
                for lane in 0..GROUP.min(n - g * GROUP) {
                    column(g * GROUP + lane, b, &mut one);
                    let base = (g * nb + b) * vecs_per_block * GROUP + lane;
                    for (v, &word) in one.iter().enumerate() {
                        words[base + v * GROUP] = word;
                    }
                }
            }
        }
        packed
    }

    /// Block `b`'s vectors for column group `g`, `v` of them (the family's constant, so that
    /// the kernel's indexing into them needs no bounds checks).
    #[inline(always)]
    fn block(&self, g: usize, b: usize, v: usize) -> &[__m512i] {
        debug_assert_eq!(v, self.vecs_per_block);
        &self.vecs[(g * self.nb + b) * v..][..v]
    }
}

/// A kernel family: how one weight block is unpacked, and how one block of a tile's rows meets one
/// group of columns.
///
/// # Safety
/// `Unpacked` is plain data (every bit pattern is a valid value) aligned to at most 64 bytes: the
/// driver keeps it in reused, zero-initialized vector storage.
pub unsafe trait ColumnBlocks {
    type Unpacked: Copy;
    /// Bytes of a weight block.
    const TYPE_SIZE: usize;
    /// Weight blocks unpacked per K chunk.
    const KBLOCKS: usize;
    /// Vectors per (column group, block) of the packed activations.
    const VECS_PER_BLOCK: usize;
    /// Repacks `n` activation rows of `nb` blocks of the family's dot type (row stride `arb`).
    fn pack_columns(qa: &[u8], arb: usize, n: usize, nb: usize) -> PackedColumns;
    /// Unpacks weight block `x` (the CPU has the features `rows_times_columns` enables).
    unsafe fn unpack(x: &[u8], dst: &mut Self::Unpacked);
    /// Adds block `i` of the chunk (row `r`'s at `unpacked[r * KBLOCKS + i]`) times the group's
    /// vectors `y` to `acc[r]`.
    unsafe fn step(unpacked: &[Self::Unpacked], i: usize, y: &[__m512i], acc: &mut [__m512; ROWS]);
}

/// A chunk's unpacked blocks as `[row][block]` (one length check instead of one per access).
#[inline(always)]
pub fn as_tile<U, const KBLOCKS: usize>(unpacked: &[U]) -> &[[U; KBLOCKS]; ROWS] {
    assert!(unpacked.len() >= ROWS * KBLOCKS);
    // SAFETY: the length is checked, and [[U; KBLOCKS]; ROWS] is laid out as ROWS · KBLOCKS
    // consecutive U.
    unsafe { &*(unpacked.as_ptr() as *const [[U; KBLOCKS]; ROWS]) }
}

/// The output matrix shared by the row tasks; each task writes only its own rows.
#[derive(Clone, Copy)]
pub struct OutRows(pub *mut f32);
// SAFETY: tasks write disjoint elements (their own rows) and the buffer outlives the scope.
unsafe impl Send for OutRows {}
unsafe impl Sync for OutRows {}

/// A thread's working memory, reused for each of its tiles (zeroing it per tile cost more than the
/// unpacking for small expert batches): unpacked blocks, as raw vectors, and the group sums.
#[derive(Default)]
struct Scratch {
    unpacked: Vec<__m512i>,
    partial: Vec<[__m512; ROWS]>,
}

/// `out[c * rows + r]` for rows `r_start..r_end` of `w` (tiles of [`ROWS`]) and every packed
/// column `c < n`. Must not be called from inside itself on one thread (it borrows the thread's
/// scratch).
///
/// # Safety
/// The CPU has AVX2, FMA, F16C, BMI2 and AVX-512 F/BW/VL/VNNI; `packed` is `B::pack_columns`'; `w` holds
/// rows `r_start..r_end` at stride `wrb` with `packed.nb` blocks each; `out` has `n * rows`
/// elements, of which this call alone writes those of rows `r_start..r_end`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn rows_times_columns<B: ColumnBlocks>(
    w: &[u8],
    wrb: usize,
    r_start: usize,
    r_end: usize,
    rows: usize,
    n: usize,
    packed: &PackedColumns,
    out: OutRows,
) {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
    }
    SCRATCH.with(|s| {
        let Scratch { unpacked, partial } = &mut *s.borrow_mut();
        let bytes = ROWS * B::KBLOCKS * std::mem::size_of::<B::Unpacked>();
        if unpacked.len() * 64 < bytes {
            // SAFETY: all-zero bits are a valid __m512i.
            unpacked.resize(bytes.div_ceil(64), std::mem::zeroed());
        }
        // SAFETY: B::Unpacked is plain data aligned to at most 64 bytes (the trait's contract),
        // and the storage holds at least ROWS · KBLOCKS of them.
        let blocks = std::slice::from_raw_parts_mut(
            unpacked.as_mut_ptr() as *mut B::Unpacked,
            ROWS * B::KBLOCKS,
        );
        partial.resize(packed.groups, [_mm512_setzero_ps(); ROWS]);
        tiles::<B>(
            w, wrb, r_start, r_end, rows, n, packed, blocks, partial, out,
        );
    })
}

/// The tiles of rows `r_start..r_end`; rows past a last short tile in `blocks` hold stale blocks
/// whose results are not written.
#[target_feature(enable = "avx2,fma,f16c,bmi2,avx512f,avx512vl,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn tiles<B: ColumnBlocks>(
    w: &[u8],
    wrb: usize,
    r_start: usize,
    r_end: usize,
    rows: usize,
    n: usize,
    packed: &PackedColumns,
    blocks: &mut [B::Unpacked],
    partial: &mut [[__m512; ROWS]],
    out: OutRows,
) {
    let (ts, kb, nb) = (B::TYPE_SIZE, B::KBLOCKS, packed.nb);
    for r0 in (r_start..r_end).step_by(ROWS) {
        let nr = (r_end - r0).min(ROWS);
        partial.fill([_mm512_setzero_ps(); ROWS]);
        for b0 in (0..nb).step_by(kb) {
            let len = (nb - b0).min(kb);
            for r in 0..nr {
                for i in 0..len {
                    B::unpack(
                        &w[(r0 + r) * wrb + (b0 + i) * ts..][..ts],
                        &mut blocks[r * kb + i],
                    );
                }
            }
            for (g, acc) in partial.iter_mut().enumerate() {
                for i in 0..len {
                    B::step(blocks, i, packed.block(g, b0 + i, B::VECS_PER_BLOCK), acc);
                }
            }
        }
        write_partials(partial, r0, nr, rows, n, out);
    }
}

/// Writes rows `r0..r0 + nr` of the per-group results (`partial[g][r]` holds columns
/// `16g..16g + 16` of row `r0 + r`) into `out[c * rows + r]` for columns `c < n`.
///
/// # Safety
/// `out` has `n * rows` elements, `r0 + nr <= rows`, and no other thread writes these rows.
#[inline(always)]
unsafe fn write_partials(
    partial: &[[__m512; ROWS]],
    r0: usize,
    nr: usize,
    rows: usize,
    n: usize,
    out: OutRows,
) {
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
