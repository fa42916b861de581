//! Parsing a profile from YAML text or a user's file, followed by the sanity checks of `validate`.

use std::path::Path;

use super::{validate::validate_profile, HardwareProfile, ProfileError};

/// Parses one profile from YAML text; `origin` (a file path or `builtin:NAME`) names it in errors.
pub fn parse_profile(yaml: &str, origin: &str) -> Result<HardwareProfile, ProfileError> {
    let profile: HardwareProfile =
        serde_saphyr::from_str(yaml).map_err(|e| ProfileError::Parse {
            path: origin.to_string(),
            // The parser's snippet header says `<input>`: name the file there too.
            message: e.to_string().replace("<input>", origin),
        })?;
    validate_profile(&profile, origin)?;
    Ok(profile)
}

/// Reads a user's profile (e.g. one written by `fitbench probe --yaml`).
pub fn load_profile_file(path: impl AsRef<Path>) -> Result<HardwareProfile, ProfileError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: origin.clone(),
        source,
    })?;
    parse_profile(&text, &origin)
}
