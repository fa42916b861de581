//! The accumulation order of llama.cpp's x86 F16 matrix products (llamafile's tinyBLAS on
//! AVX-512, used for K·q and P·V when the row length is a multiple of 16): one 16-lane f32
//! accumulator fed by fused multiply-adds, element `i` into lane `i % 16`, then a halving tree
//! (`_mm512_reduce_add_ps`). Matching it bit for bit keeps attention from flipping f16 roundings
//! of probabilities, which a real model (Gemma 3) amplifies into logit differences above 1.

use half::f16;

pub const LANES: usize = 16;

#[inline]
fn half_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f32()
}

/// Sum of the lanes as `_mm512_reduce_add_ps`: lane i += lane i + h, halving h.
#[inline]
pub fn reduce_lanes(mut lanes: [f32; LANES]) -> f32 {
    let mut h = LANES / 2;
    while h > 0 {
        for i in 0..h {
            lanes[i] += lanes[i + h];
        }
        h /= 2;
    }
    lanes[0]
}

/// Dot product of two F16 rows of `n` elements (`n % 16 == 0`) in tinyBLAS order.
pub fn dot_f16(n: usize, a: &[u8], b: &[u8]) -> f32 {
    let mut acc = [0f32; LANES];
    for i in 0..n {
        let l = i % LANES;
        acc[l] = half_at(a, i).mul_add(half_at(b, i), acc[l]);
    }
    reduce_lanes(acc)
}

/// Per output column, 16 lane accumulators of `p_j * v_j` (row j into lane `j % 16`).
pub struct LaneAcc {
    dim: usize,
    acc: Vec<f32>,
}

impl LaneAcc {
    pub fn new(dim: usize) -> LaneAcc {
        LaneAcc {
            dim,
            acc: vec![0f32; dim * LANES],
        }
    }

    /// Adds `p * v` for row `j` (v: F16 bytes of `dim` elements).
    pub fn add_f16_row(&mut self, j: usize, p: f32, v: &[u8]) {
        let l = j % LANES;
        for d in 0..self.dim {
            let a = &mut self.acc[d * LANES + l];
            *a = p.mul_add(half_at(v, d), *a);
        }
    }

    pub fn finish(&self, out: &mut [f32]) {
        for (d, o) in out.iter_mut().enumerate().take(self.dim) {
            let mut lanes = [0f32; LANES];
            lanes.copy_from_slice(&self.acc[d * LANES..(d + 1) * LANES]);
            *o = reduce_lanes(lanes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter()
            .flat_map(|&x| f16::from_f32(x).to_bits().to_le_bytes())
            .collect()
    }

    #[test]
    fn dot_and_lane_accumulator_agree_with_plain_sums() {
        let a: Vec<f32> = (0..32).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..32).map(|i| 1.0 - i as f32 * 0.25).collect();
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_f16(32, &bytes(&a), &bytes(&b)) - exact).abs() < 1e-3);
        let mut acc = LaneAcc::new(2);
        for j in 0..20 {
            acc.add_f16_row(j, 0.5, &bytes(&[1.0, j as f32]));
        }
        let mut out = [0f32; 2];
        acc.finish(&mut out);
        assert_eq!(out, [10.0, 95.0]);
    }
}
