//! How a synthetic tensor's values are generated.

use serde::{Deserialize, Serialize};

use super::random::RowRng;

/// Value distribution of one tensor. JSON: `{"normal": {"std": 0.02}}`, `{"uniform": {"low": -8,
/// "high": -1}}`, `{"constant": 1.0}`, `"ones"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    Normal {
        std: f32,
        #[serde(default)]
        mean: f32,
    },
    Uniform {
        low: f32,
        high: f32,
    },
    Constant(f32),
    /// Norm weights.
    Ones,
}

impl Init {
    /// Fills one row from its own random stream.
    pub fn fill_row(&self, rng: &mut RowRng, out: &mut [f32]) {
        match *self {
            Init::Normal { std, mean } => {
                rng.fill_normal(out);
                out.iter_mut().for_each(|v| *v = mean + std * *v);
            }
            Init::Uniform { low, high } => {
                let span = (high - low) as f64;
                out.iter_mut()
                    .for_each(|v| *v = (low as f64 + span * rng.next_open01()) as f32);
            }
            Init::Constant(c) => out.fill(c),
            Init::Ones => out.fill(1.0),
        }
    }

    /// Checks the parameters are finite and ordered.
    pub fn validate(&self) -> Result<(), String> {
        let ok = match *self {
            Init::Normal { std, mean } => std.is_finite() && std >= 0.0 && mean.is_finite(),
            Init::Uniform { low, high } => low.is_finite() && high.is_finite() && low <= high,
            Init::Constant(c) => c.is_finite(),
            Init::Ones => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("bad init parameters {self:?}"))
        }
    }
}
