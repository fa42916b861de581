//! KV cache for attention layers: one row per (position, KV head), stored in a ggml type
//! (F16 by default, as llama.cpp; Q8_0/Q4_0 when those kernels are registered).

use crate::gguf::GgmlType;
use crate::quant::{self, Kernels};

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("KV cache type {0} is not supported (no kernels or no quantizer)")]
    Unsupported(&'static str),
    #[error("head size {head_dim} is not a multiple of the {ty} block size")]
    BlockSize { head_dim: usize, ty: &'static str },
    #[error("KV cache too large: {0} bytes")]
    TooLarge(u128),
}

/// The rows of one KV head across positions: row `j` is `bytes[j * stride..][..row_bytes]`.
#[derive(Clone, Copy)]
pub struct HeadRows<'a> {
    pub bytes: &'a [u8],
    pub stride: usize,
    pub row_bytes: usize,
}

impl<'a> HeadRows<'a> {
    #[inline]
    pub fn row(&self, j: usize) -> &'a [u8] {
        &self.bytes[j * self.stride..j * self.stride + self.row_bytes]
    }

    /// Whether rows `0..end` all lie inside `bytes` (what the SIMD kernels rely on).
    pub fn holds(&self, end: usize) -> bool {
        end == 0 || (end - 1) * self.stride + self.row_bytes <= self.bytes.len()
    }
}

#[derive(Clone)]
pub struct LayerKv {
    pub k: Vec<u8>,
    pub v: Vec<u8>,
}

#[derive(Clone)]
pub struct KvCache {
    pub k_kernels: &'static Kernels,
    pub v_kernels: &'static Kernels,
    pub n_ctx: usize,
    pub n_kv_head: Vec<usize>,
    pub k_row_bytes: usize,
    pub v_row_bytes: usize,
    /// `None` for layers without attention.
    pub layers: Vec<Option<LayerKv>>,
}

fn kernels_for(ty: GgmlType, head_dim: usize) -> Result<(&'static Kernels, usize), KvError> {
    let k = quant::kernels(ty).ok_or(KvError::Unsupported(ty.name()))?;
    if k.quantize.is_none() {
        return Err(KvError::Unsupported(ty.name()));
    }
    if head_dim as u64 % ty.block_size() != 0 {
        return Err(KvError::BlockSize {
            head_dim,
            ty: ty.name(),
        });
    }
    Ok((k, ty.bytes_for(head_dim as u64).unwrap_or(0) as usize))
}

impl KvCache {
    /// `attention[i]` tells whether layer i has attention; `n_kv_head[i]` its KV heads.
    pub fn new(
        ty_k: GgmlType,
        ty_v: GgmlType,
        n_ctx: usize,
        head_dim_k: usize,
        head_dim_v: usize,
        attention: &[bool],
        n_kv_head: &[usize],
    ) -> Result<KvCache, KvError> {
        let (k_kernels, k_row_bytes) = kernels_for(ty_k, head_dim_k)?;
        let (v_kernels, v_row_bytes) = kernels_for(ty_v, head_dim_v)?;
        let mut total: u128 = 0;
        for (i, &a) in attention.iter().enumerate() {
            if a {
                total += (n_ctx * n_kv_head[i]) as u128 * (k_row_bytes + v_row_bytes) as u128;
            }
        }
        // Refuse absurd sizes up front instead of aborting inside the allocator.
        if total > (1u128 << 40) {
            return Err(KvError::TooLarge(total));
        }
        let layers = attention
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                a.then(|| LayerKv {
                    k: vec![0u8; n_ctx * n_kv_head[i] * k_row_bytes],
                    v: vec![0u8; n_ctx * n_kv_head[i] * v_row_bytes],
                })
            })
            .collect();
        Ok(KvCache {
            k_kernels,
            v_kernels,
            n_ctx,
            n_kv_head: n_kv_head.to_vec(),
            k_row_bytes,
            v_row_bytes,
            layers,
        })
    }

    /// Stores K and V of one position for all KV heads of `layer` (`k`: heads × head_dim_k).
    pub fn store(&mut self, layer: usize, pos: usize, k: &[f32], v: &[f32]) {
        let nkv = self.n_kv_head[layer];
        let (kq, vq) = (self.k_kernels.quantize, self.v_kernels.quantize);
        let (krb, vrb) = (self.k_row_bytes, self.v_row_bytes);
        if let (Some(l), Some(kq), Some(vq)) = (self.layers[layer].as_mut(), kq, vq) {
            let hk = k.len() / nkv;
            let hv = v.len() / nkv;
            for h in 0..nkv {
                let ko = (pos * nkv + h) * krb;
                kq(&k[h * hk..(h + 1) * hk], &mut l.k[ko..ko + krb]);
                let vo = (pos * nkv + h) * vrb;
                vq(&v[h * hv..(h + 1) * hv], &mut l.v[vo..vo + vrb]);
            }
        }
    }

    pub fn k_row(&self, layer: usize, pos: usize, head: usize) -> &[u8] {
        let nkv = self.n_kv_head[layer];
        let o = (pos * nkv + head) * self.k_row_bytes;
        self.layers[layer]
            .as_ref()
            .map(|l| &l.k[o..o + self.k_row_bytes])
            .unwrap_or(&[])
    }

    /// K rows of one head of `layer` (empty for layers without attention).
    pub fn k_rows(&self, layer: usize, head: usize) -> HeadRows<'_> {
        let l = self.layers[layer].as_ref().map(|l| &l.k[..]);
        self.head_rows(l, layer, head, self.k_row_bytes)
    }

    /// V rows of one head of `layer` (empty for layers without attention).
    pub fn v_rows(&self, layer: usize, head: usize) -> HeadRows<'_> {
        let l = self.layers[layer].as_ref().map(|l| &l.v[..]);
        self.head_rows(l, layer, head, self.v_row_bytes)
    }

    fn head_rows<'a>(
        &self,
        data: Option<&'a [u8]>,
        layer: usize,
        head: usize,
        row_bytes: usize,
    ) -> HeadRows<'a> {
        let nkv = self.n_kv_head[layer];
        let bytes = data.and_then(|d| d.get(head * row_bytes..)).unwrap_or(&[]);
        HeadRows {
            bytes,
            stride: nkv * row_bytes,
            row_bytes,
        }
    }

    pub fn v_row(&self, layer: usize, pos: usize, head: usize) -> &[u8] {
        let nkv = self.n_kv_head[layer];
        let o = (pos * nkv + head) * self.v_row_bytes;
        self.layers[layer]
            .as_ref()
            .map(|l| &l.v[o..o + self.v_row_bytes])
            .unwrap_or(&[])
    }
}
