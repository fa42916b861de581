//! Norms and pointwise activations, with ggml's numerics (f64 sums in RMS norm, expf-based sigmoid).

/// `x / sqrt(mean(x^2) + eps)` in place (ggml_rms_norm: the sum of squares in f64).
pub fn rms_norm_in_place(x: &mut [f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| (v * v) as f64).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for v in x.iter_mut() {
        *v *= scale;
    }
}

/// RMS norm then elementwise weight.
pub fn rms_norm_weighted(x: &mut [f32], w: &[f32], eps: f32) {
    rms_norm_in_place(x, eps);
    for (v, &g) in x.iter_mut().zip(w) {
        *v *= g;
    }
}

/// Every row of `x` (rows of `w.len()`): `out = rms_norm(x) * w`.
pub fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    out.copy_from_slice(x);
    for row in out.chunks_exact_mut(w.len()) {
        rms_norm_weighted(row, w, eps);
    }
}

/// L2 norm as Qwen3.5's `build_gdn_l2_norm`: `rms_norm(x, eps/n) / sqrt(n)`.
pub fn l2_norm_in_place(x: &mut [f32], eps: f32) {
    let n = x.len() as f32;
    rms_norm_in_place(x, eps / n);
    let s = 1.0 / n.sqrt();
    for v in x.iter_mut() {
        *v *= s;
    }
}

#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[inline]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// ggml_softplus: `log(1 + e^x)`, linear above 20.
#[inline]
pub fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else {
        (1.0 + x.exp()).ln()
    }
}

/// Softmax in place (ggml_soft_max: f64 sum of exponentials).
pub fn softmax_in_place(x: &mut [f32]) {
    let n = x.len();
    softmax_masked_row(x, n);
}

/// Softmax of the first `x.len()` entries of a row of `row_len` whose rest is masked out.
pub fn softmax_masked_row(x: &mut [f32], row_len: usize) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum = super::ggml_math::exp_sum(x, max, row_len);
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_and_activations() {
        let mut x = vec![3.0f32, 4.0];
        l2_norm_in_place(&mut x, 0.0);
        assert!((x[0] - 0.6).abs() < 1e-6 && (x[1] - 0.8).abs() < 1e-6);
        let mut y = vec![1.0f32, 1.0, 1.0, 1.0];
        rms_norm_in_place(&mut y, 0.0);
        assert!((y[0] - 1.0).abs() < 1e-6);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
        assert!((softplus(0.0) - 2f32.ln()).abs() < 1e-6);
        let mut p = vec![1.0f32, 1.0];
        softmax_in_place(&mut p);
        assert!((p[0] - 0.5).abs() < 1e-7);
    }
}
