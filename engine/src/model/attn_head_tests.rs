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
