//! The hardware a plan is for: `--profile NAME|FILE`, else this machine as `fitbench probe` sees it.

use anyhow::Context;

use crate::hw::HardwareProfile;

pub fn resolve(profile: Option<&str>) -> anyhow::Result<HardwareProfile> {
    match profile {
        Some(p) => crate::hw::resolve_profile(p).with_context(|| format!("--profile {p}")),
        None => crate::probe::probe(true).context("probing this machine"),
    }
}
