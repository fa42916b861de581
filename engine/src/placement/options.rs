//! Placement flags with llama.cpp's names and semantics: `-ngl`, `--n-cpu-moe`, `--cpu-moe`,
//! `-ot REGEX=DEVICE[,REGEX=DEVICE...]`, `--fit [--fit-target MiB]`.

use super::device::Device;
use super::PlacementError;
use regex::Regex;

/// llama.cpp's `LLM_FFN_EXPS_REGEX`: the routed-expert tensors.
pub const FFN_EXPS_REGEX: &str = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps";

/// `-ngl`: how many of the model's layers (counting the output layer as one more) go to the GPU.
/// The engine's default is 0 (CPU only; llama.cpp defaults to all): pass `-ngl all` or `99`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuLayers {
    /// `auto` / `all` / a negative number: every layer and the output.
    All,
    /// The last `n` of (layers 0..n_layer, output).
    Count(usize),
}

impl GpuLayers {
    /// Parses `-ngl` values: a number, `auto`, `all`, or a negative number (= all).
    pub fn parse(s: &str) -> Result<GpuLayers, PlacementError> {
        match s.trim() {
            "auto" | "all" => Ok(GpuLayers::All),
            v => match v.parse::<i64>() {
                Ok(n) if n < 0 => Ok(GpuLayers::All),
                Ok(n) => Ok(GpuLayers::Count(n as usize)),
                Err(_) => Err(PlacementError::Flag(format!(
                    "-ngl: '{s}' is not a number, 'auto' or 'all'"
                ))),
            },
        }
    }
}

impl Default for GpuLayers {
    fn default() -> GpuLayers {
        GpuLayers::Count(0)
    }
}

/// One `-ot` rule: tensors whose name contains a match of `pattern` go to `device`.
#[derive(Debug, Clone)]
pub struct TensorOverride {
    pub pattern: Regex,
    pub device: Device,
}

impl TensorOverride {
    pub fn new(pattern: &str, device: Device) -> Result<TensorOverride, PlacementError> {
        let re = Regex::new(pattern)
            .map_err(|e| PlacementError::Flag(format!("-ot: bad regex '{pattern}': {e}")))?;
        Ok(TensorOverride {
            pattern: re,
            device,
        })
    }

    /// Parses one `-ot` value: `REGEX=DEVICE[,REGEX=DEVICE...]` (as llama.cpp, split on commas).
    pub fn parse_list(value: &str) -> Result<Vec<TensorOverride>, PlacementError> {
        value
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|item| {
                let (pat, dev) = item.rsplit_once('=').ok_or_else(|| {
                    PlacementError::Flag(format!("-ot: '{item}' is not REGEX=DEVICE"))
                })?;
                let device = Device::parse(dev).ok_or_else(|| {
                    PlacementError::Flag(format!(
                        "-ot: unknown device '{dev}' in '{item}' (expected CPU or CUDA0, CUDA1, ...)"
                    ))
                })?;
                TensorOverride::new(pat, device)
            })
            .collect()
    }
}

/// `--fit`: choose the split automatically so that each GPU keeps `target_mib` free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// Margin left free on the device (llama.cpp's `--fit-target`, default 1024 MiB).
    pub target_mib: u64,
}

impl Default for Fit {
    fn default() -> Fit {
        Fit { target_mib: 1024 }
    }
}

/// Everything that decides where tensors live.
#[derive(Debug, Clone, Default)]
pub struct PlacementOptions {
    pub gpu_layers: GpuLayers,
    /// Expert tensors of the first N layers stay in RAM.
    pub n_cpu_moe: usize,
    /// Every expert tensor stays in RAM.
    pub cpu_moe: bool,
    /// `-ot` rules in the order given; they are checked before the `--cpu-moe`/`--n-cpu-moe` rules,
    /// which llama.cpp appends after them when parsing the command line in that order.
    pub overrides: Vec<TensorOverride>,
    pub fit: Option<Fit>,
}

impl PlacementOptions {
    /// All override rules in the order they are checked (first match wins).
    pub fn rules(&self) -> Result<Vec<TensorOverride>, PlacementError> {
        let mut rules = self.overrides.clone();
        if self.cpu_moe {
            rules.push(TensorOverride::new(FFN_EXPS_REGEX, Device::Cpu)?);
        }
        for il in 0..self.n_cpu_moe {
            rules.push(TensorOverride::new(
                &format!(r"blk\.{il}{FFN_EXPS_REGEX}"),
                Device::Cpu,
            )?);
        }
        Ok(rules)
    }

    /// True when nothing asks for a GPU placement beyond the default.
    pub fn wants_gpu(&self) -> bool {
        self.gpu_layers != GpuLayers::Count(0) || self.overrides.iter().any(|o| o.device.is_gpu())
    }
}
