//! The fixtures' reference-logits format (`i32 n_tokens, i32 n_vocab, i32 tokens[n], f32 logits[n][n_vocab]`,
//! little-endian), the tolerance table, and the agreement metrics (max |Δlogit|, mean KL).

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("{path}: {msg}")]
    Format { path: String, msg: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceLogits {
    pub tokens: Vec<u32>,
    pub n_vocab: usize,
    pub logits: Vec<f32>,
}

impl ReferenceLogits {
    pub fn read(path: &Path) -> Result<ReferenceLogits, ReferenceError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ReferenceError::Io {
            path: shown.clone(),
            source: e,
        })?;
        let bad = |msg: &str| ReferenceError::Format {
            path: shown.clone(),
            msg: msg.into(),
        };
        let word = |i: usize| -> Option<[u8; 4]> {
            bytes
                .get(4 * i..4 * i + 4)
                .map(|b| [b[0], b[1], b[2], b[3]])
        };
        let n = word(0)
            .map(i32::from_le_bytes)
            .ok_or_else(|| bad("truncated header"))?;
        let v = word(1)
            .map(i32::from_le_bytes)
            .ok_or_else(|| bad("truncated header"))?;
        if n < 0 || v <= 0 {
            return Err(bad("negative sizes"));
        }
        let (n, v) = (n as usize, v as usize);
        let expected = 4u128 * (2 + n as u128 + n as u128 * v as u128);
        if bytes.len() as u128 != expected {
            return Err(bad(&format!(
                "size {} bytes, header implies {expected}",
                bytes.len()
            )));
        }
        let tokens = (0..n)
            .filter_map(|i| word(2 + i))
            .map(|b| i32::from_le_bytes(b) as u32)
            .collect();
        let logits = (0..n * v)
            .filter_map(|i| word(2 + n + i))
            .map(f32::from_le_bytes)
            .collect();
        Ok(ReferenceLogits {
            tokens,
            n_vocab: v,
            logits,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * (self.tokens.len() + self.logits.len()));
        out.extend_from_slice(&(self.tokens.len() as i32).to_le_bytes());
        out.extend_from_slice(&(self.n_vocab as i32).to_le_bytes());
        for &t in &self.tokens {
            out.extend_from_slice(&(t as i32).to_le_bytes());
        }
        for &l in &self.logits {
            out.extend_from_slice(&l.to_le_bytes());
        }
        out
    }
}

/// max |Δlogit| and mean over positions of KL(softmax(reference) ‖ softmax(ours)).
pub fn compare(reference: &[f32], ours: &[f32], n_vocab: usize) -> (f32, f64) {
    let mut max_abs = 0f32;
    let mut kl_sum = 0f64;
    let rows = reference.len() / n_vocab;
    for (r, o) in reference
        .chunks_exact(n_vocab)
        .zip(ours.chunks_exact(n_vocab))
    {
        for (a, b) in r.iter().zip(o) {
            max_abs = max_abs.max((a - b).abs());
            if !b.is_finite() {
                max_abs = f32::INFINITY;
            }
        }
        let lse = |x: &[f32]| {
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            m + x.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln()
        };
        let (lr, lo) = (lse(r), lse(o));
        kl_sum += r
            .iter()
            .zip(o)
            .map(|(&a, &b)| {
                let la = a as f64 - lr;
                la.exp() * (la - (b as f64 - lo))
            })
            .sum::<f64>();
    }
    (max_abs, kl_sum / rows.max(1) as f64)
}

/// One row of `tolerances.tsv`.
#[derive(Debug, Clone)]
pub struct Tolerance {
    pub model: String,
    pub max_abs: f32,
    pub mean_kl: f64,
}

pub fn read_tolerances(path: &Path) -> Result<Vec<Tolerance>, ReferenceError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ReferenceError::Io {
        path: shown.clone(),
        source: e,
    })?;
    let mut out = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let parse = || -> Option<Tolerance> {
            Some(Tolerance {
                model: f.first()?.to_string(),
                max_abs: f.get(1)?.parse().ok()?,
                mean_kl: f.get(2)?.parse().ok()?,
            })
        };
        out.push(parse().ok_or_else(|| ReferenceError::Format {
            path: shown.clone(),
            msg: format!("bad line '{line}'"),
        })?);
    }
    Ok(out)
}
