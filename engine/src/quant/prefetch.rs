//! Software prefetch of weight bytes in the decode kernels, and where to leave it to the hardware.
//!
//! A decode kernel reads each weight byte once, front to back, so how far ahead the memory system
//! is asked for bytes decides how close it runs to RAM bandwidth. What was measured:
//! - on an AMD EPYC (Zen 5 class) 6 KiB ahead made a Q4_K_M Qwen3.5-MoE decode ~8% faster, and
//!   asking into L2 rather than L1 made it 12–20% faster on an Intel Xeon VM;
//! - on an AMD EPYC Zen 4 ("Genoa") VM the same requests made most kernels slower: two threads
//!   streaming a 150 MB matrix, repacked Q4_K ran at 52–58 GB/s without them and 45–49 with
//!   them, repacked IQ4_XS 43–48 vs 30–32, file-layout Q2_K/Q3_K ~10% slower; the Q4_K_M slice's
//!   generation ran ~10% faster without them (paired repetitions). Zen 4's L2 stream prefetcher
//!   keeps up alone there. Repacked Q5_K (values and fifth bits read from two places per block)
//!   and repacked Q4_0 (a scale area beside the values) still need the requests on Zen 4: without
//!   them Q5_K fell to 20 GB/s from 45–54, Q4_0 to ~30 from ~34. Repacked Q6_K measured the same
//!   either way; Gemma 3 270M, whose 178 MB output head is file-layout Q8_0, generated 3–6% slower
//!   without them (the Q8_0 slice the same either way).
//!
//! So the kernels call [`prefetch_ahead`], which Zen 4 skips, or [`prefetch_ahead_always`] (those
//! last four). `FITBENCH_PREFETCH=all` or `=hardware` overrides the choice, for other CPUs.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;
use std::sync::atomic::{AtomicU8, Ordering};

/// How far past the block being read the kernels ask for weight bytes: 6 KiB measured best of
/// 0.5–8 KiB on the Zen 5 class EPYC; 8–16 KiB were within noise of it on the Xeon, 3 KiB lower.
pub const PREFETCH_AHEAD: usize = 6144;

/// Prefetches the `len` bytes (whole cache lines) that start [`PREFETCH_AHEAD`] past `p`, unless
/// this CPU's hardware prefetcher serves a single forward stream better ([`Policy::Hardware`]).
#[inline(always)]
pub fn prefetch_ahead(p: *const u8, len: usize) {
    if policy() == Policy::Software {
        prefetch_ahead_always(p, len);
    }
}

/// [`prefetch_ahead`] on every CPU: for the kernels measured faster with it even on Zen 4. The
/// lines go to L2 (`T1`): L1's few miss buffers capped how many lines were in flight. Past the
/// end of the weights this only asks for lines nobody reads: a prefetch never faults.
#[inline(always)]
pub fn prefetch_ahead_always(p: *const u8, len: usize) {
    let q = p.wrapping_add(PREFETCH_AHEAD);
    let mut off = 0;
    while off < len {
        // SAFETY: a prefetch reads nothing architecturally and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(q.wrapping_add(off) as *const i8) };
        off += 64;
    }
}

/// Who fetches the weight bytes ahead of a kernel that reads them as one forward stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The kernel asks [`PREFETCH_AHEAD`] on.
    Software,
    /// The hardware prefetcher alone.
    Hardware,
}

impl Policy {
    /// The policy a `FITBENCH_PREFETCH` value names: `all` or `hardware`.
    pub fn parse(value: &str) -> Option<Policy> {
        match value.trim().to_ascii_lowercase().as_str() {
            "all" | "software" => Some(Policy::Software),
            "hardware" => Some(Policy::Hardware),
            _ => None,
        }
    }

    /// The name records carry: `software` or `hardware`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Software => "software",
            Policy::Hardware => "hardware",
        }
    }

    /// The measured choice for a CPU: [`Policy::Hardware`] on AMD family 19h with AVX-512 (Zen 4;
    /// Zen 3, the same family, has no AVX-512 and was not measured).
    pub fn for_cpu(vendor: &[u8; 12], family: u32, avx512: bool) -> Policy {
        if vendor == b"AuthenticAMD" && family == 0x19 && avx512 {
            Policy::Hardware
        } else {
            Policy::Software
        }
    }
}

/// 0: not decided yet; otherwise 1 + the policy's index. Read on every call, so a relaxed byte.
static POLICY: AtomicU8 = AtomicU8::new(0);

/// This process's policy: `FITBENCH_PREFETCH` when it names one, else [`Policy::for_cpu`].
#[inline(always)]
pub fn policy() -> Policy {
    match POLICY.load(Ordering::Relaxed) {
        1 => Policy::Software,
        2 => Policy::Hardware,
        _ => decide(),
    }
}

#[cold]
fn decide() -> Policy {
    let chosen = match std::env::var("FITBENCH_PREFETCH") {
        Ok(v) => Policy::parse(&v).unwrap_or_else(|| {
            eprintln!(
                "warning: FITBENCH_PREFETCH={v:?} is not `all` or `hardware`; choosing by CPU"
            );
            cpu_policy()
        }),
        Err(_) => cpu_policy(),
    };
    let code = match chosen {
        Policy::Software => 1,
        Policy::Hardware => 2,
    };
    POLICY.store(code, Ordering::Relaxed);
    chosen
}

fn cpu_policy() -> Policy {
    // CPUID leaves 0 and 1 exist on every x86_64 CPU.
    let (leaf0, leaf1) = (__cpuid(0), __cpuid(1));
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&leaf0.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&leaf0.edx.to_le_bytes());
    vendor[8..].copy_from_slice(&leaf0.ecx.to_le_bytes());
    Policy::for_cpu(&vendor, family(leaf1.eax), super::avx512_util::available())
}

/// The CPU family from CPUID leaf 1's EAX: the base family, plus the extended one when the base
/// is 0xF.
fn family(eax: u32) -> u32 {
    let base = (eax >> 8) & 0xF;
    if base == 0xF {
        base + ((eax >> 20) & 0xFF)
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_adds_the_extended_field_only_for_base_15() {
        // Zen 4 (EPYC 9004): family 19h, model 11h.
        assert_eq!(family(0x00A1_0F11), 0x19);
        // Zen 5: family 1Ah.
        assert_eq!(family(0x00B0_0F00), 0x1A);
        // An Intel Sapphire Rapids: family 6 (the extended field is not added).
        assert_eq!(family(0x0008_06F8), 6);
    }

    #[test]
    fn only_zen_4_leaves_the_stream_to_the_hardware() {
        assert_eq!(
            Policy::for_cpu(b"AuthenticAMD", 0x19, true),
            Policy::Hardware
        );
        assert_eq!(
            Policy::for_cpu(b"AuthenticAMD", 0x19, false),
            Policy::Software
        );
        assert_eq!(
            Policy::for_cpu(b"AuthenticAMD", 0x1A, true),
            Policy::Software
        );
        assert_eq!(Policy::for_cpu(b"GenuineIntel", 6, true), Policy::Software);
    }

    #[test]
    fn override_values_parse() {
        assert_eq!(Policy::parse("all"), Some(Policy::Software));
        assert_eq!(Policy::parse(" Hardware "), Some(Policy::Hardware));
        assert_eq!(Policy::parse("off"), None);
    }
}
