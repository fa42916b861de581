//! The I-quant kernels on every I-quant tensor of the shared fixture models (llama-quantize output):
//! dequantization stays finite and `vec_dot` against random Q8_K activations agrees with the f64
//! dot product of the dequantized row. Needs `../shared/fixtures`; skipped when absent.

use fitbench_engine::gguf::{GgmlType, GgufModel};
use fitbench_engine::quant::kernels;

const MODELS: [&str; 8] = [
    "IQ2_XXS",
    "IQ2_XS",
    "IQ2_S",
    "IQ3_XXS",
    "IQ3_S",
    "IQ1_S",
    "IQ1_M",
    "UD-IQ2_XXS",
];
const TYPES: [GgmlType; 7] = [
    GgmlType::IQ2_XXS,
    GgmlType::IQ2_XS,
    GgmlType::IQ2_S,
    GgmlType::IQ3_XXS,
    GgmlType::IQ3_S,
    GgmlType::IQ1_S,
    GgmlType::IQ1_M,
];

/// Q8_K blocks (`f32 d; i8 qs[256]; i16 bsums[16]`) with pseudo-random values; also returns them dequantized.
fn random_q8k(seed: &mut u64, n: usize) -> (Vec<u8>, Vec<f64>) {
    let mut bytes = Vec::new();
    let mut values = Vec::new();
    for _ in 0..n / 256 {
        let d = 2e-3f32;
        let qs: Vec<i8> = (0..256)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (((*seed >> 24) % 255) as i32 - 127) as i8
            })
            .collect();
        bytes.extend_from_slice(&d.to_le_bytes());
        bytes.extend(qs.iter().map(|&q| q as u8));
        for g in qs.chunks(16) {
            bytes.extend_from_slice(&(g.iter().map(|&q| q as i16).sum::<i16>()).to_le_bytes());
        }
        values.extend(qs.iter().map(|&q| d as f64 * q as f64));
    }
    (bytes, values)
}

#[test]
fn iq_kernels_on_fixture_tensors() {
    let Some(shared) = fitbench_engine::fixtures::shared() else {
        println!("skipped: ../shared/fixtures not found");
        return;
    };
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut checked = [0usize; 7];
    for model in MODELS {
        let path = shared.join(format!("models/qwen35moe-tiny-{model}.gguf"));
        let gguf = GgufModel::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for t in &gguf.tensors {
            let Some(slot) = TYPES.iter().position(|&ty| ty == t.info.ggml_type) else {
                continue;
            };
            let k = kernels(t.info.ggml_type).expect("registered");
            let data = gguf.tensor_data(t);
            let row_len = t.info.dims[0] as usize;
            let row_bytes = t
                .info
                .ggml_type
                .bytes_for(row_len as u64)
                .expect("whole blocks") as usize;
            let n_rows = data.len() / row_bytes;
            let mut all = vec![0f32; n_rows * row_len];
            (k.dequantize)(data, &mut all);
            assert!(
                all.iter().all(|v| v.is_finite()),
                "{model} {}: non-finite value",
                t.info.name
            );
            for row in (0..n_rows).step_by((n_rows / 4).max(1)) {
                let w = &all[row * row_len..][..row_len];
                let (acts, a) = random_q8k(&mut seed, row_len);
                let exact: f64 = w.iter().zip(&a).map(|(&x, &y)| x as f64 * y).sum();
                let magnitude: f64 = w.iter().zip(&a).map(|(&x, &y)| (x as f64 * y).abs()).sum();
                let got = (k.vec_dot)(row_len, &data[row * row_bytes..][..row_bytes], &acts) as f64;
                assert!(
                    (got - exact).abs() <= 1e-6 * magnitude,
                    "{model} {} row {row}: vec_dot {got} vs {exact}",
                    t.info.name
                );
            }
            checked[slot] += 1;
        }
    }
    // every format must have been exercised by at least one real tensor
    assert!(
        checked.iter().all(|&c| c > 0),
        "tensors checked per type: {checked:?}"
    );
}

/// Speed of each I-quant `vec_dot` (scalar, and the kernel `kernels()` picks) on 4096-element rows.
/// `cargo test --release --test iq_quants_fixtures -- --ignored --nocapture`
#[test]
#[ignore]
fn iq_vec_dot_speed() {
    use fitbench_engine::quant::*;
    let scalar = [
        &iq2_xxs::KERNELS,
        &iq2_xs::KERNELS,
        &iq2_s::KERNELS,
        &iq3_xxs::KERNELS,
        &iq3_s::KERNELS,
        &iq1_s::KERNELS,
        &iq1_m::KERNELS,
    ];
    let n = 4096;
    let mut seed = 42u64;
    let (acts, _) = random_q8k(&mut seed, n);
    for k in scalar {
        let ty = k.ggml_type;
        let row_bytes = ty.bytes_for(n as u64).unwrap() as usize;
        // random blocks with a small finite f16 scale in front (IQ1_M keeps its scale elsewhere)
        let mut w: Vec<u8> = (0..row_bytes)
            .map(|i| ((i as u64 * 2654435761) >> 7) as u8)
            .collect();
        if ty != GgmlType::IQ1_M {
            for b in w.chunks_exact_mut(ty.type_size() as usize) {
                b[..2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
            }
        }
        // best of 7 runs: the machine is shared, the minimum is the least disturbed
        let time = |f: fn(usize, &[u8], &[u8]) -> f32| {
            let reps = 2000;
            (0..7)
                .map(|_| {
                    let start = std::time::Instant::now();
                    let mut s = 0f32;
                    for _ in 0..reps {
                        s += f(n, std::hint::black_box(&w), &acts);
                    }
                    std::hint::black_box(s);
                    start.elapsed().as_secs_f64() / reps as f64 * 1e6
                })
                .fold(f64::INFINITY, f64::min)
        };
        let t_scalar = time(k.vec_dot);
        let t_best = time(kernels(ty).unwrap().vec_dot);
        println!(
            "{:8} scalar {:7.2} us/row   dispatched {:7.2} us/row  (4096 elements)",
            ty.name(),
            t_scalar,
            t_best
        );
    }
}
