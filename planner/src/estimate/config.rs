//! What a plan decides (placement) and asks for (run configuration).

use fitbench_engine::gguf::GgmlType;
use serde::Serialize;

/// Where weights live, in llama.cpp terms: `-ngl n_gpu_layers` (the last layers; all = output too) and
/// `--n-cpu-moe n_cpu_moe` (routed experts of layers 0..n_cpu_moe stay in RAM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub n_gpu_layers: usize,
    pub n_cpu_moe: usize,
}

impl Placement {
    pub fn cpu_only() -> Placement {
        Placement {
            n_gpu_layers: 0,
            n_cpu_moe: 0,
        }
    }
    pub fn layer_on_gpu(&self, il: usize, n_layers: usize) -> bool {
        il + self.n_gpu_layers >= n_layers
    }
    pub fn experts_on_gpu(&self, il: usize, n_layers: usize) -> bool {
        self.layer_on_gpu(il, n_layers) && il >= self.n_cpu_moe
    }
    pub fn output_on_gpu(&self, n_layers: usize) -> bool {
        self.n_gpu_layers >= n_layers && n_layers > 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunConfig {
    pub n_ctx: u64,
    #[serde(serialize_with = "ser_type")]
    pub kv_k: GgmlType,
    #[serde(serialize_with = "ser_type")]
    pub kv_v: GgmlType,
    pub ubatch: u64,
    pub flash_attn: bool,
    pub n_seq: u64,
}

fn ser_type<S: serde::Serializer>(t: &GgmlType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.name().to_ascii_lowercase())
}

impl RunConfig {
    pub fn new(n_ctx: u64, kv: GgmlType) -> RunConfig {
        RunConfig {
            n_ctx,
            kv_k: kv,
            kv_v: kv,
            ubatch: 512,
            flash_attn: true,
            n_seq: 1,
        }
    }
}
