//! `fitbench plan --model M --sweep`: every `--n-cpu-moe` value (MoE) or `-ngl` value (dense) at one
//! context and KV type, with its memory and predicted speed, for tuning the flag by hand.

use serde::Serialize;

use super::search::{describe_placement, fits_machine};
use crate::estimate::{generation_tps, prompt_tps, Placement, RunConfig};
use crate::hw::HardwareProfile;
use crate::model::ModelSpec;

#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    pub placement: Placement,
    /// llama.cpp's flags for it (`--n-cpu-moe 12`, `-ngl 30`).
    pub flags: String,
    pub vram_bytes: u64,
    pub ram_bytes: u64,
    /// Whether it fits the GPU budget (after `--fit-target`) and the RAM.
    pub fits: bool,
    pub gen_tps_empty: f64,
    pub gen_tps_4k: f64,
    pub prompt_tps: f64,
}

/// The placements a user would try by hand: MoE models keep every layer on the GPU and move
/// 0..=n layers' experts to RAM; dense models put 0..=n+1 layers (with the output) on the GPU.
pub fn placements(spec: &ModelSpec) -> Vec<Placement> {
    let n = spec.n_layers();
    if spec.is_moe() {
        (0..=n)
            .map(|k| Placement {
                n_gpu_layers: n + 1,
                n_cpu_moe: k,
            })
            .collect()
    } else {
        (0..=n + 1)
            .rev()
            .map(|g| Placement {
                n_gpu_layers: g,
                n_cpu_moe: 0,
            })
            .collect()
    }
}

/// Each of [`placements`] at `cfg`, with `margin` bytes of VRAM kept free per GPU.
pub fn sweep(
    spec: &ModelSpec,
    hw: &HardwareProfile,
    margin: u64,
    cfg: &RunConfig,
) -> Vec<SweepRow> {
    placements(spec)
        .into_iter()
        .map(|p| {
            let (m, fits) = fits_machine(spec, hw, margin, &p, cfg);
            SweepRow {
                placement: p,
                flags: describe_placement(&p, spec),
                vram_bytes: m.gpu.total(),
                ram_bytes: m.cpu.total(),
                fits,
                gen_tps_empty: generation_tps(spec, hw, &p, cfg, 0),
                gen_tps_4k: generation_tps(spec, hw, &p, cfg, 4096.min(cfg.n_ctx)),
                prompt_tps: prompt_tps(spec, hw, &p, cfg, 0),
            }
        })
        .collect()
}
