//! On a GPU: each kernel wrapped in `ops` against the CPU code or a direct f64 computation.
//! Skipped (with a message) where no CUDA device is usable.

use super::ops;
use crate::model::norm;

fn gpu() -> bool {
    let ready = super::availability().is_ready();
    if !ready {
        eprintln!("skipped: no CUDA device");
    }
    ready
}

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

#[test]
fn gpu_rms_norm_softmax_swiglu_match_the_cpu() {
    if !gpu() {
        return;
    }
    let (n, rows) = (2048, 5);
    let x = data(n * rows, 1);
    let w = data(n, 2);
    let mut want = vec![0f32; x.len()];
    norm::rms_norm_rows(&x, &w, 1e-6, &mut want);
    close(
        &ops::rms_norm_rows(&x, &w, 1e-6).unwrap(),
        &want,
        1e-5,
        "rms_norm",
    );

    let mut sm = x.clone();
    for r in sm.chunks_exact_mut(n) {
        norm::softmax_in_place(r);
    }
    close(&ops::softmax_rows(&x, n).unwrap(), &sm, 1e-5, "softmax");

    let u = data(n * rows, 3);
    let want: Vec<f32> = x.iter().zip(&u).map(|(&g, &u)| norm::silu(g) * u).collect();
    close(&ops::swiglu(&x, &u).unwrap(), &want, 1e-5, "swiglu");
}

#[test]
fn gpu_moe_routing_matches_the_cpu() {
    if !gpu() {
        return;
    }
    let (n_expert, k, n_tok) = (256, 8, 7);
    let logits = data(n_expert * n_tok, 4);
    let (ids, wts) = ops::moe_topk(&logits, n_expert, k).unwrap();
    for t in 0..n_tok {
        let mut p = logits[t * n_expert..(t + 1) * n_expert].to_vec();
        norm::softmax_in_place(&mut p);
        let mut idx: Vec<usize> = (0..n_expert).collect();
        idx.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let sum: f32 = idx[..k].iter().map(|&e| p[e]).sum();
        for s in 0..k {
            assert_eq!(ids[t * k + s] as usize, idx[s], "token {t} slot {s}");
            let w = p[idx[s]] / sum;
            assert!((wts[t * k + s] - w).abs() < 1e-5, "token {t} slot {s}");
        }
    }
}

#[test]
fn gpu_split_k_decode_attention_matches_f64() {
    if !gpu() {
        return;
    }
    let (n_head, n_kv_head, hd, n_kv) = (16, 2, 128, 700);
    let q = data(n_head * hd, 5);
    let to_f16 = |v: Vec<f32>| -> Vec<u16> {
        v.iter()
            .map(|&x| half::f16::from_f32(x).to_bits())
            .collect()
    };
    let k = to_f16(data(n_kv * n_kv_head * hd, 6));
    let v = to_f16(data(n_kv * n_kv_head * hd, 7));
    let scale = 1.0 / (hd as f32).sqrt();
    for first in [0usize, 300] {
        let got =
            ops::attention_decode(&q, &k, &v, n_head, n_kv_head, hd, first, n_kv, scale).unwrap();
        let f = |b: u16| half::f16::from_bits(b).to_f32() as f64;
        for h in 0..n_head {
            let kvh = h / (n_head / n_kv_head);
            let s: Vec<f64> = (first..n_kv)
                .map(|p| {
                    (0..hd)
                        .map(|d| q[h * hd + d] as f64 * f(k[(p * n_kv_head + kvh) * hd + d]))
                        .sum::<f64>()
                        * scale as f64
                })
                .collect();
            let m = s.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for d in 0..hd {
                let o: f64 = (first..n_kv)
                    .map(|p| e[p - first] * f(v[(p * n_kv_head + kvh) * hd + d]))
                    .sum::<f64>()
                    / z;
                let g = got[h * hd + d] as f64;
                assert!(
                    (g - o).abs() < 1e-4,
                    "head {h} dim {d} first {first}: {g} vs {o}"
                );
            }
        }
    }
}
