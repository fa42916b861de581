//! Hardware descriptions: the profile schema shared by `probe` and `hw-profiles/`.

mod profile;

pub use profile::*;
