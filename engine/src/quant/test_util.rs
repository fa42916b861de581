//! Shared test machinery: committed reference data from gguf-py (see testdata/make_testdata.py),
//! an f64 dot-product reference, and round-trip error checks. Test-only.

use super::kernels;
use crate::gguf::GgmlType;

/// Deterministic xorshift generator so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Roughly normal (sum of uniforms), mean 0, unit variance.
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }
}

/// Data sets the kernels must handle: ordinary, with outliers, extreme magnitudes, all zeros,
/// zero blocks between non-zero ones, and a single sign.
pub fn test_vectors(n: usize, block: usize, seed: u64) -> Vec<(&'static str, Vec<f32>)> {
    let mut r = Rng::new(seed);
    let normal: Vec<f32> = (0..n).map(|_| r.normal()).collect();
    let mut outliers = normal.clone();
    for i in (0..n).step_by(97) {
        outliers[i] *= 40.0;
    }
    let extreme: Vec<f32> = (0..n)
        .map(|i| {
            if i % 5 == 0 {
                900.0 * r.normal()
            } else {
                1e-3 * r.normal()
            }
        })
        .collect();
    let mut zero_blocks = normal.clone();
    for (b, chunk) in zero_blocks.chunks_mut(block).enumerate() {
        if b % 2 == 1 {
            chunk.fill(0.0);
        }
    }
    let positive: Vec<f32> = normal.iter().map(|v| v.abs() + 0.5).collect();
    vec![
        ("normal", normal),
        ("outliers", outliers),
        ("extreme", extreme),
        ("zeros", vec![0.0; n]),
        ("zero blocks", zero_blocks),
        ("positive", positive),
    ]
}

pub fn quantize_to(ty: GgmlType, x: &[f32]) -> Vec<u8> {
    let k = kernels(ty).expect("type registered");
    let quantize = k.quantize.expect("type has a quantizer");
    let mut out = vec![0u8; ty.bytes_for(x.len() as u64).expect("whole blocks") as usize];
    quantize(x, &mut out);
    out
}

pub fn dequantize_from(ty: GgmlType, bytes: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    (kernels(ty).expect("type registered").dequantize)(bytes, &mut out);
    out
}

/// vec_dot(weights, activations) against Σ dequant(w)·dequant(a) in f64.
fn check_dot_bytes(ty: GgmlType, what: &str, w: &[u8], x: &[f32], rel: f64) {
    let k = kernels(ty).expect("type registered");
    let n = x.len();
    let a = quantize_to(k.dot_type, x);
    let wd = dequantize_from(ty, w, n);
    let ad = dequantize_from(k.dot_type, &a, n);
    let exact: f64 = wd.iter().zip(&ad).map(|(&p, &q)| p as f64 * q as f64).sum();
    let magnitude: f64 = wd
        .iter()
        .zip(&ad)
        .map(|(&p, &q)| (p as f64 * q as f64).abs())
        .sum();
    let got = (k.vec_dot)(n, w, &a) as f64;
    let mut tol = rel * magnitude * (1.0 + (n / ty.block_size() as usize) as f64).sqrt() + 1e-30;
    if k.dot_type == GgmlType::Q8_1 {
        // ggml applies the weight block's minimum m through the activations' s = f16(d·Σq), not
        // through the dequantized activations: allow that f16 rounding, |m·s|·2⁻¹¹ per block.
        let f16 = |b: &[u8]| half::f16::from_le_bytes([b[2], b[3]]).to_f32() as f64;
        let wsize = ty.type_size() as usize;
        let asize = k.dot_type.type_size() as usize;
        tol += w
            .chunks(wsize)
            .zip(a.chunks(asize))
            .map(|(wb, ab)| (f16(wb) * f16(ab)).abs())
            .sum::<f64>()
            / 2048.0;
    }
    assert!(
        (got - exact).abs() <= tol,
        "{ty} {what} n={n}: vec_dot {got} vs f64 {exact} (|diff| {} > tol {tol})",
        (got - exact).abs()
    );
}

/// vec_dot on quantized test vectors of 1, 3, 7 and more blocks, and on the committed real tensor
/// rows; tolerance 2e-6·Σ|w·a|·√(blocks+1) (f32 accumulation of exact integer block sums).
pub fn check_vec_dot(ty: GgmlType) {
    check_vec_dot_tol(ty, 2e-6);
}

/// [`check_vec_dot`] with relative tolerance `rel` (times Σ|w·a|·√(blocks+1)).
pub fn check_vec_dot_tol(ty: GgmlType, rel: f64) {
    let block = ty.block_size() as usize;
    for nb in [1usize, 3, 7, QK / block + 1] {
        let n = nb * block;
        for (wname, w) in test_vectors(n, ty.block_size() as usize, 1 + nb as u64) {
            let wq = quantize_to(ty, &w);
            for (aname, a) in test_vectors(n, 32, 100 + nb as u64) {
                check_dot_bytes(ty, &format!("w={wname} a={aname}"), &wq, &a, rel);
            }
        }
    }
    if let Some(data) = TestData::load(ty) {
        let mut r = Rng::new(7);
        let a: Vec<f32> = (0..data.n).map(|_| r.normal()).collect();
        check_dot_bytes(ty, "real tensor rows", &data.raw, &a, rel);
    }
}

const QK: usize = 256;

/// Quantize then dequantize test vectors; every element's error must stay within `rel` times the
/// largest magnitude of its block.
pub fn check_round_trip(ty: GgmlType, rel: f32) {
    let block = ty.block_size() as usize;
    let n = 8 * block.max(QK);
    for (name, x) in test_vectors(n, block, 42) {
        let y = dequantize_from(ty, &quantize_to(ty, &x), n);
        for (b, (xb, yb)) in x.chunks(block).zip(y.chunks(block)).enumerate() {
            let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, (&p, &q)) in xb.iter().zip(yb).enumerate() {
                assert!(
                    (p - q).abs() <= rel * amax + 1e-30,
                    "{ty} {name} block {b} elem {i}: {p} → {q} (amax {amax}, rel bound {rel})"
                );
            }
        }
    }
}

/// One committed reference file (`testdata/<TYPE>.bin`, written by make_testdata.py):
/// magic `FBQ1`, u32 type id, u32 n (dequantize elements), u32 m (quantize elements, 0 if none),
/// raw blocks for n elements, n f32 expected values, m f32 inputs, raw expected blocks for m.
pub struct TestData {
    pub n: usize,
    pub raw: Vec<u8>,
    pub expected: Vec<f32>,
    pub q_input: Vec<f32>,
    pub q_expected: Vec<u8>,
}

impl TestData {
    pub fn load(ty: GgmlType) -> Option<TestData> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("src/quant/testdata/{}.bin", ty.name()));
        let bytes = std::fs::read(&path).ok()?;
        assert_eq!(&bytes[0..4], b"FBQ1", "{}: bad magic", path.display());
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
        assert_eq!(
            u32_at(4),
            ty.id() as usize,
            "{}: wrong type",
            path.display()
        );
        let (n, m) = (u32_at(8), u32_at(12));
        let nraw = ty.bytes_for(n as u64).unwrap() as usize;
        let mraw = ty.bytes_for(m as u64).unwrap() as usize;
        let f32s = |o: usize, k: usize| -> Vec<f32> {
            bytes[o..o + 4 * k]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        let mut o = 16;
        let raw = bytes[o..o + nraw].to_vec();
        o += nraw;
        let expected = f32s(o, n);
        o += 4 * n;
        let q_input = f32s(o, m);
        o += 4 * m;
        let q_expected = bytes[o..o + mraw].to_vec();
        assert_eq!(o + mraw, bytes.len(), "{}: trailing bytes", path.display());
        Some(TestData {
            n,
            raw,
            expected,
            q_input,
            q_expected,
        })
    }
}

fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    let key = |v: f32| {
        let i = v.to_bits() as i32;
        if i < 0 {
            i32::MIN - i
        } else {
            i
        }
    };
    (key(a) as i64 - key(b) as i64)
        .unsigned_abs()
        .min(u32::MAX as u64) as u32
}

/// Dequantizing the committed real tensor rows gives gguf-py's values (exactly, or within 1 ulp
/// where numpy associates the float products differently).
pub fn check_dequantize_testdata(ty: GgmlType) {
    let data =
        TestData::load(ty).unwrap_or_else(|| panic!("testdata/{}.bin is missing", ty.name()));
    assert!(data.n > 0);
    let got = dequantize_from(ty, &data.raw, data.n);
    let mut inexact = 0;
    for (i, (&g, &e)) in got.iter().zip(&data.expected).enumerate() {
        let u = ulps(g, e);
        assert!(u <= 1, "{ty} element {i}: {g} vs gguf-py {e} ({u} ulps)");
        inexact += (u != 0) as usize;
    }
    assert!(
        inexact * 100 <= data.n,
        "{ty}: {inexact} of {} values differ by 1 ulp",
        data.n
    );
}

/// Our reference quantizer reproduces gguf-py's `quantize` byte for byte.
pub fn check_quantize_testdata(ty: GgmlType) {
    let data =
        TestData::load(ty).unwrap_or_else(|| panic!("testdata/{}.bin is missing", ty.name()));
    assert!(
        !data.q_input.is_empty(),
        "{ty}: no quantize reference in testdata"
    );
    let got = quantize_to(ty, &data.q_input);
    let bs = ty.type_size() as usize;
    for (b, (g, e)) in got.chunks(bs).zip(data.q_expected.chunks(bs)).enumerate() {
        assert_eq!(g, e, "{ty} block {b} differs from gguf-py");
    }
}

/// llama.cpp's own outputs (`testdata/<TYPE>.ggml.bin`, written by make_ggml_testdata.py from a
/// llama.cpp build): its reference quantizer's blocks and its vec_dot results.
pub struct GgmlRef {
    pub dot_type: GgmlType,
    pub rows: usize,
    pub x: Vec<f32>,
    pub q: Vec<u8>,
    pub a: Vec<f32>,
    pub qa: Vec<u8>,
    pub dot_generic: Vec<f32>,
    pub dot_simd: Vec<f32>,
    /// The activations as libggml-cpu's `quantize_row_<dot type>` (from_float) quantizes them.
    pub qa_cpu: Vec<u8>,
}

impl GgmlRef {
    pub fn load(ty: GgmlType) -> GgmlRef {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("src/quant/testdata/{}.ggml.bin", ty.name()));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[0..4], b"FBG1", "{}: bad magic", path.display());
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
        assert_eq!(u32_at(4), ty.id() as usize);
        let dot_type = GgmlType::from_id(u32_at(8) as u32).expect("dot type id");
        let (m, rows) = (u32_at(12), u32_at(16));
        let mut o = 20;
        let mut take = |k: usize| {
            let s = bytes[o..o + k].to_vec();
            o += k;
            s
        };
        let f32s = |b: Vec<u8>| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        };
        let x = f32s(take(4 * m));
        let q = take(ty.bytes_for(m as u64).unwrap() as usize);
        let a = f32s(take(4 * m));
        let qa = take(dot_type.bytes_for(m as u64).unwrap() as usize);
        let dot_generic = f32s(take(4 * (rows + 1)));
        let dot_simd = f32s(take(4 * (rows + 1)));
        let qa_cpu = take(dot_type.bytes_for(m as u64).unwrap() as usize);
        assert_eq!(o, bytes.len(), "{}: trailing bytes", path.display());
        GgmlRef {
            dot_type,
            rows,
            x,
            q,
            a,
            qa,
            dot_generic,
            dot_simd,
            qa_cpu,
        }
    }
}

/// Our reference quantizer is bit-identical to llama.cpp's `quantize_row_<type>_ref` (and so is
/// our quantizer of the matching activation type), and our vec_dot agrees with llama.cpp's
/// generic and SIMD kernels on llama.cpp's own blocks.
pub fn check_against_ggml(ty: GgmlType) {
    let r = GgmlRef::load(ty);
    let ts = ty.type_size() as usize;
    let ours = quantize_to(ty, &r.x);
    let bs = ty.block_size() as usize;
    let bad: Vec<usize> = ours
        .chunks(ts)
        .zip(r.q.chunks(ts))
        .enumerate()
        .filter(|(_, (a, b))| {
            // llama.cpp's IQ4_NL ref (in the build the data came from) leaves an all-zero block's
            // levels uninitialized: they repeat the previous block's, behind d = 0. Newer ggml
            // writes zeros, as we do; the values agree either way.
            let same_values =
                ty == GgmlType::IQ4_NL && dequantize_from(ty, a, bs) == dequantize_from(ty, b, bs);
            a != b && !same_values
        })
        .map(|(i, _)| i)
        .collect();
    assert!(
        bad.is_empty(),
        "{ty}: blocks {bad:?} differ from llama.cpp's quantize_row_ref"
    );
    let ours_a = quantize_to(r.dot_type, &r.a);
    assert!(
        ours_a == r.qa,
        "{ty}: activations quantized to {} differ from llama.cpp",
        r.dot_type
    );
    let mut ours_cpu = vec![0u8; r.qa_cpu.len()];
    super::quantize_activations(r.dot_type, &r.a, &mut ours_cpu).unwrap();
    assert!(
        ours_cpu == r.qa_cpu,
        "{ty}: activations differ from libggml-cpu's quantize_row_{}",
        r.dot_type
    );
    if !kernels(ty).is_some_and(|k| k.dot_type != ty || matches!(ty, GgmlType::Q8_0)) {
        return; // Q8_1 and Q8_K are activation formats only: ggml has no vec_dot for them
    }
    let k = kernels(ty).unwrap();
    let (wrow, arow) = (
        ty.bytes_for(256).unwrap() as usize,
        r.dot_type.bytes_for(256).unwrap() as usize,
    );
    for i in 0..=r.rows {
        let (n, w, a) = if i < r.rows {
            (
                256,
                &r.q[wrow * i..wrow * (i + 1)],
                &r.qa[arow * i..arow * (i + 1)],
            )
        } else {
            (r.x.len(), &r.q[..], &r.qa[..])
        };
        let got = (k.vec_dot)(n, w, a);
        let wd = dequantize_from(ty, w, n);
        let ad = dequantize_from(r.dot_type, a, n);
        let magnitude: f64 = wd
            .iter()
            .zip(&ad)
            .map(|(&p, &q)| (p as f64 * q as f64).abs())
            .sum();
        // Integer block sums are exact; only the f32 accumulation order differs.
        let tol = 1e-6 * magnitude + 1e-30;
        // This build's exported ggml_vec_dot_q5_0_q8_0_generic disagrees with its own SIMD kernel
        // and with dequantize·dequantize (both of which we match), so Q5_0 checks the SIMD one only.
        let refs = if ty == GgmlType::Q5_0 {
            vec![("SIMD", r.dot_simd[i])]
        } else {
            vec![("generic", r.dot_generic[i]), ("SIMD", r.dot_simd[i])]
        };
        for (what, expected) in refs {
            assert!(
                ((got - expected) as f64).abs() <= tol,
                "{ty} case {i}: vec_dot {got} vs llama.cpp {what} {expected} (tol {tol})"
            );
            // These AVX2 kernels follow llama.cpp's vec_dot lane order: same bits.
            // (Q4_K keeps the scalar order on purpose, see q4_k_avx2.rs; Q4_0 has no AVX2 kernel.)
            #[cfg(target_arch = "x86_64")]
            if what == "SIMD"
                && super::avx2_util::available()
                && matches!(
                    ty,
                    GgmlType::Q8_0
                        | GgmlType::Q5_K
                        | GgmlType::Q6_K
                        | GgmlType::IQ4_XS
                        | GgmlType::IQ4_NL
                        | GgmlType::MXFP4
                        | GgmlType::Q2_K
                        | GgmlType::Q3_K
                        | GgmlType::Q4_1
                        | GgmlType::Q5_1
                )
            {
                assert_eq!(
                    got.to_bits(),
                    expected.to_bits(),
                    "{ty} case {i}: AVX2 {got} vs llama.cpp {expected}"
                );
            }
        }
    }
}

/// A SIMD dot kernel against the scalar reference on the test vectors and the committed llama.cpp
/// blocks, within f32 accumulation-order error (the SIMD kernels keep llama.cpp's lane order;
/// [`check_against_ggml`] checks those bit for bit against llama.cpp).
/// Σ|terms| a dot kernel adds in f32, the scale of its rounding error. Usually Σ|w·a|; Q4_1 and
/// Q5_1 (llama.cpp's order) keep d·Σq·a and m·Σa apart until the end, so for them the two parts
/// count separately: their cancellation can leave Σ|w·a| far below the partial sums.
fn summed_term_magnitude(ty: GgmlType, w: &[u8], a: &[f32]) -> f64 {
    let abs_dot = |wd: &[f32]| -> f64 {
        wd.iter()
            .zip(a)
            .map(|(&p, &q)| (p as f64 * q as f64).abs())
            .sum()
    };
    let wd = dequantize_from(ty, w, a.len());
    if !matches!(ty, GgmlType::Q4_1 | GgmlType::Q5_1) {
        return abs_dot(&wd);
    }
    // The same blocks with m (the f16 at byte 2) zeroed give d·q alone; the rest is m.
    let mut no_min = w.to_vec();
    for b in no_min.chunks_exact_mut(ty.type_size() as usize) {
        b[2..4].fill(0);
    }
    let scaled = dequantize_from(ty, &no_min, a.len());
    let mins: Vec<f32> = wd.iter().zip(&scaled).map(|(x, s)| x - s).collect();
    abs_dot(&scaled) + abs_dot(&mins)
}

pub fn check_simd_against_scalar(
    ty: GgmlType,
    scalar: fn(usize, &[u8], &[u8]) -> f32,
    simd: fn(usize, &[u8], &[u8]) -> f32,
) {
    #[cfg(target_arch = "x86_64")]
    if !super::avx2_util::available() {
        eprintln!("skipped: no AVX2/FMA on this CPU");
        return;
    }
    // Q4_K's, Q4_0's and Q5_0's AVX2 kernels keep the scalar per-block formula; the others
    // follow llama.cpp's lanes.
    let exact = matches!(ty, GgmlType::Q4_K | GgmlType::Q4_0 | GgmlType::Q5_0);
    let dot = kernels(ty).unwrap().dot_type;
    for (i, (n, w, a)) in simd_cases(ty).iter().enumerate() {
        let (s, v) = (scalar(*n, w, a), simd(*n, w, a));
        if exact {
            assert_eq!(
                s.to_bits(),
                v.to_bits(),
                "{ty} case {i}: scalar {s} vs SIMD {v}"
            );
        } else {
            let magnitude = summed_term_magnitude(ty, w, &dequantize_from(dot, a, *n));
            assert!(
                ((s - v) as f64).abs() <= 1e-6 * magnitude + 1e-30,
                "{ty} case {i}: scalar {s} vs SIMD {v}"
            );
        }
    }
}

/// (n, weights, activations): the test vectors at several block counts, then the committed
/// llama.cpp blocks.
fn simd_cases(ty: GgmlType) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
    let dot = kernels(ty).unwrap().dot_type;
    let mut cases = Vec::new();
    let block = ty.block_size() as usize;
    for nb in [1usize, 2, 5, 9] {
        // Small-block formats also get a count that is not a multiple of eight blocks (kernels
        // that take eight blocks at a time finish the rest one by one).
        let n = nb * block.max(256) + if block < 256 { 3 * block } else { 0 };
        for (_, w) in test_vectors(n, block, 11 + nb as u64) {
            for (_, a) in test_vectors(n, 32, 17 + nb as u64) {
                cases.push((n, quantize_to(ty, &w), quantize_to(dot, &a)));
            }
        }
    }
    let r = GgmlRef::load(ty);
    cases.push((r.x.len(), r.q.clone(), r.qa.clone()));
    cases
}

/// [`simd_cases`] plus the second-largest of them with extreme blocks: every weight byte 0xFF,
/// 0x77 or 0x00 (largest, middle and smallest quants and scales; the f16 block scales at `f16_at`
/// set to 1) against activations all −128 or all 127 (Q8_K or Q8_0 blocks, scale 1), where a
/// wrong sign or a saturating product would show.
fn cases_with_extremes(ty: GgmlType, f16_at: &[usize]) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
    use super::{q8_0, q8_k};
    let mut cases = simd_cases(ty);
    let (n, w, a) = cases[cases.len() - 2].clone();
    let dot = kernels(ty).unwrap().dot_type;
    for fill in [0xFFu8, 0x77, 0x00] {
        let mut w = w.clone();
        for block in w.chunks_exact_mut(ty.type_size() as usize) {
            block.fill(fill);
            for &at in f16_at {
                block[at..at + 2].copy_from_slice(&0x3C00u16.to_le_bytes());
            }
        }
        for extreme in [-128i8, 127] {
            let mut a = a.clone();
            if dot == GgmlType::Q8_0 {
                for block in a.chunks_exact_mut(q8_0::TYPE_SIZE) {
                    block[..2].copy_from_slice(&0x3C00u16.to_le_bytes());
                    block[2..].fill(extreme as u8);
                }
            } else {
                for block in a.chunks_exact_mut(q8_k::TYPE_SIZE) {
                    block[q8_k::QS..q8_k::BSUMS].fill(extreme as u8);
                    for sum in block[q8_k::BSUMS..].chunks_exact_mut(2) {
                        sum.copy_from_slice(&(16 * extreme as i16).to_le_bytes());
                    }
                }
            }
            cases.push((n, w.clone(), a));
        }
    }
    cases
}

/// An AVX-512 dot kernel against the AVX2 one it replaces, bit for bit, on the same cases as
/// [`check_simd_against_scalar`] plus extremes ([`cases_with_extremes`]).
#[cfg(target_arch = "x86_64")]
pub fn check_avx512_identical(
    ty: GgmlType,
    f16_at: &[usize],
    avx2: unsafe fn(usize, &[u8], &[u8]) -> f32,
    avx512: unsafe fn(usize, &[u8], &[u8]) -> f32,
) {
    if !super::avx512_util::available() {
        eprintln!("skipped: no AVX-512 F/BW/VL/VNNI on this CPU");
        return;
    }
    for (i, (n, w, a)) in cases_with_extremes(ty, f16_at).iter().enumerate() {
        // SAFETY: AVX-512 F/BW/VL/VNNI (and so AVX2/FMA/F16C) were detected above.
        let (x, y) = unsafe { (avx2(*n, w, a), avx512(*n, w, a)) };
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{ty} case {i}: AVX2 {x} vs AVX-512 {y}"
        );
    }
}

/// A NEON dot kernel against the scalar reference, bit for bit (the NEON kernels keep the
/// reference's float order; their integer sums are exact), on the cases of
/// [`check_simd_against_scalar`] plus extremes ([`cases_with_extremes`]).
#[cfg(target_arch = "aarch64")]
pub fn check_neon_identical(
    ty: GgmlType,
    f16_at: &[usize],
    scalar: fn(usize, &[u8], &[u8]) -> f32,
    neon: fn(usize, &[u8], &[u8]) -> f32,
) {
    for (i, (n, w, a)) in cases_with_extremes(ty, f16_at).iter().enumerate() {
        let (x, y) = (scalar(*n, w, a), neon(*n, w, a));
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{ty} case {i}: scalar {x} vs NEON {y}"
        );
    }
}
