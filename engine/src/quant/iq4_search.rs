//! The non-linear 4-bit grid shared by IQ4_NL and IQ4_XS, and ggml's reference search for it
//! (`quantize_row_iq4_nl_impl` in ggml-quants.c, without an importance matrix: weights are x²).

use super::common::nearest_int;

/// `kvalues_iq4nl`: the 16 levels, sorted.
pub const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

const GROUP_MAX_EPS: f32 = 1e-15;

/// Index of the level nearest to `x` (`best_index_int8`): level i wins once x reaches the midpoint
/// of levels i−1 and i; compared at twice the scale so the midpoints are exact.
#[inline(always)]
pub fn best_index(values: &[i8; 16], x: f32) -> u8 {
    let x2 = x + x;
    let mut idx = 0usize;
    let mut step = 8;
    while step > 0 {
        let j = idx + step;
        if x2 >= (values[j - 1] as i32 + values[j] as i32) as f32 {
            idx = j;
        }
        step >>= 1;
    }
    idx as u8
}

/// Result of the search over one super-block.
pub struct Iq4Search {
    /// The super-block scale, to be stored as f16.
    pub d: f32,
    /// Per 32-element sub-block, the 6-bit scale code (signed scale + 32); meaningful only when
    /// the super-block has more than one sub-block (IQ4_XS).
    pub scale_codes: [u8; 8],
    /// Level index per element.
    pub levels: [u8; 256],
}

/// Searches scales and levels for `x` (32 elements for IQ4_NL, 256 for IQ4_XS) in sub-blocks of 32.
/// `ntry` is −1 for IQ4_NL's reference quantizer (one least-squares pass) and 7 for IQ4_XS.
pub fn search(x: &[f32], ntry: i32) -> Iq4Search {
    let values = &KVALUES_IQ4NL;
    let v0 = values[0] as f32;
    let nsub = x.len() / 32;
    let mut out = Iq4Search {
        d: 0.0,
        scale_codes: [0; 8],
        levels: [0; 256],
    };
    let mut scales = [0f32; 8];
    let (mut max_scale, mut amax_scale) = (0f32, 0f32);
    for ib in 0..nsub {
        let xb = &x[32 * ib..32 * ib + 32];
        let lb = &mut out.levels[32 * ib..32 * ib + 32];
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in xb {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax < GROUP_MAX_EPS {
            scales[ib] = 0.0;
            lb.fill(0);
            continue;
        }
        let mut d = if ntry > 0 { -max / v0 } else { max / v0 };
        let mut id = 1.0 / d;
        let (mut sumqx, mut sumq2) = (0f32, 0f32);
        for (j, &v) in xb.iter().enumerate() {
            let l = best_index(values, id * v);
            lb[j] = l;
            let q = values[l as usize] as f32;
            let w = v * v;
            sumqx += w * q * v;
            sumq2 += w * q * q;
        }
        d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
        let mut best = d * sumqx;
        for itry in -ntry..=ntry {
            id = (itry + values[0] as i32) as f32 / max;
            sumqx = 0.0;
            sumq2 = 0.0;
            for &v in xb {
                let q = values[best_index(values, id * v) as usize] as f32;
                let w = v * v;
                sumqx += w * q * v;
                sumq2 += w * q * q;
            }
            if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        if d.abs() > amax_scale {
            amax_scale = d.abs();
            max_scale = d;
        }
    }
    if nsub > 1 {
        let d = -max_scale / 32.0;
        out.d = d;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        for ib in 0..nsub {
            let l = nearest_int(id * scales[ib]).clamp(-32, 31);
            let dl = d * l as f32;
            let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
            for j in 0..32 {
                out.levels[32 * ib + j] = best_index(values, idl * x[32 * ib + j]);
            }
            out.scale_codes[ib] = (l + 32) as u8;
        }
    } else {
        out.d = scales[0];
        if ntry > 0 {
            let id = if scales[0] != 0.0 {
                1.0 / scales[0]
            } else {
                0.0
            };
            for (level, &v) in out.levels.iter_mut().zip(x) {
                *level = best_index(values, id * v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_index_picks_the_nearest_level() {
        let v = &KVALUES_IQ4NL;
        for i in -1300..1300 {
            let x = i as f32 * 0.1;
            let got = best_index(v, x) as usize;
            let nearest = (0..16)
                .min_by(|&a, &b| {
                    let (da, db) = ((v[a] as f32 - x).abs(), (v[b] as f32 - x).abs());
                    // On a tie ggml takes the upper level.
                    da.partial_cmp(&db).unwrap().then(b.cmp(&a))
                })
                .unwrap();
            assert_eq!(got, nearest, "x = {x}");
        }
    }
}
