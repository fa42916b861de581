//! `out[t][r] = W[r] · x[t]` for a weight W of any supported format.
//!
//! As in llama.cpp, each activation row is first converted once to the weight type's `dot_type`
//! (F16 for F16, Q8_K for K-quants, ...), then every weight row is dotted with it by `vec_dot`.

use super::parallel;
use crate::gguf::GgmlType;
use crate::quant;
use crate::tensor::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum MatmulError {
    #[error("no kernels for {0} (tensor '{1}')")]
    Unsupported(&'static str, String),
    #[error("tensor '{name}': row length {row_len} is not a multiple of the {ty} block size")]
    BadRowLength {
        name: String,
        row_len: usize,
        ty: &'static str,
    },
    #[error("tensor '{name}': {detail}")]
    Shape { name: String, detail: String },
    #[error("{0} matrix-vector jobs in one call; at most {1}")]
    TooManyJobs(usize, usize),
}

/// Converts `n` rows of `k` floats to `ty` (a dot type), returning the bytes per row.
pub fn quantize_rows(
    ty: GgmlType,
    x: &[f32],
    k: usize,
    out: &mut Vec<u8>,
) -> Result<usize, MatmulError> {
    // llama.cpp's x86 `from_float` (ties to even for Q8_0/Q8_1), not the reference quantizer.
    let quantize = crate::quant::activation_quantizer(ty)
        .ok_or_else(|| MatmulError::Unsupported(ty.name(), "(no quantizer)".into()))?;
    if k as u64 % ty.block_size() != 0 {
        return Err(MatmulError::BadRowLength {
            name: "activations".into(),
            row_len: k,
            ty: ty.name(),
        });
    }
    let rb = ty.bytes_for(k as u64).unwrap_or(0) as usize;
    let n = x.len() / k;
    out.clear();
    out.resize(rb * n, 0);
    if n > 1 {
        // Prompts: rows are independent, so quantize them in parallel.
        parallel::for_each_chunk_mut(out, rb, |i, dst| quantize(&x[i * k..(i + 1) * k], dst));
    } else {
        for (src, dst) in x.chunks_exact(k).zip(out.chunks_exact_mut(rb)) {
            quantize(src, dst);
        }
    }
    Ok(rb)
}

/// `x` holds `n` rows of `w.row_len()` floats; `out` gets `n` rows of `w.n_rows()` floats.
pub fn matmul(w: &Tensor, x: &[f32], out: &mut [f32]) -> Result<(), MatmulError> {
    let k = w.row_len();
    let rows = w.n_rows();
    let n = x.len() / k;
    debug_assert_eq!(out.len(), n * rows);
    // One token (decode): the bandwidth-bound matrix-vector path.
    if n == 1 {
        return super::matvec::matvec(w, x, out);
    }
    let kern = quant::kernels(w.ty)
        .ok_or_else(|| MatmulError::Unsupported(w.ty.name(), w.name.clone()))?;
    let mut qa = crate::scratch::Scratch::<u8>::empty();
    let arb = quantize_rows(kern.dot_type, x, k, &mut qa)?;
    let vec_dot = super::x86_dot::vec_dot_for(w.ty).unwrap_or(kern.vec_dot);
    // No rows wanted (e.g. logits of a micro-batch whose positions are all unwanted).
    if n == 0 {
        return Ok(());
    }
    super::gemm::gemm(w, &qa, arb, n, out, vec_dot)?;
    Ok(())
}
