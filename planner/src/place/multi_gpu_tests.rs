//! Plans on the multi-GPU profiles (layer split by free memory, as llama.cpp's default).

use fitbench_engine::gguf::GgmlType;

use super::*;
use crate::catalog::{self, Quant};
use crate::estimate::{generation_tps, GpuSet, RunConfig};

const GIB: f64 = (1u64 << 30) as f64;

fn spec(id: &str, q: &str) -> crate::model::ModelSpec {
    let e = catalog::find(id).unwrap().unwrap();
    catalog::synthesize(&e, &Quant::parse(q).unwrap())
}

/// PLANNER-DATA.md: Qwen3.5-122B-A10B UD-IQ2_M (~45 GB) runs on two RTX 3090s with 22.7 GB on each.
#[test]
fn two_3090s_hold_122b_ud_iq2_m_split_evenly() {
    let hw = crate::hw::find_profile("2x-rtx-3090").unwrap();
    let s = spec("qwen3.5-122b-a10b", "UD-IQ2_M");
    let req = PlanRequest {
        n_ctx: Some(32768),
        kv_type: Some(GgmlType::Q8_0),
        ..Default::default()
    };
    let p = plan(&s, &hw, &req).unwrap();
    let per: Vec<f64> = p.gpu_split.iter().map(|&b| b as f64 / GIB).collect();
    println!(
        "2x3090 122B UD-IQ2_M: n_cpu_moe {}, per GPU {per:.2?} GiB, gen {:.1} t/s",
        p.placement.n_cpu_moe, p.gen_tps_4k
    );
    assert_eq!(p.placement.n_cpu_moe, 0, "everything fits in 48 GiB");
    assert_eq!(per.len(), 2);
    // 22.7 "GB" reported per card (nvidia-smi shows MiB, i.e. GiB-based): within 1.5 GiB.
    for g in &per {
        assert!((g - 22.7).abs() < 1.5, "{per:?}");
        assert!(*g < 24.0 - 1.0, "leaves the 1 GiB margin: {per:?}");
    }
    // One 3090 cannot hold it: experts go to RAM, and generation is slower than on the pair.
    let one = plan(&s, &crate::hw::find_profile("rtx-3090").unwrap(), &req).unwrap();
    assert!(one.placement.n_cpu_moe > 0);
    assert!(one.gen_tps_4k < p.gen_tps_4k);
}

/// 5070 Ti (896 GB/s) + 5060 Ti (448 GB/s), 16 GB each: 35B-A3B Q4_K_M (21 GB) fits only on the
/// pair; each token crosses both halves, so the time per byte is the average of the two cards'.
#[test]
fn unequal_pair_predicts_from_both_cards() {
    let hw = crate::hw::find_profile("rtx-5070-ti-plus-5060-ti").unwrap();
    let s = spec("qwen3.5-35b-a3b", "Q4_K_M");
    let req = PlanRequest {
        n_ctx: Some(32768),
        kv_type: Some(GgmlType::F16),
        ..Default::default()
    };
    let p = plan(&s, &hw, &req).unwrap();
    assert_eq!(p.placement.n_cpu_moe, 0);
    let set = GpuSet::of(&hw).unwrap();

    // Same machine with one GPU of the pair's combined memory and its effective bandwidth and
    // FLOP/s: the pair must be exactly that, less one hand-over per token.
    let mut one = hw.clone();
    let mut g = one.gpus[0].clone();
    g.vram_gib = 32.0;
    g.bandwidth_gbs = set.bandwidth_gbs;
    g.fp16_tflops = set.fp16_tflops;
    one.gpus = vec![g];
    let cfg = RunConfig::new(32768, GgmlType::F16);
    let t_pair = 1.0 / generation_tps(&s, &hw, &p.placement, &cfg, 4096);
    let t_one = 1.0 / generation_tps(&s, &one, &p.placement, &cfg, 4096);
    let hop = crate::estimate::CALIBRATION.gpu_hop_s;
    assert!((t_pair - t_one - hop).abs() < 1e-9, "{t_pair} {t_one}");

    // Between the two cards alone (if either could hold the model).
    let mut fast = one.clone();
    fast.gpus[0].bandwidth_gbs = 896.0;
    let mut slow = one.clone();
    slow.gpus[0].bandwidth_gbs = 448.0;
    let gen = |h: &crate::hw::HardwareProfile| generation_tps(&s, h, &p.placement, &cfg, 4096);
    println!(
        "5070 Ti + 5060 Ti, 35B Q4_K_M: {:.1} t/s (5070 Ti-only bandwidth {:.1}, 5060 Ti-only {:.1}); per GPU {:?} GiB",
        p.gen_tps_4k,
        gen(&fast),
        gen(&slow),
        p.gpu_split
            .iter()
            .map(|&b| (b as f64 / GIB * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
    assert!(gen(&slow) < p.gen_tps_4k && p.gen_tps_4k < gen(&fast));
    for &b in &p.gpu_split {
        assert!(
            (b as f64) < 15.0 * GIB,
            "each 16 GiB card keeps its 1 GiB margin"
        );
    }
}
