//! Several GPUs in one machine, as llama.cpp's default `--split-mode layer` uses them: the repeating
//! layers are divided into contiguous blocks, one per GPU, in proportion to each GPU's free memory
//! (the default `--tensor-split`); a token passes through the blocks one after the other.
//!
//! So, for the speed model, a set of GPUs acts as one device whose time per byte is the
//! share-weighted sum of the members' (`1 / B_eff = Σ f_i / B_i`), plus one hidden-state hand-over
//! per extra GPU per token. Memory: the weights, KV cache and state split by the same shares; every
//! GPU also holds its own runtime (CUDA context) and compute buffer.

use crate::hw::HardwareProfile;

const GIB: f64 = (1u64 << 30) as f64;

/// The GPUs of a profile seen as one layer-split device.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSet {
    /// Share of the layers each GPU holds (sums to 1).
    pub shares: Vec<f64>,
    /// Effective bandwidth, GB/s (measured where the profile has it).
    pub bandwidth_gbs: f64,
    /// Effective dense FP16 tensor TFLOP/s.
    pub fp16_tflops: f64,
    /// Usable memory of each GPU, bytes (free if probed, the unified-memory limit, else total).
    pub capacity: Vec<u64>,
}

impl GpuSet {
    pub fn of(hw: &HardwareProfile) -> Option<GpuSet> {
        if hw.gpus.is_empty() {
            return None;
        }
        let capacity: Vec<u64> = hw
            .gpus
            .iter()
            .map(|g| {
                let gib = match &hw.unified_memory {
                    Some(u) => u.gpu_usable_gib,
                    None => g.free_gib.unwrap_or(g.vram_gib),
                };
                (gib.max(0.0) * GIB) as u64
            })
            .collect();
        let total: u64 = capacity.iter().sum();
        let n = capacity.len() as f64;
        let shares: Vec<f64> = if total == 0 {
            vec![1.0 / n; capacity.len()]
        } else {
            capacity.iter().map(|&c| c as f64 / total as f64).collect()
        };
        let mut per_byte = 0.0;
        let mut per_flop = 0.0;
        for (g, f) in hw.gpus.iter().zip(&shares) {
            let bw = g
                .measured_bandwidth_gbs
                .unwrap_or(g.bandwidth_gbs)
                .max(1e-3);
            per_byte += f / bw;
            per_flop += f / g.fp16_tflops.max(1e-3);
        }
        Some(GpuSet {
            shares,
            bandwidth_gbs: 1.0 / per_byte,
            fp16_tflops: 1.0 / per_flop,
            capacity,
        })
    }

    pub fn n_gpus(&self) -> usize {
        self.shares.len()
    }

    /// Total usable memory over all GPUs, bytes.
    pub fn total_capacity(&self) -> u64 {
        self.capacity.iter().sum()
    }

    /// Memory each GPU holds for an aggregate estimate: the split part (weights, KV, state) by
    /// share, plus a full compute buffer and runtime on every GPU.
    pub fn split(&self, split_part: u64, per_gpu: u64) -> Vec<u64> {
        self.shares
            .iter()
            .map(|f| (split_part as f64 * f).round() as u64 + per_gpu)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unequal_pair_splits_by_memory_and_adds_time_per_byte() {
        let hw = crate::hw::find_profile("rtx-5070-ti-plus-5060-ti").unwrap();
        let s = GpuSet::of(&hw).unwrap();
        assert_eq!(s.n_gpus(), 2);
        // 16 + 16 GB: half the layers each; 1 / (0.5/896 + 0.5/448) = 597.3 GB/s.
        assert!((s.shares[0] - 0.5).abs() < 1e-12);
        assert!(
            (s.bandwidth_gbs - 597.333).abs() < 0.01,
            "{}",
            s.bandwidth_gbs
        );
        assert_eq!(s.split(100, 7), vec![57, 57]);
    }

    #[test]
    fn one_gpu_is_itself() {
        let hw = crate::hw::find_profile("rtx-3090").unwrap();
        let s = GpuSet::of(&hw).unwrap();
        assert_eq!(s.shares, vec![1.0]);
        assert!((s.bandwidth_gbs - 936.0).abs() < 1e-9);
        assert!(GpuSet::of(&crate::estimate::machines::cpu_2core()).is_none());
    }
}
