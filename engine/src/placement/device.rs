//! Where a weight (or a layer's KV cache / recurrent state) lives.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Device {
    /// Host RAM (the weights stay in the model's memory map).
    Cpu,
    /// CUDA device by ordinal (`CUDA0`, `CUDA1`, ...).
    Cuda(usize),
}

impl Device {
    /// Parses llama.cpp's buffer-type names: `CPU`, `CUDA0`, ... (case-insensitive).
    pub fn parse(s: &str) -> Option<Device> {
        let u = s.trim().to_ascii_uppercase();
        if u == "CPU" {
            return Some(Device::Cpu);
        }
        let n = u.strip_prefix("CUDA")?;
        if n.is_empty() {
            return Some(Device::Cuda(0));
        }
        n.parse().ok().map(Device::Cuda)
    }

    pub fn is_gpu(self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "CPU"),
            Device::Cuda(i) => write!(f, "CUDA{i}"),
        }
    }
}
