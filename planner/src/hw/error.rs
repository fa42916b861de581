//! Errors from reading, parsing and checking hardware profiles.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileError {
    /// The file could not be read at all.
    #[error("cannot read hardware profile {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax error, unknown field, missing field or wrong type (the message names the field and line).
    #[error("hardware profile {path}: {message}")]
    Parse { path: String, message: String },
    /// Parsed, but a figure is impossible (e.g. a bandwidth of 0); `field` is the path to it.
    #[error("hardware profile {path}: field `{field}`: {message}")]
    Invalid {
        path: String,
        field: String,
        message: String,
    },
    /// `--profile NAME` did not match any built-in profile.
    #[error("unknown hardware profile `{name}`; known profiles: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
}
