//! Placement search: the fewest experts in RAM (or, for dense models, the most layers on the GPU) and the
//! context that fit the GPU with a margin free, maximizing predicted generation speed.

use fitbench_engine::gguf::GgmlType;
use serde::Serialize;

use crate::estimate::{
    compute_buffer_bytes, estimate_memory, generation_tps, prompt_tps, GpuSet, MemoryEstimate,
    Placement, RunConfig, GPU_RUNTIME_OVERHEAD,
};
use crate::hw::HardwareProfile;
use crate::model::ModelSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Generation,
    Prompt,
    Context,
}

#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Context wanted; None = the largest that fits (up to the model's training context).
    pub n_ctx: Option<u64>,
    /// KV cache type; None = f16 if it fits, else q8_0, else q4_0.
    pub kv_type: Option<GgmlType>,
    /// VRAM left free, bytes (llama.cpp `--fit-target`, default 1024 MiB).
    pub margin: u64,
    pub goal: Goal,
    pub ubatch: u64,
    /// A placement to evaluate instead of searching for one (`--n-cpu-moe`, `-ngl`): the plan keeps
    /// it and picks the context and KV type that fit around it.
    pub placement: Option<Placement>,
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            n_ctx: None,
            kv_type: None,
            margin: 1024 << 20,
            goal: Goal::Generation,
            ubatch: 512,
            placement: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub placement: Placement,
    pub config: RunConfig,
    pub memory: MemoryEstimate,
    /// Predicted generation speed at 4096 tokens of context and at the chosen context (full).
    pub gen_tps_4k: f64,
    pub gen_tps_full: f64,
    pub gen_tps_empty: f64,
    pub prompt_tps: f64,
    /// Bytes on each GPU (several GPUs: layers split by free memory, runtime and compute buffer
    /// on each); one entry per GPU, empty without GPUs.
    pub gpu_split: Vec<u64>,
    pub gpu_capacity: u64,
    pub ram_capacity: u64,
    /// Largest context (multiple of 256, up to 4x the training context) that fits with this placement
    /// and KV type.
    pub max_ctx: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{model} does not fit: needs {need_gib:.1} GiB of RAM for the weights left on the CPU, {have_gib:.1} GiB available")]
    DoesNotFit {
        model: String,
        need_gib: f64,
        have_gib: f64,
    },
    #[error("{placement} does not fit {model}: it needs {need_gib:.2} GiB on the GPU with the smallest context and KV type tried ({n_ctx} tokens, {kv}), {have_gib:.2} GiB free after the --fit-target margin{hint}")]
    PlacementDoesNotFit {
        model: String,
        placement: String,
        need_gib: f64,
        have_gib: f64,
        n_ctx: u64,
        kv: String,
        hint: String,
    },
    #[error("{0} places weights on a GPU, but this machine (or profile) has none")]
    NoGpu(String),
}

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes usable on the GPUs, all of them together (layers split in proportion, as llama.cpp's
/// default `--split-mode layer`), less what every GPU beyond the first needs for its own runtime
/// and compute buffer (the estimate counts those once). Margins are applied by the caller.
fn gpu_capacity(hw: &HardwareProfile, per_extra_gpu: u64) -> u64 {
    match GpuSet::of(hw) {
        Some(set) => set
            .total_capacity()
            .saturating_sub((set.n_gpus() as u64 - 1) * per_extra_gpu),
        None => 0,
    }
}

/// Memory per GPU for an aggregate GPU estimate.
fn gpu_split(hw: &HardwareProfile, m: &MemoryEstimate) -> Vec<u64> {
    match GpuSet::of(hw) {
        Some(set) if m.gpu.total() > 0 => set.split(
            m.gpu.weights + m.gpu.kv_cache + m.gpu.recurrent_state,
            m.gpu.compute + m.gpu.overhead,
        ),
        Some(set) => vec![0; set.n_gpus()],
        None => Vec::new(),
    }
}

/// What the GPUs can take for a configuration, after `--fit-target` margins and the extra GPUs'
/// own buffers.
pub fn gpu_budget(spec: &ModelSpec, hw: &HardwareProfile, margin: u64, cfg: &RunConfig) -> u64 {
    let extra = GPU_RUNTIME_OVERHEAD + compute_buffer_bytes(spec, cfg, false);
    gpu_capacity(hw, extra).saturating_sub(total_margin(hw, margin))
}

/// Whether a placement's memory fits the machine for one configuration: the GPU budget, and the
/// RAM (with the GPU's share on unified memory).
pub fn fits_machine(
    spec: &ModelSpec,
    hw: &HardwareProfile,
    margin: u64,
    p: &Placement,
    cfg: &RunConfig,
) -> (MemoryEstimate, bool) {
    let has_gpu = !hw.gpus.is_empty();
    let m = estimate_memory(spec, p, cfg, has_gpu);
    let fits = fits_memory(
        &m,
        p,
        gpu_budget(spec, hw, margin, cfg),
        ram_capacity(hw),
        has_gpu,
        hw.unified_memory.is_some(),
    );
    (m, fits)
}

/// The fit test every path shares: RAM (with the GPU's share on unified memory), and the GPU
/// budget unless no layer is on the GPU.
fn fits_memory(
    m: &MemoryEstimate,
    p: &Placement,
    gpu_budget: u64,
    ram: u64,
    has_gpu: bool,
    unified_memory: bool,
) -> bool {
    host_bytes(m, unified_memory) <= ram
        && (!has_gpu || p.n_gpu_layers == 0 || m.gpu.total() <= gpu_budget)
}

/// `--fit-target` is per device: each GPU keeps the margin free.
fn total_margin(hw: &HardwareProfile, margin: u64) -> u64 {
    margin * hw.gpus.len().max(1) as u64
}

fn ram_capacity(hw: &HardwareProfile) -> u64 {
    // Without a probe, leave 4 GiB to the OS.
    (hw.ram
        .available_gib
        .unwrap_or((hw.ram.total_gib - 4.0).max(1.0))
        * GIB) as u64
}

/// Bytes taken from system RAM. On unified-memory machines (Apple Silicon, Strix Halo, DGX Spark) the
/// GPU's share comes out of the same pool, so it counts too.
fn host_bytes(m: &crate::estimate::MemoryEstimate, unified_memory: bool) -> u64 {
    m.cpu.total() + if unified_memory { m.gpu.total() } else { 0 }
}

fn kv_candidates(req: &PlanRequest) -> Vec<GgmlType> {
    match req.kv_type {
        Some(t) => vec![t],
        None => vec![GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0],
    }
}

fn ctx_candidates(spec: &ModelSpec, req: &PlanRequest) -> Vec<u64> {
    if let Some(c) = req.n_ctx {
        return vec![c];
    }
    let max = if spec.context_train > 0 {
        spec.context_train
    } else {
        32768
    };
    let mut v = vec![max];
    let mut c = max;
    while c > 4096 {
        c /= 2;
        v.push(c.max(4096));
    }
    v
}

/// The fastest placement for `spec` on `hw` satisfying `req`.
pub fn plan(spec: &ModelSpec, hw: &HardwareProfile, req: &PlanRequest) -> Result<Plan, PlanError> {
    if let Some(p) = req.placement {
        if hw.gpus.is_empty() && p.n_gpu_layers > 0 {
            return Err(PlanError::NoGpu(describe_placement(&p, spec)));
        }
    }
    let cap = gpu_capacity(hw, 0);
    let ram = ram_capacity(hw);
    let budget = |cfg: &RunConfig| gpu_budget(spec, hw, req.margin, cfg);
    let n = spec.n_layers();
    let has_gpu = !hw.gpus.is_empty();
    let unified = hw.unified_memory.is_some();
    let mut best: Option<Plan> = None;
    for n_ctx in ctx_candidates(spec, req) {
        for kv in kv_candidates(req) {
            let mut cfg = RunConfig::new(n_ctx, kv);
            cfg.ubatch = req.ubatch;
            let placement = match (req.placement, has_gpu) {
                (Some(p), true) => {
                    let need = estimate_memory(spec, &p, &cfg, true).gpu.total();
                    (p.n_gpu_layers == 0 || need <= budget(&cfg)).then_some(p)
                }
                (None, true) => fit_gpu(spec, &cfg, budget(&cfg)),
                (_, false) => Some(Placement::cpu_only()),
            };
            let Some(placement) = placement else { continue };
            let memory = estimate_memory(spec, &placement, &cfg, has_gpu);
            if host_bytes(&memory, unified) > ram {
                continue;
            }
            let candidate = Plan {
                placement,
                config: cfg,
                memory,
                gen_tps_4k: generation_tps(spec, hw, &placement, &cfg, 4096.min(n_ctx)),
                gen_tps_full: generation_tps(spec, hw, &placement, &cfg, n_ctx),
                gen_tps_empty: generation_tps(spec, hw, &placement, &cfg, 0),
                prompt_tps: prompt_tps(spec, hw, &placement, &cfg, 0),
                gpu_split: gpu_split(hw, &memory),
                gpu_capacity: cap,
                ram_capacity: ram,
                max_ctx: 0,
            };
            let better = match &best {
                None => true,
                Some(b) => score(&candidate, req.goal) > score(b, req.goal) * 1.02,
            };
            if better {
                best = Some(candidate);
            }
        }
        // The first (largest) context that fits wins unless asked for speed over context.
        if best.is_some() && req.goal == Goal::Context {
            break;
        }
        if best.is_some() && req.n_ctx.is_none() {
            break;
        }
    }
    let _ = n;
    if let Some(b) = best.as_mut() {
        b.max_ctx = max_context(
            spec,
            &b.placement,
            &b.config,
            budget(&b.config),
            ram,
            has_gpu,
            unified,
        );
    }
    if let (None, Some(p)) = (&best, req.placement) {
        return Err(forced_placement_error(spec, hw, req, &p, &budget));
    }
    best.ok_or_else(|| {
        let cfg = RunConfig::new(
            req.n_ctx.unwrap_or(4096),
            req.kv_type.unwrap_or(GgmlType::Q4_0),
        );
        let need = estimate_memory(spec, &Placement::cpu_only(), &cfg, false)
            .cpu
            .total() as f64
            - (cap as f64);
        PlanError::DoesNotFit {
            model: spec.name.clone(),
            need_gib: need.max(0.0) / GIB,
            have_gib: ram as f64 / GIB,
        }
    })
}

/// llama.cpp's flags for a placement, as a user would type them.
pub fn describe_placement(p: &Placement, spec: &ModelSpec) -> String {
    let n_layers = spec.n_layers();
    match (p.n_gpu_layers, p.n_cpu_moe) {
        (g, 0) if g > n_layers && spec.is_moe() => "--n-cpu-moe 0 (all on the GPU)".to_string(),
        (g, 0) if g > n_layers => "-ngl all".to_string(),
        (0, _) => "-ngl 0 (CPU only)".to_string(),
        (g, 0) => format!("-ngl {g}"),
        (g, k) if g > n_layers && k >= n_layers => "--cpu-moe".to_string(),
        (g, k) if g > n_layers => format!("--n-cpu-moe {k}"),
        (g, k) => format!("-ngl {g} --n-cpu-moe {k}"),
    }
}

/// Why a placement the user asked for fits nowhere: the GPU memory it needs with the smallest
/// context and KV type the search tried, against the budget, and the placement the search would
/// pick instead.
fn forced_placement_error(
    spec: &ModelSpec,
    hw: &HardwareProfile,
    req: &PlanRequest,
    p: &Placement,
    budget: &dyn Fn(&RunConfig) -> u64,
) -> PlanError {
    let n_ctx = ctx_candidates(spec, req).last().copied().unwrap_or(4096);
    let kv = *kv_candidates(req).last().unwrap_or(&GgmlType::Q4_0);
    let mut cfg = RunConfig::new(n_ctx, kv);
    cfg.ubatch = req.ubatch;
    let need = estimate_memory(spec, p, &cfg, true).gpu.total();
    let hint = if need > budget(&cfg) {
        match fit_gpu(spec, &cfg, budget(&cfg)) {
            Some(fit) if fit.n_gpu_layers > 0 => {
                format!("; {} fits", describe_placement(&fit, spec))
            }
            _ => String::new(),
        }
    } else {
        // The GPU side fits; the RAM side does not.
        format!(
            "; the weights left in RAM need more than the {:.1} GiB available",
            ram_capacity(hw) as f64 / GIB
        )
    };
    PlanError::PlacementDoesNotFit {
        model: spec.name.clone(),
        placement: describe_placement(p, spec),
        need_gib: need as f64 / GIB,
        have_gib: budget(&cfg) as f64 / GIB,
        n_ctx,
        kv: kv.name().to_string(),
        hint,
    }
}

/// Binary search for the largest context whose memory still fits `gpu_budget` and `ram`.
pub fn max_context(
    spec: &ModelSpec,
    p: &Placement,
    cfg: &RunConfig,
    gpu_budget: u64,
    ram: u64,
    has_gpu: bool,
    unified_memory: bool,
) -> u64 {
    let fits = |n_ctx: u64| {
        let c = RunConfig { n_ctx, ..*cfg };
        let m = estimate_memory(spec, p, &c, has_gpu);
        fits_memory(&m, p, gpu_budget, ram, has_gpu, unified_memory)
    };
    let top = (spec.context_train.max(4096) * 4).div_ceil(256);
    let (mut lo, mut hi) = (0u64, top + 1);
    if !fits(256) {
        return 0;
    }
    lo = lo.max(1);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid * 256) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo * 256
}

/// Quality weight of a KV type when choosing one automatically: q8_0 costs ~+0.004 PPL; below 8 bits
/// users report mistakes at long context (PLANNER-DATA.md), so 4-bit KV must buy >15% speed to win.
fn kv_quality(t: GgmlType) -> f64 {
    match t {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1.0,
        GgmlType::Q8_0 => 0.97,
        _ => 0.85,
    }
}

fn score(p: &Plan, goal: Goal) -> f64 {
    let q = kv_quality(p.config.kv_k).min(kv_quality(p.config.kv_v));
    match goal {
        Goal::Generation => p.gen_tps_4k * q,
        Goal::Prompt => p.prompt_tps * q,
        Goal::Context => p.config.n_ctx as f64 + p.gen_tps_4k * 1e-6,
    }
}

/// The placement with the most on the GPU that fits `budget` bytes: all layers with the fewest
/// `--n-cpu-moe` layers for MoE models, else the most `-ngl` layers.
pub fn fit_gpu(spec: &ModelSpec, cfg: &RunConfig, budget: u64) -> Option<Placement> {
    let n = spec.n_layers();
    let fits = |p: &Placement| estimate_memory(spec, p, cfg, true).gpu.total() <= budget;
    if spec.is_moe() {
        // Memory falls monotonically with n_cpu_moe: binary search the smallest that fits.
        let full = |k: usize| Placement {
            n_gpu_layers: n + 1,
            n_cpu_moe: k,
        };
        if fits(&full(0)) {
            return Some(full(0));
        }
        if fits(&full(n)) {
            let (mut lo, mut hi) = (0usize, n);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if fits(&full(mid)) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return Some(full(hi));
        }
    }
    // Dense (or MoE that does not fit even with all experts in RAM): fewer layers on the GPU.
    let partial = |k: usize| Placement {
        n_gpu_layers: k,
        n_cpu_moe: if spec.is_moe() { n } else { 0 },
    };
    let mut k = n + 1;
    while k > 0 {
        let p = if spec.is_moe() {
            partial(k)
        } else {
            Placement {
                n_gpu_layers: k,
                n_cpu_moe: 0,
            }
        };
        if fits(&p) {
            return Some(p);
        }
        k -= 1;
    }
    Some(Placement::cpu_only())
}
