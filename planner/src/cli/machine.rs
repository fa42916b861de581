//! The hardware a plan is for: `--profile NAME|FILE`, else this machine.
//! TODO(after the hw branch lands on main): use `crate::hw::find_profile` / `crate::probe`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::hw::{CpuSpec, HardwareProfile, RamSpec};

fn profile_dirs() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("hw-profiles")];
    v.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hw-profiles"));
    v
}

pub fn load_profile_file(path: &Path) -> anyhow::Result<HardwareProfile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading hardware profile {}", path.display()))?;
    serde_saphyr::from_str(&text)
        .with_context(|| format!("parsing hardware profile {}", path.display()))
}

/// A profile by name (`hw-profiles/NAME.yaml`) or by path.
pub fn find_profile(name: &str) -> anyhow::Result<HardwareProfile> {
    let p = Path::new(name);
    if p.extension().is_some_and(|e| e == "yaml" || e == "yml") && p.exists() {
        return load_profile_file(p);
    }
    for d in profile_dirs() {
        let f = d.join(format!("{name}.yaml"));
        if f.exists() {
            return load_profile_file(&f);
        }
    }
    bail!("no hardware profile named '{name}' (looked for hw-profiles/{name}.yaml and a YAML file path)")
}

/// This machine without a GPU probe: RAM size and cores from sysinfo; bandwidth assumed.
pub fn this_machine() -> anyhow::Result<HardwareProfile> {
    let mut sys = sysinfo::System::new()
        .map_err(|e| anyhow::anyhow!("reading this machine's memory and CPUs: {e:?}"))?;
    sys.refresh_memory();
    sys.refresh_cpu_all();
    let total = sys.total_memory() as f64 / (1u64 << 30) as f64;
    let avail = sys.available_memory() as f64 / (1u64 << 30) as f64;
    let logical = sys.cpus().len().max(1) as u32;
    let physical = sysinfo::System::physical_core_count()
        .unwrap_or(logical as usize)
        .max(1) as u32;
    let mut sources = BTreeMap::new();
    sources.insert(
        "bandwidth_gbs".to_string(),
        "assumed (no probe yet): 25 GB/s".to_string(),
    );
    Ok(HardwareProfile {
        name: "this-machine".into(),
        description: "probed by sysinfo (RAM, cores); no GPU probe".into(),
        cpu: CpuSpec {
            name: sys
                .cpus()
                .first()
                .map(|c| c.brand().to_string())
                .unwrap_or_default(),
            physical_cores: physical,
            logical_cores: logical,
            simd: vec![],
            gflops: None,
            sources: BTreeMap::new(),
        },
        ram: RamSpec {
            total_gib: total,
            available_gib: Some(avail),
            bandwidth_gbs: 25.0,
            measured_read_gbs: None,
            sources,
        },
        gpus: vec![],
        unified_memory: None,
        notes: vec![
            "GPU probing arrives with `fitbench probe`; until then use --profile for GPU machines"
                .into(),
        ],
    })
}
