//! Memory-bandwidth anchor: the probe's RAM read-bandwidth measurement (`probe::membw`), taken in
//! the same run as the benchmark, so results from different sessions (or machines) can be
//! normalised by what the memory system delivered that day. The same measurement feeds the
//! hardware profile the predictions use.

use serde::{Deserialize, Serialize};

use crate::probe::ReadBandwidth;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandwidthAnchor {
    /// Bytes read per second over the timed phase, GB/s (10^9 bytes/s).
    pub read_gbs: f64,
    /// GB/s of every timed pass (the probe reports one figure for the whole phase).
    #[serde(default)]
    pub samples_gbs: Vec<f64>,
    pub threads: usize,
    pub buffer_bytes: u64,
    pub method: String,
}

impl BandwidthAnchor {
    pub fn from_measurement(m: &ReadBandwidth) -> Self {
        BandwidthAnchor {
            read_gbs: m.gb_per_s,
            samples_gbs: vec![m.gb_per_s],
            threads: m.threads,
            buffer_bytes: m.buffer_bytes as u64,
            method: format!(
                "probe::membw: every thread sums its own slice for {:.2} s",
                m.seconds
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_probe_measurement() {
        let m = crate::probe::membw_measure_with(2, 16 << 20, std::time::Duration::from_millis(50));
        let a = BandwidthAnchor::from_measurement(&m);
        // Any machine this runs on reads well over 0.05 GB/s and under 20 TB/s.
        assert!(a.read_gbs > 0.05 && a.read_gbs < 20_000.0, "{a:?}");
        assert_eq!((a.threads, a.buffer_bytes), (2, 16 << 20));
        assert_eq!(a.samples_gbs, vec![m.gb_per_s]);
    }
}
