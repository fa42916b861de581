//! Prompt-processing matmul: a 2048×2048 Q4_K weight times 512 activation columns, through the
//! tiled GEMM path and through one `vec_dot` per (row, column) (the old path), on the current
//! rayon pool (`RAYON_NUM_THREADS` sets its size). Throughput is reported in FLOP/s (criterion's
//! "elem/s": one element = one FLOP, 2·rows·k·n per product).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fitbench_engine::cpu::gemm::{gemm_weights, gemm_weights_on, TileIsa, Weights};
use fitbench_engine::cpu::quantize_rows;
use fitbench_engine::gguf::GgmlType;
use fitbench_engine::quant;
use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

const ROWS: usize = 2048;
const K: usize = 2048;
/// Activation columns: 512, or `GEMM_N` (small values show the MoE experts' few-token batches).
fn n_cols() -> usize {
    std::env::var("GEMM_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// Deterministic pseudo-random values in (-1, 1).
fn values(count: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..count)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

struct Problem {
    ty: GgmlType,
    w: Vec<u8>,
    wrb: usize,
    qa: Vec<u8>,
    arb: usize,
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
    /// The weight repacked at load as the engine does it, where this CPU and format have it.
    packed: Option<fitbench_engine::packed::PackedRows>,
}

fn problem(ty: GgmlType) -> Problem {
    let kern = quant::kernels(ty).expect("kernels");
    let quantize = kern.quantize.expect("quantizer");
    let wrb = ty.bytes_for(K as u64).expect("whole blocks") as usize;
    let wf = values(ROWS * K, 1);
    let mut w = vec![0u8; ROWS * wrb];
    for (src, dst) in wf.chunks_exact(K).zip(w.chunks_exact_mut(wrb)) {
        quantize(src, dst);
    }
    let mut qa = Vec::new();
    let arb =
        quantize_rows(kern.dot_type, &values(n_cols() * K, 2), K, &mut qa).expect("activations");
    let vec_dot = fitbench_engine::cpu::x86_dot::vec_dot_for(ty).expect("vec_dot");
    let packed = fitbench_engine::packed::PackedRows::repack(ty, &w, K, ROWS, ROWS);
    Problem {
        ty,
        w,
        wrb,
        qa,
        arb,
        vec_dot,
        packed,
    }
}

fn run_gemm(p: &Problem, out: &mut [f32]) {
    run_gemm_on(p, out, None)
}

fn run_gemm_on(p: &Problem, out: &mut [f32], isa: Option<TileIsa>) {
    let weights = Weights {
        name: "bench",
        ty: p.ty,
        row_len: K,
        rows: ROWS,
        row_bytes: p.wrb,
        data: &p.w,
    };
    match isa {
        Some(isa) => gemm_weights_on(isa, &weights, &p.qa, p.arb, n_cols(), out, p.vec_dot),
        None => gemm_weights(&weights, &p.qa, p.arb, n_cols(), out, p.vec_dot),
    }
    .expect("gemm");
}

fn run_gemm_repacked(p: &Problem, out: &mut [f32]) {
    if let Some(packed) = &p.packed {
        let qa = &p.qa;
        fitbench_engine::cpu::gemm_packed::gemm(
            "bench",
            packed.layout(),
            packed.bytes(),
            K,
            ROWS,
            qa,
            p.arb,
            n_cols(),
            out,
        )
        .expect("repacked gemm");
    }
}

fn run_gemm_avx2(p: &Problem, out: &mut [f32]) {
    run_gemm_on(p, out, Some(TileIsa::Avx2))
}

fn run_pairs(p: &Problem, out: &mut [f32]) {
    // The pre-GEMM path: row-major over weights, one vec_dot per (row, column), out transposed.
    out.par_chunks_mut(n_cols())
        .enumerate()
        .for_each(|(r, orow)| {
            let wrow = &p.w[r * p.wrb..(r + 1) * p.wrb];
            for (t, o) in orow.iter_mut().enumerate() {
                *o = (p.vec_dot)(K, wrow, &p.qa[t * p.arb..(t + 1) * p.arb]);
            }
        });
}

/// User + system CPU time of this process so far (Linux `/proc/self/stat`, 100 ticks/s); NaN elsewhere.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn bench(c: &mut Criterion) {
    let n = n_cols();
    let flops = 2 * ROWS * K * n;
    // GEMM_QUICK=1: only the GFLOP/s lines, no criterion sampling.
    let quick = std::env::var_os("GEMM_QUICK").is_some();
    for ty in [
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q4_0,
        GgmlType::Q5_0,
        GgmlType::Q8_0,
        GgmlType::IQ4_XS,
        GgmlType::IQ4_NL,
        GgmlType::MXFP4,
    ] {
        let p = problem(ty);
        let mut out = vec![0f32; ROWS * n_cols()];
        // A few timed calls each up front, printed as GFLOP/s of wall time and of process CPU
        // time (the latter is steadier on a shared machine; per thread it is CPU GFLOP/s × threads).
        for (name, f) in [
            ("gemm", run_gemm as fn(&Problem, &mut [f32])),
            ("gemm AVX2 tiles", run_gemm_avx2),
            ("vec_dot pairs", run_pairs),
            ("gemm repacked", run_gemm_repacked),
        ] {
            if name == "gemm repacked" && p.packed.is_none() {
                continue;
            }
            f(&p, &mut out);
            let reps = 5;
            let (t, cpu0) = (Instant::now(), process_cpu_seconds());
            for _ in 0..reps {
                f(&p, &mut out);
            }
            let (wall, cpu) = (t.elapsed().as_secs_f64(), process_cpu_seconds() - cpu0);
            let total = (flops * reps) as f64 / 1e9;
            eprintln!(
                "{ty} {ROWS}x{K} x {n} columns, {name}: {:.1} GFLOP/s wall, {:.1} GFLOP per CPU-second ({} threads)",
                total / wall,
                total / cpu.max(1e-9),
                rayon::current_num_threads()
            );
        }
        if quick {
            continue;
        }
        let mut g = c.benchmark_group(format!("{ty} {ROWS}x{K}x{n}"));
        g.throughput(Throughput::Elements(flops as u64));
        g.sample_size(10);
        g.bench_function("gemm", |b| b.iter(|| run_gemm(black_box(&p), &mut out)));
        if p.packed.is_some() {
            g.bench_function("gemm repacked", |b| {
                b.iter(|| run_gemm_repacked(black_box(&p), &mut out))
            });
        }
        g.bench_function("vec_dot pairs", |b| {
            b.iter(|| run_pairs(black_box(&p), &mut out))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
