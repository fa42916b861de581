//! `fitbench plan --model M --sweep`: a table of every `--n-cpu-moe` (or `-ngl`) value at the plan's
//! context and KV type: memory, whether it fits, predicted speed; the plan's own choice marked.

use serde::Serialize;

use super::output::{gib, table, OutputArgs};
use crate::hw::HardwareProfile;
use crate::model::ModelSpec;
use crate::place::{describe_placement, sweep, Plan, PlanRequest, SweepRow};

#[derive(Serialize)]
struct SweepReport<'a> {
    model: &'a str,
    quant: Option<&'a str>,
    n_ctx: u64,
    kv_type: &'a str,
    /// The placement `fitbench plan` picks (or the one asked for).
    plan: String,
    rows: Vec<SweepRow>,
}

pub fn print(
    output: &OutputArgs,
    hw: &HardwareProfile,
    spec: &ModelSpec,
    (model, quant): (&str, Option<&str>),
    req: &PlanRequest,
    plan: &Plan,
) -> anyhow::Result<()> {
    let cfg = &plan.config;
    let rows = sweep(spec, hw, req.margin, cfg);
    let chosen = describe_placement(&plan.placement, spec);
    let report = SweepReport {
        model,
        quant,
        n_ctx: cfg.n_ctx,
        kv_type: cfg.kv_k.name(),
        plan: chosen.clone(),
        rows,
    };
    if output.emit(&report)? {
        return Ok(());
    }
    println!(
        "{model} {} on {}: {} tokens of context, KV {}; VRAM budget after --fit-target {}",
        quant.unwrap_or(""),
        hw.name,
        cfg.n_ctx,
        cfg.kv_k.name(),
        gib(crate::place::gpu_budget(spec, hw, req.margin, cfg))
    );
    let mut t = table();
    t.set_header(vec![
        "placement",
        "VRAM",
        "RAM",
        "fits",
        "gen t/s empty",
        "gen t/s @4K",
        "prompt t/s",
    ]);
    for r in &report.rows {
        let flags = if r.flags == chosen {
            format!("{}  ← plan", r.flags)
        } else {
            r.flags.clone()
        };
        t.add_row(vec![
            flags,
            gib(r.vram_bytes),
            gib(r.ram_bytes),
            if r.fits { "yes" } else { "no" }.to_string(),
            format!("{:.1}", r.gen_tps_empty),
            format!("{:.1}", r.gen_tps_4k),
            format!("{:.0}", r.prompt_tps),
        ]);
    }
    println!("{t}");
    Ok(())
}
