//! Measured multi-threaded RAM read bandwidth: every core sums its slice of a buffer much larger than
//! any last-level cache, for a fixed time budget.

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

/// Measures read bandwidth within about `budget` (allocation, first touch and reads together).
pub fn measure_read_bandwidth(budget: Duration) -> ReadBandwidth {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let available = sysinfo::System::new()
        .map(|mut s| {
            s.refresh_memory();
            s.available_memory() as usize
        })
        .unwrap_or(0);
    let llc = last_level_cache_bytes().unwrap_or(DEFAULT_LLC);
    // Never take more than an eighth of what is free.
    let bytes = (llc * LLC_MULTIPLE)
        .clamp(MIN_BUFFER, MAX_BUFFER)
        .min((available / 8).max(16 << 20));
    measure_with(threads, bytes, budget)
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
    fn measured_bandwidth_is_positive_and_plausible() {
        let t = Instant::now();
        let bw = measure_read_bandwidth(crate::probe::BANDWIDTH_BUDGET);
        let took = t.elapsed().as_secs_f64();
        eprintln!(
            "measured read bandwidth: {:.1} GB/s ({} threads, {} MiB, {took:.2} s total)",
            bw.gb_per_s,
            bw.threads,
            bw.buffer_bytes >> 20
        );
        assert!(bw.gb_per_s.is_finite() && bw.gb_per_s > 0.05 && bw.gb_per_s < 20_000.0);
        assert!(bw.buffer_bytes >= 16 << 20);
        // The read loop stops at the budget (0.5 s on an idle machine, allocation included); on a shared,
        // overloaded test machine allocation can stall for seconds, so only a runaway loop is caught here.
        assert!(bw.seconds < 10.0, "read phase ran {:.2} s", bw.seconds);
    }
}
