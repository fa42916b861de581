//! The grouped, SIMD attention heads against the one-head-at-a-time scalar reference, bit for bit,
//! on seeded random caches of every supported type and many shapes.

use super::{flash_group, softmax_group, HeadGroup};
use crate::cache::KvCache;
use crate::cpu::quantize_rows;
use crate::gguf::GgmlType;
use crate::model::attn_head_ref::{flash_head, softmax_head, HeadQuery};
use crate::model::test_rng::Rng;

struct Case {
    ty_k: GgmlType,
    ty_v: GgmlType,
    hd: usize,
    hv: usize,
    group: usize,
    n_kv: usize,
    first: usize,
    row_len: usize,
}

fn check(case: &Case, rng: &mut Rng) {
    let nkv = 2;
    let n_ctx = case.n_kv + 3;
    let mut kv = KvCache::new(
        case.ty_k,
        case.ty_v,
        n_ctx,
        case.hd,
        case.hv,
        &[false, true],
        &[0, nkv],
    )
    .unwrap();
    for pos in 0..n_ctx {
        let k: Vec<f32> = (0..nkv * case.hd).map(|_| rng.normal()).collect();
        let v: Vec<f32> = (0..nkv * case.hv).map(|_| rng.normal()).collect();
        kv.store(1, pos, &k, &v);
    }
    let q: Vec<f32> = (0..case.group * case.hd)
        .map(|_| rng.normal() * 0.5)
        .collect();
    let mut qq = Vec::new();
    let qrb = quantize_rows(kv.k_kernels.dot_type, &q, case.hd, &mut qq).unwrap();
    let scale = 0.2 + rng.uniform();
    let hg = HeadGroup {
        layer: 1,
        kv_head: 1,
        q: &qq,
        q_row_bytes: qrb,
        head_dim_k: case.hd,
        scale,
        first: case.first,
        n_kv: case.n_kv,
        row_len: case.row_len,
    };
    for flash in [false, true] {
        let mut got = vec![f32::NAN; case.group * case.hv];
        if flash {
            flash_group(&kv, &hg, &mut got);
        } else {
            softmax_group(&kv, &hg, &mut got);
        }
        for h in 0..case.group {
            let hq = HeadQuery {
                layer: 1,
                kv_head: 1,
                q: &qq[h * qrb..(h + 1) * qrb],
                head_dim_k: case.hd,
                scale,
                first: case.first,
                n_kv: case.n_kv,
                row_len: case.row_len,
            };
            let mut want = vec![0f32; case.hv];
            if flash {
                flash_head(&kv, &hq, &mut want);
            } else {
                softmax_head(&kv, &hq, &mut want);
            }
            let g = &got[h * case.hv..(h + 1) * case.hv];
            let same = g.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same,
                "{}/{} hd {} hv {} group {} n_kv {} first {} row_len {} flash {flash} head {h}",
                case.ty_k.name(),
                case.ty_v.name(),
                case.hd,
                case.hv,
                case.group,
                case.n_kv,
                case.first,
                case.row_len
            );
        }
    }
}

#[test]
fn grouped_heads_match_the_reference_bit_for_bit() {
    let mut rng = Rng::new(5);
    let types = [
        (GgmlType::F16, GgmlType::F16),
        (GgmlType::Q8_0, GgmlType::Q8_0),
        (GgmlType::Q4_0, GgmlType::Q4_0),
        (GgmlType::Q8_0, GgmlType::F16),
        (GgmlType::F16, GgmlType::Q8_0),
    ];
    for (i, &(ty_k, ty_v)) in types.iter().cycle().take(60).enumerate() {
        let quantized = ty_k != GgmlType::F16 || ty_v != GgmlType::F16;
        // F16 caches also get head sizes off the 16-lane grid (the non-tinyBLAS path) and
        // V rows with leftover columns.
        let hd = if quantized {
            [64, 128, 256][i % 3]
        } else {
            [64, 128, 256, 40, 96][i % 5]
        };
        let hv = if quantized {
            hd
        } else {
            [hd, 72, 68, 256][i % 4]
        };
        let n_kv = 1 + rng.below(if i % 4 == 0 { 700 } else { 90 });
        let first = if i % 3 == 0 { rng.below(n_kv) } else { 0 };
        let row_len = if i % 7 == 3 {
            n_kv + rng.below(20)
        } else {
            n_kv.div_ceil(256) * 256
        };
        let case = Case {
            ty_k,
            ty_v,
            hd,
            hv,
            group: [1, 2, 3, 4, 5, 8][i % 6],
            n_kv,
            first,
            row_len,
        };
        check(&case, &mut rng);
    }
}

/// Timing of one decode step's attention at a long context (run with `--ignored --nocapture`).
#[test]
#[ignore = "timing, not a check"]
fn time_long_context_decode_attention() {
    let (hd, n_kv, group) = (256, 4096, 4);
    let mut rng = Rng::new(9);
    let mut kv = KvCache::new(GgmlType::F16, GgmlType::F16, n_kv, hd, hd, &[true], &[1]).unwrap();
    for pos in 0..n_kv {
        let k: Vec<f32> = (0..hd).map(|_| rng.normal()).collect();
        kv.store(0, pos, &k, &k);
    }
    let q: Vec<f32> = (0..group * hd).map(|_| rng.normal() * 0.1).collect();
    let mut qq = Vec::new();
    let qrb = quantize_rows(GgmlType::F16, &q, hd, &mut qq).unwrap();
    for per_call in [4, 2, 1] {
        let mut out = vec![0f32; group * hd];
        let mut best = f64::MAX;
        for _ in 0..20 {
            let t0 = std::time::Instant::now();
            for h0 in (0..group).step_by(per_call) {
                let hg = HeadGroup {
                    layer: 0,
                    kv_head: 0,
                    q: &qq[h0 * qrb..(h0 + per_call) * qrb],
                    q_row_bytes: qrb,
                    head_dim_k: hd,
                    scale: 0.0625,
                    first: 0,
                    n_kv,
                    row_len: n_kv,
                };
                softmax_group(&kv, &hg, &mut out[h0 * hd..(h0 + per_call) * hd]);
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        let fmas = (2 * group * hd * n_kv) as f64;
        println!(
            "{group} heads, n_kv {n_kv}, {per_call} per call: {:.3} ms ({:.2} GFMA/s)",
            best * 1e3,
            fmas / best / 1e9
        );
    }
}

#[test]
#[ignore = "timing, not a check"]
fn time_kernels() {
    use crate::model::tinyblas;
    let hd = 256;
    let n_kv: usize = std::env::var("N_KV")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096);
    let mut rng = Rng::new(9);
    let mut kv = KvCache::new(GgmlType::F16, GgmlType::F16, n_kv, hd, hd, &[true], &[1]).unwrap();
    for pos in 0..n_kv {
        let k: Vec<f32> = (0..hd).map(|_| rng.normal()).collect();
        kv.store(0, pos, &k, &k);
    }
    for g in [1, 2, 4, 8] {
        let q: Vec<f32> = (0..g * hd).map(|_| rng.normal() * 0.1).collect();
        let mut p = vec![0f32; g * n_kv];
        let mut out = vec![0f32; g * hd];
        let (mut bs, mut bp) = (f64::MAX, f64::MAX);
        for _ in 0..20 {
            let t0 = std::time::Instant::now();
            tinyblas::scores_f16(kv.k_rows(0, 0), 0..n_kv, &q, hd, 0.1, &mut p, n_kv);
            bs = bs.min(t0.elapsed().as_secs_f64());
            let t0 = std::time::Instant::now();
            tinyblas::pv_f16(kv.v_rows(0, 0), 0..n_kv, &p, n_kv, &mut out, hd);
            bp = bp.min(t0.elapsed().as_secs_f64());
        }
        let f = (g * hd * n_kv) as f64 / 1e9;
        println!(
            "g={g}: scores {:.3} ms ({:.1} GFMA/s), pv {:.3} ms ({:.1} GFMA/s)",
            bs * 1e3,
            f / bs,
            bp * 1e3,
            f / bp
        );
    }
}
