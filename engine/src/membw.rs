//! Measured multi-threaded RAM read bandwidth: every thread sums its slice of a buffer much larger
//! than any last-level cache, for a fixed time budget. The planner's probe sizes the buffer from the
//! machine; `fitbench-engine bench --bandwidth-anchor` measures it before each repetition.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The buffer is this many times the last-level cache, so nearly every read misses it.
const LLC_MULTIPLE: usize = 8;
/// Bounds on the buffer: the ceiling keeps allocation and first touch well inside the time budget.
const MIN_BUFFER: usize = 64 << 20;
const MAX_BUFFER: usize = 768 << 20;
/// LLC assumed when the OS does not say (a large desktop L3).
const DEFAULT_LLC: usize = 32 << 20;

/// The timed read phase lasts at least this long, even if allocation was slow.
const MIN_READ_PHASE: Duration = Duration::from_millis(150);

#[derive(Debug, Clone, PartialEq)]
pub struct ReadBandwidth {
    /// Bytes read per second, in GB/s (10^9).
    pub gb_per_s: f64,
    pub threads: usize,
    pub buffer_bytes: usize,
    /// Duration of the timed read phase.
    pub seconds: f64,
}

/// The measurement with explicit thread count and buffer size (tests use smaller ones).
pub fn measure_with(threads: usize, buffer_bytes: usize, budget: Duration) -> ReadBandwidth {
    let start = Instant::now();
    let threads = threads.max(1);
    let words_per_thread = (buffer_bytes / 8 / threads).max(1024) & !7;
    let barrier = Barrier::new(threads);
    let results: Vec<(u64, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    // Each thread allocates and touches its own slice (first-touch places it on its NUMA node).
                    let slice: Vec<u64> =
                        (0..words_per_thread as u64).map(|i| i ^ t as u64).collect();
                    barrier.wait();
                    // Read for what remains of the budget, at least a few passes.
                    let t0 = Instant::now();
                    let read_until = (start + budget).max(t0 + MIN_READ_PHASE);
                    let mut passes = 0u64;
                    let mut acc = 0u64;
                    while passes < 2 || Instant::now() < read_until {
                        acc = acc.wrapping_add(sum_words(black_box(&slice)));
                        passes += 1;
                    }
                    black_box(acc);
                    (passes * (words_per_thread as u64) * 8, t0.elapsed())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, Duration::ZERO)))
            .collect()
    });
    let bytes: u64 = results.iter().map(|r| r.0).sum();
    let seconds = results
        .iter()
        .map(|r| r.1.as_secs_f64())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    ReadBandwidth {
        gb_per_s: bytes as f64 / seconds / 1e9,
        threads,
        buffer_bytes: words_per_thread * 8 * threads,
        seconds,
    }
}

/// Sum with eight independent lanes so the compiler vectorizes and the loop is bound by memory, not adds.
fn sum_words(words: &[u64]) -> u64 {
    let mut lanes = [0u64; 8];
    for chunk in words.chunks_exact(8) {
        for (lane, w) in lanes.iter_mut().zip(chunk) {
            *lane = lane.wrapping_add(*w);
        }
    }
    lanes.iter().fold(0u64, |a, b| a.wrapping_add(*b))
}

/// The buffer to read on this machine: eight times the last-level cache (so nearly every read
/// misses it), 64–768 MiB, and never more than an eighth of `available_memory` bytes.
pub fn buffer_bytes_for(available_memory: usize) -> usize {
    let llc = last_level_cache_bytes().unwrap_or(DEFAULT_LLC);
    (llc * LLC_MULTIPLE)
        .clamp(MIN_BUFFER, MAX_BUFFER)
        .min((available_memory / 8).max(16 << 20))
}

/// `MemAvailable` from /proc/meminfo, in bytes (None elsewhere or when unreadable).
pub fn available_memory_bytes() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Size of the largest CPU cache, from Linux sysfs; None elsewhere or when unreadable.
pub fn last_level_cache_bytes() -> Option<usize> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("size")).ok())
        .filter_map(|s| parse_cache_size(s.trim()))
        .max()
}

/// Parses sysfs cache sizes such as `32768K` or `1M`.
fn parse_cache_size(s: &str) -> Option<usize> {
    let (digits, mult) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1usize << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_is_exact() {
        let v: Vec<u64> = (0..1000).collect();
        assert_eq!(sum_words(&v[..992]), (0..992u64).sum::<u64>());
    }

    #[test]
    fn cache_sizes_parse() {
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("x"), None);
    }

    #[test]
    fn small_measurement_reads_what_it_says() {
        let bw = measure_with(2, 4 << 20, Duration::from_millis(20));
        assert!(bw.gb_per_s.is_finite() && bw.gb_per_s > 0.0);
        assert_eq!(bw.threads, 2);
        assert_eq!(bw.buffer_bytes, 4 << 20);
    }
}
