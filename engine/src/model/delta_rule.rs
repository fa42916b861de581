//! The delta-rule step of one Gated DeltaNet value head: decay the `[dk][dv]` state, read it with
//! the key, write back `beta·(v − S·k)` along the key, read it with the query.
//!
//! Every output element is the same chain of float operations as the straightforward loop (each
//! j is independent; sums over i stay in order), so the loops are written as zipped slices the
//! compiler can vectorize, and compiled twice: with AVX2 (8 lanes) where the CPU has it, and the
//! baseline SSE2. Indexed loops with bounds checks stayed scalar and cost ~10% of a Qwen3.5-MoE
//! decode step.

/// Inputs of one head's update; `sm` is the head's state, rows of `dv` for each of the `dk` keys.
pub struct HeadStep<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub beta: f32,
    pub decay: f32,
}

/// Value-head widths up to this use stack buffers; wider ones allocate.
const STACK_DV: usize = 256;

/// Updates `sm` in place and writes the head's raw output (before scaling and norm) to `o`.
pub fn step(p: &HeadStep, sm: &mut [f32], o: &mut [f32]) {
    let dv = o.len();
    if dv <= STACK_DV {
        let mut kv = [0f32; STACK_DV];
        step_with(p, sm, o, &mut kv[..dv]);
    } else {
        step_with(p, sm, o, &mut vec![0f32; dv]);
    }
}

fn step_with(p: &HeadStep, sm: &mut [f32], o: &mut [f32], kv: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { step_avx2(p, sm, o, kv) };
    }
    step_body(p, sm, o, kv)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_avx2(p: &HeadStep, sm: &mut [f32], o: &mut [f32], kv: &mut [f32]) {
    step_body(p, sm, o, kv)
}

/// `kv` (len dv, zeroed) is scratch; on return it holds `beta·(v − S·k)`.
#[inline(always)]
fn step_body(p: &HeadStep, sm: &mut [f32], o: &mut [f32], kv: &mut [f32]) {
    let dv = o.len();
    for (row, &ki) in sm.chunks_exact_mut(dv).zip(p.k) {
        for (sv, kvj) in row.iter_mut().zip(kv.iter_mut()) {
            *sv *= p.decay;
            *kvj += *sv * ki;
        }
    }
    // kv becomes delta in place.
    for (kvj, &vj) in kv.iter_mut().zip(p.v) {
        *kvj = (vj - *kvj) * p.beta;
    }
    o.fill(0.0);
    for ((row, &ki), &qi) in sm.chunks_exact_mut(dv).zip(p.k).zip(p.q) {
        for ((sv, &dj), oj) in row.iter_mut().zip(kv.iter()).zip(o.iter_mut()) {
            *sv += ki * dj;
            *oj += *sv * qi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward indexed loop the step replaced.
    fn reference(p: &HeadStep, sm: &mut [f32], o: &mut [f32]) {
        let (dk, dv) = (p.k.len(), o.len());
        let mut kv = vec![0f32; dv];
        for i in 0..dk {
            for j in 0..dv {
                sm[i * dv + j] *= p.decay;
                kv[j] += sm[i * dv + j] * p.k[i];
            }
        }
        let delta: Vec<f32> = (0..dv).map(|j| (p.v[j] - kv[j]) * p.beta).collect();
        o.fill(0.0);
        for i in 0..dk {
            for j in 0..dv {
                sm[i * dv + j] += p.k[i] * delta[j];
                o[j] += sm[i * dv + j] * p.q[i];
            }
        }
    }

    fn vals(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn matches_indexed_loop_bit_for_bit() {
        for (dk, dv) in [(128, 128), (16, 24), (8, 300)] {
            let (q, k, v) = (vals(dk, 1), vals(dk, 2), vals(dv, 3));
            let p = HeadStep {
                q: &q,
                k: &k,
                v: &v,
                beta: 0.7,
                decay: 0.93,
            };
            let mut s1 = vals(dk * dv, 4);
            let mut s2 = s1.clone();
            let (mut o1, mut o2) = (vec![0f32; dv], vec![0f32; dv]);
            for _ in 0..3 {
                reference(&p, &mut s1, &mut o1);
                step(&p, &mut s2, &mut o2);
            }
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&s1), bits(&s2));
            assert_eq!(bits(&o1), bits(&o2));
        }
    }
}
