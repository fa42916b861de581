//! Which experts a token goes to: the `k` highest router probabilities.

/// The `k` experts of highest probability in `probs`, highest first, into `out`. Ties keep the
/// lower index first, the order of a stable descending sort; NaN counts as lowest. One pass
/// keeping the best `k` in order instead of a sort: nothing is allocated once `out` has room for
/// `k` (a stable sort of 256 experts allocates its merge buffer on every call).
pub fn top_k(probs: &[f32], k: usize, out: &mut Vec<usize>) {
    let key = |i: usize| {
        let p = probs[i];
        if p.is_nan() {
            f32::NEG_INFINITY
        } else {
            p
        }
    };
    out.clear();
    let k = k.min(probs.len());
    if k == 0 {
        return;
    }
    for i in 0..probs.len() {
        let p = key(i);
        if out.len() == k {
            // An equal value at a higher index loses to the one already kept.
            if p <= key(out[k - 1]) {
                continue;
            }
            out.pop();
        }
        // After every kept expert of the same or higher probability.
        let at = out.iter().position(|&j| key(j) < p).unwrap_or(out.len());
        out.insert(at, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_rng::Rng;

    fn by_stable_sort(probs: &[f32], k: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&i, &j| probs[j].partial_cmp(&probs[i]).unwrap());
        order.truncate(k);
        order
    }

    #[test]
    fn matches_a_stable_descending_sort_ties_included() {
        let mut rng = Rng::new(11);
        let mut out = Vec::new();
        for (n, k) in [(1, 1), (8, 2), (64, 8), (256, 8), (256, 10), (5, 9)] {
            for round in 0..20 {
                // Coarse values make ties common.
                let probs: Vec<f32> = (0..n)
                    .map(|_| {
                        let v = rng.normal();
                        if round % 2 == 0 {
                            (v * 2.0).round() / 4.0
                        } else {
                            v
                        }
                    })
                    .collect();
                top_k(&probs, k, &mut out);
                assert_eq!(out, by_stable_sort(&probs, k), "n {n}, k {k}, {probs:?}");
            }
        }
    }

    #[test]
    fn nan_goes_last_and_k_experts_still_come_back() {
        let mut out = Vec::new();
        top_k(&[f32::NAN, 0.5, f32::NAN, 0.25], 3, &mut out);
        assert_eq!(out, [1, 3, 0]);
    }
}
