//! Built-in profiles parse and are sane; user files fail with errors naming the file and the field.

use std::io::Write;

use super::*;

fn has_source(sources: &std::collections::BTreeMap<String, String>, key: &str) -> bool {
    sources.get(key).is_some_and(|s| s.trim().len() > 5)
}

#[test]
fn every_builtin_profile_parses_and_is_sane() {
    let profiles = builtin_profiles().expect("built-in profiles parse");
    assert!(profiles.len() >= 3);
    for p in &profiles {
        let id = &p.name;
        assert!(!p.description.is_empty(), "{id}: description");
        assert!(
            p.ram.bandwidth_gbs > 0.0 && p.ram.total_gib >= 1.0,
            "{id}: ram"
        );
        assert!(
            has_source(&p.ram.sources, "bandwidth_gbs"),
            "{id}: ram.sources.bandwidth_gbs"
        );
        assert!(
            has_source(&p.ram.sources, "total_gib"),
            "{id}: ram.sources.total_gib"
        );
        if p.cpu.gflops.is_some() {
            assert!(
                has_source(&p.cpu.sources, "gflops"),
                "{id}: cpu.sources.gflops"
            );
        }
        assert!(
            p.cpu.gflops.is_some() || !p.gpus.is_empty(),
            "{id}: a CPU-only profile needs cpu.gflops"
        );
        for (i, g) in p.gpus.iter().enumerate() {
            assert!(
                KNOWN_BACKENDS.contains(&g.backend.as_str()),
                "{id}: gpus[{i}].backend"
            );
            assert!(
                g.vram_gib >= 1.0 && g.vram_gib <= 1024.0,
                "{id}: gpus[{i}].vram_gib"
            );
            assert!(g.bandwidth_gbs > 10.0, "{id}: gpus[{i}].bandwidth_gbs");
            assert!(g.fp16_tflops > 0.1, "{id}: gpus[{i}].fp16_tflops");
            for key in ["vram_gib", "bandwidth_gbs", "fp16_tflops"] {
                assert!(
                    has_source(&g.sources, key),
                    "{id}: gpus[{i}].sources.{key} missing"
                );
            }
            if g.pcie.is_some() {
                assert!(
                    has_source(&g.sources, "pcie"),
                    "{id}: gpus[{i}].sources.pcie missing"
                );
            }
            // A discrete GPU's memory is faster than its host's RAM.
            if p.unified_memory.is_none() {
                assert!(
                    g.bandwidth_gbs > p.ram.bandwidth_gbs,
                    "{id}: GPU slower than RAM?"
                );
                assert!(g.pcie.is_some(), "{id}: discrete GPU without a PCIe link");
            }
        }
        if let Some(u) = &p.unified_memory {
            assert!(
                u.gpu_usable_gib <= p.ram.total_gib && u.gpu_usable_gib > 0.0,
                "{id}: gpu_usable_gib"
            );
            assert!(
                u.note.as_deref().is_some_and(|n| !n.is_empty()),
                "{id}: unified_memory.note must give the source"
            );
        }
    }
}

#[test]
fn embedded_list_matches_the_directory() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../hw-profiles");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("hw-profiles/ exists")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".yaml"))
                .map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut embedded = builtin_profile_names();
    embedded.sort();
    assert_eq!(
        on_disk, embedded,
        "every hw-profiles/*.yaml must be listed in builtin.rs"
    );
}

#[test]
fn find_profile_by_id_and_unknown_lists_names() {
    assert_eq!(find_profile("rtx-3090").unwrap().gpus[0].vram_gib, 24.0);
    assert_eq!(find_profile("RTX-5090").unwrap().name, "rtx-5090");
    let err = find_profile("rtx-9999").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ProfileError::Unknown { .. }));
    assert!(
        msg.contains("rtx-9999") && msg.contains("rtx-3090") && msg.contains("rtx-5080"),
        "{msg}"
    );
}

fn write_temp(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn load_err(text: &str) -> (String, String) {
    let f = write_temp(text);
    let path = f.path().display().to_string();
    let err = load_profile_file(f.path()).expect_err("must fail");
    eprintln!("error shown to the user: {err}");
    (err.to_string(), path)
}

const GOOD: &str = include_str!("../../../hw-profiles/rtx-3090.yaml");

#[test]
fn good_user_file_loads() {
    let f = write_temp(GOOD);
    assert_eq!(
        load_profile_file(f.path()).unwrap(),
        find_profile("rtx-3090").unwrap()
    );
}

#[test]
fn malformed_yaml_names_the_file() {
    let (msg, path) = load_err("name: [unclosed\ncpu: {");
    assert!(msg.contains(&path), "{msg}");
}

#[test]
fn unknown_field_names_the_file_and_field() {
    let text = GOOD.replace("  total_gib: 64", "  total_gib: 64\n  speed_mts: 3200");
    let (msg, path) = load_err(&text);
    assert!(msg.contains(&path) && msg.contains("speed_mts"), "{msg}");
}

#[test]
fn wrong_type_names_the_file_and_line() {
    let text = GOOD.replace("  total_gib: 64", "  total_gib: lots");
    let (msg, path) = load_err(&text);
    assert!(msg.contains(&path), "{msg}");
    assert!(
        msg.contains("lots") || msg.contains("total_gib") || msg.contains("line"),
        "{msg}"
    );
}

#[test]
fn missing_field_is_named() {
    let text = GOOD.replace("    backend: cuda\n", "");
    let (msg, path) = load_err(&text);
    assert!(msg.contains(&path) && msg.contains("backend"), "{msg}");
}

#[test]
fn implausible_figure_names_the_field() {
    let text = GOOD.replace("bandwidth_gbs: 936.0", "bandwidth_gbs: 0");
    let (msg, path) = load_err(&text);
    assert!(
        msg.contains(&path) && msg.contains("gpus[0].bandwidth_gbs"),
        "{msg}"
    );
    let text = GOOD.replace("backend: cuda", "backend: cuda12");
    let (msg, _) = load_err(&text);
    assert!(msg.contains("gpus[0].backend"), "{msg}");
}

#[test]
fn missing_file_is_named() {
    let err = load_profile_file("/nonexistent/dir/box.yaml").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/dir/box.yaml"));
}

#[test]
fn probe_yaml_round_trips_through_load() {
    let probed = crate::probe::probe(true).expect("probe");
    assert!(probed.ram.measured_read_gbs.is_some_and(|b| b > 0.0));
    let yaml = serde_saphyr::to_string(&probed).unwrap();
    let f = write_temp(&yaml);
    let loaded = load_profile_file(f.path()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(loaded, probed);
    // JSON too (`fitbench probe --json`).
    let json = serde_json::to_string(&probed).unwrap();
    assert_eq!(
        serde_json::from_str::<HardwareProfile>(&json).unwrap(),
        probed
    );
}

#[test]
fn resolve_takes_an_id_or_a_path() {
    assert_eq!(resolve_profile("rtx-4090").unwrap().name, "rtx-4090");
    let f = write_temp(GOOD);
    assert_eq!(
        resolve_profile(&f.path().display().to_string())
            .unwrap()
            .name,
        "rtx-3090"
    );
    let err = resolve_profile("no/such/box.yaml").unwrap_err();
    assert!(matches!(err, ProfileError::Io { .. }), "{err}");
    assert!(matches!(
        resolve_profile("nonesuch").unwrap_err(),
        ProfileError::Unknown { .. }
    ));
}
