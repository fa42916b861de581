//! Small helpers every block format shares: half-float fields, ggml's rounding, block iteration.

use half::f16;

/// Elements in a K-quant super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;

/// Reads a little-endian f16 at `b[0..2]` as f32.
#[inline(always)]
pub fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_bits_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Exact f16 → f32, inlined. `half`'s `to_f32` is an out-of-line call that checks for F16C on
/// every use, which cost 8% of a decode step when every block scale went through it.
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let em = (h & 0x7fff) as u32;
    if em >= 0x7c00 {
        // Inf / NaN: all-ones exponent, mantissa kept.
        return f32::from_bits(sign | 0x7f80_0000 | ((em & 0x3ff) << 13));
    }
    let magnitude = if em < 0x0400 {
        // Subnormal half: mantissa · 2^-24, exact, without a subnormal float operand (a multiply
        // with one takes a microcode assist on x86: decode of a file whose block scales are all
        // subnormal ran at a third of its bandwidth through the path below).
        em as f32 * f32::from_bits(0x3380_0000)
    } else {
        // Reinterpreting the bits shifted into f32 place scales the value by 2^-112 exactly (a
        // normal float); multiplying by 2^112 is exact and restores it.
        f32::from_bits(em << 13) * f32::from_bits(0x7780_0000)
    };
    f32::from_bits(sign | magnitude.to_bits())
}

/// Writes `v` rounded to f16 (round-to-nearest-even, like `GGML_FP32_TO_FP16`) at `b[at..at + 2]`.
#[inline(always)]
pub fn put_f16(b: &mut [u8], at: usize, v: f32) {
    b[at..at + 2].copy_from_slice(&f16::from_f32(v).to_bits().to_le_bytes());
}

/// ggml's `nearest_int`: round half to even through the 1.5·2²³ trick. Valid for |v| ≤ 4194303,
/// which every caller guarantees (values are scaled to a few hundred at most); outside that range
/// the result is meaningless but never panics.
#[inline(always)]
pub fn nearest_int(v: f32) -> i32 {
    let val = v + 12582912.0;
    (val.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

/// C's `roundf` (half away from zero) then the float→int8 conversion ggml relies on.
#[inline(always)]
pub fn round_to_i8(v: f32) -> i8 {
    v.round() as i8
}

/// Number of whole blocks both a byte slice and an element slice can hold; kernels process only
/// these, so a short slice truncates the work instead of panicking (callers validate shapes at load).
#[inline(always)]
pub fn whole_blocks(bytes: usize, type_size: usize, elems: usize, block: usize) -> usize {
    debug_assert_eq!(bytes / type_size, elems / block, "slice lengths disagree");
    (bytes / type_size).min(elems / block)
}

/// Unpacks the 6-bit scale and min of sub-block `j` from the 12 packed bytes Q4_K and Q5_K share
/// (ggml's `get_scale_min_k4`).
#[inline(always)]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Packs eight 6-bit (scale, min) pairs the way [`scale_min_k4`] reads them.
pub fn pack_scale_min_k4(ls: &[u8; 8], lm: &[u8; 8], out: &mut [u8]) {
    out[..12].fill(0);
    for j in 0..8 {
        if j < 4 {
            out[j] = ls[j];
            out[j + 4] = lm[j];
        } else {
            out[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
            out[j - 4] |= (ls[j] >> 4) << 6;
            out[j] |= (lm[j] >> 4) << 6;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(-0.5), 0);
        assert_eq!(nearest_int(-1.5), -2);
        assert_eq!(nearest_int(-3.7), -4);
        assert_eq!(nearest_int(127.49), 127);
    }

    #[test]
    fn scale_min_pack_round_trips() {
        let ls = [0, 63, 17, 42, 5, 63, 31, 1];
        let lm = [63, 0, 8, 33, 60, 12, 0, 47];
        let mut packed = [0u8; 12];
        pack_scale_min_k4(&ls, &lm, &mut packed);
        for j in 0..8 {
            assert_eq!(scale_min_k4(j, &packed), (ls[j], lm[j]));
        }
    }
}

#[cfg(test)]
mod f16_tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_half_for_every_bit_pattern() {
        for h in 0..=u16::MAX {
            let want = f16::from_bits(h).to_f32();
            let got = f16_bits_to_f32(h);
            if want.is_nan() {
                assert!(got.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{h:#06x}");
            }
        }
    }
}
