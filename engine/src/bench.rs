//! The measurement protocol of `fitbench-engine bench`, measured the way llama-bench measures
//! (see shared/docs/research/llamacpp.md §3.3), generic over a small [`BenchTarget`] so it can be
//! tested without a model.
//!
//! Per test point (pp = prompt processing, tg = generation), at a given depth:
//! 1. one untimed warm-up on an empty context: the full prompt for pp, one token for tg;
//! 2. for each repetition: clear the context; if depth > 0, restore the depth state (filled with
//!    random tokens untimed the first time and saved; the saved state is reused across reps and
//!    across test points of the same depth); then time the prompt (submitted in chunks of
//!    `n_batch`, timed until its last token is processed) or the generation (one token per decode).
//!
//! Tokens are random (`seed`-ed, deterministic). Depth tokens are neither timed nor counted.
//! Each finished point becomes one JSON line ([`BenchLine`], schema [`BENCH_LINE_SCHEMA`]).
//!
//! Command line the planner's runner (`fitbench bench`) launches, llama-bench's flag names:
//! `fitbench-engine bench -m MODEL -p 512[,…] -n 128[,…] -d 0,4096[,…] -b 2048 -ub 512 -ctk f16
//! -ctv f16 -fa auto|on|off --n-cpu-moe 0 -r 5 -o jsonl [-t N] [-ngl N]`. `-p 0` / `-n 0` mean no
//! pp / tg tests. stdout carries only the JSON lines (one per point, flushed as each finishes);
//! logs go to stderr (the runner keeps its tail for failed points). Exit status non-zero on failure.
//! The CLI should put the configuration it ran with into `BenchSpec::params` (ubatch, threads, KV
//! types, flash attention, n_cpu_moe) so a line is self-describing.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Version tag of the JSON lines the engine prints; the planner's runner checks it.
pub const BENCH_LINE_SCHEMA: &str = "fitbench-engine-bench/1";

/// Errors a target reports; boxed so any engine error type fits.
pub type TargetError = Box<dyn std::error::Error + Send + Sync>;

/// What the protocol needs from an inference session.
pub trait BenchTarget {
    /// A saved context (KV cache and recurrent state), restored for every repetition at a depth.
    type State;
    fn n_vocab(&self) -> usize;
    /// Empties the context (KV cache and recurrent state).
    fn clear(&mut self);
    /// Processes `tokens` appended to the context; returns when the last one is computed.
    fn decode(&mut self, tokens: &[u32]) -> Result<(), TargetError>;
    fn save_state(&mut self) -> Result<Self::State, TargetError>;
    fn restore_state(&mut self, state: &Self::State) -> Result<(), TargetError>;
}

/// The real engine: decodes want only the last position's logits (as llama-bench's do), and the
/// depth state is the session's in-memory snapshot (no byte serialization needed).
impl<'m> BenchTarget for crate::Session<'m> {
    type State = crate::session::SessionState;

    fn n_vocab(&self) -> usize {
        self.model().vocab_size()
    }
    fn clear(&mut self) {
        crate::Session::clear(self);
    }
    fn decode(&mut self, tokens: &[u32]) -> Result<(), TargetError> {
        crate::Session::decode_in_place(self, tokens, crate::WantLogits::Last)?;
        Ok(())
    }
    fn save_state(&mut self) -> Result<Self::State, TargetError> {
        Ok(crate::Session::save_state(self))
    }
    fn restore_state(&mut self, state: &Self::State) -> Result<(), TargetError> {
        crate::Session::restore_state(self, state);
        Ok(())
    }
}

/// The test grid of one `bench` invocation.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// A pp test per nonzero value.
    pub n_prompt: Vec<usize>,
    /// A tg test per nonzero value.
    pub n_gen: Vec<usize>,
    pub depths: Vec<usize>,
    /// Chunk size the prompt (and the depth fill) is submitted in.
    pub n_batch: usize,
    pub reps: usize,
    pub warmup: bool,
    pub seed: u64,
    /// Configuration echoed into every line (ubatch, threads, KV types, …), as the CLI knows them.
    pub params: BTreeMap<String, serde_json::Value>,
}

/// One test point of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestPoint {
    pub n_prompt: usize,
    pub n_gen: usize,
    pub n_depth: usize,
}

impl BenchSpec {
    /// Points in run order: for each depth, the pp tests then the tg tests (llama-bench's order).
    pub fn points(&self) -> Vec<TestPoint> {
        let mut out = Vec::new();
        for &d in &self.depths {
            for &p in self.n_prompt.iter().filter(|&&p| p > 0) {
                out.push(TestPoint {
                    n_prompt: p,
                    n_gen: 0,
                    n_depth: d,
                });
            }
            for &g in self.n_gen.iter().filter(|&&g| g > 0) {
                out.push(TestPoint {
                    n_prompt: 0,
                    n_gen: g,
                    n_depth: d,
                });
            }
        }
        out
    }
}

/// One JSON line of `fitbench-engine bench -o jsonl`: a finished (or failed) test point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchLine {
    pub schema: String,
    pub engine_version: String,
    /// The git commit the engine was built from, when git was available at build time.
    #[serde(default)]
    pub engine_commit: Option<String>,
    pub n_prompt: usize,
    pub n_gen: usize,
    pub n_depth: usize,
    pub n_batch: usize,
    pub reps: usize,
    pub warmup: bool,
    pub seed: u64,
    /// Always "untimed_prefill": depth tokens are filled before the timer starts.
    pub depth_mode: String,
    /// Always "across_tests": the depth state is saved once and restored for every rep and test.
    pub depth_state_reuse: String,
    /// Wall time of each timed repetition, nanoseconds.
    pub samples_ns: Vec<u64>,
    /// `(n_prompt + n_gen) / t` per repetition, tokens per second.
    pub samples_ts: Vec<f64>,
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Set when the point failed; samples are then those finished before the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `--bandwidth-anchor`: RAM read bandwidth (GB/s) measured just before each repetition,
    /// one per sample, so generation can be set against the bandwidth of that moment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchor_gbps: Vec<f64>,
}

/// Small deterministic generator (SplitMix64) for random token ids.
struct TokenRng(u64);

impl TokenRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn tokens(&mut self, n: usize, n_vocab: usize) -> Vec<u32> {
        let v = n_vocab.max(1) as u64;
        (0..n).map(|_| (self.next_u64() % v) as u32).collect()
    }
}

/// Runs the whole grid, calling `emit` with each finished line. Stops after the first failed point
/// (its line carries `error`), because a target that failed once is in an unknown state.
///
/// `anchor`, when given, is called right before each timed repetition (after the depth is restored)
/// and its value (read bandwidth, GB/s) recorded beside that repetition's sample.
pub fn run_bench<T: BenchTarget>(
    target: &mut T,
    spec: &BenchSpec,
    mut anchor: Option<&mut dyn FnMut() -> f64>,
    mut emit: impl FnMut(&BenchLine),
) -> bool {
    let mut rng = TokenRng(spec.seed);
    let mut depth_cache: Option<(usize, T::State)> = None;
    for point in spec.points() {
        let mut samples = Samples::default();
        let result = run_point(
            target,
            spec,
            point,
            &mut rng,
            &mut depth_cache,
            &mut anchor,
            &mut samples,
        );
        let mut line = make_line(spec, point, samples.ns, result.err().map(|e| e.to_string()));
        line.anchor_gbps = samples.anchor_gbps;
        emit(&line);
        if line.error.is_some() {
            return false;
        }
    }
    true
}

/// What one point measured: wall time per repetition and, optionally, the anchor before each.
#[derive(Default)]
struct Samples {
    ns: Vec<u64>,
    anchor_gbps: Vec<f64>,
}

fn make_line(
    spec: &BenchSpec,
    p: TestPoint,
    samples_ns: Vec<u64>,
    error: Option<String>,
) -> BenchLine {
    let n_tokens = (p.n_prompt + p.n_gen) as f64;
    let samples_ts = samples_ns
        .iter()
        .map(|&ns| n_tokens * 1e9 / (ns.max(1) as f64))
        .collect();
    BenchLine {
        schema: BENCH_LINE_SCHEMA.to_string(),
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        engine_commit: crate::GIT_COMMIT.map(str::to_string),
        n_prompt: p.n_prompt,
        n_gen: p.n_gen,
        n_depth: p.n_depth,
        n_batch: spec.n_batch,
        reps: spec.reps,
        warmup: spec.warmup,
        seed: spec.seed,
        depth_mode: "untimed_prefill".to_string(),
        depth_state_reuse: "across_tests".to_string(),
        samples_ns,
        samples_ts,
        params: spec.params.clone(),
        error,
        anchor_gbps: Vec::new(),
    }
}

fn run_point<T: BenchTarget>(
    target: &mut T,
    spec: &BenchSpec,
    p: TestPoint,
    rng: &mut TokenRng,
    depth_cache: &mut Option<(usize, T::State)>,
    anchor: &mut Option<&mut dyn FnMut() -> f64>,
    samples: &mut Samples,
) -> Result<(), TargetError> {
    let n_vocab = target.n_vocab();
    let n_batch = spec.n_batch.max(1);
    if spec.warmup {
        target.clear();
        if p.n_prompt > 0 {
            submit_prompt(target, &rng.tokens(p.n_prompt, n_vocab), n_batch)?;
        }
        if p.n_gen > 0 {
            target.decode(&rng.tokens(1, n_vocab))?;
        }
    }
    for _ in 0..spec.reps {
        target.clear();
        if p.n_depth > 0 {
            match depth_cache {
                Some((d, state)) if *d == p.n_depth => target.restore_state(state)?,
                _ => {
                    submit_prompt(target, &rng.tokens(p.n_depth, n_vocab), n_batch)?;
                    *depth_cache = Some((p.n_depth, target.save_state()?));
                }
            }
        }
        // Tokens are drawn before the timer so only the target's work is timed.
        let prompt = rng.tokens(p.n_prompt, n_vocab);
        let gen = rng.tokens(p.n_gen, n_vocab);
        let gbps = anchor.as_mut().map(|measure| measure());
        let start = Instant::now();
        if p.n_prompt > 0 {
            submit_prompt(target, &prompt, n_batch)?;
        }
        for tok in gen.chunks(1) {
            target.decode(tok)?;
        }
        samples.ns.push(start.elapsed().as_nanos() as u64);
        samples.anchor_gbps.extend(gbps);
    }
    Ok(())
}

fn submit_prompt<T: BenchTarget>(
    target: &mut T,
    tokens: &[u32],
    n_batch: usize,
) -> Result<(), TargetError> {
    for chunk in tokens.chunks(n_batch) {
        target.decode(chunk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Counts every call and sleeps a fixed time per decoded token.
    #[derive(Default)]
    struct FakeTarget {
        per_token: Duration,
        ctx_len: usize,
        clears: usize,
        decode_calls: usize,
        decoded_tokens: usize,
        saves: usize,
        restores: usize,
        max_token: u32,
        fail_after_tokens: Option<usize>,
    }

    impl BenchTarget for FakeTarget {
        type State = Vec<u8>;
        fn n_vocab(&self) -> usize {
            1000
        }
        fn clear(&mut self) {
            self.clears += 1;
            self.ctx_len = 0;
        }
        fn decode(&mut self, tokens: &[u32]) -> Result<(), TargetError> {
            if let Some(limit) = self.fail_after_tokens {
                if self.decoded_tokens + tokens.len() > limit {
                    return Err("out of memory".into());
                }
            }
            self.decode_calls += 1;
            self.decoded_tokens += tokens.len();
            self.ctx_len += tokens.len();
            self.max_token = self
                .max_token
                .max(tokens.iter().copied().max().unwrap_or(0));
            std::thread::sleep(self.per_token * tokens.len() as u32);
            Ok(())
        }
        fn save_state(&mut self) -> Result<Vec<u8>, TargetError> {
            self.saves += 1;
            Ok((self.ctx_len as u64).to_le_bytes().to_vec())
        }
        fn restore_state(&mut self, state: &Vec<u8>) -> Result<(), TargetError> {
            self.restores += 1;
            let b: [u8; 8] = state.as_slice().try_into().map_err(|_| "bad state")?;
            self.ctx_len = u64::from_le_bytes(b) as usize;
            Ok(())
        }
    }

    fn spec(reps: usize) -> BenchSpec {
        BenchSpec {
            n_prompt: vec![8],
            n_gen: vec![4],
            depths: vec![0, 16],
            n_batch: 4,
            reps,
            warmup: true,
            seed: 7,
            params: BTreeMap::new(),
        }
    }

    #[test]
    fn protocol_calls_and_timing() {
        let per_token = Duration::from_micros(500);
        let mut t = FakeTarget {
            per_token,
            ..Default::default()
        };
        let mut lines = Vec::new();
        assert!(run_bench(&mut t, &spec(3), None, |l| lines.push(l.clone())));
        assert_eq!(lines.len(), 4);
        let shapes: Vec<_> = lines
            .iter()
            .map(|l| (l.n_prompt, l.n_gen, l.n_depth))
            .collect();
        assert_eq!(shapes, vec![(8, 0, 0), (0, 4, 0), (8, 0, 16), (0, 4, 16)]);
        // Depth filled once (16 tokens in 4 chunks), saved once, restored for the other 5 reps.
        assert_eq!(t.saves, 1);
        assert_eq!(t.restores, 5);
        // Each point: 1 warm-up clear + 3 rep clears.
        assert_eq!(t.clears, 16);
        // Tokens: pp points 2×(8 warm-up + 3×8), tg points 2×(1 + 3×4), depth fill 16.
        assert_eq!(t.decoded_tokens, 2 * 32 + 2 * 13 + 16);
        // Decode calls: pp 2×(2 + 3×2) chunks, tg 2×(1 + 3×4), depth 4 chunks.
        assert_eq!(t.decode_calls, 16 + 26 + 4);
        assert!(t.max_token < 1000);
        for l in &lines {
            assert_eq!(l.samples_ns.len(), 3);
            assert_eq!(l.schema, BENCH_LINE_SCHEMA);
            let n = (l.n_prompt + l.n_gen) as u32;
            let expected = per_token * n;
            for (&ns, &ts) in l.samples_ns.iter().zip(&l.samples_ts) {
                // Never shorter than the sleeps; the depth fill is not inside the timed region.
                assert!(ns >= expected.as_nanos() as u64, "{ns} < {expected:?}");
                assert!(
                    ns < (expected * 3).as_nanos() as u64 + 20_000_000,
                    "{ns} too long"
                );
                assert!((ts - n as f64 * 1e9 / ns as f64).abs() < 1e-9);
            }
        }
        let json = serde_json::to_string(&lines[2]).unwrap();
        let back: BenchLine = serde_json::from_str(&json).unwrap();
        assert_eq!(back.samples_ns, lines[2].samples_ns);
        assert_eq!((back.n_prompt, back.n_depth), (8, 16));
        for (a, b) in back.samples_ts.iter().zip(&lines[2].samples_ts) {
            assert!((a - b).abs() < 1e-9 * b);
        }
    }

    #[test]
    fn failure_stops_and_is_reported() {
        let mut t = FakeTarget {
            fail_after_tokens: Some(40),
            ..Default::default()
        };
        let mut lines = Vec::new();
        assert!(!run_bench(&mut t, &spec(2), None, |l| lines.push(l.clone())));
        let last = lines.last().unwrap();
        assert_eq!(last.error.as_deref(), Some("out of memory"));
        assert!(lines[..lines.len() - 1]
            .iter()
            .all(|l| l.error.is_none() && l.samples_ns.len() == 2));
    }

    #[test]
    fn the_anchor_runs_before_each_timed_repetition_outside_the_timer() {
        let mut t = FakeTarget::default();
        let mut calls = 0u32;
        let mut anchor = || {
            calls += 1;
            // Slow enough that it would show in the samples if it were timed.
            std::thread::sleep(Duration::from_millis(30));
            f64::from(calls)
        };
        let mut lines = Vec::new();
        assert!(run_bench(&mut t, &spec(3), Some(&mut anchor), |l| lines
            .push(l.clone())));
        assert_eq!(calls, 12, "3 reps x 4 points, none for the warm-ups");
        for (i, l) in lines.iter().enumerate() {
            let want: Vec<f64> = (0..3).map(|r| (3 * i + r + 1) as f64).collect();
            assert_eq!(l.anchor_gbps, want);
            assert!(l.samples_ns.iter().all(|&ns| ns < 30_000_000));
        }
        let back: BenchLine =
            serde_json::from_str(&serde_json::to_string(&lines[1]).unwrap()).unwrap();
        assert_eq!(back.anchor_gbps, lines[1].anchor_gbps);
    }

    #[test]
    fn same_seed_same_tokens() {
        let mut a = TokenRng(3);
        let mut b = TokenRng(3);
        assert_eq!(a.tokens(50, 17), b.tokens(50, 17));
    }
}
