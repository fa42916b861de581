//! Decode matrix-vector product per weight format (4096 rows unless `MATVEC_ROWS`, × 4096, one
//! token), reported as GB/s of weights read next to this machine's measured single-thread and
//! all-thread read bandwidth.
//!
//! `cargo bench -p fitbench-engine --bench matvec` (criterion prints time and bytes/s per format;
//! the summary lines after it put GB/s and GFLOP/s beside the RAM figure). The 4096² weights are
//! 9–35 MB: most fit in a 32 MiB L3, so a figure above RAM bandwidth means cache hits across
//! iterations (the real decode matrices, e.g. a 178 MB output head, stream from RAM);
//! `MATVEC_ROWS=49152` makes every matrix larger than such an L3 (a multiple of 64). On a shared
//! machine wall time is noisy: compare formats within one run. "Q4_K repacked", "Q4_0 repacked"
//! and the others are those formats in the layout the engine repacks them to at load (where this CPU
//! has that kernel).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fitbench_engine::cpu::matvec::{matvec_jobs, MatvecJob, WeightRows};
use fitbench_engine::cpu::ThreadPool;
use fitbench_engine::gguf::GgmlType;
use fitbench_engine::packed::PackedRows;
use fitbench_engine::quant;
use std::hint::black_box;
use std::time::{Duration, Instant};

const K: usize = 4096;

/// Rows of every matrix: 4096, or `MATVEC_ROWS`.
fn rows() -> usize {
    std::env::var("MATVEC_ROWS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&r| r >= 64 && r.is_multiple_of(64))
        .unwrap_or(4096)
}

const FORMATS: [GgmlType; 13] = [
    GgmlType::Q8_0,
    GgmlType::Q5_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_1,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::F16,
];

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

/// A ROWS × K weight of `ty` quantized from random values (one quantized row block repeated, so
/// setup stays fast; the bytes still stream from RAM).
fn weight(ty: GgmlType) -> Option<Vec<u8>> {
    let quantize = quant::kernels(ty)?.quantize?;
    let rb = ty.bytes_for(K as u64)? as usize;
    let mut block = vec![0u8; 64 * rb];
    let src = floats(ty.id() as u64 + 1, 64 * K);
    for (s, d) in src.chunks_exact(K).zip(block.chunks_exact_mut(rb)) {
        quantize(s, d);
    }
    Some(block.repeat(rows() / 64))
}

/// Read bandwidth (GB/s) of `threads` threads summing disjoint parts of a 256 MiB buffer.
fn ram_read_gbs(threads: usize) -> f64 {
    let buf = vec![1u64; 32 << 20];
    let start = Instant::now();
    let mut passes = 0;
    while start.elapsed() < Duration::from_millis(400) || passes < 2 {
        std::thread::scope(|s| {
            for part in buf.chunks(buf.len().div_ceil(threads)) {
                s.spawn(move || black_box(part.iter().fold(0u64, |a, &v| a.wrapping_add(v))));
            }
        });
        passes += 1;
    }
    (buf.len() * 8 * passes) as f64 / start.elapsed().as_secs_f64() / 1e9
}

fn bench(c: &mut Criterion) {
    let x = floats(7, K);
    let n_rows = rows();
    let mut out = vec![0f32; n_rows];
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut summary = Vec::new();
    for threads in [1, all] {
        let pool = ThreadPool::new(threads).expect("thread pool");
        let mut group = c.benchmark_group(format!("matvec_{n_rows}x{K}_t{threads}"));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(1));
        let cases = FORMATS.map(|ty| (ty, false)).into_iter();
        let repacked_cases = [
            GgmlType::Q4_K,
            GgmlType::Q5_K,
            GgmlType::Q6_K,
            GgmlType::IQ4_XS,
            GgmlType::Q4_0,
        ]
        .map(|ty| (ty, true));
        for (ty, repacked) in cases.chain(repacked_cases) {
            let Some(data) = weight(ty) else { continue };
            let packed = repacked
                .then(|| PackedRows::repack(ty, &data, K, n_rows, n_rows))
                .flatten();
            if repacked && packed.is_none() {
                continue; // no repacked kernel on this CPU
            }
            let name = if repacked {
                format!("{} repacked", ty.name())
            } else {
                ty.name().to_string()
            };
            let w = WeightRows {
                name: ty.name(),
                ty,
                row_len: K,
                n_rows,
                data: &data,
                packed: packed.as_ref().map(|p| p.bytes()),
            };
            group.throughput(Throughput::Bytes(data.len() as u64));
            let mut run = || {
                pool.install(|| {
                    matvec_jobs(&mut [MatvecJob {
                        w,
                        x: &x,
                        out: &mut out,
                    }])
                })
                .expect("matvec")
            };
            group.bench_function(&name, |b| b.iter(&mut run));
            // Our own timing for the summary line (criterion's estimate is in its report).
            let reps = 20;
            let t = Instant::now();
            for _ in 0..reps {
                run();
            }
            let s = t.elapsed().as_secs_f64() / reps as f64;
            // GB/s of the file's bytes, so the repacked layout (+2.8%) compares like for like.
            summary.push((
                threads,
                name,
                data.len() as f64 / s / 1e9,
                2.0 * (K * n_rows) as f64 / s / 1e9,
            ));
        }
        group.finish();
    }
    let ram1 = ram_read_gbs(1);
    let ram_all = ram_read_gbs(all);
    println!("\nRAM read bandwidth: {ram1:.1} GB/s (1 thread), {ram_all:.1} GB/s ({all} threads)");
    for (threads, name, gbs, gflops) in summary {
        let ram = if threads == 1 { ram1 } else { ram_all };
        println!(
            "{name:>13} t{threads}: {gbs:6.1} GB/s ({:3.0}% of RAM), {gflops:6.1} GFLOP/s",
            100.0 * gbs / ram
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
