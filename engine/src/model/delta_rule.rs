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
    if crate::isa_ceiling::avx2_allowed() && std::is_x86_feature_detected!("avx2") {
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

/// Value columns processed together: column j of the state is all that output j, the key read
/// j and the update of column j need, so a block of columns (128 keys × 32 columns = 16 KiB) is
/// read, updated and read again while it sits in L1, where whole-state passes went to L2.
const COLUMN_BLOCK: usize = 32;

/// `kv` (len dv, zeroed) is scratch; on return it holds `beta·(v − S·k)`.
#[inline(always)]
fn step_body(p: &HeadStep, sm: &mut [f32], o: &mut [f32], kv: &mut [f32]) {
    let dv = o.len();
    let mut j0 = 0;
    while j0 + COLUMN_BLOCK <= dv {
        column_block::<COLUMN_BLOCK>(p, sm, dv, j0, o, kv);
        j0 += COLUMN_BLOCK;
    }
    for j in j0..dv {
        column_block::<1>(p, sm, dv, j, o, kv);
    }
}

/// Columns `j0..j0 + W` of the step.
#[inline(always)]
fn column_block<const W: usize>(
    p: &HeadStep,
    sm: &mut [f32],
    dv: usize,
    j0: usize,
    o: &mut [f32],
    kv: &mut [f32],
) {
    let mut read = [0f32; W];
    for (row, &ki) in sm.chunks_exact_mut(dv).zip(p.k) {
        let cols: &mut [f32; W] = (&mut row[j0..j0 + W]).try_into().unwrap();
        for (sv, r) in cols.iter_mut().zip(read.iter_mut()) {
            *sv *= p.decay;
            *r += *sv * ki;
        }
    }
    let mut delta = [0f32; W];
    for ((d, r), &vj) in delta.iter_mut().zip(&read).zip(&p.v[j0..j0 + W]) {
        *d = (vj - *r) * p.beta;
    }
    let mut out = [0f32; W];
    for ((row, &ki), &qi) in sm.chunks_exact_mut(dv).zip(p.k).zip(p.q) {
        let cols: &mut [f32; W] = (&mut row[j0..j0 + W]).try_into().unwrap();
        for ((sv, &dj), oj) in cols.iter_mut().zip(&delta).zip(out.iter_mut()) {
            *sv += ki * dj;
            *oj += *sv * qi;
        }
    }
    o[j0..j0 + W].copy_from_slice(&out);
    kv[j0..j0 + W].copy_from_slice(&delta);
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
