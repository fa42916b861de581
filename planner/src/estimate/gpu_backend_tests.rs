//! Published llama.cpp measurements on NVIDIA GPUs, Apple GPUs (Metal) and Strix Halo (Vulkan):
//! the rows `gpu_efficiency.rs` was fitted on, and rows it was not fitted on, which check it.
//! Each prediction and its error is printed; the checks are asserted within 25%.

use fitbench_engine::gguf::GgmlType;

use super::tests::catalog_model;
use super::*;
use crate::hw::{find_profile, HardwareProfile};

#[derive(PartialEq)]
enum Use {
    /// A constant of gpu_efficiency.rs was fitted on this row.
    Fit,
    /// Not fitted on: the prediction is checked.
    Check,
    /// Not fitted on, and missed by more than 25%: printed, the miss explained in
    /// docs/planner-model.md §4.
    KnownMiss,
}

struct Row {
    source: &'static str,
    profile: &'static str,
    model: &'static str,
    quant: &'static str,
    /// Generation (tg) t/s and the mean depth it ran at; prompt t/s, its depth and ubatch.
    gen: Option<(f64, u64)>,
    prompt: Option<(f64, u64, u64)>,
    gen_use: Use,
    prompt_use: Use,
}

const XD: &str = "XiongjieDai/GPU-Benchmarks-on-LLM-Inference (llama.cpp, May 2024), tg512/pp512";
const NB40: &str = "brand-o/normiebench #40 (llama.cpp Metal, 2026), tg128/pp512";
const NB3: &str = "brand-o/normiebench #3 (llama.cpp Metal, 2026), tg128/pp512";
const HIESCH: &str = "hiesch.eu, llama.cpp on Apple Silicon (llama-server b9020, 2026), 751-token prompt, 512 generated";
const SPARK: &str =
    "ggerganov's DGX Spark llama-bench (b6767, -fa 1 -ub 2048), jetsonhacks.com copy";
const IK1593: &str =
    "ikawrakow/ik_llama.cpp PR #1593, stock llama.cpp b8125 row (llama-server, 1 of 3 slots)";
const TW: &str =
    "tianchengwu.com, Qwen 3.5 27B on an RTX 4090 (llama-server, q4_0 KV, half the context filled)";
const PR15616: &str = "ggml-org/llama.cpp PR #15616 (2025, -ub 2048 -fa 1)";
const MATRIX: &str = "fromthematrix.dev, Strix Halo (llama.cpp b8123 Vulkan, llama-server, 7624-token prompt then a summary)";
const PR26284: &str = "ggml-org/llama.cpp PR #26284 (RX 7900 XTX, stock HIP build, llama-bench)";
const TOSUKUI: &str =
    "blog.tosukui.xyz, GMKtec EVO-X2 (llama.cpp b5882 ROCm 7.0 rc TheRock, llama-bench)";

/// One row per published figure: (source, profile, model, quant, tg (t/s, mean depth), pp (t/s,
/// depth, ubatch), what the gen and prompt figures are used for).
#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Use::*;
    let r = |source, profile, model, quant, gen, prompt, gen_use, prompt_use| Row {
        source, profile, model, quant, gen, prompt, gen_use, prompt_use,
    };
    let l8 = "llama-3.1-8b";
    let q30 = "qwen3-30b-a3b";
    vec![
        r(XD, "rtx-3090", l8, "Q4_K_M", Some((115.42, 256)), Some((4030.40, 0, 512)), Check, Fit),
        r(XD, "rtx-4090", l8, "Q4_K_M", Some((130.58, 256)), Some((7138.99, 0, 512)), Check, Fit),
        r(XD, "rtx-3090", l8, "F16", Some((47.40, 256)), Some((4444.65, 0, 512)), Check, Check),
        r(XD, "rtx-4090", l8, "F16", Some((54.84, 256)), Some((9382.00, 0, 512)), Check, Check),
        r(NB40, "m1-max-64gb", l8, "Q4_K_M", Some((46.2, 64)), Some((499.58, 0, 512)), Fit, Fit),
        r(XD, "m1-max-64gb", l8, "F16", Some((18.75, 256)), Some((517.34, 0, 512)), Fit, Check),
        r(XD, "m3-max-64gb", l8, "Q4_K_M", Some((48.97, 256)), Some((693.32, 0, 512)), Check, Fit),
        r(XD, "m3-max-64gb", l8, "F16", Some((22.04, 256)), Some((769.84, 0, 512)), Check, Check),
        r(XD, "m2-ultra-192gb", l8, "Q4_K_M", Some((78.81, 256)), Some((994.04, 0, 512)), Check, Fit),
        r(XD, "m2-ultra-192gb", l8, "F16", Some((36.90, 256)), Some((1175.40, 0, 512)), Check, Check),
        r(NB3, "mac-mini-m4-16gb", l8, "Q4_K_M", Some((20.87, 64)), Some((224.81, 0, 512)), KnownMiss, Check),
        r(HIESCH, "m3-max-64gb", "qwen3.5-35b-a3b", "Q4_K_M", Some((58.3, 1007)), None, Fit, Check),
        r(PR15616, "m2-ultra-192gb", q30, "Q8_0", Some((76.31, 64)), Some((2045.19, 0, 512)), Fit, Fit),
        r(SPARK, "dgx-spark", "gpt-oss-20b", "MXFP4_MOE", Some((79.74, 16)), Some((3610.56, 0, 2048)), Check, KnownMiss),
        r(SPARK, "dgx-spark", "gpt-oss-20b", "MXFP4_MOE", Some((64.02, 16400)), Some((2685.54, 16384, 2048)), Check, KnownMiss),
        r(TW, "rtx-4090", "qwen3.5-27b", "Q4_K_M", Some((39.3, 1024)), Some((1409.0, 0, 512)), Check, KnownMiss),
        r(TW, "rtx-4090", "qwen3.5-27b", "Q4_K_M", Some((37.7, 4096)), Some((2203.0, 2048, 512)), Check, Check),
        r(IK1593, "rtx-5060-ti-16gb", "qwen3.5-35b-a3b", "IQ3_S", Some((69.0, 1000)), None, Check, Check),
        // Strix Halo, Vulkan: generation after the 7624-token prompt (mean depth ~7.8K); the prompt's
        // mean depth ~3.8K.
        r(MATRIX, "strix-halo-128gb", "qwen3.5-35b-a3b", "Q4_K_M", Some((39.0, 7800)), Some((667.0, 3812, 512)), Check, Fit),
        r(MATRIX, "strix-halo-128gb", q30, "Q4_K_M", Some((66.0, 7800)), Some((779.0, 3812, 512)), Check, Fit),
        r(MATRIX, "strix-halo-128gb", "gpt-oss-20b", "MXFP4_MOE", Some((70.0, 7800)), Some((1040.0, 3812, 512)), Check, Fit),
        r(MATRIX, "strix-halo-128gb", "gpt-oss-120b", "MXFP4_MOE", Some((52.0, 7800)), Some((404.0, 3812, 512)), Check, Fit),
        // Strix Halo through ROCm (a 2025 build), where the profile's backend is Vulkan: slower.
        r(TOSUKUI, "strix-halo-128gb", q30, "Q4_K_M", Some((56.55, 64)), Some((607.81, 0, 512)), KnownMiss, KnownMiss),
        r(TOSUKUI, "strix-halo-128gb", q30, "Q8_0", Some((37.91, 64)), Some((601.03, 0, 512)), KnownMiss, KnownMiss),
        // RX 7900 XTX through ROCm; pp2048 from an empty context at -ub 512: mean depth ~1K.
        r(PR26284, "rx-7900-xtx", l8, "Q2_K", Some((131.04, 16)), Some((2054.06, 1024, 512)), Fit, KnownMiss),
        r(PR26284, "rx-7900-xtx", l8, "Q2_K", Some((119.90, 4112)), None, Check, Check),
        // pp16384 from an empty context: ubatches of 2048 at a mean depth of about 8K.
        r(PR15616, "m2-ultra-192gb", q30, "Q8_0", None, Some((1022.81, 8192, 2048)), Fit, Fit),
    ]
}

fn all_on_gpu() -> Placement {
    Placement {
        n_gpu_layers: 999,
        n_cpu_moe: 0,
    }
}

#[test]
fn published_gpu_rows_within_25_percent() {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for r in rows() {
        let hw: HardwareProfile = find_profile(r.profile).unwrap();
        let spec = catalog_model(r.model, r.quant);
        let mut report = |what: &str, measured: f64, predicted: f64, u: &Use| {
            let err = predicted / measured - 1.0;
            let tag = match u {
                Use::Fit => "fit",
                Use::Check => "check",
                Use::KnownMiss => "known miss",
            };
            let line = format!(
                "{:16} {:14} {:7} {what:6} measured {measured:8.1} predicted {predicted:8.1} ({:+5.1}%, {tag})  [{}]",
                r.profile,
                r.model,
                r.quant,
                err * 100.0,
                r.source
            );
            if *u == Use::Check && err.abs() > 0.25 {
                bad.push(line.clone());
            }
            lines.push(line);
        };
        if let Some((tps, depth)) = r.gen {
            let cfg = RunConfig::new(4096, GgmlType::F16);
            let g = generation_tps(&spec, &hw, &all_on_gpu(), &cfg, depth);
            report("gen", tps, g, &r.gen_use);
        }
        if let Some((tps, depth, ub)) = r.prompt {
            let mut cfg = RunConfig::new(depth.max(4096) + 4096, GgmlType::F16);
            cfg.ubatch = ub;
            let p = prompt_tps(&spec, &hw, &all_on_gpu(), &cfg, depth);
            report("prompt", tps, p, &r.prompt_use);
        }
    }
    println!("{}", lines.join("\n"));
    assert!(bad.is_empty(), "beyond 25%:\n{}", bad.join("\n"));
}
