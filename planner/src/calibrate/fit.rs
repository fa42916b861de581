//! Least-squares fits of the speed model's CPU coefficients to measured slices.
//!
//! Generation: seconds per token = bytes_read / read_rate + layers * layer_overhead (two unknowns,
//! so the slices must differ in bytes per layer). Prompt: seconds per token = flops / flop_rate.

use serde::{Deserialize, Serialize};

/// What one slice cost per token, as the fit needs it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenCost {
    /// Bytes read per generated token (weights, routed-expert share, KV at the test depth).
    pub bytes: f64,
    /// Repeating layers computed per token.
    pub layers: f64,
    /// Measured seconds per generated token.
    pub seconds: f64,
}

/// Prompt FLOPs per token and the measured seconds per prompt token.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PromptCost {
    pub flops: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationFit {
    /// Bytes per second.
    pub read_rate: f64,
    /// Seconds per layer per token (>= 0).
    pub layer_overhead_s: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("no measurements to fit")]
    Empty,
    #[error("measurements are not positive and finite: {0}")]
    BadValue(String),
    #[error("the measurements give no positive read rate (times do not grow with bytes read)")]
    NoRate,
}

fn check(values: &[f64], what: &str) -> Result<(), FitError> {
    if values.iter().all(|v| v.is_finite() && *v > 0.0) {
        Ok(())
    } else {
        Err(FitError::BadValue(format!("{what}: {values:?}")))
    }
}

/// Fits `seconds = bytes / read_rate + layers * overhead` by least squares, with overhead >= 0.
/// Each point is weighted by 1/seconds², so the fit minimizes relative error (fast and slow slices
/// count alike).
pub fn fit_generation(points: &[TokenCost]) -> Result<GenerationFit, FitError> {
    if points.is_empty() {
        return Err(FitError::Empty);
    }
    for p in points {
        check(&[p.bytes, p.layers, p.seconds], "generation point")?;
    }
    // Normal equations for t = a*B + b*L with weights w = 1/t².
    let (mut bb, mut bl, mut ll, mut bt, mut lt) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        let w = 1.0 / (p.seconds * p.seconds);
        bb += w * p.bytes * p.bytes;
        bl += w * p.bytes * p.layers;
        ll += w * p.layers * p.layers;
        bt += w * p.bytes * p.seconds;
        lt += w * p.layers * p.seconds;
    }
    let det = bb * ll - bl * bl;
    let two = if det.abs() > 1e-12 * bb * ll {
        let a = (bt * ll - lt * bl) / det;
        let b = (lt * bb - bt * bl) / det;
        Some((a, b))
    } else {
        None
    };
    let (a, b) = match two {
        Some((a, b)) if a > 0.0 && b >= 0.0 => (a, b),
        // Collinear points or a negative overhead: bandwidth only.
        _ => (bt / bb, 0.0),
    };
    if !(a.is_finite() && a > 0.0) {
        return Err(FitError::NoRate);
    }
    Ok(GenerationFit {
        read_rate: 1.0 / a,
        layer_overhead_s: b,
    })
}

/// Fits `seconds = flops / rate` (relative least squares); returns FLOP/s.
pub fn fit_prompt(points: &[PromptCost]) -> Result<f64, FitError> {
    if points.is_empty() {
        return Err(FitError::Empty);
    }
    for p in points {
        check(&[p.flops, p.seconds], "prompt point")?;
    }
    // Minimize sum((k*F/t - 1)^2): k = sum(F/t) / sum((F/t)^2).
    let (mut s1, mut s2) = (0.0, 0.0);
    for p in points {
        let r = p.flops / p.seconds;
        s1 += r;
        s2 += r * r;
    }
    let k = s1 / s2;
    if !(k.is_finite() && k > 0.0) {
        return Err(FitError::NoRate);
    }
    Ok(1.0 / k)
}

/// Largest relative error of the fitted generation model over the points.
pub fn generation_residual(fit: &GenerationFit, points: &[TokenCost]) -> f64 {
    points
        .iter()
        .map(|p| {
            let pred = p.bytes / fit.read_rate + p.layers * fit.layer_overhead_s;
            (pred / p.seconds - 1.0).abs()
        })
        .fold(0.0, f64::max)
}

/// Largest relative error of the fitted prompt rate over the points.
pub fn prompt_residual(rate: f64, points: &[PromptCost]) -> f64 {
    points
        .iter()
        .map(|p| (p.flops / rate / p.seconds - 1.0).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_point(bytes: f64, layers: f64, rate: f64, ovh: f64) -> TokenCost {
        TokenCost {
            bytes,
            layers,
            seconds: bytes / rate + layers * ovh,
        }
    }

    #[test]
    fn recovers_rate_and_overhead_from_exact_points() {
        let (rate, ovh) = (12e9, 40e-6);
        let pts = [
            gen_point(30e6, 18.0, rate, ovh),
            gen_point(120e6, 2.0, rate, ovh),
            gen_point(400e6, 4.0, rate, ovh),
        ];
        let f = fit_generation(&pts).unwrap();
        assert!((f.read_rate / rate - 1.0).abs() < 1e-9, "{f:?}");
        assert!((f.layer_overhead_s / ovh - 1.0).abs() < 1e-6, "{f:?}");
        assert!(generation_residual(&f, &pts) < 1e-9);
    }

    #[test]
    fn collinear_points_fall_back_to_bandwidth_only() {
        // Same bytes per layer: overhead and rate cannot be told apart.
        let pts = [
            gen_point(10e6, 1.0, 10e9, 0.0),
            gen_point(20e6, 2.0, 10e9, 0.0),
        ];
        let f = fit_generation(&pts).unwrap();
        assert!((f.read_rate / 10e9 - 1.0).abs() < 1e-9);
        assert_eq!(f.layer_overhead_s, 0.0);
    }

    #[test]
    fn negative_overhead_is_clamped() {
        // Slower per byte on the big slice than a pure-bandwidth model allows: b would be < 0.
        let pts = [
            TokenCost {
                bytes: 10e6,
                layers: 10.0,
                seconds: 1e-3,
            },
            TokenCost {
                bytes: 100e6,
                layers: 1.0,
                seconds: 12e-3,
            },
        ];
        let f = fit_generation(&pts).unwrap();
        assert_eq!(f.layer_overhead_s, 0.0);
        assert!(f.read_rate > 0.0);
    }

    #[test]
    fn prompt_rate_is_exact_on_consistent_points() {
        let pts = [
            PromptCost {
                flops: 1e9,
                seconds: 1e9 / 80e9,
            },
            PromptCost {
                flops: 5e9,
                seconds: 5e9 / 80e9,
            },
        ];
        let r = fit_prompt(&pts).unwrap();
        assert!((r / 80e9 - 1.0).abs() < 1e-12);
        assert!(prompt_residual(r, &pts) < 1e-12);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert_eq!(fit_generation(&[]), Err(FitError::Empty));
        let bad = TokenCost {
            bytes: f64::NAN,
            layers: 1.0,
            seconds: 1.0,
        };
        assert!(matches!(fit_generation(&[bad]), Err(FitError::BadValue(_))));
        let zero = PromptCost {
            flops: 1.0,
            seconds: 0.0,
        };
        assert!(matches!(fit_prompt(&[zero]), Err(FitError::BadValue(_))));
    }
}
