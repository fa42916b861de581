//! CPU compute: matrix products over any weight format through `quant::kernels`, and the thread pool.

pub mod matmul;
pub mod pool;
pub mod x86_dot;

pub use matmul::{matmul, quantize_rows, MatmulError};
pub use pool::ThreadPool;
