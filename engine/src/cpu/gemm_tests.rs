//! The GEMM path against the decode `vec_dot`, on random weights and activations, with tile edges
//! (rows and columns that are not multiples of the tile) covered. Every tile reproduces it bit for
//! bit; the transposed-activation product (IQ4_XS and the K-quants but Q2_K, on AVX-512 VNNI) sums the same block terms in
//! another order and is held to a rounding bound instead.

use super::gemm::{gemm_weights, gemm_weights_on, uses_column_kernel, TileIsa, Weights, MAX_COLS};
use super::matmul::quantize_rows;
use super::x86_dot::vec_dot_for;
use crate::gguf::GgmlType;
use crate::quant;

/// xorshift64*, enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        v as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    /// Values with a per-row scale and occasional outliers, as real weights and activations have.
    fn row(&mut self, k: usize, scale: f32) -> Vec<f32> {
        (0..k)
            .map(|i| {
                let v = self.next() + self.next() + self.next();
                if i % 97 == 13 {
                    v * scale * 8.0
                } else {
                    v * scale
                }
            })
            .collect()
    }
}

/// Quantized weights (`rows` × `k`) and activations (`n` × `k`) for `ty`.
fn random_problem(
    ty: GgmlType,
    rows: usize,
    k: usize,
    n: usize,
    seed: u64,
) -> (Vec<u8>, Vec<u8>, usize) {
    let kern = quant::kernels(ty).expect("kernels");
    let quantize = kern.quantize.expect("a reference quantizer");
    let mut rng = Rng(seed);
    let wrb = ty.bytes_for(k as u64).expect("whole blocks") as usize;
    let mut w = vec![0u8; rows * wrb];
    for (r, dst) in w.chunks_exact_mut(wrb).enumerate() {
        let x = rng.row(k, 0.02 * (1 + r % 5) as f32);
        quantize(&x, dst);
    }
    let x: Vec<f32> = (0..n)
        .flat_map(|t| rng.row(k, 0.5 + t as f32 * 0.3))
        .collect();
    let mut qa = Vec::new();
    let arb = quantize_rows(kern.dot_type, &x, k, &mut qa).expect("activations");
    (w, qa, arb)
}

/// Whether `ty`'s product of `n` columns on `isa` keeps the `vec_dot`'s float order.
fn keeps_vec_dot_order(ty: GgmlType, isa: TileIsa, n: usize) -> bool {
    !uses_column_kernel(ty, isa, n)
}

/// Σ |w_i · y_i| over the dequantized row and activations: the scale of the rounding error of
/// any order of summing the products.
fn magnitude(ty: GgmlType, k: usize, w: &[u8], a: &[u8]) -> f64 {
    let kern = quant::kernels(ty).expect("kernels");
    let akern = quant::kernels(kern.dot_type).expect("activation kernels");
    let (mut wf, mut af) = (vec![0f32; k], vec![0f32; k]);
    (kern.dequantize)(w, &mut wf);
    (akern.dequantize)(a, &mut af);
    wf.iter().zip(&af).map(|(x, y)| (x * y).abs() as f64).sum()
}

fn check_bit_identical(ty: GgmlType, rows: usize, k: usize, n: usize) {
    let (w, qa, arb) = random_problem(ty, rows, k, n, 0x9E37_79B9 ^ (rows * 31 + n) as u64);
    let wrb = w.len() / rows;
    let dot = vec_dot_for(ty).expect("vec_dot");
    let weights = Weights {
        name: "test",
        ty,
        row_len: k,
        rows,
        row_bytes: wrb,
        data: &w,
    };
    // Every instruction set this CPU runs (AVX2 and, where present, AVX-512 VNNI).
    for isa in TileIsa::available() {
        let mut out = vec![f32::NAN; n * rows];
        gemm_weights_on(isa, &weights, &qa, arb, n, &mut out, dot).expect("gemm");
        for t in 0..n {
            for r in 0..rows {
                let (wr, ar) = (&w[r * wrb..(r + 1) * wrb], &qa[t * arb..(t + 1) * arb]);
                let want = dot(k, wr, ar);
                let got = out[t * rows + r];
                if keeps_vec_dot_order(ty, isa, n) {
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{ty} {isa:?} rows {rows} n {n}: out[{t}][{r}] = {got}, vec_dot {want}"
                    );
                } else {
                    // Two f32 sums of the same exact block terms (one of them converted from
                    // integers above 2^24): each is off by at most a few ε·Σ|terms| per block.
                    let blocks = k.div_ceil(32) as f64;
                    let bound = (blocks + 8.0) * f32::EPSILON as f64 * magnitude(ty, k, wr, ar);
                    let diff = (got as f64 - want as f64).abs();
                    assert!(
                        diff <= bound,
                        "{ty} {isa:?} rows {rows} n {n} k {k}: out[{t}][{r}] = {got}, vec_dot \
                         {want}, difference {diff:e} > bound {bound:e}"
                    );
                }
            }
        }
    }
}

/// Shapes that exercise full tiles, row and column remainders and several column blocks.
fn check_shapes(ty: GgmlType) {
    let k = 512;
    for (rows, n) in [
        (4, 2),
        (11, 5),
        (8, MAX_COLS),
        (13, 2 * MAX_COLS + 3),
        (1, 7),
    ] {
        check_bit_identical(ty, rows, k, n);
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn tile_kernels_exist_for_the_main_formats() {
    if !(crate::isa_ceiling::avx2_allowed()
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c"))
    {
        eprintln!("skipped: no AVX2/FMA/F16C on this CPU (or FITBENCH_CPU_ISA=baseline)");
        return;
    }
    for ty in [
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_0,
        GgmlType::Q5_0,
        GgmlType::Q4_0,
        GgmlType::F32,
        GgmlType::IQ4_XS,
        GgmlType::MXFP4,
        GgmlType::IQ4_NL,
    ] {
        assert!(super::gemm::tile_kernel(ty).is_some(), "{ty}");
    }
}

#[test]
fn q2_k_matches_vec_dot_bit_for_bit() {
    check_shapes(GgmlType::Q2_K);
}

#[test]
fn q3_k_matches_vec_dot() {
    check_shapes(GgmlType::Q3_K);
    check_bit_identical(GgmlType::Q3_K, 19, 256 * 19, 37);
}

#[test]
fn q4_k_matches_vec_dot() {
    check_shapes(GgmlType::Q4_K);
    check_bit_identical(GgmlType::Q4_K, 19, 256 * 19, 37);
}

#[test]
fn q5_k_matches_vec_dot() {
    check_shapes(GgmlType::Q5_K);
    check_bit_identical(GgmlType::Q5_K, 19, 256 * 19, 37);
}

#[test]
fn q6_k_matches_vec_dot() {
    check_shapes(GgmlType::Q6_K);
    check_bit_identical(GgmlType::Q6_K, 19, 256 * 19, 37);
}

/// The 32-element formats also at odd row and block counts and a row longer than the AVX-512
/// tile's K chunk of 64 blocks.
fn check_q0_shapes(ty: GgmlType) {
    check_shapes(ty);
    check_bit_identical(ty, 5, 32 * 17, 7);
    check_bit_identical(ty, 6, 32 * 139, MAX_COLS + 2);
}

#[test]
fn q8_0_matches_vec_dot_bit_for_bit() {
    check_q0_shapes(GgmlType::Q8_0);
}

#[test]
fn q5_0_matches_vec_dot_bit_for_bit() {
    check_q0_shapes(GgmlType::Q5_0);
}

#[test]
fn q4_0_matches_vec_dot_bit_for_bit() {
    check_q0_shapes(GgmlType::Q4_0);
}

#[test]
fn mxfp4_matches_vec_dot_bit_for_bit() {
    check_q0_shapes(GgmlType::MXFP4);
}

#[test]
fn iq4_nl_matches_vec_dot_bit_for_bit() {
    check_q0_shapes(GgmlType::IQ4_NL);
}

#[test]
fn f32_matches_vec_dot_bit_for_bit() {
    check_shapes(GgmlType::F32);
    // A row length with a tail after the runs of eight.
    check_bit_identical(GgmlType::F32, 6, 515, 5);
}

#[test]
fn iq4_xs_matches_vec_dot() {
    check_shapes(GgmlType::IQ4_XS);
    // Rows past a tile of eight, a row longer than the K chunk of eight blocks, more than one
    // group of sixteen columns with a ragged last one.
    check_bit_identical(GgmlType::IQ4_XS, 19, 256 * 19, 37);
}

#[test]
fn formats_without_tile_kernels_fall_back_to_vec_dot() {
    for ty in [GgmlType::F16, GgmlType::Q8_K] {
        check_shapes(ty);
    }
}

#[test]
fn short_buffers_are_errors_not_panics() {
    let ty = GgmlType::Q4_K;
    let (w, qa, arb) = random_problem(ty, 4, 256, 3, 7);
    let dot = vec_dot_for(ty).expect("vec_dot");
    let weights = Weights {
        name: "short",
        ty,
        row_len: 256,
        rows: 4,
        row_bytes: w.len() / 4,
        data: &w[..w.len() - 1],
    };
    let mut out = vec![0f32; 12];
    assert!(gemm_weights(&weights, &qa, arb, 3, &mut out, dot).is_err());
    let weights = Weights {
        data: &w,
        ..weights
    };
    assert!(gemm_weights(&weights, &qa[..qa.len() - 1], arb, 3, &mut out, dot).is_err());
    assert!(gemm_weights(&weights, &qa, arb, 3, &mut out[..11], dot).is_err());
    let bad_k = Weights {
        row_len: 250,
        ..weights
    };
    assert!(gemm_weights(&bad_k, &qa, arb, 3, &mut out, dot).is_err());
}
