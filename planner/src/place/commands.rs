//! Command lines that run a plan: the bundled engine's and llama.cpp's `llama-server`.

use super::search::Plan;
use crate::model::ModelSpec;

fn kv_name(t: fitbench_engine::gguf::GgmlType) -> String {
    t.name().to_ascii_lowercase()
}

/// `llama-server` flags for the plan (names as in llama.cpp `common/arg.cpp`).
pub fn llama_server_command(model_path: &str, spec: &ModelSpec, plan: &Plan) -> String {
    let p = &plan.placement;
    let c = &plan.config;
    let mut s = format!("llama-server -m {model_path} -c {}", c.n_ctx);
    if p.n_gpu_layers == 0 {
        s += " -ngl 0";
    } else if p.n_gpu_layers > spec.n_layers() {
        s += " -ngl 999";
    } else {
        s += &format!(" -ngl {}", p.n_gpu_layers);
    }
    if spec.is_moe() && p.n_cpu_moe > 0 && p.n_gpu_layers > 0 {
        if p.n_cpu_moe >= spec.n_layers() {
            s += " --cpu-moe";
        } else {
            s += &format!(" --n-cpu-moe {}", p.n_cpu_moe);
        }
    }
    s += &format!(
        " -fa {} -ctk {} -ctv {}",
        if c.flash_attn { "on" } else { "off" },
        kv_name(c.kv_k),
        kv_name(c.kv_v)
    );
    if c.ubatch != 512 {
        s += &format!(" -ub {}", c.ubatch);
    }
    s
}

/// The bundled engine (CPU-only for now: GPU placement flags are accepted but everything runs on the CPU).
pub fn engine_command(model_path: &str, plan: &Plan) -> String {
    let c = &plan.config;
    format!(
        "fitbench-engine run -m {model_path} -c {} -ctk {} -ctv {}",
        c.n_ctx,
        kv_name(c.kv_k),
        kv_name(c.kv_v)
    )
}
