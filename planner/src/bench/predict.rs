//! The planner's prediction for a benchmark point: the speed estimate (`estimate::speed`) for the
//! model spec read from the GGUF header, on the probed hardware, at the point's configuration
//! (test kind, depth, ubatch, KV types, threads, placement).
//!
//! The estimate models llama.cpp; for records of the bundled engine the error therefore says how
//! far the bundled engine is from what llama.cpp is predicted to do on this machine.

use fitbench_engine::gguf::GgmlType;

use super::record::{BenchConfig, Prediction, TestKind, Workload};
use crate::estimate::{generation_tps, prompt_tps, Placement, RunConfig};
use crate::hw::HardwareProfile;
use crate::model::ModelSpec;
use crate::place::{plan, Plan, PlanRequest};

pub struct Predictor {
    spec: ModelSpec,
    hw: HardwareProfile,
    /// The planner's plan for this model and machine (`placement: auto`), if one fits.
    plan: Option<Plan>,
    source: String,
}

impl Predictor {
    pub fn new(spec: ModelSpec, hw: HardwareProfile) -> Self {
        let plan = plan(&spec, &hw, &PlanRequest::default()).ok();
        Predictor {
            spec,
            hw,
            plan,
            source: format!(
                "fitbench-plan {} (llama.cpp model)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }

    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// `placement: auto`: the plan's placement written into the configuration (on a machine with
    /// a GPU; on a CPU-only machine there is nothing to place and the configuration is kept).
    pub fn apply_auto_placement(&self, c: &mut BenchConfig, sweeps_n_cpu_moe: bool) {
        let (Some(p), false) = (&self.plan, self.hw.gpus.is_empty()) else {
            return;
        };
        c.n_gpu_layers = Some(p.placement.n_gpu_layers.min(i32::MAX as usize) as i32);
        if !sweeps_n_cpu_moe {
            c.n_cpu_moe = p.placement.n_cpu_moe.min(u32::MAX as usize) as u32;
        }
        c.placement = "auto (planner)".into();
    }

    /// Placement the engine runs with for `c`, in the planner's terms.
    fn placement(&self, c: &BenchConfig) -> Placement {
        let n_layers = self.spec.n_layers();
        if self.hw.gpus.is_empty() {
            return Placement::cpu_only();
        }
        // llama-bench's default -ngl is 99 (all layers); negative means all too.
        let n_gpu_layers = match c.n_gpu_layers {
            Some(n) if n >= 0 => (n as usize).min(n_layers),
            _ => n_layers,
        };
        Placement {
            n_gpu_layers,
            n_cpu_moe: c.n_cpu_moe as usize,
        }
    }

    /// The machine as the point uses it: fewer threads than cores scale the CPU's FLOP/s. RAM
    /// bandwidth is kept (the model has no per-thread bandwidth figure).
    fn hardware_for(&self, c: &BenchConfig) -> HardwareProfile {
        let mut hw = self.hw.clone();
        if let Some(t) = c.n_threads {
            let cores = hw.cpu.physical_cores.max(1);
            let used = t.clamp(1, cores);
            if let Some(g) = hw.cpu.gflops.as_mut() {
                *g *= used as f64 / cores as f64;
            }
            hw.cpu.physical_cores = used;
        }
        hw
    }

    /// Predicted tokens/s for one point; None when a KV type is unknown to the planner.
    pub fn predict(&self, c: &BenchConfig, w: &Workload) -> Option<Prediction> {
        let kv_k = GgmlType::from_name(&c.type_k)?;
        let kv_v = GgmlType::from_name(&c.type_v)?;
        let n_ctx = u64::from(w.n_depth) + u64::from(w.n_prompt) + u64::from(w.n_gen);
        let cfg = RunConfig {
            n_ctx,
            kv_k,
            kv_v,
            ubatch: u64::from(c.n_ubatch.min(c.n_batch).max(1)),
            flash_attn: c.flash_attn != "off",
            n_seq: 1,
        };
        let hw = self.hardware_for(c);
        let p = self.placement(c);
        let depth = u64::from(w.n_depth);
        // Each timed token sees, on average, the depth plus half of the tokens timed before it.
        let pp = || prompt_tps(&self.spec, &hw, &p, &cfg, depth + u64::from(w.n_prompt) / 2);
        let tg = || {
            generation_tps(
                &self.spec,
                &hw,
                &p,
                &cfg,
                depth + u64::from(w.n_prompt) + u64::from(w.n_gen) / 2,
            )
        };
        let tps = match w.kind {
            TestKind::Pp => pp(),
            TestKind::Tg => tg(),
            TestKind::Pg => {
                let (a, b) = (pp(), tg());
                let secs = f64::from(w.n_prompt) / a + f64::from(w.n_gen) / b;
                f64::from(w.n_prompt + w.n_gen) / secs
            }
        };
        (tps.is_finite() && tps > 0.0).then(|| Prediction {
            tokens_per_s: tps,
            source: self.source.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::machines::cpu_2core;

    fn predictor() -> Option<Predictor> {
        let path = fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf")?;
        let spec = crate::model::open(&path).unwrap();
        Some(Predictor::new(spec, cpu_2core()))
    }

    #[test]
    fn agrees_with_the_estimate_and_follows_the_configuration() {
        let Some(p) = predictor() else {
            eprintln!("skipped: fixture model not found");
            return;
        };
        let c = BenchConfig::default();
        // The same numbers the planner's estimate gives for this point.
        let hw = cpu_2core();
        let cfg = RunConfig::new(128, GgmlType::F16);
        let want = generation_tps(&p.spec, &hw, &Placement::cpu_only(), &cfg, 64);
        let tg = p.predict(&c, &Workload::new(0, 128, 0)).unwrap();
        assert!(
            (tg.tokens_per_s - want).abs() < 1e-9 * want,
            "{tg:?} vs {want}"
        );
        let want = prompt_tps(&p.spec, &hw, &Placement::cpu_only(), &cfg, 256);
        let pp = p.predict(&c, &Workload::new(512, 0, 0)).unwrap();
        assert!((pp.tokens_per_s - want).abs() < 1e-9 * want);

        // Deeper context: slower generation; one thread of two: half the prompt FLOP/s.
        let deep = p.predict(&c, &Workload::new(0, 128, 16384)).unwrap();
        assert!(deep.tokens_per_s < tg.tokens_per_s);
        let mut one = c.clone();
        one.n_threads = Some(1);
        let pp1 = p.predict(&one, &Workload::new(512, 0, 0)).unwrap();
        assert!((pp1.tokens_per_s * 2.0 - pp.tokens_per_s).abs() < 1e-6 * pp.tokens_per_s);
        // Quantized KV reads fewer bytes at depth.
        let mut q8 = c.clone();
        (q8.type_k, q8.type_v) = ("q8_0".into(), "q8_0".into());
        let deep_q8 = p.predict(&q8, &Workload::new(0, 128, 16384)).unwrap();
        assert!(deep_q8.tokens_per_s > deep.tokens_per_s);
        // A pp+tg test takes the time of both parts.
        let pg = p.predict(&c, &Workload::new(512, 128, 0)).unwrap();
        assert!(pg.tokens_per_s < pp.tokens_per_s && pg.tokens_per_s > tg.tokens_per_s);
        let mut bad = c.clone();
        bad.type_k = "q9_9".into();
        assert!(p.predict(&bad, &Workload::new(0, 128, 0)).is_none());
    }

    #[test]
    fn auto_placement_comes_from_the_plan_on_a_gpu_machine() {
        let Some(cpu) = predictor() else { return };
        let mut c = BenchConfig::default();
        cpu.apply_auto_placement(&mut c, false);
        assert_eq!(c, BenchConfig::default(), "CPU-only: nothing to place");
        let gpu = Predictor::new(cpu.spec.clone(), crate::estimate::machines::rtx_3090());
        let plan = gpu.plan().expect("the tiny model fits a 3090").placement;
        gpu.apply_auto_placement(&mut c, false);
        assert_eq!(c.n_gpu_layers, Some(plan.n_gpu_layers as i32));
        assert_eq!(c.n_cpu_moe, plan.n_cpu_moe as u32);
        assert_eq!(c.placement, "auto (planner)");
    }
}
