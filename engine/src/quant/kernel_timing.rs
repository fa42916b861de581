//! Rough throughput of the dot kernels, scalar against AVX2 (test-only, runs when
//! FITBENCH_QUANT_BENCH is set: `FITBENCH_QUANT_BENCH=1 cargo test --release kernel_timing -- --nocapture`).

use super::test_util::{quantize_to, Rng};
use super::{iq4_nl, iq4_xs, kernels, mxfp4, q2_k, q3_k, q4_1, q4_k, q5_1, q6_k, q8_0};
use crate::gguf::GgmlType;
use std::time::Instant;

fn time(what: &str, ty: GgmlType, f: fn(usize, &[u8], &[u8]) -> f32) {
    let n = 4096;
    let rows = 256;
    let mut r = Rng::new(3);
    let w: Vec<f32> = (0..n * rows).map(|_| r.normal()).collect();
    let a: Vec<f32> = (0..n).map(|_| r.normal()).collect();
    let wq = quantize_to(ty, &w);
    let aq = quantize_to(kernels(ty).unwrap().dot_type, &a);
    let row_bytes = ty.bytes_for(n as u64).unwrap() as usize;
    let mut sink = 0f32;
    let reps = 20;
    let t = Instant::now();
    for _ in 0..reps {
        for row in wq.chunks_exact(row_bytes) {
            sink += f(n, row, &aq);
        }
    }
    let s = t.elapsed().as_secs_f64();
    let gb = (wq.len() * reps) as f64 / 1e9;
    eprintln!(
        "{ty:5} {what:6}: {:.2} GB/s of weights, {:.0} Melem/s (checksum {sink:.3})",
        gb / s,
        (n * rows * reps) as f64 / s / 1e6
    );
}

#[test]
fn kernel_timing() {
    if std::env::var_os("FITBENCH_QUANT_BENCH").is_none() {
        eprintln!("skipped: set FITBENCH_QUANT_BENCH=1 to time the kernels");
        return;
    }
    time("scalar", GgmlType::Q8_0, q8_0::vec_dot_scalar);
    time("table", GgmlType::Q8_0, q8_0::vec_dot);
    time("scalar", GgmlType::Q4_K, q4_k::vec_dot_scalar);
    time("table", GgmlType::Q4_K, q4_k::vec_dot);
    time("scalar", GgmlType::Q6_K, q6_k::vec_dot_scalar);
    time("table", GgmlType::Q6_K, q6_k::vec_dot);
    time("scalar", GgmlType::IQ4_XS, iq4_xs::vec_dot_scalar);
    time("table", GgmlType::IQ4_XS, iq4_xs::vec_dot);
    time("scalar", GgmlType::IQ4_NL, iq4_nl::vec_dot_scalar);
    time("table", GgmlType::IQ4_NL, iq4_nl::vec_dot);
    time("scalar", GgmlType::MXFP4, mxfp4::vec_dot_scalar);
    time("table", GgmlType::MXFP4, mxfp4::vec_dot);
    time("scalar", GgmlType::Q2_K, q2_k::vec_dot_scalar);
    time("table", GgmlType::Q2_K, q2_k::vec_dot);
    time("scalar", GgmlType::Q3_K, q3_k::vec_dot_scalar);
    time("table", GgmlType::Q3_K, q3_k::vec_dot);
    time("scalar", GgmlType::Q4_1, q4_1::vec_dot_scalar);
    time("table", GgmlType::Q4_1, q4_1::vec_dot);
    time("scalar", GgmlType::Q5_1, q5_1::vec_dot_scalar);
    time("table", GgmlType::Q5_1, q5_1::vec_dot);
}
