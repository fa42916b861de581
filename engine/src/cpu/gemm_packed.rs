//! The prompt product for weights repacked sixteen rows at a time ([`crate::packed`]): each task
//! takes a few groups, and each group (a few KiB, L1-resident) meets every activation column in
//! turn through the same kernel decode uses, so a repacked tensor is read only in its repacked form.

use super::gemm::OutPtr;
use super::matmul::MatmulError;
use super::parallel;
use crate::quant::q4_k_x16::{self, ROWS};

/// Groups per task: enough columns of work to amortize a wake-up, a few tasks per thread.
const TASKS_PER_THREAD: usize = 4;

/// `out[t * rows + r] = W[r] · x[t]` for `n` Q8_K activation rows of `arb` bytes in `qa`, `W`
/// being `rows` rows of `k` values repacked in `packed`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    name: &str,
    packed: &[u8],
    k: usize,
    rows: usize,
    qa: &[u8],
    arb: usize,
    n: usize,
    out: &mut [f32],
) -> Result<(), MatmulError> {
    let group_bytes = q4_k_x16::group_bytes(k);
    let act_bytes = crate::gguf::GgmlType::Q8_K.bytes_for(k as u64);
    let fits = group_bytes.is_some_and(|gb| packed.len() >= rows / ROWS * gb)
        && act_bytes.is_some_and(|ab| arb >= ab as usize)
        && rows.is_multiple_of(ROWS)
        && qa.len() >= n * arb
        && out.len() >= n * rows;
    let Some(gb) = group_bytes.filter(|_| fits) else {
        return Err(MatmulError::Shape {
            name: name.to_string(),
            detail: format!("repacked rows {rows} × {k} with {n} columns: buffers too short"),
        });
    };
    let groups = rows / ROWS;
    let per_task = groups
        .div_ceil(parallel::current_threads() * TASKS_PER_THREAD)
        .max(1);
    let base = OutPtr(out.as_mut_ptr());
    parallel::for_each_index(groups.div_ceil(per_task), |task| {
        let mut lanes = [0f32; ROWS];
        for g in task * per_task..((task + 1) * per_task).min(groups) {
            let group = &packed[g * gb..(g + 1) * gb];
            for t in 0..n {
                q4_k_x16::dot16(k, group, &qa[t * arb..(t + 1) * arb], &mut lanes);
                for (r, &v) in lanes.iter().enumerate() {
                    // SAFETY: rows g·16 .. g·16+16 of column t are this task's alone and inside
                    // `out` (checked above).
                    unsafe { base.write(t * rows + g * ROWS + r, v) };
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgmlType;
    use crate::quant::{self, q4_k};

    fn floats(seed: u64, n: usize) -> Vec<f32> {
        let mut rng = crate::quant::test_util::Rng::new(seed);
        (0..n).map(|_| rng.uniform() - 0.5).collect()
    }

    #[test]
    fn every_column_is_the_row_kernels_bits() {
        let (k, rows, n) = (768, 48, 5);
        let rb = GgmlType::Q4_K.bytes_for(k as u64).unwrap() as usize;
        let mut w = vec![0u8; rows * rb];
        for (r, row) in w.chunks_exact_mut(rb).enumerate() {
            q4_k::quantize(&floats(r as u64 + 1, k), row);
        }
        let ab = GgmlType::Q8_K.bytes_for(k as u64).unwrap() as usize;
        let mut qa = vec![0u8; n * ab];
        for (t, a) in qa.chunks_exact_mut(ab).enumerate() {
            quant::quantize_activations(GgmlType::Q8_K, &floats(100 + t as u64, k), a).unwrap();
        }
        // Without the repacked kernel on this CPU, the scalar group dot serves (same bits).
        let mut packed = vec![0u8; q4_k_x16::repacked_len(k, rows).unwrap()];
        assert!(q4_k_x16::repack(&w, k, rows, &mut packed));
        let pool = crate::cpu::ThreadPool::new(2).unwrap();
        let mut out = vec![0f32; n * rows];
        pool.install(|| gemm("test", &packed, k, rows, &qa, ab, n, &mut out))
            .unwrap();
        for t in 0..n {
            for r in 0..rows {
                let want = q4_k::vec_dot_scalar(k, &w[r * rb..(r + 1) * rb], &qa[t * ab..]);
                assert_eq!(
                    out[t * rows + r].to_bits(),
                    want.to_bits(),
                    "column {t} row {r}"
                );
            }
        }
        // Buffers that do not match the shape are an error, not a panic.
        let short = gemm("test", &packed[..100], k, rows, &qa, ab, n, &mut out);
        assert!(matches!(short, Err(MatmulError::Shape { .. })));
    }
}
