//! Runtime SIMD feature detection: what the engine's kernels can use on this CPU.

/// Names of the SIMD extensions this CPU supports (lowercase, as in /proc/cpuinfo).
pub fn simd_features() -> Vec<String> {
    let mut found = Vec::new();
    detect(&mut found);
    found.into_iter().map(str::to_string).collect()
}

/// Calls macro `$m` with the SIMD feature names that matter to the kernels on this architecture:
/// one list for runtime detection here and for the build's compile-time features (bench::host).
#[cfg(target_arch = "x86_64")]
macro_rules! for_each_simd_feature {
    ($m:ident) => {
        $m!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni",
            "avx512bf16",
            "avxvnni"
        )
    };
}

#[cfg(target_arch = "aarch64")]
macro_rules! for_each_simd_feature {
    ($m:ident) => {
        $m!("neon", "dotprod", "fp16", "i8mm", "bf16", "sve", "sve2")
    };
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
macro_rules! for_each_simd_feature {
    ($m:ident) => {};
}

pub(crate) use for_each_simd_feature;

#[cfg(target_arch = "x86_64")]
fn detect(found: &mut Vec<&'static str>) {
    macro_rules! check {
        ($($feat:tt),*) => {
            $(if std::arch::is_x86_feature_detected!($feat) { found.push($feat); })*
        };
    }
    for_each_simd_feature!(check);
}

#[cfg(target_arch = "aarch64")]
fn detect(found: &mut Vec<&'static str>) {
    macro_rules! check {
        ($($feat:tt),*) => {
            $(if std::arch::is_aarch64_feature_detected!($feat) { found.push($feat); })*
        };
    }
    for_each_simd_feature!(check);
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect(_found: &mut Vec<&'static str>) {}
