//! CPU compute: matrix products over any weight format through `quant::kernels`, and the thread pool.

pub mod matmul;
pub mod matvec;
pub mod pool;
pub mod x86_dot;
#[cfg(target_arch = "x86_64")]
mod x86_dot_simd;

pub use matmul::{matmul, quantize_rows, MatmulError};
pub use matvec::{matvec, matvec_jobs, MatvecJob, WeightRows};
pub use pool::ThreadPool;
