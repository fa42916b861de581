//! The prompt product for weights repacked sixteen rows at a time ([`crate::packed`]): each task
//! takes a few groups, and each group (a few KiB, L1-resident) meets every activation column in
//! turn through the same kernel decode uses, so a repacked tensor is read only in its repacked form.
//! Groups meeting enough columns ([`Layout::expand_from_cols`]) are first expanded to a byte per
//! value ([`Layout::expand`]), so that the kernel calls only load.

use super::gemm::OutPtr;
use super::matmul::MatmulError;
use super::parallel;
use crate::quant::x16::{Layout, COLS, ROWS};
use crate::scratch::Scratch;

/// Groups per task: enough columns of work to amortize a wake-up, a few tasks per thread.
const TASKS_PER_THREAD: usize = 4;

/// `out[t * rows + r] = W[r] · x[t]` for `n` activation rows (the format's dot type) of `arb` bytes in `qa`, `W`
/// being `rows` rows of `k` values repacked in `packed` (`layout`).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    name: &str,
    layout: Layout,
    packed: &[u8],
    k: usize,
    rows: usize,
    qa: &[u8],
    arb: usize,
    n: usize,
    out: &mut [f32],
) -> Result<(), MatmulError> {
    let group_bytes = layout.group_bytes(k);
    let act_bytes = crate::quant::kernels(layout.ggml_type())
        .and_then(|kern| kern.dot_type.bytes_for(k as u64));
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
    let expanded_bytes = layout
        .expanded_group_bytes(k)
        .filter(|_| n >= layout.expand_from_cols());
    // Q4_0: each column's block sums worked out once here, not once per group.
    let summed = layout.sums_columns();
    let mut summed_bytes = Scratch::<u8>::empty();
    let (qa, arb) = if summed {
        let row = Layout::sum_columns(qa, arb, n, k, &mut summed_bytes);
        (&summed_bytes[..], row)
    } else {
        (qa, arb)
    };
    let base = OutPtr(out.as_mut_ptr());
    parallel::for_each_index(groups.div_ceil(per_task), |task| {
        // 64 bytes over, to start the expanded group on a cache line.
        let mut scratch = expanded_bytes.map(|eb| Scratch::<u8>::zeroed(eb + 64));
        let write = |t: usize, g: usize, lanes: &[f32; ROWS]| {
            for (r, &v) in lanes.iter().enumerate() {
                // SAFETY: rows g·16 .. g·16+16 of column t are this task's alone and inside
                // `out` (checked above).
                unsafe { base.write(t * rows + g * ROWS + r, v) };
            }
        };
        let column = |t: usize| &qa[t * arb..(t + 1) * arb];
        for g in task * per_task..((task + 1) * per_task).min(groups) {
            let group = &packed[g * gb..(g + 1) * gb];
            let expanded = match (scratch.as_mut(), expanded_bytes) {
                (Some(buf), Some(eb)) => {
                    let at = buf.as_ptr().align_offset(64).min(64);
                    let e = &mut buf[at..at + eb];
                    layout.expand(k, group, e);
                    Some(&*e)
                }
                _ => None,
            };
            // COLS columns per call share the unpacking of the group's weights.
            let mut t = 0;
            while t + COLS <= n {
                let mut lanes = [[0f32; ROWS]; COLS];
                let acts = std::array::from_fn(|c| column(t + c));
                columns(layout, k, group, expanded, summed, acts, &mut lanes);
                for (c, lanes) in lanes.iter().enumerate() {
                    write(t + c, g, lanes);
                }
                t += COLS;
            }
            // The last one to three columns in one call too (a MoE expert's batch is any size).
            let rest = |cols: &[[f32; ROWS]]| {
                for (c, lanes) in cols.iter().enumerate() {
                    write(t + c, g, lanes);
                }
            };
            match n - t {
                3 => {
                    let mut lanes = [[0f32; ROWS]; 3];
                    let acts = std::array::from_fn(|c| column(t + c));
                    columns(layout, k, group, expanded, summed, acts, &mut lanes);
                    rest(&lanes);
                }
                2 => {
                    let mut lanes = [[0f32; ROWS]; 2];
                    let acts = [column(t), column(t + 1)];
                    columns(layout, k, group, expanded, summed, acts, &mut lanes);
                    rest(&lanes);
                }
                1 if summed => {
                    let mut lanes = [[0f32; ROWS]; 1];
                    columns(layout, k, group, expanded, summed, [column(t)], &mut lanes);
                    rest(&lanes);
                }
                1 => {
                    let mut lanes = [0f32; ROWS];
                    layout.dot16(k, group, column(t), &mut lanes);
                    rest(std::slice::from_ref(&lanes));
                }
                _ => {}
            }
        }
    });
    Ok(())
}

/// One group against `C` columns: through its expanded form where there is one, and through the
/// summed-column kernel where the columns were summed.
#[inline]
fn columns<const C: usize>(
    layout: Layout,
    k: usize,
    group: &[u8],
    expanded: Option<&[u8]>,
    summed: bool,
    activations: [&[u8]; C],
    out: &mut [[f32; ROWS]; C],
) {
    match expanded {
        _ if summed => layout.dot16_cols_summed(k, group, expanded, activations, out),
        Some(e) => layout.dot16_cols_expanded(k, e, activations, out),
        None => layout.dot16_cols(k, group, activations, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant;

    fn floats(seed: u64, n: usize) -> Vec<f32> {
        let mut rng = crate::quant::test_util::Rng::new(seed);
        (0..n).map(|_| rng.uniform() - 0.5).collect()
    }

    #[test]
    fn every_column_is_the_row_kernels_bits() {
        for layout in Layout::ALL {
            let (k, rows) = (768, 48);
            // From 8 columns (Q6_K on AVX-512: 24) groups go through the expanded form
            // (remainders of 1-3 too).
            for n in [5, 6, 7, 8, 9, 10, 11, 24, 25, 27] {
                let ty = layout.ggml_type();
                let quantize = quant::kernels(ty).unwrap().quantize.unwrap();
                let rb = ty.bytes_for(k as u64).unwrap() as usize;
                let mut w = vec![0u8; rows * rb];
                for (r, row) in w.chunks_exact_mut(rb).enumerate() {
                    quantize(&floats(r as u64 + 1, k), row);
                }
                let dot_type = quant::kernels(ty).unwrap().dot_type;
                let ab = dot_type.bytes_for(k as u64).unwrap() as usize;
                let mut qa = vec![0u8; n * ab];
                for (t, a) in qa.chunks_exact_mut(ab).enumerate() {
                    quant::quantize_activations(dot_type, &floats(100 + t as u64, k), a).unwrap();
                }
                // Without the repacked kernel on this CPU, the scalar group dot serves (same bits).
                let mut packed = vec![0u8; layout.repacked_len(k, rows).unwrap()];
                assert!(layout.repack(&w, k, rows, &mut packed));
                let pool = crate::cpu::ThreadPool::new(2).unwrap();
                let mut out = vec![0f32; n * rows];
                pool.install(|| gemm("test", layout, &packed, k, rows, &qa, ab, n, &mut out))
                    .unwrap();
                for t in 0..n {
                    for r in 0..rows {
                        let row = &w[r * rb..(r + 1) * rb];
                        let want = layout.row_dot_scalar()(k, row, &qa[t * ab..]);
                        assert_eq!(
                            out[t * rows + r].to_bits(),
                            want.to_bits(),
                            "{layout:?} {n} columns: column {t} row {r}"
                        );
                    }
                }
                // Buffers that do not match the shape are an error, not a panic.
                let short = gemm(
                    "test",
                    layout,
                    &packed[..100],
                    k,
                    rows,
                    &qa,
                    ab,
                    n,
                    &mut out,
                );
                assert!(matches!(short, Err(MatmulError::Shape { .. })));
            }
        }
    }
}
