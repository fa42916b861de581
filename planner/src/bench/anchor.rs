//! Memory-bandwidth anchor: a short multi-threaded read-bandwidth measurement taken in the same run
//! as the benchmark, so results from different sessions (or machines) can be normalised by what the
//! memory system delivered that day.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandwidthAnchor {
    /// Best pass, GB/s (10^9 bytes/s).
    pub read_gbs: f64,
    /// GB/s of every timed pass.
    pub samples_gbs: Vec<f64>,
    pub threads: usize,
    pub buffer_bytes: u64,
    pub method: String,
}

/// Default: ~0.3 s over a 128 MiB buffer (well beyond any last-level cache a desktop has).
pub fn measure_read_bandwidth() -> BandwidthAnchor {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    measure_with(128 << 20, threads, Duration::from_millis(300))
}

/// Reads a `buffer_bytes` buffer split among `threads` threads, pass after pass, for `duration`.
pub fn measure_with(buffer_bytes: usize, threads: usize, duration: Duration) -> BandwidthAnchor {
    let threads = threads.max(1);
    let words = (buffer_bytes / 8).max(threads * 1024);
    // Non-zero content so the pages are really backed (a zeroed allocation may map one shared page).
    let buf: Vec<u64> = (0..words as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let chunk = words.div_ceil(threads);
    let mut samples = Vec::new();
    let start = Instant::now();
    // One untimed pass warms TLBs and page tables.
    let mut sink = parallel_sum(&buf, chunk);
    while start.elapsed() < duration || samples.is_empty() {
        let t = Instant::now();
        sink = sink.wrapping_add(parallel_sum(&buf, chunk));
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        samples.push((words * 8) as f64 / secs / 1e9);
    }
    std::hint::black_box(sink);
    let best = samples.iter().cloned().fold(0.0, f64::max);
    BandwidthAnchor {
        read_gbs: best,
        samples_gbs: samples,
        threads,
        buffer_bytes: (words * 8) as u64,
        method: "parallel_sum_u64_read".to_string(),
    }
}

fn parallel_sum(buf: &[u64], chunk: usize) -> u64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = buf
            .chunks(chunk)
            .map(|c| s.spawn(move || sum_chunk(c)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0))
            .fold(0u64, u64::wrapping_add)
    })
}

fn sum_chunk(c: &[u64]) -> u64 {
    // Four independent accumulators keep the loop load-bound rather than add-latency-bound.
    let mut acc = [0u64; 4];
    let mut it = c.chunks_exact(4);
    for q in &mut it {
        for k in 0..4 {
            acc[k] = acc[k].wrapping_add(q[k]);
        }
    }
    let rest: u64 = it.remainder().iter().fold(0, |a, &b| a.wrapping_add(b));
    acc.iter().fold(rest, |a, &b| a.wrapping_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_plausible_bandwidth() {
        let a = measure_with(16 << 20, 2, Duration::from_millis(50));
        assert!(!a.samples_gbs.is_empty());
        // Any machine this runs on reads well over 0.5 GB/s and under 20 TB/s.
        assert!(a.read_gbs > 0.5 && a.read_gbs < 20_000.0, "{a:?}");
        assert_eq!(a.buffer_bytes, 16 << 20);
    }

    #[test]
    fn sum_is_exact() {
        let v: Vec<u64> = (1..=1003).collect();
        assert_eq!(sum_chunk(&v), 1003 * 1004 / 2);
        assert_eq!(parallel_sum(&v, 100), 1003 * 1004 / 2);
    }
}
