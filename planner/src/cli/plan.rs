//! `fitbench plan`: which catalog model × quant fits this machine (or a profile), or one model's plan.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Serialize;

use super::machine::resolve;
use super::output::{gib, table, OutputArgs};
use crate::catalog::{self, Quant};
use crate::estimate::{parse_kv_type, Placement};
use crate::hw::HardwareProfile;
use crate::model::{self, ModelSpec};
use crate::place::{engine_command, llama_server_command, plan, Goal, Plan, PlanRequest};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A GGUF file or a catalog model (e.g. qwen3.5-35b-a3b). Without it, ranks the catalog.
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// Quant for a catalog model (Q4_K_M, UD-Q4_K_XL, MXFP4_MOE, ...).
    #[arg(long, short = 'q')]
    pub quant: Option<String>,
    /// Context length; default: the largest that fits, up to the model's training context.
    #[arg(long = "ctx", short = 'c')]
    pub ctx: Option<u64>,
    /// KV cache type (f16, q8_0, q4_0, ...); default: f16, else the one that is fastest and fits.
    #[arg(long = "kv-type")]
    pub kv_type: Option<String>,
    /// Built-in hardware profile (`fitbench profiles`) or a YAML file; default: this machine (probed).
    #[arg(long)]
    pub profile: Option<String>,
    /// VRAM to leave free, MiB (llama.cpp --fit-target).
    #[arg(long = "fit-target", default_value_t = 1024)]
    pub fit_target: u64,
    /// What to maximize: gen, prompt or context.
    #[arg(long, default_value = "gen")]
    pub favor: String,
    /// Physical batch size (llama.cpp -ub).
    #[arg(long = "ubatch", short = 'u', default_value_t = 512)]
    pub ubatch: u64,
    /// Evaluate this placement instead of searching for one: the experts of the first N layers in
    /// RAM, everything else on the GPU (llama.cpp `--n-cpu-moe`). Needs --model.
    #[arg(long = "n-cpu-moe")]
    pub n_cpu_moe: Option<usize>,
    /// Every layer's experts in RAM (llama.cpp `--cpu-moe`). Needs --model.
    #[arg(long = "cpu-moe", conflicts_with = "n_cpu_moe")]
    pub cpu_moe: bool,
    /// Layers on the GPU, a number or `all` (llama.cpp `-ngl`; default with --n-cpu-moe: all).
    /// Needs --model.
    #[arg(long = "n-gpu-layers", alias = "ngl")]
    pub n_gpu_layers: Option<String>,
    /// One model: a table of every --n-cpu-moe (MoE) or -ngl (dense) value at the plan's context
    /// and KV type, with memory, whether it fits and predicted speed.
    #[arg(long)]
    pub sweep: bool,
    /// Ranking only: list every fitting model × quant, not just the best quant of each model.
    #[arg(long)]
    pub all: bool,
    /// Ranking only: leave out plans predicted slower than this at 4K context (tokens/s).
    #[arg(long = "min-tps", default_value_t = 5.0)]
    pub min_tps: f64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Serialize)]
pub struct PlanReport {
    pub model: String,
    pub quant: Option<String>,
    pub source: String,
    pub file_gb: f64,
    pub engine: &'static str,
    pub plan: Plan,
    pub quality: Option<String>,
    pub llama_server: String,
    pub bundled_engine: String,
    /// Repeating layers of the model (for reading `-ngl`).
    pub n_layers: usize,
    /// Whether the speed figures use coefficients measured on this machine.
    pub calibration: String,
}

fn request(args: &Args) -> anyhow::Result<PlanRequest> {
    let kv_type = match &args.kv_type {
        Some(s) => Some(parse_kv_type(s).with_context(|| {
            format!(
                "--kv-type {s}: expected one of {:?}",
                crate::estimate::KV_TYPES
            )
        })?),
        None => None,
    };
    let goal = match args.favor.as_str() {
        "gen" | "generation" => Goal::Generation,
        "prompt" => Goal::Prompt,
        "context" | "ctx" => Goal::Context,
        other => bail!("--favor {other}: expected gen, prompt or context"),
    };
    if args.ubatch == 0 || args.ubatch > 65536 {
        bail!("--ubatch {}: expected 1..65536", args.ubatch);
    }
    Ok(PlanRequest {
        n_ctx: args.ctx,
        kv_type,
        margin: args.fit_target << 20,
        goal,
        ubatch: args.ubatch,
        placement: None,
    })
}

/// The placement asked for with --n-cpu-moe / --cpu-moe / --n-gpu-layers, if any, in the planner's
/// terms (`n_gpu_layers` counts the output layer too: `n_layers + 1` is all of them).
fn forced_placement(args: &Args, n_layers: usize) -> anyhow::Result<Option<Placement>> {
    let all = n_layers + 1;
    let ngl = match args.n_gpu_layers.as_deref() {
        None => None,
        Some("all") | Some("auto") => Some(all),
        Some(v) => Some(
            v.parse::<usize>()
                .map_err(|_| anyhow::anyhow!("--n-gpu-layers {v}: expected a number or `all`"))?
                .min(all),
        ),
    };
    let n_cpu_moe = if args.cpu_moe {
        Some(n_layers)
    } else {
        args.n_cpu_moe.map(|k| k.min(n_layers))
    };
    Ok(match (ngl, n_cpu_moe) {
        (None, None) => None,
        (g, k) => Some(Placement {
            n_gpu_layers: g.unwrap_or(all),
            n_cpu_moe: k.unwrap_or(0),
        }),
    })
}

/// The model to plan: a GGUF header, or a catalog entry with a quant recipe.
fn resolve_model(
    name: &str,
    quant: Option<&str>,
) -> anyhow::Result<(ModelSpec, Option<String>, Option<catalog::CatalogEntry>)> {
    if Path::new(name).exists() {
        let spec =
            model::open(name).with_context(|| format!("reading the GGUF header of {name}"))?;
        return Ok((spec, None, None));
    }
    let entry = catalog::find(name)?.with_context(|| {
        let ids: Vec<String> = catalog::entries()
            .map(|v| v.into_iter().map(|e| e.id).collect())
            .unwrap_or_default();
        format!(
            "'{name}' is neither a file nor a catalog model (known: {})",
            ids.join(", ")
        )
    })?;
    let qname = quant.unwrap_or("Q4_K_M");
    let q = Quant::parse(qname).with_context(|| {
        format!(
            "--quant {qname}: unknown (known: {})",
            Quant::all_names().join(", ")
        )
    })?;
    Ok((catalog::synthesize(&entry, &q), Some(q.name), Some(entry)))
}

fn report(
    spec: &ModelSpec,
    quant: Option<String>,
    entry: Option<&catalog::CatalogEntry>,
    path: &str,
    p: Plan,
    hw: &HardwareProfile,
    for_this_host: bool,
) -> PlanReport {
    let quality = entry
        .zip(quant.as_ref())
        .and_then(|(e, q)| e.quality.get(q).cloned());
    PlanReport {
        n_layers: spec.layers.len(),
        model: entry
            .map(|e| e.name.clone())
            .unwrap_or_else(|| spec.name.clone()),
        quant,
        source: spec.source.clone(),
        file_gb: spec.total_bytes() as f64 / 1e9,
        engine: if hw.gpus.is_empty() {
            "llama.cpp (CPU build)"
        } else {
            "llama.cpp (GPU build)"
        },
        llama_server: llama_server_command(path, spec, &p),
        bundled_engine: engine_command(path, &p),
        plan: p,
        quality,
        calibration: crate::calibrate::status(hw, for_this_host),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let forced = args.n_cpu_moe.is_some() || args.cpu_moe || args.n_gpu_layers.is_some();
    if forced && args.model.is_none() {
        bail!(
            "--n-cpu-moe, --cpu-moe and --n-gpu-layers evaluate one model's placement: add --model"
        );
    }
    if args.sweep && args.model.is_none() {
        bail!("--sweep tabulates one model's placements: add --model");
    }
    let hw = resolve(args.profile.as_deref())?;
    let req = request(&args)?;
    match &args.model {
        Some(name) => plan_one(&args, &hw, &req, name),
        None => rank_catalog(&args, &hw, &req),
    }
}

fn plan_one(
    args: &Args,
    hw: &HardwareProfile,
    req: &PlanRequest,
    name: &str,
) -> anyhow::Result<()> {
    let (spec, quant, entry) = resolve_model(name, args.quant.as_deref())?;
    let path = match (&entry, &quant) {
        (Some(e), Some(q)) => format!("{}-{q}.gguf", e.name.replace(' ', "-")),
        _ => name.to_string(),
    };
    let req = PlanRequest {
        placement: forced_placement(args, spec.n_layers())?,
        ..req.clone()
    };
    let p = plan(&spec, hw, &req)?;
    if args.sweep {
        if hw.gpus.is_empty() {
            bail!("--sweep tabulates GPU placements, but this machine (or profile) has no GPU");
        }
        let model = entry
            .as_ref()
            .map(|e| e.name.as_str())
            .unwrap_or(&spec.name);
        return super::plan_sweep::print(
            &args.output,
            hw,
            &spec,
            (model, quant.as_deref()),
            &req,
            &p,
        );
    }
    let r = report(
        &spec,
        quant,
        entry.as_ref(),
        &path,
        p,
        hw,
        args.profile.is_none(),
    );
    if args.output.emit(&r)? {
        return Ok(());
    }
    let p = &r.plan;
    let mut t = table();
    t.set_header(vec!["", ""]);
    t.add_row(vec![
        "model".to_string(),
        format!(
            "{} {} ({:.2} GB)",
            r.model,
            r.quant.clone().unwrap_or_default(),
            r.file_gb
        ),
    ]);
    t.add_row(vec![
        "machine".to_string(),
        format!("{} — {}", hw.name, hw.description),
    ]);
    let no_gpu = hw.gpus.is_empty();
    let placement = if no_gpu || p.placement.n_gpu_layers == 0 {
        "CPU only: every weight in RAM".to_string()
    } else {
        format!(
            "{} GPU layers, experts of {} layers in RAM",
            p.placement.n_gpu_layers.min(spec.n_layers() + 1),
            p.placement.n_cpu_moe
        )
    };
    let asked = if req.placement.is_some() {
        " (as asked)"
    } else {
        ""
    };
    t.add_row(vec!["placement".to_string(), format!("{placement}{asked}")]);
    t.add_row(vec![
        "context / KV".to_string(),
        format!(
            "{} tokens (up to {} fit this placement), K {} V {}",
            p.config.n_ctx,
            p.max_ctx,
            p.config.kv_k.name(),
            p.config.kv_v.name()
        ),
    ]);
    let vram = if no_gpu {
        "no GPU on this machine".to_string()
    } else {
        memory_parts(&p.memory.gpu, p.gpu_capacity)
    };
    t.add_row(vec!["VRAM".to_string(), vram]);
    if p.gpu_split.len() > 1 {
        let per: Vec<String> = p
            .gpu_split
            .iter()
            .zip(&hw.gpus)
            .map(|(b, g)| format!("{} {}", g.name, gib(*b)))
            .collect();
        t.add_row(vec![
            "VRAM per GPU".to_string(),
            format!("{} (layer split by free memory)", per.join(", ")),
        ]);
    }
    let mut ram = memory_parts(&p.memory.cpu, p.ram_capacity);
    if hw.unified_memory.is_some() {
        // One pool: the GPU's share comes out of the same RAM the placement search checked.
        ram.push_str(&format!(
            "; with the GPU's share {} of the {} pool",
            gib(p.memory.cpu.total() + p.memory.gpu.total()),
            gib(p.ram_capacity)
        ));
    }
    t.add_row(vec!["RAM".to_string(), ram]);
    t.add_row(vec![
        format!("generation ({})", r.engine),
        format!(
            "{:.1} t/s empty, {:.1} t/s at 4K, {:.1} t/s at {} tokens",
            p.gen_tps_empty, p.gen_tps_4k, p.gen_tps_full, p.config.n_ctx
        ),
    ]);
    t.add_row(vec![
        "prompt".to_string(),
        format!("{:.0} t/s (ubatch {})", p.prompt_tps, p.config.ubatch),
    ]);
    t.add_row(vec!["speed model".to_string(), r.calibration.clone()]);
    if let Some(q) = &r.quality {
        t.add_row(vec!["quality".to_string(), q.clone()]);
    }
    println!("{t}");
    if !hw.gpus.is_empty() && p.placement.n_cpu_moe > 0 {
        // The per-offloaded-layer cost is fitted on PLANNER-DATA.md's RTX 5080 row; other
        // published runs disagree (docs/planner-model.md §4, held-out checks).
        println!(
            "note: with experts in RAM, published runs on other hosts (Ryzen 9 9950X, Ryzen 7 \
             9800X3D, an RTX 4070 under WSL2) went 1.4-2.0x faster than this model predicts for \
             them; read the speed as a floor."
        );
    }
    println!("llama.cpp:      {}", r.llama_server);
    println!("bundled engine: {}  (CPU only for now)", r.bundled_engine);
    Ok(())
}

/// Quants ranked for every catalog model.
const RANK_QUANTS: &[&str] = &[
    "Q8_0",
    "Q6_K",
    "Q5_K_M",
    "Q4_K_M",
    "UD-Q4_K_XL",
    "MXFP4_MOE",
    "IQ4_XS",
    "Q3_K_M",
    "UD-Q3_K_XL",
    "Q2_K",
    "UD-IQ2_M",
];

fn rank_catalog(args: &Args, hw: &HardwareProfile, req: &PlanRequest) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for e in catalog::entries()? {
        for q in RANK_QUANTS {
            if *q == "MXFP4_MOE" && e.experts.is_none() {
                continue;
            }
            // gpt-oss ships its experts in MXFP4; rows of 2880 are not whole k-quant blocks.
            if e.arch == "gpt-oss" && *q != "MXFP4_MOE" {
                continue;
            }
            let quant = Quant::parse(q).context("built-in quant list")?;
            let spec = catalog::synthesize(&e, &quant);
            let Ok(p) = plan(&spec, hw, req) else {
                continue;
            };
            if p.gen_tps_4k < args.min_tps {
                continue;
            }
            let path = format!("{}-{}.gguf", e.name.replace(' ', "-"), quant.name);
            rows.push(report(
                &spec,
                Some(quant.name.clone()),
                Some(&e),
                &path,
                p,
                hw,
                args.profile.is_none(),
            ));
        }
    }
    // Bigger models first (more capability), then faster.
    rows.sort_by(|a, b| {
        b.file_gb
            .partial_cmp(&a.file_gb)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !args.all {
        // One row per model: the largest (highest-quality) quant that fits above the speed floor.
        let mut seen = std::collections::HashSet::new();
        rows.retain(|r| seen.insert(r.model.clone()));
    }
    if args.output.emit(&rows)? {
        return Ok(());
    }
    let mut t = table();
    t.set_header(vec![
        "model",
        "quant",
        "file",
        "ctx",
        "KV",
        "placement",
        "VRAM",
        "RAM",
        "gen t/s @4K",
        "gen t/s @ctx",
        "prompt t/s",
        "quality",
    ]);
    for r in &rows {
        let p = &r.plan;
        t.add_row(vec![
            r.model.clone(),
            r.quant.clone().unwrap_or_default(),
            format!("{:.1} GB", r.file_gb),
            p.config.n_ctx.to_string(),
            p.config.kv_k.name().to_ascii_lowercase(),
            placement_cell(&p.placement, r.n_layers, hw.gpus.is_empty()),
            gib(p.memory.gpu.total()),
            gib(p.memory.cpu.total()),
            format!("{:.1}", p.gen_tps_4k),
            format!("{:.1}", p.gen_tps_full),
            format!("{:.0}", p.prompt_tps),
            r.quality.clone().unwrap_or_default(),
        ]);
    }
    println!(
        "Machine: {} — {} (predictions for llama.cpp; {})",
        hw.name,
        hw.description,
        crate::calibrate::status(hw, args.profile.is_none())
    );
    println!("{t}");
    if !args.all {
        println!("Best quant per model shown; --all lists every model × quant that fits, --min-tps changes the speed floor.");
    }
    Ok(())
}

/// "14.67 GiB (weights …, KV …, state …, compute …, runtime …) of 16.00 GiB": every part of the total.
fn memory_parts(m: &crate::estimate::DeviceMemory, capacity: u64) -> String {
    format!(
        "{} (weights {}, KV {}, state {}, compute {}, runtime {}) of {}",
        gib(m.total()),
        gib(m.weights),
        gib(m.kv_cache),
        gib(m.recurrent_state),
        gib(m.compute),
        gib(m.overhead),
        gib(capacity)
    )
}

/// "CPU only", "all on GPU", "experts of N layers in RAM" or "-ngl N": where the weights live, in one cell.
fn placement_cell(p: &crate::estimate::Placement, n_layers: usize, no_gpu: bool) -> String {
    if no_gpu || p.n_gpu_layers == 0 {
        "CPU only".into()
    } else if p.n_cpu_moe > 0 {
        format!("--n-cpu-moe {}", p.n_cpu_moe)
    } else if p.n_gpu_layers < n_layers + 1 {
        format!("-ngl {} of {}", p.n_gpu_layers, n_layers + 1)
    } else {
        "all on GPU".into()
    }
}
