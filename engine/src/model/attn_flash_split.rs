//! One decode token's flash attention on an F16 (or F32) cache of at least 512 cells, split
//! across the threads by KV rows as llama.cpp's CPU backend does (`use_split_kv_path` in
//! `ggml_compute_forward_flash_attn_ext_f16`): the padded row of `row_len` cells is cut into one
//! chunk per thread; each chunk runs ggml's per-row flash loop for every query head
//! ([`flash_rows`]) and leaves its (max, sum, accumulator); the chunks are then merged in order:
//! `M' = max(M, m)`, `acc = fma(acc, e^(M-M'), part · e^(m-M'))` and the sum likewise (the
//! compiled ggml-cpu contracts these into `vfmadd231ss`), chunks with a zero sum skipped, and
//! finally `acc · (1 / S)`.
//!
//! Why: split by query heads, every thread read the whole of K and V (Gemma 3 has one KV head),
//! which left `-fa 1` decode at 0.94× llama.cpp's at 32K of context.

use super::attn_head::{flash_rows, HeadGroup};
use crate::cache::KvCache;
use crate::cpu::parallel;
use crate::gguf::GgmlType;
use crate::scratch::Scratch;

/// llama.cpp splits by KV rows from this many cells (`nek1 >= 512`).
pub const MIN_ROWS: usize = 512;

/// Whether llama.cpp runs this token's flash attention split by KV rows.
pub fn applies(kv: &KvCache, n_tokens: usize, row_len: usize) -> bool {
    let (k, v) = (kv.k_kernels.ggml_type, kv.v_kernels.ggml_type);
    n_tokens == 1 && row_len >= MIN_ROWS && k == v && matches!(k, GgmlType::F16 | GgmlType::F32)
}

/// `group(kv_head)`: that KV head's query heads for this token (all of them, in order).
/// `out`: one row of `head_dim_v` per query head, query heads in order.
pub fn flash_split<'a>(
    kv: &KvCache,
    n_kv_heads: usize,
    group: &(dyn Fn(usize) -> HeadGroup<'a> + Sync),
    row_len: usize,
    threads: usize,
    out: &mut [f32],
) {
    let n_chunks = threads.max(1);
    let chunk = row_len.div_ceil(n_chunks);
    let per_kv_head = out.len() / n_kv_heads.max(1);
    let g = group(0).n_heads();
    if n_kv_heads == 0 || g == 0 {
        return;
    }
    // One chunk's unnormalized state for the query heads of one KV head, side by side in one
    // reused buffer: the accumulators, then the sums, then the maxima.
    let stride = per_kv_head + 2 * g;
    let mut parts = Scratch::<f32>::zeroed(n_chunks * n_kv_heads * stride);
    parallel::for_each_chunk_mut(&mut parts, stride, |idx, part| {
        let (c, kv_head) = (idx / n_kv_heads, idx % n_kv_heads);
        let hg = group(kv_head);
        let (acc, rest) = part.split_at_mut(per_kv_head);
        let (sums, maxes) = rest.split_at_mut(g);
        maxes.fill(f32::NEG_INFINITY);
        let rows = (c * chunk).max(hg.first)..((c + 1) * chunk).min(row_len).min(hg.n_kv);
        if rows.start < rows.end {
            let mut vrow = Scratch::<f32>::empty();
            flash_rows(kv, &hg, rows, acc, sums, maxes, &mut vrow);
        }
    });
    let part = |c: usize, kv_head: usize| {
        let p = &parts[(c * n_kv_heads + kv_head) * stride..][..stride];
        let (acc, rest) = p.split_at(per_kv_head);
        (acc, &rest[..g], &rest[g..])
    };
    let hv = per_kv_head / g;
    for (kv_head, o) in out.chunks_exact_mut(per_kv_head).enumerate() {
        for (h, o) in o.chunks_exact_mut(hv).enumerate() {
            let (mut m, mut s) = (f32::NEG_INFINITY, 0f32);
            o.fill(0.0);
            for c in 0..n_chunks {
                let (acc, sums, maxes) = part(c, kv_head);
                let (m_c, s_c) = (maxes[h], sums[h]);
                if c * chunk >= row_len || s_c == 0.0 {
                    continue;
                }
                let m_new = m.max(m_c);
                let (old, new) = ((m - m_new).exp(), (m_c - m_new).exp());
                for (a, &x) in o.iter_mut().zip(&acc[h * hv..(h + 1) * hv]) {
                    *a = a.mul_add(old, x * new);
                }
                s = s.mul_add(old, s_c * new);
                m = m_new;
            }
            if s != 0.0 {
                let inv = 1.0 / s;
                o.iter_mut().for_each(|a| *a *= inv);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::quantize_rows;
    use crate::model::attn_head::flash_group;
    use crate::model::test_rng::Rng;

    struct Case {
        kv: KvCache,
        qq: Vec<u8>,
        qrb: usize,
        group: usize,
        n_kv: usize,
        first: usize,
        scale: f32,
    }

    impl Case {
        fn row_len(&self) -> usize {
            self.n_kv.div_ceil(256) * 256
        }

        /// The token's query heads of KV head `kv_head`.
        fn heads(&self, kv_head: usize) -> HeadGroup<'_> {
            let g = self.group * self.qrb;
            HeadGroup {
                layer: 0,
                kv_head,
                q: &self.qq[kv_head * g..(kv_head + 1) * g],
                q_row_bytes: self.qrb,
                head_dim_k: self.kv.k_row_bytes / 2,
                scale: self.scale,
                first: self.first,
                n_kv: self.n_kv,
                row_len: self.row_len(),
            }
        }
    }

    fn case(
        rng: &mut Rng,
        hd: usize,
        hv: usize,
        nkv: usize,
        group: usize,
        n_kv: usize,
        window: usize,
    ) -> Case {
        let mut kv = KvCache::new(
            GgmlType::F16,
            GgmlType::F16,
            n_kv.div_ceil(256) * 256,
            hd,
            hv,
            &[true],
            &[nkv],
        )
        .unwrap();
        for pos in 0..n_kv {
            let k: Vec<f32> = (0..nkv * hd).map(|_| rng.normal()).collect();
            let v: Vec<f32> = (0..nkv * hv).map(|_| rng.normal()).collect();
            kv.store(0, pos, &k, &v);
        }
        let q: Vec<f32> = (0..nkv * group * hd).map(|_| rng.normal()).collect();
        let mut qq = Vec::new();
        let qrb = quantize_rows(kv.k_kernels.dot_type, &q, hd, &mut qq).unwrap();
        let first = (n_kv - 1).saturating_sub(window.saturating_sub(1));
        Case {
            kv,
            qq,
            qrb,
            group,
            n_kv,
            first,
            scale: 0.1 + rng.uniform() * 0.1,
        }
    }

    fn run(c: &Case, nkv: usize, hv: usize, threads: usize) -> Vec<f32> {
        let mut out = vec![f32::NAN; nkv * c.group * hv];
        flash_split(&c.kv, nkv, &|h| c.heads(h), c.row_len(), threads, &mut out);
        out
    }

    /// Time per cache row of one decode token's split flash attention as the cache grows
    /// (Qwen3.5-35B-A3B's attention layer: 2 KV heads of 256, 8 query heads each), on one
    /// thread. `cargo test --release -p fitbench-engine --lib time_flash_split -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, not a check"]
    fn time_flash_split_by_depth() {
        let mut rng = Rng::new(3);
        let (hd, nkv, group) = (256, 2, 8);
        for n_kv in [32768, 65536, 100000, 131072] {
            let c = case(&mut rng, hd, hd, nkv, group, n_kv, usize::MAX);
            let time = |f: &dyn Fn()| {
                let mut best = f64::MAX;
                for _ in 0..3 {
                    let t0 = std::time::Instant::now();
                    f();
                    best = best.min(t0.elapsed().as_secs_f64());
                }
                best * 1e9 / (n_kv * nkv) as f64
            };
            let flash = time(&|| {
                std::hint::black_box(run(&c, nkv, hd, 2));
            });
            let softmax = time(&|| {
                let mut out = vec![0f32; group * hd];
                for kv_head in 0..nkv {
                    super::super::attn_head::softmax_group(&c.kv, &c.heads(kv_head), &mut out);
                }
                std::hint::black_box(&out);
            });
            println!(
                "n_kv {n_kv}: ns per row and KV head: flash split {flash:.1}, softmax group {softmax:.1}"
            );
        }
    }

    #[test]
    fn one_chunk_is_the_unsplit_flash_loop_bit_for_bit() {
        let mut rng = Rng::new(8);
        for (hd, hv, nkv, group, n_kv, window) in
            [(64, 64, 2, 3, 700, usize::MAX), (256, 256, 1, 4, 1300, 512)]
        {
            let c = case(&mut rng, hd, hv, nkv, group, n_kv, window);
            let got = run(&c, nkv, hv, 1);
            for kv_head in 0..nkv {
                let hg = c.heads(kv_head);
                let mut want = vec![0f32; group * hv];
                flash_group(&c.kv, &hg, &mut want);
                let g = &got[kv_head * group * hv..(kv_head + 1) * group * hv];
                assert!(want.iter().zip(g).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }

    /// Independent of ggml's formulation: exact softmax attention in f64 (the f16 accumulator
    /// keeps it to about 1e-3).
    #[test]
    fn chunks_merge_to_the_exact_attention() {
        let mut rng = Rng::new(9);
        for threads in [2, 3, 5] {
            let (hd, hv, nkv, group, n_kv) = (64, 64, 2, 2, 900 + threads * 37);
            for window in [usize::MAX, 300] {
                let c = case(&mut rng, hd, hv, nkv, group, n_kv, window);
                let got = run(&c, nkv, hv, threads);
                let (mut kr, mut vr) = (vec![0f32; hd], vec![0f32; hv]);
                let mut q = vec![0f32; hd];
                for kv_head in 0..nkv {
                    for h in 0..group {
                        let row = (kv_head * group + h) * c.qrb;
                        (c.kv.k_kernels.dequantize)(&c.qq[row..row + c.qrb], &mut q);
                        let mut w = Vec::new();
                        for j in c.first..c.n_kv {
                            (c.kv.k_kernels.dequantize)(c.kv.k_rows(0, kv_head).row(j), &mut kr);
                            let dot: f64 =
                                q.iter().zip(&kr).map(|(&a, &b)| a as f64 * b as f64).sum();
                            w.push(dot * c.scale as f64);
                        }
                        let mx = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let e: Vec<f64> = w.iter().map(|x| (x - mx).exp()).collect();
                        let total: f64 = e.iter().sum();
                        let mut want = vec![0f64; hv];
                        for (i, &ei) in e.iter().enumerate() {
                            (c.kv.v_kernels.dequantize)(
                                c.kv.v_rows(0, kv_head).row(c.first + i),
                                &mut vr,
                            );
                            for (o, &x) in want.iter_mut().zip(&vr) {
                                *o += ei / total * x as f64;
                            }
                        }
                        let r = (kv_head * group + h) * hv;
                        for (a, &b) in want.iter().zip(&got[r..r + hv]) {
                            assert!(
                                (a - b as f64).abs() < 4e-3,
                                "threads {threads} window {window}: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }
    }
}
