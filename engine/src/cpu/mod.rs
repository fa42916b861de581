//! CPU compute: matrix products over any weight format through `quant::kernels`, and the thread pool.

pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_cols;
#[cfg(target_arch = "x86_64")]
mod gemm_cols32;
#[cfg(target_arch = "x86_64")]
mod gemm_cols_driver;
#[cfg(target_arch = "x86_64")]
mod gemm_cols_iq4_xs;
#[cfg(target_arch = "x86_64")]
mod gemm_cols_k16;
#[cfg(target_arch = "x86_64")]
mod gemm_cols_kquant;
#[cfg(target_arch = "x86_64")]
mod gemm_f32;
#[cfg(target_arch = "x86_64")]
mod gemm_iq4_xs;
#[cfg(target_arch = "x86_64")]
mod gemm_k16;
#[cfg(target_arch = "x86_64")]
mod gemm_kquant;
#[cfg(target_arch = "x86_64")]
mod gemm_nibble;
pub mod gemm_packed;
#[cfg(target_arch = "x86_64")]
mod gemm_q0_wide;
#[cfg(target_arch = "x86_64")]
mod gemm_q8_0;
#[cfg(target_arch = "x86_64")]
mod gemm_simd;
#[cfg(test)]
mod gemm_tests;
mod heap;
pub mod matmul;
pub mod matvec;
pub mod parallel;
pub mod pool;
pub mod x86_dot;
#[cfg(target_arch = "x86_64")]
mod x86_dot_simd;

pub use matmul::{matmul, quantize_rows, MatmulError};
pub use matvec::{matvec, matvec_jobs, MatvecJob, WeightRows};
pub use pool::ThreadPool;
