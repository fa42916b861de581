//! Shared output switches: `--json` / `--yaml` for programs, comfy-table for people.

use serde::Serialize;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Print JSON instead of tables.
    #[arg(long, conflicts_with = "yaml")]
    pub json: bool,
    /// Print YAML instead of tables.
    #[arg(long)]
    pub yaml: bool,
}

impl OutputArgs {
    /// Prints `value` as JSON or YAML if asked; returns false when the caller should print tables.
    pub fn emit<T: Serialize>(&self, value: &T) -> anyhow::Result<bool> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
            return Ok(true);
        }
        if self.yaml {
            print!("{}", serde_saphyr::to_string(value)?);
            return Ok(true);
        }
        Ok(false)
    }
}

/// Bytes for people: GiB above 1 GiB, else MiB, else KiB.
pub fn gib(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    t
}
