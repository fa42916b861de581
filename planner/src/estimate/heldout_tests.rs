//! Published measurements the speed and memory models were not fitted on (held out): each row is
//! predicted with the built-in constants and the error printed. See docs/planner-model.md.

use fitbench_engine::gguf::GgmlType;

use super::machines::rtx_5080;
use super::*;
use crate::catalog::{self, Quant};
use crate::hw::HardwareProfile;

/// r/LocalLLaMA "Ran some benchmarks on Qwen3.5-35B-A3B with llama.cpp on a single-GPU consumer
/// workstation" (2026-02-25): RTX 5080 16 GB, Ryzen 9 9950X, 128 GB DDR5-4800 dual channel, PCIe 5.0
/// x16; llama.cpp b1-9051663, 20 threads, 65K context, flash attention, `--no-mmap`, q8_0 K and V.
fn rtx_5080_9950x() -> HardwareProfile {
    let mut hw = rtx_5080();
    hw.name = "rtx-5080-9950x".into();
    hw.cpu.name = "AMD Ryzen 9 9950X".into();
    hw.cpu.physical_cores = 16;
    hw.cpu.logical_cores = 32;
    // 16 cores x 64 FP32 FLOP/cycle (Zen 5, full-width AVX-512) x 4.3 GHz base.
    hw.cpu.gflops = Some(16.0 * 64.0 * 4.3);
    hw.ram.total_gib = 128.0;
    // 2 channels x 4800 MT/s x 8 bytes.
    hw.ram.bandwidth_gbs = 76.8;
    hw.ram.measured_read_gbs = None;
    hw
}

struct Row {
    what: &'static str,
    quant: &'static str,
    n_cpu_moe: usize,
    /// "tok/s (short)": generation after a short prompt.
    gen_tps: f64,
    /// nvidia-smi's figure, MiB.
    vram_mib: f64,
}

const ROWS: &[Row] = &[
    Row {
        what: "Q8_0, -ot exps=CPU",
        quant: "Q8_0",
        n_cpu_moe: 40,
        gen_tps: 35.7,
        vram_mib: 8064.0,
    },
    Row {
        what: "Q4_K_M, -ot exps=CPU",
        quant: "Q4_K_M",
        n_cpu_moe: 40,
        gen_tps: 51.0,
        vram_mib: 7217.0,
    },
    Row {
        what: "Q4_K_M, --n-cpu-moe 24",
        quant: "Q4_K_M",
        n_cpu_moe: 24,
        gen_tps: 69.6,
        vram_mib: 14874.0,
    },
];

/// What the model gets right on these rows, asserted: how speed and VRAM change between the rows
/// (more experts on the GPU, a smaller quant). What it misses, printed: the absolute level (see
/// docs/planner-model.md, "Held-out checks"): generation 44-49% low, VRAM ~4.2 GiB low on every row.
#[test]
fn held_out_rtx_5080_offload_rows() {
    let hw = rtx_5080_9950x();
    let entry = catalog::find("qwen3.5-35b-a3b").unwrap().unwrap();
    let cfg = RunConfig::new(65536, GgmlType::Q8_0);
    let mut predicted = Vec::new();
    for r in ROWS {
        let spec = catalog::synthesize(&entry, &Quant::parse(r.quant).unwrap());
        let p = Placement {
            n_gpu_layers: 999,
            n_cpu_moe: r.n_cpu_moe,
        };
        let gen = generation_tps(&spec, &hw, &p, &cfg, 0);
        let vram = estimate_memory(&spec, &p, &cfg, true).gpu.total() as f64 / (1u64 << 20) as f64;
        println!(
            "{:26} gen measured {:5.1} predicted {:5.1} ({:+5.1}%) | VRAM measured {:6.0} MiB predicted {:6.0} ({:+5.0} MiB)",
            r.what,
            r.gen_tps,
            gen,
            (gen / r.gen_tps - 1.0) * 100.0,
            r.vram_mib,
            vram,
            vram - r.vram_mib
        );
        predicted.push((gen, vram));
    }
    let (q8_all, q4_all, q4_24) = (0, 1, 2);
    let ratio = |a: usize, b: usize| {
        let measured = ROWS[a].gen_tps / ROWS[b].gen_tps;
        let pred = predicted[a].0 / predicted[b].0;
        (measured, pred)
    };
    let delta = |a: usize, b: usize| {
        let measured = ROWS[a].vram_mib - ROWS[b].vram_mib;
        let pred = predicted[a].1 - predicted[b].1;
        (measured, pred)
    };
    for (what, (m, p)) in [
        (
            "speed, 16 more expert layers on the GPU",
            ratio(q4_24, q4_all),
        ),
        (
            "speed, Q4_K_M over Q8_0 (experts in RAM)",
            ratio(q4_all, q8_all),
        ),
        (
            "VRAM, 16 more expert layers on the GPU",
            delta(q4_24, q4_all),
        ),
        (
            "VRAM, Q8_0 over Q4_K_M (experts in RAM)",
            delta(q8_all, q4_all),
        ),
    ] {
        println!("{what}: measured {m:.2} predicted {p:.2}");
        assert!(
            (p / m - 1.0).abs() < 0.15,
            "{what}: measured {m:.2} predicted {p:.2}"
        );
    }
}
