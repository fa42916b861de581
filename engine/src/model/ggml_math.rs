//! Bit-faithful scalar versions of ggml's vectorized exp / SiLU (`ggml_v_expf`, `ggml_v_silu`).
//!
//! llama.cpp evaluates SiLU, SwiGLU and softmax with a polynomial exp over SIMD-width chunks and
//! libm `expf` on the tail. The last-ulp differences from libm change which way later activation
//! quantization rounds, which moves logits by up to ~0.05; reproducing them keeps us on the reference.

/// Lanes of the reference build's SIMD exp (AVX-512: 16; AVX2: 8).
pub const SIMD_WIDTH: usize = 16;

/// ggml_v_expf (AVX-512 variant: `scalef(j, n)` with the 1 folded into the polynomial).
#[inline]
pub fn v_expf(x: f32) -> f32 {
    let r = f32::from_bits(0x4b40_0000); // 0x1.8p23
    let z = x.mul_add(f32::from_bits(0x3fb8_aa3b), r); // 0x1.715476p+0
    let n = z - r;
    let b = (-n).mul_add(
        f32::from_bits(0x35bf_be8e),
        (-n).mul_add(f32::from_bits(0x3f31_7200), x),
    ); // 0x1.7f7d1cp-20, 0x1.62e4p-1
    if n.abs() > 126.0 {
        return x.exp();
    }
    let u = b * b;
    let p_hi = f32::from_bits(0x3c07_2010).mul_add(b, f32::from_bits(0x3d2b_9f17)); // 0x1.0e402p-7, 0x1.573e2ep-5
    let p_lo = f32::from_bits(0x3e2a_af33).mul_add(b, f32::from_bits(0x3eff_fedb)); // 0x1.555e66p-3, 0x1.fffdb6p-2
    let c1 = f32::from_bits(0x3f7f_fff6); // 0x1.ffffecp-1
    let k = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if SIMD_WIDTH == 16 {
        let j = p_hi.mul_add(u, p_lo).mul_add(u, c1.mul_add(b, 1.0));
        j * k
    } else {
        let j = p_hi.mul_add(u, p_lo).mul_add(u, c1 * b);
        j.mul_add(k, k)
    }
}

/// ggml_v_silu: `x / (1 + v_expf(-x))`.
#[inline]
pub fn v_silu(x: f32) -> f32 {
    x / (1.0 + v_expf(-x))
}

/// ggml_silu_f32 (tail elements): libm exp.
#[inline]
pub fn silu_scalar(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// Runs `f` compiled with FMA enabled when the CPU has it: `mul_add` becomes one instruction
/// instead of a libm call (the same exactly rounded result either way).
#[inline(always)]
fn with_fma<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if crate::isa_ceiling::avx2_allowed() && std::is_x86_feature_detected!("fma") {
        #[target_feature(enable = "fma")]
        unsafe fn fma<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: FMA support checked just above.
        return unsafe { fma(f) };
    }
    f()
}

/// `y[i] = silu(x[i])` the way ggml_vec_silu_f32 splits SIMD chunks and tail.
pub fn silu_in_place(x: &mut [f32]) {
    with_fma(|| silu_chunks(x))
}

#[inline(always)]
fn silu_chunks(x: &mut [f32]) {
    let bulk = x.len() / SIMD_WIDTH * SIMD_WIDTH;
    for v in &mut x[..bulk] {
        *v = v_silu(*v);
    }
    for v in &mut x[bulk..] {
        *v = silu_scalar(*v);
    }
}

/// `g[i] = silu(g[i]) * u[i]` as ggml_vec_swiglu_f32.
pub fn swiglu_in_place(g: &mut [f32], u: &[f32]) {
    silu_in_place(g);
    for (a, &b) in g.iter_mut().zip(u) {
        *a *= b;
    }
}

/// ggml_gelu_f32: the tanh approximation.
fn gelu_f32(x: f32) -> f32 {
    const GELU_COEF_A: f32 = 0.044715;
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)).tanh())
}

/// GELU of every f16 value, rounded to f16: ggml's `ggml_table_gelu_f16`, built once.
fn gelu_table() -> &'static [u16] {
    use half::f16;
    static TABLE: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|bits| f16::from_f32(gelu_f32(f16::from_bits(bits).to_f32())).to_bits())
            .collect()
    })
}

/// `g[i] = gelu(g[i]) * u[i]` as ggml_vec_geglu_f32 with GGML_GELU_FP16: the input rounded to
/// f16, GELU looked up in the f16 table, identity/zero outside ±10.
pub fn geglu_in_place(g: &mut [f32], u: &[f32]) {
    use half::f16;
    let table = gelu_table();
    for (a, &b) in g.iter_mut().zip(u) {
        let x = *a;
        *a = if x <= -10.0 {
            0.0
        } else if x >= 10.0 {
            x * b
        } else {
            let y = table[f16::from_f32(x).to_bits() as usize];
            f16::from_bits(y).to_f32() * b
        };
    }
}

/// `y = exp(x - max)` and the f64 sum, as ggml_vec_soft_max_f32 over a row of `row_len >= x.len()`
/// elements whose remainder is masked (-inf, contributing 0): the row length decides which
/// elements fall in SIMD chunks.
pub fn exp_sum(x: &mut [f32], max: f32, row_len: usize) -> f64 {
    with_fma(|| exp_sum_chunks(x, max, row_len))
}

#[inline(always)]
fn exp_sum_chunks(x: &mut [f32], max: f32, row_len: usize) -> f64 {
    let bulk = (row_len / SIMD_WIDTH * SIMD_WIDTH).min(x.len());
    let mut sum = 0f64;
    for chunk in x[..bulk].chunks_mut(SIMD_WIDTH) {
        let mut s = 0f32;
        for v in chunk.iter_mut() {
            *v = v_expf(*v - max);
        }
        // _mm512_reduce_add_ps / the AVX2 horizontal add: a pairwise tree.
        let mut lanes = [0f32; SIMD_WIDTH];
        lanes[..chunk.len()].copy_from_slice(chunk);
        let mut lanes = &mut lanes[..];
        while lanes.len() > 1 {
            let h = lanes.len() / 2;
            for i in 0..h {
                lanes[i] += lanes[i + h];
            }
            lanes = &mut lanes[..h];
        }
        s += lanes[0];
        sum += s as f64;
    }
    for v in &mut x[bulk..] {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_expf_is_close_to_exp() {
        for i in -400..400 {
            let x = i as f32 * 0.2;
            let (a, b) = (v_expf(x), x.exp());
            assert!((a - b).abs() <= b * 4e-7, "{x}: {a} vs {b}");
        }
    }

    #[test]
    fn fma_build_of_silu_gives_the_same_bits() {
        let xs: Vec<f32> = (-3000..3000).map(|i| i as f32 * 0.031).collect();
        let mut fast = xs.clone();
        assert_eq!(
            xs.len() % SIMD_WIDTH,
            0,
            "all elements take the vector path"
        );
        silu_in_place(&mut fast);
        for (x, f) in xs.iter().zip(&fast) {
            assert_eq!(v_silu(*x).to_bits(), f.to_bits(), "{x}");
        }
    }
}

/// Softmax of the first `x.len()` entries of a score row of `row_len` whose rest is masked.
pub fn softmax_masked_row_len(x: &mut [f32], row_len: usize) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum = exp_sum(x, max, row_len);
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}
