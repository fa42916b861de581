//! Matrix–matrix products for prompts (more than one activation row): `out[t][r] = W[r] · x[t]`.
//!
//! The activations are quantized once (by the caller), then the output is computed in tiles of up
//! to [`MAX_ROWS`] weight rows × [`MAX_COLS`] activation columns: a tile kernel unpacks each weight
//! block once and dots it with every column of the tile, keeping the per-(row, column) sums local.
//! Each tile kernel reproduces, for every (row, column), the integer block sums and the float
//! accumulation order of the `vec_dot` that the decode path uses for that format, so a prompt
//! computes bit for bit what token-by-token decoding would.
//!
//! On AVX-512 VNNI, IQ4_XS, Q3_K, Q4_K, Q5_K, Q6_K and the 32-element formats Q4_0, Q5_0, Q8_0,
//! IQ4_NL and MXFP4 instead run with the activations transposed (`gemm_cols`, `gemm_cols32`:
//! sixteen columns per vector, about 3× fewer instructions per multiply-add) unless there are only
//! a few columns ([`uses_column_kernel`]). Their integer block sums are the same, the float sum is
//! associated per block rather than per lane, so prompt and decode results may differ in the last
//! bits there (as llama.cpp's repacked and tiled prompt kernels differ from its `vec_dot`s).
//!
//! Work is split across the thread pool by weight rows; each task walks column blocks outermost so
//! that one block of activations stays in cache while the task's weight rows stream past it.

use super::matmul::MatmulError;
use super::parallel;
#[cfg(target_arch = "x86_64")]
use super::{
    gemm_cols, gemm_cols32, gemm_cols_driver, gemm_cols_iq4_xs, gemm_cols_k16, gemm_cols_kquant,
    gemm_f32, gemm_iq4_xs, gemm_k16, gemm_kquant, gemm_nibble, gemm_q0_wide, gemm_q8_0,
};
use crate::gguf::GgmlType;
use crate::tensor::Tensor;

/// Weight rows per tile.
pub const MAX_ROWS: usize = 4;
/// Activation columns per tile: each weight block is unpacked once per tile, so more columns
/// amortize it further (on the 2-core Zen 5 VM, 16 → 64 columns gave pp512 +7% on Gemma 3 270M and
/// +15% on the Qwen3.5-35B-A3B slice); the tile's activations then sit in L2 rather than L1.
pub const MAX_COLS: usize = 64;

/// A tile's results: `sums[c][r]` = weight row `r` · activation column `c`.
pub type Sums = [[f32; MAX_ROWS]; MAX_COLS];

/// A format's tile kernel: `nr` (1..=MAX_ROWS) weight rows at `w` (row stride `wrb` bytes) against
/// `nc` (1..=MAX_COLS) activation columns at `a` (stride `arb`), `nb` blocks each; fills `sums`.
///
/// # Safety
/// The CPU must have the features the kernel was selected for (see [`tile_kernel`]), and
/// `w.len() >= (nr - 1) * wrb + nb * weight_block_bytes`,
/// `a.len() >= (nc - 1) * arb + nb * activation_block_bytes`.
pub type TileFn = unsafe fn(
    w: &[u8],
    wrb: usize,
    nr: usize,
    a: &[u8],
    arb: usize,
    nc: usize,
    nb: usize,
    sums: &mut Sums,
);

/// An instruction set a tile kernel is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileIsa {
    /// AVX2 + FMA + F16C: every x86-64 tile kernel.
    Avx2,
    /// AVX-512 F/VL/BW/VNNI as well: fused integer dot products and 32 vector registers.
    Avx512Vnni,
}

impl TileIsa {
    /// The instruction sets this CPU runs, best last.
    pub fn available() -> Vec<TileIsa> {
        let mut isas = Vec::new();
        #[cfg(target_arch = "x86_64")]
        if crate::isa_ceiling::avx2_allowed()
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
        {
            isas.push(TileIsa::Avx2);
            if super::gemm_simd::has_vnni() {
                isas.push(TileIsa::Avx512Vnni);
            }
        }
        isas
    }

    /// The best instruction set this CPU runs (detected once).
    pub fn best() -> Option<TileIsa> {
        static BEST: std::sync::OnceLock<Option<TileIsa>> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| TileIsa::available().last().copied())
    }
}

/// The tile kernel for weights of `ty` on this CPU, if there is one (otherwise the caller falls
/// back to one `vec_dot` per output, still tiled).
pub fn tile_kernel(ty: GgmlType) -> Option<TileFn> {
    tile_kernel_for(ty, TileIsa::best()?)
}

/// The tile kernel for weights of `ty` compiled for `isa` (which the caller has checked the CPU
/// runs: see [`TileIsa::available`]).
pub fn tile_kernel_for(ty: GgmlType, isa: TileIsa) -> Option<TileFn> {
    #[cfg(target_arch = "x86_64")]
    {
        let vnni = isa == TileIsa::Avx512Vnni;
        let pick = |avx2: TileFn, avx512: TileFn| if vnni { avx512 } else { avx2 };
        let f: TileFn = match ty {
            GgmlType::Q2_K => pick(gemm_k16::q2_k, gemm_k16::q2_k_vnni),
            GgmlType::Q3_K => pick(gemm_k16::q3_k, gemm_k16::q3_k_vnni),
            GgmlType::Q4_K => pick(gemm_kquant::q4_k, gemm_kquant::q4_k_vnni),
            GgmlType::Q5_K => pick(gemm_kquant::q5_k, gemm_kquant::q5_k_vnni),
            GgmlType::Q6_K => pick(gemm_kquant::q6_k, gemm_kquant::q6_k_vnni),
            GgmlType::Q8_0 => pick(gemm_q8_0::q8_0, gemm_q0_wide::q8_0_pairs),
            GgmlType::Q5_0 => pick(gemm_q8_0::q5_0, gemm_q0_wide::q5_0_pairs),
            GgmlType::Q4_0 => pick(gemm_q8_0::q4_0, gemm_q8_0::q4_0_vnni),
            GgmlType::IQ4_XS => pick(gemm_iq4_xs::iq4_xs, gemm_iq4_xs::iq4_xs_vnni),
            GgmlType::MXFP4 => pick(gemm_nibble::mxfp4_tiles, gemm_nibble::mxfp4_tiles_vnni),
            GgmlType::IQ4_NL => pick(gemm_nibble::iq4_nl_tiles, gemm_nibble::iq4_nl_tiles_vnni),
            GgmlType::F32 => gemm_f32::f32,
            _ => return None,
        };
        Some(f)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (ty, isa);
        None
    }
}

/// The output pointer shared by the row tasks; each task writes only its own rows.
#[derive(Clone, Copy)]
pub(super) struct OutPtr(pub(super) *mut f32);
// SAFETY: tasks write disjoint elements (their own weight rows) and the slice outlives the scope.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// # Safety
    /// `i` is in bounds of the output slice and no other task writes element `i`.
    #[inline(always)]
    pub(super) unsafe fn write(self, i: usize, v: f32) {
        *self.0.add(i) = v;
    }
}

/// `out[t * rows + r] = W[r] · x[t]` for `n` activation columns already quantized to the weight's
/// dot type: `qa` holds `n` rows of `arb` bytes. `vec_dot` serves formats without a tile kernel.
pub fn gemm(
    w: &Tensor,
    qa: &[u8],
    arb: usize,
    n: usize,
    out: &mut [f32],
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
) -> Result<(), MatmulError> {
    if let Some(p) = w.packed() {
        let (k, rows) = (w.row_len(), w.n_rows());
        return super::gemm_packed::gemm(&w.name, p.layout(), p.bytes(), k, rows, qa, arb, n, out);
    }
    let weights = Weights {
        name: &w.name,
        ty: w.ty,
        row_len: w.row_len(),
        rows: w.n_rows(),
        row_bytes: w.row_bytes(),
        data: w.data(),
    };
    gemm_weights(&weights, qa, arb, n, out, vec_dot)
}

/// A weight matrix as raw rows (what [`gemm`] needs of a [`Tensor`]).
pub struct Weights<'a> {
    pub name: &'a str,
    pub ty: GgmlType,
    pub row_len: usize,
    pub rows: usize,
    pub row_bytes: usize,
    pub data: &'a [u8],
}

/// [`gemm`] over raw weight rows.
pub fn gemm_weights(
    w: &Weights,
    qa: &[u8],
    arb: usize,
    n: usize,
    out: &mut [f32],
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
) -> Result<(), MatmulError> {
    let isa = TileIsa::best();
    let tile = isa.and_then(|isa| tile_kernel_for(w.ty, isa));
    let columns = isa.is_some_and(|isa| uses_column_kernel(w.ty, isa, n));
    gemm_with(w, qa, arb, n, out, vec_dot, tile, columns)
}

/// Whether `ty` on `isa` runs `n` activation columns with transposed activations (`gemm_cols`,
/// `gemm_cols32`) rather than tiles.
pub(super) fn uses_column_kernel(ty: GgmlType, isa: TileIsa, n: usize) -> bool {
    fewest_columns_for_column_kernel(ty, isa).is_some_and(|least| n >= least)
}

/// The column kernel computes sixteen columns per vector however few there are, so below a few
/// columns the tiles win; the crossovers measured with `GEMM_N=1..8 GEMM_QUICK=1 cargo bench
/// --bench gemm` (2048 × 2048, 2 threads, Xeon with AVX-512 VNNI): Q4_0, Q8_0 and Q4_K between 6
/// and 8 columns, MXFP4 at 2; IQ4_XS's tile is slower at every count.
fn fewest_columns_for_column_kernel(ty: GgmlType, isa: TileIsa) -> Option<usize> {
    if !cfg!(target_arch = "x86_64") || isa != TileIsa::Avx512Vnni {
        return None;
    }
    match ty {
        GgmlType::IQ4_XS => Some(1),
        GgmlType::MXFP4 | GgmlType::IQ4_NL => Some(3),
        GgmlType::Q3_K
        | GgmlType::Q4_K
        | GgmlType::Q5_K
        | GgmlType::Q6_K
        | GgmlType::Q4_0
        | GgmlType::Q5_0
        | GgmlType::Q8_0 => Some(8),
        _ => None,
    }
}

/// [`gemm_weights`] with the tile kernels of `isa` (for comparing instruction sets); one that
/// this CPU does not run falls back to `vec_dot` per output.
pub fn gemm_weights_on(
    isa: TileIsa,
    w: &Weights,
    qa: &[u8],
    arb: usize,
    n: usize,
    out: &mut [f32],
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
) -> Result<(), MatmulError> {
    let runs = TileIsa::available().contains(&isa);
    let tile = if runs {
        tile_kernel_for(w.ty, isa)
    } else {
        None
    };
    let columns = runs && uses_column_kernel(w.ty, isa, n);
    gemm_with(w, qa, arb, n, out, vec_dot, tile, columns)
}

/// `tile` must come from [`tile_kernel_for`] `w.ty` on an instruction set this CPU runs, and
/// `columns` be true only where [`uses_column_kernel`] is for such an instruction set.
#[allow(clippy::too_many_arguments)]
fn gemm_with(
    w: &Weights,
    qa: &[u8],
    arb: usize,
    n: usize,
    out: &mut [f32],
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
    tile: Option<TileFn>,
    columns: bool,
) -> Result<(), MatmulError> {
    let (k, rows, wrb, wdata) = (w.row_len, w.rows, w.row_bytes, w.data);
    let bad_len = |what: &str| MatmulError::Shape {
        name: w.name.to_string(),
        detail: format!("{what} (rows {rows}, row length {k}, columns {n})"),
    };
    let bs = w.ty.block_size() as usize;
    if bs == 0 || k % bs != 0 {
        return Err(bad_len("row length is not a whole number of blocks"));
    }
    let nb = k / bs;
    let wbytes = w.ty.bytes_for(k as u64).unwrap_or(u64::MAX) as usize;
    if wrb < wbytes || wdata.len() < rows * wrb {
        return Err(bad_len("weight data shorter than its shape"));
    }
    if qa.len() < n * arb || out.len() < n * rows {
        return Err(bad_len("activation or output buffer too short"));
    }
    if n == 0 || rows == 0 {
        return Ok(());
    }
    if let Some(dot_type) = crate::quant::kernels(w.ty).map(|kk| kk.dot_type) {
        let abytes = dot_type.bytes_for(k as u64).unwrap_or(u64::MAX) as usize;
        if (tile.is_some() || columns) && arb < abytes {
            return Err(bad_len("activation rows shorter than the row length"));
        }
    }
    #[cfg(target_arch = "x86_64")]
    if columns {
        gemm_columns(w, qa, arb, n, out, nb);
        return Ok(());
    }
    let out_ptr = OutPtr(out.as_mut_ptr());
    let rows_per_task = rows_per_task(rows);
    let n_tasks = rows.div_ceil(rows_per_task);
    parallel::for_each_index(n_tasks, |task| {
        let r_start = task * rows_per_task;
        let r_end = (r_start + rows_per_task).min(rows);
        let mut sums: Sums = [[0.0; MAX_ROWS]; MAX_COLS];
        for c0 in (0..n).step_by(MAX_COLS) {
            let nc = (n - c0).min(MAX_COLS);
            for r0 in (r_start..r_end).step_by(MAX_ROWS) {
                let nr = (r_end - r0).min(MAX_ROWS);
                let wt = &wdata[r0 * wrb..];
                let at = &qa[c0 * arb..];
                match tile {
                    // SAFETY: the kernel's CPU features were detected (see `gemm_with`); the length
                    // preconditions follow from the checks above (rows * wrb weight bytes with
                    // wrb >= nb blocks, n * arb activation bytes with arb >= nb blocks).
                    Some(f) => unsafe { f(wt, wrb, nr, at, arb, nc, nb, &mut sums) },
                    None => {
                        for (c, col) in sums.iter_mut().enumerate().take(nc) {
                            for (r, s) in col.iter_mut().enumerate().take(nr) {
                                *s = vec_dot(
                                    k,
                                    &wt[r * wrb..(r + 1) * wrb],
                                    &at[c * arb..(c + 1) * arb],
                                );
                            }
                        }
                    }
                }
                for (c, col) in sums.iter().enumerate().take(nc) {
                    let base = (c0 + c) * rows + r0;
                    for (r, &s) in col.iter().enumerate().take(nr) {
                        // SAFETY: base + r < n * rows <= out.len(), and only this task owns rows
                        // r_start..r_end of every column.
                        unsafe { out_ptr.write(base + r, s) };
                    }
                }
            }
        }
    });
    Ok(())
}

/// Rows per parallel task: about four tasks per thread (for balance), a whole number of tiles.
fn rows_per_task(rows: usize) -> usize {
    rows_per_task_of(rows, MAX_ROWS)
}

fn rows_per_task_of(rows: usize, tile_rows: usize) -> usize {
    let threads = parallel::current_threads();
    let per = rows.div_ceil(threads * 4);
    per.div_ceil(tile_rows).max(1) * tile_rows
}

/// The transposed-activation product (`gemm_cols`, `gemm_cols32`), after `gemm_with`'s checks:
/// the CPU runs AVX-512 VNNI, `w` (a format [`uses_column_kernel`] accepts) holds `rows` rows of
/// `nb` blocks, `qa` `n` rows of `nb` blocks of its dot type at stride `arb`, `out` at least
/// `n * rows` elements.
#[cfg(target_arch = "x86_64")]
fn gemm_columns(w: &Weights, qa: &[u8], arb: usize, n: usize, out: &mut [f32], nb: usize) {
    use gemm_cols::K256;
    use gemm_cols32::{Nibble, B32, Q0};
    let args = (w, qa, arb, n, out, nb);
    match w.ty {
        GgmlType::Q4_K => columns::<K256<gemm_cols_kquant::Q4K>>(args),
        GgmlType::Q5_K => columns::<K256<gemm_cols_kquant::Q5K>>(args),
        GgmlType::Q6_K => columns::<K256<gemm_cols_k16::Q6K>>(args),
        GgmlType::Q3_K => columns::<K256<gemm_cols_k16::Q3K>>(args),
        GgmlType::IQ4_XS => columns::<K256<gemm_cols_iq4_xs::Iq4Xs>>(args),
        GgmlType::Q4_0 => columns::<B32<Q0<gemm_q8_0::Q4_0>>>(args),
        GgmlType::Q5_0 => columns::<B32<Q0<gemm_q8_0::Q5_0>>>(args),
        GgmlType::Q8_0 => columns::<B32<Q0<gemm_q8_0::Q8_0>>>(args),
        GgmlType::IQ4_NL => columns::<B32<Nibble<gemm_nibble::Iq4Nl>>>(args),
        GgmlType::MXFP4 => columns::<B32<Nibble<gemm_nibble::Mxfp4>>>(args),
        other => unreachable!("no column kernel for {other}"),
    }
}

/// [`gemm_columns`] for one kernel family `B`.
#[cfg(target_arch = "x86_64")]
fn columns<B: gemm_cols_driver::ColumnBlocks>(
    (w, qa, arb, n, out, nb): (&Weights, &[u8], usize, usize, &mut [f32], usize),
) {
    let packed = B::pack_columns(qa, arb, n, nb);
    let out_rows = gemm_cols_driver::OutRows(out.as_mut_ptr());
    let rows = w.rows;
    let per_task = rows_per_task_of(rows, gemm_cols_driver::ROWS);
    parallel::for_each_index(rows.div_ceil(per_task), |task| {
        let r_start = task * per_task;
        let r_end = (r_start + per_task).min(rows);
        // SAFETY: `gemm_columns`' preconditions; rows r_start..r_end belong to this task only,
        // `packed` is `B`'s packing, and the call makes no parallel calls.
        unsafe {
            gemm_cols_driver::rows_times_columns::<B>(
                w.data,
                w.row_bytes,
                r_start,
                r_end,
                rows,
                n,
                &packed,
                out_rows,
            )
        }
    });
}
