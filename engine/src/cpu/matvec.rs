//! The decode product: one activation vector against one or several weight matrices.
//!
//! Decoding one token reads every weight once, so the matrix-vector product should run at memory
//! bandwidth. What this module does for that:
//! - each distinct input is quantized to a dot type once and shared by every matrix reading it
//!   (q/k/v, gate/up, the selected experts' gate/up);
//! - all rows of all matrices of one call are split into a few large contiguous tasks, one parallel
//!   region per call (fused gate+up instead of two regions), so the pool is woken once;
//! - rows are read strictly in order, one row at a time: on this EPYC a four-rows-at-once kernel
//!   (sharing the activation loads) ran at a fifth of the bandwidth, the four interleaved streams
//!   defeating the hardware prefetcher (11-15 GB/s with software prefetch, vs 22 GB/s in order);
//!   within one row the dot kernels ask for the bytes 6 KiB ahead where that measured faster
//!   (`quant::prefetch`: most CPUs; on Zen 4 only the kernels that read two streams);
//! - the quantized activations and the plan live in a per-thread scratch that is reused, so a
//!   warmed-up decode step allocates nothing here.

use super::matmul::MatmulError;
use super::parallel;
use super::x86_dot::vec_dot_for;
use crate::gguf::GgmlType;
use crate::quant;
use crate::quant::x16::{self, Layout};
use crate::tensor::Tensor;
use std::cell::RefCell;

/// Some rows of a weight matrix (a whole tensor, or one expert of a stacked expert tensor).
#[derive(Clone, Copy)]
pub struct WeightRows<'a> {
    pub name: &'a str,
    pub ty: GgmlType,
    pub row_len: usize,
    pub n_rows: usize,
    pub data: &'a [u8],
    /// The same rows repacked ([`crate::packed`]), read instead of `data` when present.
    pub packed: Option<&'a [u8]>,
}

impl<'a> WeightRows<'a> {
    pub fn of(t: &'a Tensor) -> WeightRows<'a> {
        WeightRows {
            name: &t.name,
            ty: t.ty,
            row_len: t.row_len(),
            n_rows: t.n_rows(),
            data: t.data(),
            packed: t.packed().map(|p| p.bytes()),
        }
    }

    /// No rows (a placeholder in fixed-size job arrays).
    pub fn empty() -> WeightRows<'static> {
        WeightRows {
            name: "",
            ty: GgmlType::F32,
            row_len: 0,
            n_rows: 0,
            data: &[],
            packed: None,
        }
    }

    fn row_bytes(&self) -> usize {
        self.ty.bytes_for(self.row_len as u64).unwrap_or(0) as usize
    }

    /// Rows `[start, start + count)` (clamped to the rows present), without copying.
    pub fn rows(&self, start: usize, count: usize) -> WeightRows<'a> {
        let rb = self.row_bytes();
        let start = start.min(self.n_rows);
        let count = count.min(self.n_rows - start);
        // Repacked groups serve a slice of whole groups (an expert's rows); other slices read
        // the file's rows.
        let packed = self.packed.and_then(|p| {
            let within = Layout::of(self.ty)?.group_range(self.row_len, start, count)?;
            p.get(within)
        });
        WeightRows {
            n_rows: count,
            data: &self.data[start * rb..(start + count) * rb],
            packed,
            ..*self
        }
    }
}

/// `out[r] = w[r] · x` for every row r of `w`.
pub struct MatvecJob<'a> {
    pub w: WeightRows<'a>,
    pub x: &'a [f32],
    pub out: &'a mut [f32],
}

/// Bytes of weights one task should read at least: enough to amortize waking a worker.
const MIN_TASK_BYTES: usize = 32 * 1024;
/// Tasks per thread for a large matrix: a few, so a descheduled thread does not stall the rest.
const TASKS_PER_THREAD: usize = 4;

/// One job's share of the work, computed before the parallel region.
#[derive(Clone, Copy)]
struct Plan {
    act_offset: usize,
    act_len: usize,
    row_bytes: usize,
    chunk_rows: usize,
    first_task: usize,
    n_tasks: usize,
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
    /// The layout and bytes of one group of rows, when the job reads repacked rows.
    packed: Option<(Layout, usize)>,
}

/// Reused buffers: the quantized inputs and the plan.
#[derive(Default)]
struct Scratch {
    acts: Vec<u8>,
    plans: Vec<Plan>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `out = w · x` for a single activation vector `x` (`w.row_len()` floats).
pub fn matvec(w: &Tensor, x: &[f32], out: &mut [f32]) -> Result<(), MatmulError> {
    matvec_jobs(&mut [MatvecJob {
        w: WeightRows::of(w),
        x,
        out,
    }])
}

/// Runs every job in one parallel region; inputs shared by several jobs (the same slice) are
/// quantized once per dot type.
pub fn matvec_jobs(jobs: &mut [MatvecJob]) -> Result<(), MatmulError> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => run(jobs, &mut scratch),
        // Re-entered on this thread (a matvec inside a parallel task): use a private scratch.
        Err(_) => run(jobs, &mut Scratch::default()),
    })
}

fn run(jobs: &mut [MatvecJob], scratch: &mut Scratch) -> Result<(), MatmulError> {
    plan(jobs, scratch)?;
    let total: usize = scratch.plans.iter().map(|p| p.n_tasks).sum();
    // Raw output pointers: each task writes only its own rows (disjoint ranges, see `run_task`).
    let outs: OutPtrs = OutPtrs(jobs.iter_mut().map(|j| j.out.as_mut_ptr()).collect_array());
    let scratch = &*scratch;
    let jobs = &*jobs;
    if total <= 1 {
        (0..total).for_each(|t| run_task(t, jobs, scratch, &outs));
    } else {
        parallel::for_each_index(total, |t| run_task(t, jobs, scratch, &outs));
    }
    Ok(())
}

/// Up to this many jobs per call share one parallel region (more are rejected by `plan`).
pub const MAX_JOBS: usize = 32;

struct OutPtrs([*mut f32; MAX_JOBS]);
// SAFETY: the pointers are only written through in disjoint row ranges by distinct tasks, and the
// slices they come from are exclusively borrowed for the whole parallel region.
unsafe impl Sync for OutPtrs {}

trait CollectArray {
    fn collect_array(self) -> [*mut f32; MAX_JOBS];
}

impl<I: Iterator<Item = *mut f32>> CollectArray for I {
    fn collect_array(self) -> [*mut f32; MAX_JOBS] {
        let mut a = [std::ptr::null_mut(); MAX_JOBS];
        for (slot, p) in a.iter_mut().zip(self) {
            *slot = p;
        }
        a
    }
}

/// Validates the jobs, quantizes each distinct input once, and splits the rows into tasks.
fn plan(jobs: &[MatvecJob], scratch: &mut Scratch) -> Result<(), MatmulError> {
    if jobs.len() > MAX_JOBS {
        return Err(MatmulError::TooManyJobs(jobs.len(), MAX_JOBS));
    }
    let threads = parallel::current_threads();
    scratch.plans.clear();
    let mut act_end = 0;
    let mut first_task = 0;
    for (i, job) in jobs.iter().enumerate() {
        let w = &job.w;
        let kern = quant::kernels(w.ty)
            .ok_or_else(|| MatmulError::Unsupported(w.ty.name(), w.name.to_string()))?;
        let row_bytes = w.row_bytes();
        let dot_ty = kern.dot_type;
        let shape_ok = w.row_len as u64 % w.ty.block_size() == 0
            && w.row_len as u64 % dot_ty.block_size() == 0;
        if !shape_ok {
            return Err(MatmulError::BadRowLength {
                name: w.name.to_string(),
                row_len: w.row_len,
                ty: w.ty.name(),
            });
        }
        if job.x.len() != w.row_len
            || job.out.len() != w.n_rows
            || w.data.len() < w.n_rows * row_bytes
        {
            return Err(MatmulError::Shape {
                name: w.name.to_string(),
                detail: format!(
                    "{} rows of {} ({} bytes) with an input of {} and an output of {}",
                    w.n_rows,
                    w.row_len,
                    w.data.len(),
                    job.x.len(),
                    job.out.len()
                ),
            });
        }
        let act_len = dot_ty.bytes_for(w.row_len as u64).unwrap_or(0) as usize;
        // The same input slice already quantized to the same dot type: share it.
        let shared = jobs[..i]
            .iter()
            .zip(&scratch.plans)
            .find(|(prev, _)| {
                std::ptr::eq(prev.x, job.x)
                    && quant::kernels(prev.w.ty).map(|k| k.dot_type) == Some(dot_ty)
            })
            .map(|(_, p)| p.act_offset);
        let act_offset = match shared {
            Some(off) => off,
            None => {
                let off = act_end;
                act_end += act_len;
                if scratch.acts.len() < act_end {
                    scratch.acts.resize(act_end, 0);
                }
                // `ok_or_else`: the error's String must not be built (allocated) on every call.
                let quantize = quant::activation_quantizer(dot_ty).ok_or_else(|| {
                    MatmulError::Unsupported(dot_ty.name(), "(activations)".into())
                })?;
                quantize(job.x, &mut scratch.acts[off..act_end]);
                off
            }
        };
        let min_rows = MIN_TASK_BYTES.div_ceil(row_bytes.max(1));
        let even_rows = w.n_rows.div_ceil(threads * TASKS_PER_THREAD);
        let packed = w.packed.and_then(|_| {
            let layout = Layout::of(w.ty)?;
            Some((layout, layout.group_bytes(w.row_len)?))
        });
        // Repacked rows go in whole groups.
        let step = if packed.is_some() { x16::ROWS } else { 4 };
        let chunk_rows = min_rows.max(even_rows).next_multiple_of(step).max(step);
        let n_tasks = w.n_rows.div_ceil(chunk_rows);
        scratch.plans.push(Plan {
            act_offset,
            act_len,
            row_bytes,
            chunk_rows,
            first_task,
            n_tasks,
            vec_dot: vec_dot_for(w.ty).unwrap_or(kern.vec_dot),
            packed,
        });
        first_task += n_tasks;
    }
    Ok(())
}

/// Computes the rows of task `t` (global index over all jobs' tasks).
fn run_task(t: usize, jobs: &[MatvecJob], scratch: &Scratch, outs: &OutPtrs) {
    let Some(j) = scratch
        .plans
        .iter()
        .position(|p| t >= p.first_task && t < p.first_task + p.n_tasks)
    else {
        return;
    };
    let (p, w) = (&scratch.plans[j], &jobs[j].w);
    let r0 = (t - p.first_task) * p.chunk_rows;
    let r1 = (r0 + p.chunk_rows).min(w.n_rows);
    // SAFETY: task t alone covers rows r0..r1 of job j, inside the job's output (checked in `plan`).
    let out = unsafe { std::slice::from_raw_parts_mut(outs.0[j].add(r0), r1 - r0) };
    let a = &scratch.acts[p.act_offset..p.act_offset + p.act_len];
    let n = w.row_len;
    if let (Some((layout, gb)), Some(packed)) = (p.packed, w.packed) {
        // Tasks start and end on whole groups (`plan`).
        let (groups, _) = out.as_chunks_mut::<{ x16::ROWS }>();
        for (i, o) in groups.iter_mut().enumerate() {
            let group = (r0 / x16::ROWS + i) * gb;
            layout.dot16(n, &packed[group..group + gb], a, o);
        }
        return;
    }
    let rb = p.row_bytes;
    let row = |r: usize| &w.data[r * rb..(r + 1) * rb];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (p.vec_dot)(n, row(r0 + i), a);
    }
}

#[cfg(test)]
#[path = "matvec_tests.rs"]
mod tests;
