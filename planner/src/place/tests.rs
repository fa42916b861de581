//! Placement against the reported RTX 5080 setup and the header-planning time budget.

use std::time::Instant;

use fitbench_engine::gguf::{GgmlType, GgufWriter, Value};

use super::*;
use crate::catalog::{self, Quant};
use crate::estimate::machines::rtx_5080;
use crate::estimate::tests::catalog_model;

/// Reported: RTX 5080 16 GB, 35B-A3B UD-Q4_K_XL, `--n-cpu-moe 16`, 256K context, q4_0 KV, flash attention:
/// VRAM 14.8 GB idle / 15.2 GB peak, 51.1 t/s empty.
#[test]
fn rtx_5080_plan_lands_near_the_reported_setup() {
    let spec = catalog_model("qwen3.5-35b-a3b", "UD-Q4_K_XL");
    let req = PlanRequest {
        n_ctx: Some(262144),
        kv_type: Some(GgmlType::Q4_0),
        ..Default::default()
    };
    let p = plan(&spec, &rtx_5080(), &req).unwrap();
    let vram_gb = p.memory.gpu.total() as f64 / 1e9;
    println!(
        "n_cpu_moe {} VRAM {vram_gb:.2} GB, gen empty {:.1} t/s",
        p.placement.n_cpu_moe, p.gen_tps_empty
    );
    println!(
        "{}",
        llama_server_command("Qwen3.5-35B-A3B-UD-Q4_K_XL.gguf", &spec, &p)
    );
    assert!(
        (13..=19).contains(&p.placement.n_cpu_moe),
        "n_cpu_moe {}",
        p.placement.n_cpu_moe
    );
    assert!((14.0..16.2).contains(&vram_gb), "{vram_gb}");
    assert!(
        (p.gen_tps_empty / 51.1 - 1.0).abs() < 0.25,
        "{}",
        p.gen_tps_empty
    );
}

/// A 100 GB split model (4 sparse parts, 35B-A3B-like tensor list at 60 layers) planned from its header.
#[test]
fn planning_a_100_gb_split_model_from_its_header_takes_under_100_ms() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = catalog::find("qwen3.5-397b-a17b").unwrap().unwrap();
    e.layers = 60;
    let spec = catalog::synthesize(&e, &Quant::parse("UD-IQ2_XXS").unwrap());
    assert!(
        spec.total_bytes() > 100_000_000_000,
        "{}",
        spec.total_bytes()
    );
    // Split the tensor list into 4 parts, as gguf-split does, and write each header + a sparse body.
    let n_parts = 4usize;
    let per = spec.tensors.len().div_ceil(n_parts);
    for (i, chunk) in spec.tensors.chunks(per).enumerate() {
        let mut w = GgufWriter::new();
        if i == 0 {
            w.set("general.architecture", Value::String("qwen35moe".into()));
            w.set("general.name", Value::String("synthetic 100 GB".into()));
            for (k, v) in [
                ("block_count", e.layers),
                ("embedding_length", e.hidden),
                ("context_length", e.context),
                ("attention.head_count", e.heads),
                ("attention.head_count_kv", e.kv_heads),
                ("attention.key_length", e.head_dim),
                ("attention.value_length", e.head_dim),
                ("expert_count", 512),
                ("expert_used_count", 10),
                ("expert_shared_feed_forward_length", 1024),
                ("ssm.conv_kernel", 4),
                ("ssm.inner_size", 64 * 128),
                ("ssm.state_size", 128),
                ("ssm.group_count", 16),
                ("full_attention_interval", 4),
                ("vocab_size", e.vocab),
            ] {
                w.set(&format!("qwen35moe.{k}"), Value::U32(v as u32));
            }
            w.set("split.tensors.count", Value::I32(spec.tensors.len() as i32));
        }
        w.set("split.no", Value::U16(i as u16));
        w.set("split.count", Value::U16(n_parts as u16));
        for t in chunk {
            w.add_tensor(&t.name, &t.dims, t.ggml_type);
        }
        let header = w.header_bytes();
        let end = w.tensors.last().map(|t| t.offset + t.size).unwrap_or(0);
        let path = dir
            .path()
            .join(format!("big-{:05}-of-{:05}.gguf", i + 1, n_parts));
        let f = std::fs::File::create(&path).unwrap();
        use std::io::Write;
        (&f).write_all(&header).unwrap();
        f.set_len(header.len() as u64 + end).unwrap();
    }
    let first = dir.path().join("big-00001-of-00004.gguf");
    let start = Instant::now();
    let spec2 = crate::model::open(&first).unwrap();
    let mut hw = rtx_5080();
    hw.ram.total_gib = 192.0;
    let p = plan(&spec2, &hw, &PlanRequest::default()).unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed();
    println!(
        "planned {} GB in {:?}: n_cpu_moe {}",
        spec2.total_bytes() / 1_000_000_000,
        elapsed,
        p.placement.n_cpu_moe
    );
    assert_eq!(spec2.total_bytes(), spec.total_bytes());
    assert_eq!(spec2.n_attention_layers(), 15);
    assert!(elapsed.as_millis() < 100, "{elapsed:?}");
}

#[test]
fn unified_memory_counts_the_gpu_share_against_ram() {
    // A 128 GB Mac cannot hold a ~227 GB model, however the GPU/CPU split is drawn.
    let hw = crate::hw::find_profile("m4-max-128gb").unwrap();
    let entry = crate::catalog::find("qwen3.5-397b-a17b").unwrap().unwrap();
    let quant = crate::catalog::Quant::parse("UD-Q4_K_XL").unwrap();
    let spec = crate::catalog::synthesize(&entry, &quant);
    assert!(plan(&spec, &hw, &PlanRequest::default()).is_err());
    // A model that fits is planned with GPU + CPU shares inside the one pool.
    let entry = crate::catalog::find("qwen3.5-35b-a3b").unwrap().unwrap();
    let spec = crate::catalog::synthesize(&entry, &crate::catalog::Quant::parse("Q8_0").unwrap());
    let p = plan(&spec, &hw, &PlanRequest::default()).unwrap();
    assert!(p.memory.cpu.total() + p.memory.gpu.total() <= p.ram_capacity);
}

/// `--n-cpu-moe N` as asked: the plan keeps N, and more experts in RAM cost VRAM less and speed more.
#[test]
fn a_placement_asked_for_is_kept_and_ordered_by_experts_in_ram() {
    let spec = catalog_model("qwen3.5-35b-a3b", "Q4_K_M");
    let n = spec.n_layers();
    let at = |k: usize| {
        let req = PlanRequest {
            n_ctx: Some(65536),
            kv_type: Some(GgmlType::Q8_0),
            placement: Some(crate::estimate::Placement {
                n_gpu_layers: n + 1,
                n_cpu_moe: k,
            }),
            ..Default::default()
        };
        plan(&spec, &rtx_5080(), &req).unwrap()
    };
    let plans: Vec<Plan> = [16, 24, 40].into_iter().map(at).collect();
    for (p, k) in plans.iter().zip([16, 24, 40]) {
        assert_eq!(p.placement.n_cpu_moe, k);
        let flag = if k == n {
            "--cpu-moe".to_string()
        } else {
            format!("--n-cpu-moe {k}")
        };
        assert!(llama_server_command("m.gguf", &spec, p).contains(&flag));
    }
    for w in plans.windows(2) {
        assert!(w[1].memory.gpu.total() < w[0].memory.gpu.total());
        assert!(w[1].memory.cpu.total() > w[0].memory.cpu.total());
        assert!(w[1].gen_tps_empty < w[0].gen_tps_empty);
    }
    // The searched plan is the asked one when asked for exactly what the search picks.
    let searched = plan(
        &spec,
        &rtx_5080(),
        &PlanRequest {
            n_ctx: Some(65536),
            kv_type: Some(GgmlType::Q8_0),
            ..Default::default()
        },
    )
    .unwrap();
    let same = at(searched.placement.n_cpu_moe);
    assert_eq!(same.gen_tps_empty, searched.gen_tps_empty);
    assert_eq!(same.memory, searched.memory);
}

/// Too few experts in RAM for the card: an error with the VRAM needed and what would fit; a GPU
/// placement on a machine without one: an error naming the flags.
#[test]
fn a_placement_that_does_not_fit_says_what_would() {
    let spec = catalog_model("qwen3.5-35b-a3b", "Q4_K_M");
    let n = spec.n_layers();
    let req = PlanRequest {
        n_ctx: Some(65536),
        kv_type: Some(GgmlType::Q8_0),
        placement: Some(crate::estimate::Placement {
            n_gpu_layers: n + 1,
            n_cpu_moe: 4,
        }),
        ..Default::default()
    };
    let err = plan(&spec, &rtx_5080(), &req).unwrap_err().to_string();
    let searched = plan(
        &spec,
        &rtx_5080(),
        &PlanRequest {
            placement: None,
            ..req.clone()
        },
    )
    .unwrap();
    let fits = format!("--n-cpu-moe {} fits", searched.placement.n_cpu_moe);
    assert!(
        err.starts_with("--n-cpu-moe 4 does not fit") && err.contains(&fits),
        "{err}"
    );
    let err = plan(&spec, &crate::estimate::machines::cpu_2core(), &req)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has none"), "{err}");
}

/// `--sweep`: one row per `--n-cpu-moe` value; fitting is monotone in the experts moved to RAM, the
/// plan's choice is the first row that fits, and speed falls as experts move to RAM.
#[test]
fn the_sweep_brackets_the_plan() {
    let spec = catalog_model("qwen3.5-35b-a3b", "Q4_K_M");
    let req = PlanRequest {
        n_ctx: Some(65536),
        kv_type: Some(GgmlType::Q8_0),
        ..Default::default()
    };
    let hw = rtx_5080();
    let p = plan(&spec, &hw, &req).unwrap();
    let rows = sweep(&spec, &hw, req.margin, &p.config);
    assert_eq!(rows.len(), spec.n_layers() + 1);
    let first_fit = rows.iter().position(|r| r.fits).unwrap();
    assert!(rows[first_fit..].iter().all(|r| r.fits));
    assert_eq!(rows[first_fit].placement, p.placement);
    assert_eq!(rows[first_fit].vram_bytes, p.memory.gpu.total());
    for w in rows.windows(2) {
        assert!(w[1].gen_tps_empty < w[0].gen_tps_empty);
        assert!(w[1].vram_bytes < w[0].vram_bytes);
    }
    assert_eq!(rows.last().unwrap().flags, "--cpu-moe");
}
