//! The decode matvec against the per-row reference: quantize the input with the format's
//! activation quantizer, then one `vec_dot` per row. Results must be bit-identical.

use super::*;
use crate::cpu::x86_dot::vec_dot_for;

fn floats(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0
        })
        .collect()
}

/// A `rows × k` weight of `ty`, quantized from random floats with the reference quantizer.
fn weight(ty: GgmlType, rows: usize, k: usize, seed: u64) -> Vec<u8> {
    let kern = quant::kernels(ty).unwrap();
    let rb = ty.bytes_for(k as u64).unwrap() as usize;
    let mut data = vec![0u8; rows * rb];
    let src = floats(seed, rows * k);
    for (s, d) in src.chunks_exact(k).zip(data.chunks_exact_mut(rb)) {
        (kern.quantize.unwrap())(s, d);
    }
    data
}

/// The reference: one `vec_dot` per row on the activations quantized once.
fn reference(w: &WeightRows, x: &[f32]) -> Vec<f32> {
    reference_with(w, x, vec_dot_for(w.ty).unwrap())
}

/// Every row of `w` · `x` through the row kernel `dot`.
fn reference_with(w: &WeightRows, x: &[f32], dot: fn(usize, &[u8], &[u8]) -> f32) -> Vec<f32> {
    let kern = quant::kernels(w.ty).unwrap();
    let mut a = vec![0u8; kern.dot_type.bytes_for(x.len() as u64).unwrap() as usize];
    quant::quantize_activations(kern.dot_type, x, &mut a).unwrap();
    let rb = w.row_bytes();
    (0..w.n_rows)
        .map(|r| dot(w.row_len, &w.data[r * rb..(r + 1) * rb], &a))
        .collect()
}

fn rows_of<'a>(ty: GgmlType, k: usize, rows: usize, data: &'a [u8]) -> WeightRows<'a> {
    WeightRows {
        name: "test",
        ty,
        row_len: k,
        n_rows: rows,
        data,
        packed: None,
    }
}

#[test]
fn matvec_is_bit_identical_to_per_row_dots() {
    let cases = [
        (GgmlType::Q8_0, 640, 203),
        (GgmlType::Q5_0, 640, 1030),
        (GgmlType::Q4_0, 256, 37),
        (GgmlType::Q4_K, 512, 70),
        (GgmlType::Q6_K, 256, 9),
        (GgmlType::Q5_K, 256, 5),
        (GgmlType::F16, 64, 11),
        (GgmlType::F32, 64, 3),
    ];
    for (i, &(ty, k, rows)) in cases.iter().enumerate() {
        let data = weight(ty, rows, k, i as u64 + 1);
        let x = floats(100 + i as u64, k);
        let w = rows_of(ty, k, rows, &data);
        let mut out = vec![0f32; rows];
        matvec_jobs(&mut [MatvecJob {
            w,
            x: &x,
            out: &mut out,
        }])
        .unwrap();
        let want = reference(&w, &x);
        for r in 0..rows {
            assert_eq!(out[r].to_bits(), want[r].to_bits(), "{ty} row {r}");
        }
    }
}

#[test]
fn jobs_sharing_an_input_match_separate_calls() {
    let (k, rows) = (256, 45);
    let gate = weight(GgmlType::Q4_K, rows, k, 7);
    let up = weight(GgmlType::Q6_K, rows, k, 8);
    let other = weight(GgmlType::Q8_0, 12, k, 9);
    let x = floats(1, k);
    let y = floats(2, k);
    let (mut g, mut u, mut o) = (vec![0f32; rows], vec![0f32; rows], vec![0f32; 12]);
    let wg = rows_of(GgmlType::Q4_K, k, rows, &gate);
    let wu = rows_of(GgmlType::Q6_K, k, rows, &up);
    let wo = rows_of(GgmlType::Q8_0, k, 12, &other);
    matvec_jobs(&mut [
        MatvecJob {
            w: wg,
            x: &x,
            out: &mut g,
        },
        MatvecJob {
            w: wo,
            x: &y,
            out: &mut o,
        },
        MatvecJob {
            w: wu,
            x: &x,
            out: &mut u,
        },
    ])
    .unwrap();
    assert_eq!(g, reference(&wg, &x));
    assert_eq!(u, reference(&wu, &x));
    assert_eq!(o, reference(&wo, &y));
}

#[test]
fn expert_row_views_select_the_right_rows() {
    let (k, rows) = (64, 24);
    let data = weight(GgmlType::Q8_0, rows, k, 3);
    let all = rows_of(GgmlType::Q8_0, k, rows, &data);
    let x = floats(4, k);
    let full = reference(&all, &x);
    let mut part = vec![0f32; 8];
    matvec_jobs(&mut [MatvecJob {
        w: all.rows(8, 8),
        x: &x,
        out: &mut part,
    }])
    .unwrap();
    assert_eq!(part, full[8..16]);
}

#[test]
fn repacked_rows_give_the_row_kernels_bits_whole_and_by_expert() {
    // Two "experts" of 48 rows; on a CPU without the repacked kernels nothing is repacked and
    // this checks the row path again.
    for ty in [GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::IQ4_XS] {
        let (k, rows) = (512, 96);
        let data = weight(ty, rows, k, 21);
        let x = floats(22, k);
        let plain = rows_of(ty, k, rows, &data);
        let packed = crate::packed::PackedRows::repack(ty, &data, k, rows, 48);
        // Repacked rows give the bits of the format's scalar row kernel.
        let want = match &packed {
            Some(p) => reference_with(&plain, &x, p.layout().row_dot_scalar()),
            None => reference(&plain, &x),
        };
        let w = WeightRows {
            packed: packed.as_ref().map(|p| p.bytes()),
            ..plain
        };
        let pool = crate::cpu::ThreadPool::new(2).unwrap();
        let mut out = vec![0f32; rows];
        let mut expert = vec![0f32; 48];
        pool.install(|| {
            matvec_jobs(&mut [
                MatvecJob {
                    w,
                    x: &x,
                    out: &mut out,
                },
                MatvecJob {
                    w: w.rows(48, 48),
                    x: &x,
                    out: &mut expert,
                },
            ])
        })
        .unwrap();
        assert_eq!(out, want, "{ty:?}");
        assert_eq!(expert, want[48..], "{ty:?}");
        // A slice that is not whole groups falls back to the file's rows.
        assert!(w.rows(8, 16).packed.is_none());
    }
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let data = weight(GgmlType::Q8_0, 4, 64, 5);
    let x = floats(6, 64);
    let mut out = vec![0f32; 4];
    // Input too short.
    let w = rows_of(GgmlType::Q8_0, 64, 4, &data);
    let err = matvec_jobs(&mut [MatvecJob {
        w,
        x: &x[..32],
        out: &mut out,
    }]);
    assert!(matches!(err, Err(MatmulError::Shape { .. })));
    // Data shorter than the rows claim.
    let w = rows_of(GgmlType::Q8_0, 64, 5, &data);
    let mut out5 = vec![0f32; 5];
    let err = matvec_jobs(&mut [MatvecJob {
        w,
        x: &x,
        out: &mut out5,
    }]);
    assert!(matches!(err, Err(MatmulError::Shape { .. })));
    // Row length not a whole number of blocks.
    let w = rows_of(GgmlType::Q8_0, 48, 1, &data);
    let mut out1 = vec![0f32; 1];
    let err = matvec_jobs(&mut [MatvecJob {
        w,
        x: &x[..48],
        out: &mut out1,
    }]);
    assert!(matches!(err, Err(MatmulError::BadRowLength { .. })));
}

#[test]
fn zero_rows_and_many_threads_are_fine() {
    let data = weight(GgmlType::Q5_0, 300, 640, 11);
    let x = floats(12, 640);
    let w = rows_of(GgmlType::Q5_0, 640, 300, &data);
    let want = reference(&w, &x);
    let pool = crate::cpu::ThreadPool::new(3).unwrap();
    let mut out = vec![0f32; 300];
    let mut none: Vec<f32> = Vec::new();
    pool.install(|| {
        matvec_jobs(&mut [
            MatvecJob {
                w,
                x: &x,
                out: &mut out,
            },
            MatvecJob {
                w: w.rows(0, 0),
                x: &x,
                out: &mut none,
            },
        ])
    })
    .unwrap();
    assert_eq!(out, want);
}

/// Throughput probe on a head-sized Q8_0 matrix: `FITBENCH_MATVEC_PROBE=1`.
#[test]
fn probe_q8_0_head_bandwidth() {
    if std::env::var_os("FITBENCH_MATVEC_PROBE").is_none() {
        return;
    }
    let (k, rows) = (640, 262144);
    let data = vec![0x11u8; rows * 20 * 34];
    let x = floats(1, k);
    let w = rows_of(GgmlType::Q8_0, k, rows, &data);
    let mut out = vec![0f32; rows];
    for threads in [1, 2] {
        let pool = crate::cpu::ThreadPool::new(threads).unwrap();
        for _ in 0..3 {
            let (t, c) = (std::time::Instant::now(), process_cpu_ns());
            for _ in 0..5 {
                pool.install(|| {
                    matvec_jobs(&mut [MatvecJob {
                        w,
                        x: &x,
                        out: &mut out,
                    }])
                })
                .unwrap();
            }
            let s = t.elapsed().as_secs_f64() / 5.0;
            let cpu = process_cpu_ns().saturating_sub(c) as f64 * 1e-9 / 5.0 / threads as f64;
            eprintln!(
                "threads {threads}: wall {:.2} ms ({:.1} GB/s), cpu per thread {:.2} ms ({:.1} GB/s)",
                s * 1e3,
                data.len() as f64 / s / 1e9,
                cpu * 1e3,
                data.len() as f64 / cpu / 1e9
            );
        }
    }
}

/// CPU time of all this process's threads (ns), from /proc (the box is shared: wall time lies).
fn process_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The real Gemma 3 head from the mmap: `FITBENCH_MATVEC_PROBE=/path/to/gemma3-270m.gguf`.
#[test]
fn probe_real_head() {
    let Some(path) = std::env::var_os("FITBENCH_MATVEC_PROBE") else {
        return;
    };
    let Ok(g) = crate::gguf::GgufModel::open(&path) else {
        return;
    };
    let t = Tensor::bind_any(&g, "token_embd.weight").unwrap();
    let x = floats(1, t.row_len());
    let mut out = vec![0f32; t.n_rows()];
    let pool = crate::cpu::ThreadPool::new(1).unwrap();
    let copy = t.data().to_vec();
    let anon = WeightRows {
        data: &copy,
        ..WeightRows::of(&t)
    };
    // Cache-resident rows (the first 1024, read 256 times): the kernel's compute speed alone.
    let hot = WeightRows::of(&t).rows(0, 1024);
    let mut hot_out = vec![0f32; 1024];
    let c = process_cpu_ns();
    for _ in 0..2560 {
        pool.install(|| {
            matvec_jobs(&mut [MatvecJob {
                w: hot,
                x: &x,
                out: &mut hot_out,
            }])
        })
        .unwrap();
    }
    let ns = process_cpu_ns().saturating_sub(c) as f64 / 10.0;
    eprintln!(
        "cache-resident, same bytes as one head: cpu {:.2} ms",
        ns * 1e-6
    );
    for _ in 0..3 {
        let c = process_cpu_ns();
        for _ in 0..10 {
            pool.install(|| {
                matvec_jobs(&mut [MatvecJob {
                    w: anon,
                    x: &x,
                    out: &mut out,
                }])
            })
            .unwrap();
        }
        let ns = process_cpu_ns().saturating_sub(c) as f64 / 10.0;
        eprintln!("anonymous copy: cpu {:.2} ms/call", ns * 1e-6);
    }
    for _ in 0..3 {
        let c = process_cpu_ns();
        let w = std::time::Instant::now();
        for _ in 0..10 {
            pool.install(|| matvec(&t, &x, &mut out)).unwrap();
        }
        let ns = process_cpu_ns().saturating_sub(c) as f64 / 10.0;
        eprintln!(
            "{}: cpu {:.2} ms/call ({:.1} GB/s), wall {:.2} ms",
            t.ty.name(),
            ns * 1e-6,
            t.data().len() as f64 / ns,
            w.elapsed().as_secs_f64() * 100.0
        );
    }
}
