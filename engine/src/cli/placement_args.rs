//! Placement flags shared by `run`, `bench`, `logits`, `perplexity` and `info` (llama.cpp names).

use anyhow::Result;
use fitbench_engine::placement::{Fit, GpuLayers, PlacementOptions, TensorOverride};
use fitbench_engine::{LoadOptions, Model};

#[derive(clap::Args, Clone, Default, Debug)]
pub struct PlacementArgs {
    /// Layers whose weights go to the GPU, counted from the output end as llama.cpp does
    /// (`-ngl`): a number, `auto` or `all`. Default 0: everything on the CPU.
    #[arg(long = "ngl", alias = "n-gpu-layers", alias = "gpu-layers")]
    pub n_gpu_layers: Option<String>,
    /// Keep the expert tensors of the first N layers in RAM (`-ncmoe`).
    #[arg(long = "n-cpu-moe", alias = "ncmoe", default_value_t = 0)]
    pub n_cpu_moe: usize,
    /// Keep every expert tensor in RAM (`-cmoe`).
    #[arg(long = "cpu-moe", alias = "cmoe")]
    pub cpu_moe: bool,
    /// `REGEX=DEVICE[,...]` (`-ot`): tensors whose name matches go to DEVICE (CPU, CUDA0);
    /// first match wins; repeatable.
    #[arg(long = "override-tensor", alias = "ot")]
    pub override_tensor: Vec<String>,
    /// Choose -ngl / --n-cpu-moe so the weights and caches fit the GPU's free memory.
    #[arg(long)]
    pub fit: bool,
    /// MiB to leave free on the GPU with --fit (`-fitt`, default 1024).
    #[arg(long = "fit-target", alias = "fitt")]
    pub fit_target: Option<u64>,
}

impl PlacementArgs {
    pub fn options(&self) -> Result<PlacementOptions> {
        let gpu_layers = match &self.n_gpu_layers {
            Some(s) => GpuLayers::parse(s)?,
            None => GpuLayers::default(),
        };
        let mut overrides = Vec::new();
        for o in &self.override_tensor {
            overrides.extend(TensorOverride::parse_list(o)?);
        }
        if self.fit_target.is_some() && !self.fit {
            anyhow::bail!("--fit-target needs --fit");
        }
        Ok(PlacementOptions {
            gpu_layers,
            n_cpu_moe: self.n_cpu_moe,
            cpu_moe: self.cpu_moe,
            overrides,
            fit: self.fit.then(|| Fit {
                target_mib: self.fit_target.unwrap_or(Fit::default().target_mib),
            }),
        })
    }

    /// Load options for a session of `n_ctx` tokens (what `--fit` budgets the KV cache for).
    pub fn load_options(&self, n_ctx: usize) -> Result<LoadOptions> {
        Ok(LoadOptions {
            placement: self.options()?,
            fit_n_ctx: n_ctx.max(1),
            ..LoadOptions::default()
        })
    }
}

/// Prints, on stderr, why a GPU request was not honoured in full (nothing if it was).
pub fn report_notice(model: &Model) {
    if let Some(n) = model.placement_notice() {
        eprintln!("warning: {n}");
    }
}
