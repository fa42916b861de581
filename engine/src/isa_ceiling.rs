//! The highest x86 instruction-set level the kernels may use: the CPU's own, or a lower one named
//! by `FITBENCH_CPU_ISA`, so that one machine can run (and test) what an older CPU would run, and
//! compare it with a llama.cpp built for that CPU:
//! - `avxvnni`: AVX2, FMA, F16C and AVX-VNNI where the CPU has it, no AVX-512: Intel desktop and
//!   laptop CPUs since Alder Lake;
//! - `avx2`: AVX2, FMA, F16C without AVX-VNNI: older Intel CPUs, AMD Zen 1-3;
//! - `baseline`: none of those; the scalar reference kernels everywhere.
//!
//! Every run-time feature check asks here first, so the kernel choice follows the ceiling.

use std::sync::OnceLock;

/// An instruction-set level, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IsaLevel {
    Baseline,
    Avx2,
    AvxVnni,
    Native,
}

impl IsaLevel {
    /// The level a `FITBENCH_CPU_ISA` value names, or `None` for a value it does not know.
    pub fn parse(value: &str) -> Option<IsaLevel> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "native" | "avx512" => Some(IsaLevel::Native),
            "avxvnni" | "avx-vnni" => Some(IsaLevel::AvxVnni),
            "avx2" => Some(IsaLevel::Avx2),
            "baseline" | "scalar" | "sse2" => Some(IsaLevel::Baseline),
            _ => None,
        }
    }
}

/// The ceiling for this process, read once from `FITBENCH_CPU_ISA` (unset: the CPU's own). An
/// unknown value is reported on stderr and ignored.
pub fn ceiling() -> IsaLevel {
    static CEILING: OnceLock<IsaLevel> = OnceLock::new();
    *CEILING.get_or_init(|| {
        let Some(value) = std::env::var_os("FITBENCH_CPU_ISA") else {
            return IsaLevel::Native;
        };
        let value = value.to_string_lossy();
        IsaLevel::parse(&value).unwrap_or_else(|| {
            eprintln!(
                "warning: FITBENCH_CPU_ISA={value:?} is not one of native, avxvnni, avx2, baseline; using the CPU's own"
            );
            IsaLevel::Native
        })
    })
}

/// Whether AVX2-level kernels (AVX2, FMA, F16C) may run, where the CPU has them.
pub fn avx2_allowed() -> bool {
    ceiling() >= IsaLevel::Avx2
}

/// Whether AVX-VNNI (256-bit `vpdpbusd` without AVX-512) may run, where the CPU has it.
pub fn avx_vnni_allowed() -> bool {
    ceiling() >= IsaLevel::AvxVnni
}

/// Whether AVX-512 kernels may run, where the CPU has them.
pub fn avx512_allowed() -> bool {
    ceiling() >= IsaLevel::Native
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!(IsaLevel::parse("AVX2"), Some(IsaLevel::Avx2));
        assert_eq!(IsaLevel::parse(" baseline "), Some(IsaLevel::Baseline));
        assert_eq!(IsaLevel::parse("native"), Some(IsaLevel::Native));
        assert_eq!(IsaLevel::parse("avxvnni"), Some(IsaLevel::AvxVnni));
        assert_eq!(IsaLevel::parse("avx10"), None);
        assert!(IsaLevel::Baseline < IsaLevel::Avx2 && IsaLevel::Avx2 < IsaLevel::AvxVnni);
        assert!(IsaLevel::AvxVnni < IsaLevel::Native);
    }
}
