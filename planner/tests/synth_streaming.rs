//! The synthetic writer streams: peak RSS stays far below the file it writes. Its own test binary,
//! so no other test's allocations raise this process's high-water mark.

use fitbench::catalog::{slice, synth_spec, SliceRequest};
use fitbench_engine::synth::write_synth;

fn vm_hwm_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn peak_rss_well_below_file_size() {
    let req = SliceRequest {
        like: "qwen3.5-0.8b".into(),
        layers: Some(4),
        quant: "Q8_0".into(),
        vocab: Some(65536),
    };
    let (e, q, m) = slice(&req).unwrap();
    let spec = synth_spec(&e, &q, &m, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.gguf");
    let Some(before) = vm_hwm_bytes() else {
        eprintln!("skipped: no /proc/self/status");
        return;
    };
    let report = write_synth(&spec, &path).unwrap();
    let peak = vm_hwm_bytes().unwrap();
    eprintln!(
        "file {} MB, VmHWM {} MB (before {} MB)",
        report.file_bytes >> 20,
        peak >> 20,
        before >> 20
    );
    assert!(report.file_bytes > 150 << 20);
    assert!(
        peak < report.file_bytes / 3,
        "peak {peak} vs file {}",
        report.file_bytes
    );
}
