//! Deterministic random numbers: every row of every tensor has its own stream, derived from the
//! seed, the tensor's index and the row index, so rows can be generated in parallel, in any order.

/// splitmix64 stream (fast, well mixed, no dependency).
pub struct RowRng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl RowRng {
    pub fn new(seed: u64, tensor: u64, row: u64) -> Self {
        let s = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
        let s = mix(s ^ tensor.wrapping_mul(0xd1b5_4a32_d192_ed03));
        RowRng(mix(s ^ row.wrapping_mul(0x8cb9_2ba7_2f3d_8dd7)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in (0, 1): never exactly 0, so `ln` is finite.
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Fills `out` with standard normal values (Box–Muller, two per pair of uniforms).
    pub fn fill_normal(&mut self, out: &mut [f32]) {
        let mut chunks = out.chunks_exact_mut(2);
        for pair in &mut chunks {
            let (a, b) = self.normal_pair();
            pair[0] = a;
            pair[1] = b;
        }
        if let [last] = chunks.into_remainder() {
            *last = self.normal_pair().0;
        }
    }

    fn normal_pair(&mut self) -> (f32, f32) {
        let r = (-2.0 * self.next_open01().ln()).sqrt();
        let t = std::f64::consts::TAU * self.next_open01();
        ((r * t.cos()) as f32, (r * t.sin()) as f32)
    }
}
