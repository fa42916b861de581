//! Statistics over repetition samples: summaries, seeded bootstrap confidence intervals and the
//! Mann-Whitney U test (two-sided, normal approximation with tie and continuity correction — the
//! same as `scipy.stats.mannwhitneyu(method="asymptotic")`). Reference values: testdata/.

use serde::{Deserialize, Serialize};

/// Median; None for no samples. NaNs sort last (they should never be in a record).
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

pub fn mean(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    Some(samples.iter().sum::<f64>() / samples.len() as f64)
}

/// Sample standard deviation (n − 1), 0 for fewer than two samples (as llama-bench reports it).
pub fn stddev(samples: &[f64]) -> f64 {
    let n = samples.len();
    if n < 2 {
        return 0.0;
    }
    let m = samples.iter().sum::<f64>() / n as f64;
    (samples.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64).sqrt()
}

/// A two-sided confidence interval with the method that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    pub level: f64,
    pub low: f64,
    pub high: f64,
}

/// Resamples drawn by the bootstrap functions: enough for stable 95 % percentile bounds.
pub const BOOTSTRAP_RESAMPLES: usize = 4000;

/// Deterministic generator (SplitMix64): the same seed gives the same interval on every machine.
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform index below `n` (n > 0); the modulo bias is below 2^-40 for any sample count here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn resample(samples: &[f64], rng: &mut SeededRng, buf: &mut Vec<f64>) {
    buf.clear();
    buf.extend((0..samples.len()).map(|_| samples[rng.below(samples.len())]));
}

/// Percentile of sorted values with linear interpolation (numpy's default).
fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn percentile_interval(mut stats: Vec<f64>, level: f64) -> ConfidenceInterval {
    stats.sort_by(|a, b| a.total_cmp(b));
    let alpha = (1.0 - level) / 2.0;
    ConfidenceInterval {
        level,
        low: percentile_sorted(&stats, alpha),
        high: percentile_sorted(&stats, 1.0 - alpha),
    }
}

/// Percentile bootstrap CI of `statistic` over `samples`. None for no samples.
pub fn bootstrap_ci(
    samples: &[f64],
    statistic: impl Fn(&[f64]) -> f64,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<ConfidenceInterval> {
    if samples.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = SeededRng::new(seed);
    let mut buf = Vec::with_capacity(samples.len());
    let stats = (0..resamples)
        .map(|_| {
            resample(samples, &mut rng, &mut buf);
            statistic(&buf)
        })
        .collect();
    Some(percentile_interval(stats, level))
}

/// 95 % bootstrap CI of the median (the interval stored in every record).
pub fn median_ci(samples: &[f64], seed: u64) -> Option<ConfidenceInterval> {
    bootstrap_ci(
        samples,
        |s| median(s).unwrap_or(f64::NAN),
        0.95,
        BOOTSTRAP_RESAMPLES,
        seed,
    )
}

/// CI of median(candidate) / median(base) by resampling both samples independently.
pub fn ratio_ci(
    base: &[f64],
    candidate: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<ConfidenceInterval> {
    if base.is_empty() || candidate.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = SeededRng::new(seed);
    let (mut bb, mut cb) = (Vec::new(), Vec::new());
    let stats = (0..resamples)
        .map(|_| {
            resample(base, &mut rng, &mut bb);
            resample(candidate, &mut rng, &mut cb);
            median(&cb).unwrap_or(f64::NAN) / median(&bb).unwrap_or(f64::NAN)
        })
        .collect();
    Some(percentile_interval(stats, level))
}

/// Result of a two-sided Mann-Whitney U test of `a` against `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U statistic of the first sample (scipy's `statistic`).
    pub u1: f64,
    pub p_value: f64,
}

/// Two-sided Mann-Whitney U test, normal approximation with tie correction and continuity
/// correction. None if a sample is empty.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0; // Σ (t³ − t) over tie groups
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += all[i..=j].iter().filter(|e| e.1).count() as f64 * avg_rank;
        i = j + 1;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = rank_sum_a - n1f * (n1f + 1.0) / 2.0;
    let u2 = n1f * n2f - u1;
    let u = u1.max(u2);
    let mu = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 || !var.is_finite() {
        return Some(MannWhitney { u1, p_value: 1.0 });
    }
    let z = (u - mu - 0.5) / var.sqrt();
    let p = (2.0 * normal_sf(z)).min(1.0);
    Some(MannWhitney { u1, p_value: p })
}

/// Survival function of the standard normal distribution.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function, fractional error below 1.2e-7 (Numerical Recipes' `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Holm–Bonferroni adjusted p-values (same order as the input): controls the family-wise error
/// rate over all points compared.
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![1.0; m];
    let mut running_max: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        let adj = ((m - k) as f64 * p_values[i]).min(1.0);
        running_max = running_max.max(adj);
        adjusted[i] = running_max;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reference() -> Value {
        serde_json::from_str(include_str!("testdata/stats_reference.json")).unwrap()
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn summaries_match_numpy() {
        for case in reference()["summaries"].as_array().unwrap() {
            let s = floats(&case["samples"]);
            assert!(close(
                median(&s).unwrap(),
                case["median"].as_f64().unwrap(),
                1e-12
            ));
            assert!(close(
                mean(&s).unwrap(),
                case["mean"].as_f64().unwrap(),
                1e-12
            ));
            let sd = case["stddev"].as_f64().unwrap();
            assert!((stddev(&s) - sd).abs() <= 1e-9 * sd.max(1.0), "{s:?}");
        }
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn mann_whitney_matches_scipy() {
        for case in reference()["mann_whitney"].as_array().unwrap() {
            let (a, b) = (floats(&case["a"]), floats(&case["b"]));
            let r = mann_whitney_u(&a, &b).unwrap();
            assert_eq!(r.u1, case["u1"].as_f64().unwrap(), "{a:?} {b:?}");
            let p = case["p"].as_f64().unwrap();
            assert!(close(r.p_value, p, 1e-6), "p {} vs scipy {p}", r.p_value);
        }
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
    }

    #[test]
    fn bootstrap_agrees_with_scipy_within_resampling_noise() {
        let case = &reference()["bootstrap_mean"];
        let s = floats(&case["samples"]);
        let (lo, hi) = (
            case["low"].as_f64().unwrap(),
            case["high"].as_f64().unwrap(),
        );
        let ci = bootstrap_ci(&s, |x| mean(x).unwrap(), 0.95, 20000, 1).unwrap();
        let tol = 0.05 * (hi - lo);
        assert!(
            (ci.low - lo).abs() < tol && (ci.high - hi).abs() < tol,
            "{ci:?} vs [{lo}, {hi}]"
        );
    }

    #[test]
    fn bootstrap_is_deterministic_and_brackets_the_median() {
        let s = [10.1, 9.7, 10.4, 10.0, 9.9, 10.3, 9.5];
        let a = median_ci(&s, 42).unwrap();
        assert_eq!(a, median_ci(&s, 42).unwrap());
        let m = median(&s).unwrap();
        assert!(a.low <= m && m <= a.high && a.low >= 9.5 && a.high <= 10.4);
        assert_eq!(median_ci(&[], 1), None);
    }

    #[test]
    fn ratio_ci_brackets_the_true_ratio() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2];
        let cand: Vec<f64> = base.iter().map(|x| x * 0.8).collect();
        let ci = ratio_ci(&base, &cand, 0.95, 4000, 3).unwrap();
        assert!(
            ci.low <= 0.8 && ci.high >= 0.8 && ci.high < 0.9 && ci.low > 0.7,
            "{ci:?}"
        );
    }

    #[test]
    fn holm_matches_hand_computation() {
        // Sorted p: 0.01 (×3 = 0.03), 0.02 (×2 = 0.04), 0.04 (×1 = 0.04).
        let adj = holm_adjust(&[0.04, 0.01, 0.02]);
        let want = [0.04, 0.03, 0.04];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adj:?}");
        }
    }

    #[test]
    fn normal_sf_known_values() {
        assert!(close(normal_sf(1.959963984540054), 0.025, 1e-6));
        assert!(close(normal_sf(0.0), 0.5, 1e-7));
        assert!(close(normal_sf(-1.0), 0.8413447460685429, 1e-7));
    }
}
