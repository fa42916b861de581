//! Sanity checks on a parsed profile: catches typos (GB vs MB, a missing digit) before they reach the planner.

use super::{HardwareProfile, ProfileError};

/// Backends the planner knows how to reason about.
pub const KNOWN_BACKENDS: &[&str] = &["cuda", "rocm", "metal", "vulkan", "sycl"];

/// Checks that every figure is finite, positive where it must be, and within a plausible range.
pub fn validate_profile(p: &HardwareProfile, origin: &str) -> Result<(), ProfileError> {
    let bad = |field: &str, message: String| ProfileError::Invalid {
        path: origin.to_string(),
        field: field.to_string(),
        message,
    };
    if p.name.trim().is_empty() {
        return Err(bad("name", "must not be empty".into()));
    }
    if p.cpu.physical_cores == 0 || p.cpu.logical_cores < p.cpu.physical_cores {
        return Err(bad(
            "cpu.logical_cores",
            format!(
                "need physical_cores >= 1 and logical_cores >= physical_cores (got {} / {})",
                p.cpu.physical_cores, p.cpu.logical_cores
            ),
        ));
    }
    if let Some(g) = p.cpu.gflops {
        in_range(g, 1.0, 1.0e6, "GFLOP/s").map_err(|m| bad("cpu.gflops", m))?;
    }
    in_range(p.ram.total_gib, 0.25, 65536.0, "GiB").map_err(|m| bad("ram.total_gib", m))?;
    in_range(p.ram.bandwidth_gbs, 0.5, 10_000.0, "GB/s")
        .map_err(|m| bad("ram.bandwidth_gbs", m))?;
    if let Some(a) = p.ram.available_gib {
        in_range(a, 0.0, p.ram.total_gib * 1.001, "GiB (at most total_gib)")
            .map_err(|m| bad("ram.available_gib", m))?;
    }
    if let Some(m) = p.ram.measured_read_gbs {
        in_range(m, 0.01, 10_000.0, "GB/s").map_err(|e| bad("ram.measured_read_gbs", e))?;
    }
    for (i, g) in p.gpus.iter().enumerate() {
        let f = |name: &str| format!("gpus[{i}].{name}");
        if !KNOWN_BACKENDS.contains(&g.backend.as_str()) {
            return Err(bad(
                &f("backend"),
                format!(
                    "`{}` is not one of {}",
                    g.backend,
                    KNOWN_BACKENDS.join(", ")
                ),
            ));
        }
        in_range(g.vram_gib, 0.25, 4096.0, "GiB").map_err(|m| bad(&f("vram_gib"), m))?;
        if let Some(free) = g.free_gib {
            in_range(free, 0.0, g.vram_gib * 1.001, "GiB (at most vram_gib)")
                .map_err(|m| bad(&f("free_gib"), m))?;
        }
        in_range(g.bandwidth_gbs, 1.0, 100_000.0, "GB/s")
            .map_err(|m| bad(&f("bandwidth_gbs"), m))?;
        in_range(g.fp16_tflops, 0.01, 100_000.0, "TFLOP/s")
            .map_err(|m| bad(&f("fp16_tflops"), m))?;
        if let Some(l) = &g.pcie {
            if !(1..=7).contains(&l.gen) || ![1, 2, 4, 8, 16].contains(&l.width) {
                return Err(bad(
                    &f("pcie"),
                    format!(
                        "gen {} x{} is not a PCIe link (gen 1..7, width 1/2/4/8/16)",
                        l.gen, l.width
                    ),
                ));
            }
            in_range(l.bandwidth_gbs, 0.1, 1000.0, "GB/s")
                .map_err(|m| bad(&f("pcie.bandwidth_gbs"), m))?;
        }
    }
    if let Some(u) = &p.unified_memory {
        in_range(
            u.gpu_usable_gib,
            0.25,
            p.ram.total_gib * 1.001,
            "GiB (at most ram.total_gib)",
        )
        .map_err(|m| bad("unified_memory.gpu_usable_gib", m))?;
    }
    Ok(())
}

fn in_range(v: f64, lo: f64, hi: f64, unit: &str) -> Result<(), String> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(format!(
            "{v} is outside the plausible range {lo}..={hi} {unit}"
        ))
    }
}
