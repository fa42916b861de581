//! Helpers shared by the I-quant files: little-endian field reads and a read-only view of a Q8_K
//! activation block (`{ f32 d; i8 qs[256]; i16 bsums[16] }`, 292 bytes, ggml's `block_q8_K`).

/// Elements per super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;

/// Bytes of one Q8_K block.
pub const Q8K_BLOCK_BYTES: usize = 4 + QK_K + 2 * (QK_K / 16);

#[inline(always)]
pub fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

#[inline(always)]
pub fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[inline(always)]
pub fn read_f16(bytes: &[u8], at: usize) -> f32 {
    super::common::f16_bits_to_f32(read_u16(bytes, at))
}

/// One Q8_K block, borrowed from the activation buffer.
pub struct Q8KBlock<'a> {
    pub d: f32,
    pub qs: &'a [i8; QK_K],
    bsums: &'a [u8],
}

impl<'a> Q8KBlock<'a> {
    /// `block` must be exactly [`Q8K_BLOCK_BYTES`] long.
    #[inline(always)]
    pub fn new(block: &'a [u8]) -> Self {
        let d = f32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        let qs: &[u8; QK_K] = block[4..4 + QK_K].try_into().expect("Q8_K block length");
        // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid for both.
        let qs = unsafe { &*(qs as *const [u8; QK_K] as *const [i8; QK_K]) };
        Q8KBlock {
            d,
            qs,
            bsums: &block[4 + QK_K..Q8K_BLOCK_BYTES],
        }
    }

    /// Sum of `qs[16 j .. 16 j + 16]`, as stored by the quantizer.
    #[inline(always)]
    pub fn bsum(&self, j: usize) -> i32 {
        read_u16(self.bsums, 2 * j) as i16 as i32
    }
}

/// Pairs the weight blocks of one row with its Q8_K activation blocks, checking the lengths that
/// the kernel contract promises (`n` a multiple of 256, both buffers holding `n / 256` blocks).
#[inline]
pub fn row_blocks<'a>(
    n: usize,
    weights: &'a [u8],
    type_size: usize,
    activations: &'a [u8],
) -> impl Iterator<Item = (&'a [u8], Q8KBlock<'a>)> {
    let nb = n / QK_K;
    debug_assert_eq!(n % QK_K, 0);
    debug_assert!(weights.len() >= nb * type_size && activations.len() >= nb * Q8K_BLOCK_BYTES);
    weights
        .chunks_exact(type_size)
        .zip(activations.chunks_exact(Q8K_BLOCK_BYTES))
        .take(nb)
        .map(|(w, a)| (w, Q8KBlock::new(a)))
}

/// Sum over 8 elements of `grid byte * q8 * (±1)`, the sign of element `j` being bit `j` of `signs`.
#[inline(always)]
pub fn signed_grid_dot8(grid: u64, signs: u8, q8: &[i8]) -> i32 {
    let g = grid.to_le_bytes();
    let mut sum = 0i32;
    for j in 0..8 {
        let v = g[j] as i32 * q8[j] as i32;
        sum += if signs & (1 << j) != 0 { -v } else { v };
    }
    sum
}

/// Writes 8 values `scale * grid byte * (±1)` (the order of float operations ggml uses).
#[inline(always)]
pub fn signed_grid_dequant8(grid: u64, signs: u8, scale: f32, out: &mut [f32]) {
    let g = grid.to_le_bytes();
    for j in 0..8 {
        let sign = if signs & (1 << j) != 0 { -1.0 } else { 1.0 };
        out[j] = scale * g[j] as f32 * sign;
    }
}

/// Sum over 8 elements of `grid value * q8`, the grid holding signed bytes (`iq1s_grid`).
#[inline(always)]
pub fn signed_bytes_dot8(grid: u64, q8: &[i8]) -> i32 {
    let g = grid.to_le_bytes();
    (0..8).map(|j| g[j] as i8 as i32 * q8[j] as i32).sum()
}

/// Writes 8 values `scale * (grid value + delta)`, the grid holding signed bytes (`iq1s_grid`).
#[inline(always)]
pub fn shifted_grid_dequant8(grid: u64, delta: f32, scale: f32, out: &mut [f32]) {
    let g = grid.to_le_bytes();
    for j in 0..8 {
        out[j] = scale * (g[j] as i8 as f32 + delta);
    }
}

/// Two 4-value grid points (3-bit grids) joined into one 8-value point.
#[inline(always)]
pub fn join_grid4(lo: u32, hi: u32) -> u64 {
    lo as u64 | (hi as u64) << 32
}

#[cfg(test)]
pub mod testing {
    //! Test support: reference files written by `testdata/make_iq_testdata.py`, Q8_K blocks built
    //! by hand, and the f64 reference dot product.

    use super::*;
    use crate::gguf::GgmlType;
    use crate::quant::Kernels;

    /// A deterministic xorshift generator (the crate has no `rand`).
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        pub fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Q8_K blocks from i8 values and one scale per block; bsums computed as the quantizer does.
    pub fn make_q8k(values: &[i8], scales: &[f32]) -> Vec<u8> {
        assert_eq!(values.len(), scales.len() * QK_K);
        let mut out = Vec::with_capacity(scales.len() * Q8K_BLOCK_BYTES);
        for (qs, d) in values.chunks_exact(QK_K).zip(scales) {
            out.extend_from_slice(&d.to_le_bytes());
            out.extend(qs.iter().map(|&q| q as u8));
            for group in qs.chunks_exact(16) {
                let sum: i32 = group.iter().map(|&q| q as i32).sum();
                out.extend_from_slice(&(sum as i16).to_le_bytes());
            }
        }
        out
    }

    /// Random activations in the range the Q8_K quantizer produces (-127..=127, some at the ends).
    pub fn random_q8k(rng: &mut Rng, n_blocks: usize) -> (Vec<u8>, Vec<f64>) {
        let values: Vec<i8> = (0..n_blocks * QK_K)
            .map(|_| ((rng.next_u64() % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f32> = (0..n_blocks)
            .map(|_| 1e-3 + (rng.next_u64() % 1000) as f32 * 1e-5)
            .collect();
        let dequant = values
            .iter()
            .enumerate()
            .map(|(i, &q)| scales[i / QK_K] as f64 * q as f64)
            .collect();
        (make_q8k(&values, &scales), dequant)
    }

    /// The blocks and expected values of one reference file.
    pub struct Reference {
        pub blocks: Vec<u8>,
        pub expected: Vec<f32>,
        pub n_blocks: usize,
        pub n_real: usize,
        pub grid_digest: u64,
    }

    pub fn load_reference(file: &str, ty: GgmlType) -> Reference {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/quant/testdata")
            .join(file);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&data[..4], b"IQTD", "{}: bad magic", path.display());
        let field = |i: usize| read_u32(&data, 4 + 4 * i) as usize;
        assert_eq!(
            (field(0), field(1)),
            (1, ty.id() as usize),
            "{}: version/type",
            path.display()
        );
        let (n_blocks, n_real) = (field(2), field(3));
        let grid_digest = u64::from_le_bytes(data[20..28].try_into().unwrap());
        let block_bytes = n_blocks * ty.type_size() as usize;
        let blocks = data[28..28 + block_bytes].to_vec();
        let expected: Vec<f32> = data[28 + block_bytes..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(
            expected.len(),
            n_blocks * QK_K,
            "{}: length",
            path.display()
        );
        Reference {
            blocks,
            expected,
            n_blocks,
            n_real,
            grid_digest,
        }
    }

    /// FNV-1a 64 over a grid's bytes as ggml stores them (the digest the Python script records).
    pub fn grid_digest(bytes: impl IntoIterator<Item = u8>) -> u64 {
        bytes.into_iter().fold(0xCBF2_9CE4_8422_2325, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
        })
    }

    /// Dequantizes the reference blocks and compares bit-for-bit with the Python values.
    pub fn check_dequantize(k: &Kernels, file: &str, table_digest: u64) {
        let r = load_reference(file, k.ggml_type);
        assert!(r.n_real >= 1 && r.n_blocks > r.n_real);
        assert_eq!(
            table_digest, r.grid_digest,
            "{file}: our grid differs from gguf-py's"
        );
        let mut out = vec![0f32; r.n_blocks * QK_K];
        (k.dequantize)(&r.blocks, &mut out);
        for (i, (a, b)) in out.iter().zip(&r.expected).enumerate() {
            assert!(
                a.to_bits() == b.to_bits(),
                "{file}: element {i} (block {}): ours {a} python {b}",
                i / QK_K
            );
        }
    }

    /// `vec_dot` against dequantize(weights) · dequantize(activations) in f64, on the reference
    /// blocks (real and random) with random activations, for rows of 1..=n_blocks blocks.
    pub fn check_vec_dot(k: &Kernels, file: &str) {
        let r = load_reference(file, k.ggml_type);
        let type_size = k.ggml_type.type_size() as usize;
        let mut rng = Rng::new(k.ggml_type.id() as u64);
        for trial in 0..20 {
            // rows of varying length, blocks drawn from the reference set in a shuffled order
            let nb = 1 + trial % r.n_blocks;
            let picks: Vec<usize> = (0..nb)
                .map(|_| (rng.next_u64() % r.n_blocks as u64) as usize)
                .collect();
            let weights: Vec<u8> = picks
                .iter()
                .flat_map(|&b| r.blocks[b * type_size..(b + 1) * type_size].iter().copied())
                .collect();
            let (acts, act_values) = random_q8k(&mut rng, nb);
            let mut w = vec![0f32; nb * QK_K];
            (k.dequantize)(&weights, &mut w);
            let exact: f64 = w.iter().zip(&act_values).map(|(&a, &b)| a as f64 * b).sum();
            let scale: f64 = w
                .iter()
                .zip(&act_values)
                .map(|(&a, &b)| (a as f64 * b).abs())
                .sum();
            let got = (k.vec_dot)(nb * QK_K, &weights, &acts) as f64;
            // f32 accumulation of exact integer block sums: a few f32 ulps of the magnitude
            assert!(
                (got - exact).abs() <= 1e-6 * scale + 1e-12,
                "{file} trial {trial}: vec_dot {got} vs f64 {exact} (magnitude {scale})"
            );
        }
    }

    pub type DotFn = dyn Fn(usize, &[u8], &[u8]) -> f32;

    /// A SIMD `vec_dot` must equal the scalar one exactly (both sum exact integers per block and
    /// finish with the same f32 operations): reference blocks plus random ones, rows of 1..=12 blocks.
    pub fn check_simd_matches_scalar(k: &Kernels, file: &str, simd: &DotFn) {
        let r = load_reference(file, k.ggml_type);
        let type_size = k.ggml_type.type_size() as usize;
        let mut rng = Rng::new(0x5eed ^ k.ggml_type.id() as u64);
        for trial in 0..200 {
            let nb = 1 + trial % 12;
            let mut weights = Vec::with_capacity(nb * type_size);
            for _ in 0..nb {
                if rng.next_u64().is_multiple_of(2) {
                    let b = (rng.next_u64() % r.n_blocks as u64) as usize;
                    weights.extend_from_slice(&r.blocks[b * type_size..(b + 1) * type_size]);
                } else {
                    // random bytes with a finite f16 scale in front
                    let d = half::f16::from_f32(1e-3 + (rng.next_u64() % 100) as f32 * 1e-4);
                    weights.extend_from_slice(&d.to_le_bytes());
                    weights.extend((2..type_size).map(|_| rng.next_u64() as u8));
                }
            }
            let (acts, _) = random_q8k(&mut rng, nb);
            let scalar = (k.vec_dot)(nb * QK_K, &weights, &acts);
            let fast = simd(nb * QK_K, &weights, &acts);
            assert_eq!(
                scalar.to_bits(),
                fast.to_bits(),
                "{file} trial {trial}: scalar {scalar} simd {fast}"
            );
        }
    }
}
