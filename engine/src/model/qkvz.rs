//! The Gated DeltaNet input projection: `q | k | v` for the conv and `z` for the output gate.
//! Current GGUFs store it as `attn_qkv` + `attn_gate`; Qwen3-Next files converted before that
//! split (llama.cpp still reads them: "ssm_in is used by legacy GGUF") store one `ssm_in` whose
//! output rows come per key head g as `[q_g, k_g, v of g's value heads, z of g's value heads]`.

use super::config::SsmConfig;
use super::error::ModelError;
use crate::cpu::matmul;
use crate::tensor::Tensor;

pub enum QkvzProjection {
    Split { qkv: Tensor, z: Tensor },
    Fused(Tensor),
}

impl QkvzProjection {
    /// `x`: T rows of n_embd. `qkv`: T rows of `conv_dim` (q | k | v); `z`: T rows of `d_inner`.
    pub fn project(
        &self,
        s: &SsmConfig,
        x: &[f32],
        qkv: &mut [f32],
        z: &mut [f32],
    ) -> Result<(), ModelError> {
        match self {
            QkvzProjection::Split { qkv: wqkv, z: wz } => {
                matmul(wqkv, x, qkv)?;
                matmul(wz, x, z)?;
            }
            QkvzProjection::Fused(w) => {
                let t_n = qkv.len() / s.conv_dim();
                let mut fused = vec![0f32; t_n * (s.conv_dim() + s.d_inner)];
                matmul(w, x, &mut fused)?;
                split_fused(s, &fused, qkv, z);
            }
        }
        Ok(())
    }
}

/// Reorders fused per-key-head rows into the split layout (both per token).
fn split_fused(s: &SsmConfig, fused: &[f32], qkv: &mut [f32], z: &mut [f32]) {
    let (dk, hk, key_dim) = (s.d_state, s.n_group, s.key_dim());
    // Value (and z) width belonging to one key head.
    let vg = s.d_inner / hk;
    let group = 2 * dk + 2 * vg;
    let (conv_dim, d_inner) = (s.conv_dim(), s.d_inner);
    for ((f, q), zt) in fused
        .chunks_exact(group * hk)
        .zip(qkv.chunks_exact_mut(conv_dim))
        .zip(z.chunks_exact_mut(d_inner))
    {
        for g in 0..hk {
            let src = &f[g * group..(g + 1) * group];
            q[g * dk..(g + 1) * dk].copy_from_slice(&src[..dk]);
            q[key_dim + g * dk..key_dim + (g + 1) * dk].copy_from_slice(&src[dk..2 * dk]);
            let v0 = 2 * key_dim + g * vg;
            q[v0..v0 + vg].copy_from_slice(&src[2 * dk..2 * dk + vg]);
            zt[g * vg..(g + 1) * vg].copy_from_slice(&src[2 * dk + vg..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_rows_land_in_their_split_places() {
        // 2 key heads of width 2, 4 value heads of width 1 (2 per key head).
        let s = SsmConfig {
            d_conv: 4,
            d_state: 2,
            n_group: 2,
            dt_rank: 4,
            d_inner: 4,
        };
        // Per key head: q(2) k(2) v(2) z(2); values name their destination.
        let fused = [
            10., 11., 20., 21., 30., 31., 40., 41., // g = 0
            12., 13., 22., 23., 32., 33., 42., 43., // g = 1
        ];
        let (mut qkv, mut z) = (vec![0f32; 12], vec![0f32; 4]);
        split_fused(&s, &fused, &mut qkv, &mut z);
        assert_eq!(
            qkv,
            [10., 11., 12., 13., 20., 21., 22., 23., 30., 31., 32., 33.]
        );
        assert_eq!(z, [40., 41., 42., 43.]);
    }
}
