//! A group of repacked Q4_K or Q5_K rows ([`super::q4_k_x16`], [`super::q5_k_x16`]) expanded to
//! one byte per value, for the prompt product.
//!
//! Why: the prompt product meets each group (L1/L2-resident) with every activation column, four
//! at a time. Splitting the nibbles (and merging Q5_K's fifth bits) in every such call costs
//! three to eight vector operations per 64 bytes beside the `vpdpbusd`s; expanded once per group,
//! the calls only load. The expansion is one pass over the group, as one call's unpacking was.
//!
//! Layout of an expanded super-block ([`BLOCK`] bytes): the repacked super-block's first
//! [`QS`] bytes (`d`, `dmin`, `scales`, `mins`, at the same offsets), then for chunk c, step k and
//! half h (low nibbles: sub-block 2c; high: 2c+1) the 64 bytes `[16 rows][4]` of values
//! `32·(2c+h) + 4k ..+4` of each row, at [`bytes_at`]: in the order the column kernels read them.
//! The kernels are the repacked Q4_K ones reading this form ([`form::BYTES`]), so each lane is
//! bit for bit the format's row kernel.

use super::common::QK_K;
use super::q4_k_x16::QS;
use super::q5_k_x16::QH;

/// How a Q4_K-family super-block holds its values: what the shared kernels differ in.
pub(super) mod form {
    /// Repacked Q4_K: nibbles.
    pub const Q4: u8 = 0;
    /// Repacked Q5_K: nibbles and their fifth bits.
    pub const Q5: u8 = 1;
    /// Expanded ([`super::expand`]): a byte per value.
    pub const BYTES: u8 = 2;
}

/// Bytes of one expanded super-block.
pub const BLOCK: usize = QS + 16 * QK_K;

/// Bytes of one super-block in `form`.
pub(super) const fn block_bytes(form: u8) -> usize {
    match form {
        form::Q4 => super::q4_k_x16::GROUP_BLOCK,
        form::Q5 => super::q5_k_x16::GROUP_BLOCK,
        _ => BLOCK,
    }
}

/// Where chunk `c`, step `k`, half `h` (0: low nibbles, 1: high) starts in an expanded super-block.
#[inline(always)]
pub(super) const fn bytes_at(c: usize, k: usize, h: usize) -> usize {
    QS + ((c * 8 + k) * 2 + h) * 64
}

/// Bytes of a group of rows of `row_len` values once expanded (whole super-blocks only).
pub fn group_bytes(row_len: usize) -> Option<usize> {
    (row_len.is_multiple_of(QK_K) && row_len > 0).then(|| row_len / QK_K * BLOCK)
}

/// Expands the first `n / 256` super-blocks of `group` (repacked Q4_K, or Q5_K if `q5`) into
/// `out` ([`group_bytes`]`(n)` bytes at least).
pub fn expand(q5: bool, n: usize, group: &[u8], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if super::avx512_util::available() {
        // SAFETY: AVX-512 F/BW were detected at run time.
        return unsafe { expand_avx512(q5, n, group, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if super::avx2_util::available() {
        // SAFETY: AVX2 was detected at run time.
        return unsafe { expand_avx2(q5, n, group, out) };
    }
    expand_with(q5, n, group, out)
}

/// [`expand_with`] compiled for AVX-512 BW (the byte loops become 64-byte vector operations).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn expand_avx512(q5: bool, n: usize, group: &[u8], out: &mut [u8]) {
    expand_with(q5, n, group, out)
}

/// [`expand_with`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn expand_avx2(q5: bool, n: usize, group: &[u8], out: &mut [u8]) {
    expand_with(q5, n, group, out)
}

#[inline(always)]
fn expand_with(q5: bool, n: usize, group: &[u8], out: &mut [u8]) {
    let from = block_bytes(if q5 { form::Q5 } else { form::Q4 });
    // No d area ahead of the super-blocks: d and dmin are in each one's first QS bytes.
    for (x, o) in super::x16::expanded_blocks(group, out, n / QK_K, 0, [from, BLOCK, QS]) {
        for k in 0..8 {
            let qh: &[u8; 64] = if q5 {
                x[QH + 64 * k..][..64].try_into().unwrap()
            } else {
                &[0; 64]
            };
            for c in 0..4 {
                let v: &[u8; 64] = x[QS + (k * 4 + c) * 64..][..64].try_into().unwrap();
                let (lo, hi) = o[bytes_at(c, k, 0)..][..128].split_at_mut(64);
                for i in 0..64 {
                    let h = qh[i] >> (2 * c);
                    lo[i] = (v[i] & 0xF) | ((h & 1) << 4);
                    hi[i] = (v[i] >> 4) | ((h & 2) << 3);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::x16::{Layout, ROWS};
    use super::*;

    #[test]
    fn every_isa_expands_to_the_same_bytes() {
        for (q5, layout) in [(false, Layout::Q4K), (true, Layout::Q5K)] {
            let n = 768;
            let rows: Vec<u8> = (0..ROWS
                * layout.ggml_type().bytes_for(n as u64).unwrap() as usize)
                .map(|i| ((i as u64 * 2654435761) >> 11) as u8)
                .collect();
            let mut packed = vec![0u8; layout.repacked_len(n, ROWS).unwrap()];
            assert!(layout.repack(&rows, n, ROWS, &mut packed));
            let mut want = vec![0u8; group_bytes(n).unwrap()];
            expand_with(q5, n, &packed, &mut want);
            let mut got = vec![0u8; want.len()];
            expand(q5, n, &packed, &mut got);
            assert_eq!(got, want, "{layout:?}");
            // Every expanded byte is its row's quant: element 32j + l of sub-block j is nibble
            // j % 2 of qs[32(j/2) + l], plus 16 for bit j of qh[l] in Q5_K.
            let (row_bytes, src_qs) = if q5 { (176, 48) } else { (144, 16) };
            for b in 0..n / QK_K {
                for (c, k, h, r, i) in (0..4 * 8 * 2 * ROWS * 4)
                    .map(|x| (x / 1024, x / 128 % 8, x / 64 % 2, x / 4 % 16, x % 4))
                {
                    let x = &rows[(r * n / QK_K + b) * row_bytes..][..row_bytes];
                    let (j, l) = (2 * c + h, 4 * k + i);
                    let nibble = (x[src_qs + 32 * c + l] >> (4 * h)) & 0xF;
                    let fifth = if q5 { (x[16 + l] >> j) & 1 } else { 0 };
                    let got = want[BLOCK * b + bytes_at(c, k, h) + 4 * r + i];
                    assert_eq!(
                        got,
                        nibble | (fifth << 4),
                        "{layout:?} block {b} row {r} sub-block {j} value {l}"
                    );
                }
            }
        }
    }
}
