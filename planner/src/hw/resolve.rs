//! `--profile ARG`: a built-in id or a path to a user's YAML file.

use std::path::Path;

use super::{find_profile, load_profile_file, HardwareProfile, ProfileError};

/// A path (contains a separator, ends in .yaml/.yml, or names an existing file) is loaded from disk;
/// anything else is looked up among the built-in profiles.
pub fn resolve_profile(arg: &str) -> Result<HardwareProfile, ProfileError> {
    let looks_like_path = arg.contains(std::path::MAIN_SEPARATOR)
        || arg.contains('/')
        || arg.ends_with(".yaml")
        || arg.ends_with(".yml")
        || Path::new(arg).is_file();
    if looks_like_path {
        load_profile_file(arg)
    } else {
        find_profile(arg)
    }
}
