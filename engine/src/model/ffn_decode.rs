//! Feed-forward for one token (decode): the same arithmetic as [`super::ffn`], batched so that
//! each input is quantized once and each step is one parallel region: gate+up fused, and for a
//! mixture of experts, all selected experts' (and the shared expert's) gate+up, then all downs.
//! Only the selected experts' rows are read. Buffers are per-thread and reused: no allocation
//! once warmed up.

use super::config::Activation;
use super::error::ModelError;
use super::expert_choice::top_k;
use super::ggml_math::{geglu_in_place, swiglu_in_place};
use super::norm::{sigmoid, softmax_in_place};
use super::weights::SharedExpert;
use crate::cpu::matvec::{matvec_jobs, MatvecJob, WeightRows, MAX_JOBS};
use crate::tensor::Tensor;
use std::cell::RefCell;

/// Reused buffers: gate/up outputs per expert slot (and the shared expert), down outputs.
#[derive(Default)]
struct Buffers {
    gate: Vec<Vec<f32>>,
    up: Vec<Vec<f32>>,
    down: Vec<Vec<f32>>,
    probs: Vec<f32>,
    order: Vec<usize>,
}

impl Buffers {
    /// At least `slots` gate/up buffers of `n_ff` floats and down buffers of `n_embd`.
    fn reserve(&mut self, slots: usize, n_ff: usize, n_embd: usize) {
        for v in [&mut self.gate, &mut self.up, &mut self.down] {
            if v.len() < slots {
                v.resize_with(slots, Vec::new);
            }
        }
        for i in 0..slots {
            self.gate[i].resize(n_ff, 0.0);
            self.up[i].resize(n_ff, 0.0);
            self.down[i].resize(n_embd, 0.0);
        }
    }
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

fn with_buffers<R>(f: impl FnOnce(&mut Buffers) -> R) -> R {
    BUFFERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut b) => f(&mut b),
        Err(_) => f(&mut Buffers::default()),
    })
}

fn activate(act: Activation, g: &mut [f32], u: &[f32]) {
    match act {
        Activation::Silu => swiglu_in_place(g, u),
        Activation::Gelu => geglu_in_place(g, u),
    }
}

/// `out = down(act(gate x) * (up x))` for one token.
pub fn gated_ffn_one(
    act: Activation,
    gate: &Tensor,
    up: &Tensor,
    down: &Tensor,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    with_buffers(|b| {
        b.reserve(1, gate.n_rows(), 0);
        let (g, u) = (&mut b.gate[0], &mut b.up[0]);
        matvec_jobs(&mut [
            MatvecJob {
                w: WeightRows::of(gate),
                x,
                out: g,
            },
            MatvecJob {
                w: WeightRows::of(up),
                x,
                out: u,
            },
        ])?;
        activate(act, g, u);
        matvec_jobs(&mut [MatvecJob {
            w: WeightRows::of(down),
            x: g,
            out,
        }])?;
        Ok(())
    })
}

/// Whether [`moe_one`] can batch `k` experts (plus a shared one) within one call's job limit.
pub fn moe_one_fits(k: usize) -> bool {
    2 * (k + 1) <= MAX_JOBS
}

/// Softmax top-k mixture of experts (weights renormalized over the k) for one token, plus the
/// sigmoid-gated shared expert when present. Same sums in the same order as the batched path.
#[allow(clippy::too_many_arguments)]
pub fn moe_one(
    router: &Tensor,
    gate: &Tensor,
    up: &Tensor,
    down: &Tensor,
    n_ff: usize,
    k: usize,
    shared: Option<&SharedExpert>,
    x: &[f32],
    out: &mut [f32],
) -> Result<(), ModelError> {
    let n_embd = router.row_len();
    let n_expert = router.n_rows();
    let k = k.min(n_expert);
    let n_shared = shared.map_or(0, |s| s.gate.n_rows());
    let slots = k + usize::from(shared.is_some());
    with_buffers(|b| {
        b.reserve(slots, n_ff.max(n_shared), n_embd);
        b.probs.resize(n_expert, 0.0);
        matvec_jobs(&mut [MatvecJob {
            w: WeightRows::of(router),
            x,
            out: &mut b.probs,
        }])?;
        let probs = &mut b.probs;
        softmax_in_place(probs);
        top_k(probs, k, &mut b.order);
        let chosen = &b.order[..k];
        let sum = chosen
            .iter()
            .map(|&e| probs[e])
            .sum::<f32>()
            .max(6.103_515_6e-5);

        let (gate_w, up_w, down_w) = (
            WeightRows::of(gate),
            WeightRows::of(up),
            WeightRows::of(down),
        );
        // Gate and up of every selected expert (and the shared one): one input, one region.
        {
            let mut jobs: [Option<MatvecJob>; MAX_JOBS] = std::array::from_fn(|_| None);
            let gu = b.gate.iter_mut().zip(b.up.iter_mut()).take(slots);
            for (slot, (g, u)) in gu.enumerate() {
                let (wg, wu, rows) = match chosen.get(slot) {
                    Some(&e) => (gate_w.rows(e * n_ff, n_ff), up_w.rows(e * n_ff, n_ff), n_ff),
                    None => match shared {
                        Some(s) => (WeightRows::of(&s.gate), WeightRows::of(&s.up), n_shared),
                        None => break,
                    },
                };
                jobs[2 * slot] = Some(MatvecJob {
                    w: wg,
                    x,
                    out: &mut g[..rows],
                });
                jobs[2 * slot + 1] = Some(MatvecJob {
                    w: wu,
                    x,
                    out: &mut u[..rows],
                });
            }
            run(&mut jobs)?;
        }
        for slot in 0..slots {
            let rows = if slot < k { n_ff } else { n_shared };
            activate(
                Activation::Silu,
                &mut b.gate[slot][..rows],
                &b.up[slot][..rows],
            );
        }
        // Every down projection, each on its own expert's activations: one region.
        {
            let mut jobs: [Option<MatvecJob>; MAX_JOBS] = std::array::from_fn(|_| None);
            let gd = b.gate.iter().zip(b.down.iter_mut()).take(slots);
            for (slot, (g, d)) in gd.enumerate() {
                let (w, rows) = match chosen.get(slot) {
                    Some(&e) => (down_w.rows(e * n_embd, n_embd), n_ff),
                    None => match shared {
                        Some(s) => (WeightRows::of(&s.down), n_shared),
                        None => break,
                    },
                };
                jobs[slot] = Some(MatvecJob {
                    w,
                    x: &g[..rows],
                    out: &mut d[..n_embd],
                });
            }
            run(&mut jobs)?;
        }
        // Weighted expert outputs summed in slot order, as ggml adds the expert views.
        for (slot, &e) in chosen.iter().enumerate() {
            let w = probs[e] / sum;
            let y = &b.down[slot][..n_embd];
            if slot == 0 {
                for (o, &v) in out.iter_mut().zip(y) {
                    *o = v * w;
                }
            } else {
                for (o, &v) in out.iter_mut().zip(y) {
                    *o += v * w;
                }
            }
        }
        if let Some(s) = shared {
            let mut g = [1f32];
            if let Some(gi) = &s.gate_inp {
                matvec_jobs(&mut [MatvecJob {
                    w: WeightRows::of(gi),
                    x,
                    out: &mut g,
                }])?;
                g[0] = sigmoid(g[0]);
            }
            for (o, &v) in out.iter_mut().zip(&b.down[k][..n_embd]) {
                *o += v * g[0];
            }
        }
        Ok(())
    })
}

/// Runs the `Some` jobs (a prefix) in one call.
fn run(jobs: &mut [Option<MatvecJob>; MAX_JOBS]) -> Result<(), ModelError> {
    let n = jobs.iter().take_while(|j| j.is_some()).count();
    // Move the jobs into a contiguous array of plain jobs without allocating.
    let mut plain: [MatvecJob; MAX_JOBS] = std::array::from_fn(|i| match jobs[i].take() {
        Some(j) => j,
        None => MatvecJob {
            w: WeightRows::empty(),
            x: &[],
            out: &mut [],
        },
    });
    matvec_jobs(&mut plain[..n])?;
    Ok(())
}
