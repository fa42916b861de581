//! Rotary position embeddings with ggml's angle recurrence (`theta *= base^(-2/n_rot)` per pair).

use super::config::RopeKind;
use crate::scratch::Scratch;

pub struct Rope {
    pub kind: RopeKind,
    pub n_rot: usize,
    theta_scale: f32,
    /// Linear rope scaling: angles multiplied by this (1 / factor).
    freq_scale: f32,
    /// Llama 3 `rope_freqs`: per-pair divisors of the angle.
    freq_factors: Option<Vec<f32>>,
}

/// cos/sin per rotated pair for one position.
pub struct RopeAngles<'a> {
    pub cos: &'a [f32],
    pub sin: &'a [f32],
}

/// The angles of consecutive positions, in reused buffers (no allocation per decoded token).
pub struct RopeTable {
    half: usize,
    cos: Scratch<f32>,
    sin: Scratch<f32>,
}

impl RopeTable {
    /// The angles of the table's `t`-th position.
    pub fn at(&self, t: usize) -> RopeAngles<'_> {
        let r = t * self.half..(t + 1) * self.half;
        RopeAngles {
            cos: &self.cos[r.clone()],
            sin: &self.sin[r],
        }
    }
}

impl Rope {
    pub fn new(kind: RopeKind, n_rot: usize, base: f32) -> Rope {
        Rope {
            kind,
            n_rot,
            theta_scale: base.powf(-2.0 / n_rot as f32),
            freq_scale: 1.0,
            freq_factors: None,
        }
    }

    /// With linear scaling and/or per-pair frequency factors (ggml: `freq_scale * theta / ff[i]`).
    pub fn scaled(mut self, freq_scale: f32, freq_factors: Option<Vec<f32>>) -> Rope {
        self.freq_scale = freq_scale;
        self.freq_factors = freq_factors;
        self
    }

    /// The angles of positions `pos0 .. pos0 + n`.
    pub fn table(&self, pos0: usize, n: usize) -> RopeTable {
        let half = self.n_rot / 2;
        let (mut cos, mut sin) = (Scratch::zeroed(n * half), Scratch::zeroed(n * half));
        if half > 0 {
            let rows = cos.chunks_exact_mut(half).zip(sin.chunks_exact_mut(half));
            for (t, (c, s)) in rows.enumerate() {
                self.fill(pos0 + t, c, s);
            }
        }
        RopeTable { half, cos, sin }
    }

    /// cos/sin of each rotated pair at `pos`.
    fn fill(&self, pos: usize, cos: &mut [f32], sin: &mut [f32]) {
        let half = self.n_rot / 2;
        let p = pos as f32;
        // IMRoPE (text): sections t/h/w carry the position, the fourth section ("e") position 0.
        let mut theta = p;
        let mut theta_e = 0f32;
        for i in 0..half {
            let t = match self.kind {
                RopeKind::IMrope(sec) => {
                    let total: usize = sec.iter().sum::<usize>().max(1);
                    let s = i % total;
                    let in_thw = (s % 3 == 1 && s < 3 * sec[1])
                        || (s % 3 == 2 && s < 3 * sec[2])
                        || (s % 3 == 0 && s < 3 * sec[0]);
                    if in_thw {
                        theta
                    } else {
                        theta_e
                    }
                }
                _ => theta,
            };
            let ff = self
                .freq_factors
                .as_ref()
                .and_then(|f| f.get(i))
                .copied()
                .unwrap_or(1.0);
            let t = self.freq_scale * (t / ff);
            cos[i] = t.cos();
            sin[i] = t.sin();
            theta *= self.theta_scale;
            theta_e *= self.theta_scale;
        }
    }

    /// Rotates the first `n_rot` dims of one head in place. The x0 products are fused as GCC
    /// contracts ggml's `x0*cos - x1*sin` (bit-exact against llama.cpp's x86 build).
    pub fn apply(&self, head: &mut [f32], a: &RopeAngles) {
        let half = self.n_rot / 2;
        match self.kind {
            RopeKind::Norm => {
                for i in 0..half {
                    let (x0, x1) = (head[2 * i], head[2 * i + 1]);
                    head[2 * i] = x0.mul_add(a.cos[i], -(x1 * a.sin[i]));
                    head[2 * i + 1] = x0.mul_add(a.sin[i], x1 * a.cos[i]);
                }
            }
            RopeKind::Neox | RopeKind::IMrope(_) => {
                for i in 0..half {
                    let (x0, x1) = (head[i], head[i + half]);
                    head[i] = x0.mul_add(a.cos[i], -(x1 * a.sin[i]));
                    head[i + half] = x0.mul_add(a.sin[i], x1 * a.cos[i]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_identity_and_norm_preserved() {
        let r = Rope::new(RopeKind::Neox, 4, 10000.0);
        let mut h = vec![1.0, 2.0, 3.0, 4.0, 5.0];
        r.apply(&mut h, &r.table(0, 1).at(0));
        assert_eq!(h, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let table = r.table(5, 3);
        r.apply(&mut h, &table.at(2));
        let n: f32 = h[..4].iter().map(|v| v * v).sum();
        assert!((n - 30.0).abs() < 1e-4);
        assert_eq!(h[4], 5.0);
    }
}
