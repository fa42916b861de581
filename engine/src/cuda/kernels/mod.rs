//! CUDA C sources of the backend's kernels, embedded in the binary and compiled at run time by
//! NVRTC for the device's architecture. Kept free of cudarc so the sources can be checked (and,
//! for the format decoding, run on the host with a C++ compiler) on machines without CUDA.

use crate::gguf::GgmlType;

/// `(file name, text)` of the shared headers, resolved by [`assemble`].
const HEADERS: &[(&str, &str)] = &[
    ("common.cuh", include_str!("common.cuh")),
    ("dequant.cuh", include_str!("dequant.cuh")),
];

/// One compilation unit: its name and source (before header resolution).
#[derive(Debug, Clone, Copy)]
pub struct KernelSource {
    pub name: &'static str,
    pub text: &'static str,
    /// The `extern "C"` kernels it defines.
    pub kernels: &'static [&'static str],
}

pub const MATMUL: KernelSource = KernelSource {
    name: "matmul.cu",
    text: include_str!("matmul.cu"),
    kernels: &[
        "mm_f32", "mm_f16", "mm_bf16", "mm_q8_0", "mm_q4_0", "mm_q5_0", "mm_q4_k", "mm_q5_k",
        "mm_q6_k",
    ],
};

pub const NORM: KernelSource = KernelSource {
    name: "norm.cu",
    text: include_str!("norm.cu"),
    kernels: &["rms_norm_rows"],
};

pub const ELEMENTWISE: KernelSource = KernelSource {
    name: "elementwise.cu",
    text: include_str!("elementwise.cu"),
    kernels: &["swiglu", "softmax_rows", "add_in_place", "sigmoid_gate"],
};

pub const ROPE: KernelSource = KernelSource {
    name: "rope.cu",
    text: include_str!("rope.cu"),
    kernels: &["rope_neox", "rope_norm"],
};

pub const ATTENTION: KernelSource = KernelSource {
    name: "attention.cu",
    text: include_str!("attention.cu"),
    kernels: &["attn_decode_split", "attn_decode_combine", "attn_prompt"],
};

pub const DELTA_NET: KernelSource = KernelSource {
    name: "delta_net.cu",
    text: include_str!("delta_net.cu"),
    kernels: &["conv1d_silu_step", "delta_net_step"],
};

pub const MOE: KernelSource = KernelSource {
    name: "moe.cu",
    text: include_str!("moe.cu"),
    kernels: &["moe_topk_softmax"],
};

/// Every compilation unit, for the compile-everything test.
pub const ALL: &[KernelSource] = &[MATMUL, NORM, ELEMENTWISE, ROPE, ATTENTION, DELTA_NET, MOE];

/// The source with `common.cuh` first and our own `#include "x.cuh"` lines replaced by the
/// header text (NVRTC here gets no include paths; each header has include guards).
pub fn assemble(src: &KernelSource) -> String {
    let mut out = String::from(HEADERS[0].1);
    out.push('\n');
    for line in src.text.lines() {
        let included = line
            .trim()
            .strip_prefix("#include \"")
            .and_then(|r| r.strip_suffix('"'))
            .and_then(|name| HEADERS.iter().find(|(n, _)| *n == name));
        match included {
            Some((_, text)) => out.push_str(text),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The matmul kernel for a weight format, if the backend has one.
pub fn matmul_kernel(ty: GgmlType) -> Option<&'static str> {
    Some(match ty {
        GgmlType::F32 => "mm_f32",
        GgmlType::F16 => "mm_f16",
        GgmlType::BF16 => "mm_bf16",
        GgmlType::Q8_0 => "mm_q8_0",
        GgmlType::Q4_0 => "mm_q4_0",
        GgmlType::Q5_0 => "mm_q5_0",
        GgmlType::Q4_K => "mm_q4_k",
        GgmlType::Q5_K => "mm_q5_k",
        GgmlType::Q6_K => "mm_q6_k",
        _ => return None,
    })
}

#[cfg(test)]
mod host_tests;
