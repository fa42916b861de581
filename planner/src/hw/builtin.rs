//! Built-in hardware profiles: the YAML files of `hw-profiles/`, embedded in the binary.

use super::{parse_profile, HardwareProfile, ProfileError};

pub use super::load::load_profile_file;

/// Embeds `hw-profiles/<id>.yaml` for each id; the id must equal the profile's `name`.
macro_rules! embedded_profiles {
    ($($id:literal),* $(,)?) => {
        &[$(($id, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../hw-profiles/", $id, ".yaml")))),*]
    };
}

/// (id, YAML text) of every built-in profile. A test checks this list against the directory.
pub const EMBEDDED_PROFILES: &[(&str, &str)] = embedded_profiles![
    "2x-rtx-3090",
    "a100-80gb",
    "desktop-ddr5-2ch",
    "dgx-spark",
    "h100-pcie",
    "h100-sxm",
    "h200",
    "l40s",
    "m1-max-64gb",
    "m2-ultra-192gb",
    "m3-air-24gb",
    "m3-max-64gb",
    "m4-max-128gb",
    "m4-max-64gb",
    "m4-pro-48gb",
    "m5-max-128gb",
    "mac-mini-m4-16gb",
    "p40",
    "radeon-ai-pro-r9700",
    "raspberry-pi-5-16gb",
    "rtx-3060-12gb",
    "rtx-3090",
    "rtx-4060-ti-16gb",
    "rtx-4070-12gb",
    "rtx-4090",
    "rtx-5060-ti-16gb",
    "rtx-5070-ti",
    "rtx-5070-ti-plus-5060-ti",
    "rtx-5080",
    "rtx-5090",
    "rx-7900-xtx",
    "server-ddr5-8ch",
    "strix-halo-128gb",
    "v100-32gb",
];

/// Every built-in profile, parsed and checked.
pub fn builtin_profiles() -> Result<Vec<HardwareProfile>, ProfileError> {
    EMBEDDED_PROFILES
        .iter()
        .map(|(id, yaml)| parse_builtin(id, yaml))
        .collect()
}

/// The ids of the built-in profiles, in listing order.
pub fn builtin_profile_names() -> Vec<String> {
    EMBEDDED_PROFILES
        .iter()
        .map(|(id, _)| id.to_string())
        .collect()
}

/// Looks a built-in profile up by id (exact, case-insensitive); an unknown name lists the known ones.
pub fn find_profile(name: &str) -> Result<HardwareProfile, ProfileError> {
    let wanted = name.trim().to_ascii_lowercase();
    match EMBEDDED_PROFILES.iter().find(|(id, _)| *id == wanted) {
        Some((id, yaml)) => parse_builtin(id, yaml),
        None => Err(ProfileError::Unknown {
            name: name.to_string(),
            known: builtin_profile_names(),
        }),
    }
}

fn parse_builtin(id: &str, yaml: &str) -> Result<HardwareProfile, ProfileError> {
    let origin = format!("hw-profiles/{id}.yaml");
    let profile = parse_profile(yaml, &origin)?;
    if profile.name != id {
        return Err(ProfileError::Invalid {
            path: origin,
            field: "name".into(),
            message: format!("`{}` must equal the file name `{id}`", profile.name),
        });
    }
    Ok(profile)
}
