//! Measured multi-threaded RAM read bandwidth: every core sums its slice of a buffer much larger than
//! any last-level cache, for a fixed time budget.

use std::time::Duration;

pub use fitbench_engine::membw::{buffer_bytes_for, measure_with, ReadBandwidth};

/// Measures read bandwidth within about `budget` (allocation, first touch and reads together).
pub fn measure_read_bandwidth(budget: Duration) -> ReadBandwidth {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let available = sysinfo::System::new()
        .map(|mut s| {
            s.refresh_memory();
            s.available_memory() as usize
        })
        .unwrap_or(0);
    measure_with(threads, buffer_bytes_for(available), budget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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
