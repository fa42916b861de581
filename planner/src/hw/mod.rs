//! Hardware descriptions: the profile schema shared by `probe` and `hw-profiles/`.

pub mod builtin;
mod calibration;
mod error;
mod load;
mod profile;
mod resolve;
mod validate;

pub use builtin::{builtin_profile_names, builtin_profiles, find_profile};
pub use calibration::CpuCalibration;
pub use error::ProfileError;
pub use load::{load_profile_file, parse_profile};
pub use profile::*;
pub use resolve::resolve_profile;
pub use validate::{validate_profile, KNOWN_BACKENDS};

#[cfg(test)]
mod tests;
