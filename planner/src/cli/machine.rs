//! The hardware a plan is for: `--profile NAME|FILE`, else this machine as `fitbench probe` sees it,
//! with the coefficients `fitbench calibrate` stored for it (if any).

use anyhow::Context;

use crate::hw::HardwareProfile;

pub fn resolve(profile: Option<&str>) -> anyhow::Result<HardwareProfile> {
    match profile {
        Some(p) => crate::hw::resolve_profile(p).with_context(|| format!("--profile {p}")),
        None => {
            let mut hw = crate::probe::probe(true).context("probing this machine")?;
            if let Some(warning) = crate::calibrate::attach_host_calibration(&mut hw, None) {
                eprintln!("warning: {warning}");
            }
            Ok(hw)
        }
    }
}
