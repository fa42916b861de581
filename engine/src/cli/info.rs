//! `fitbench-engine info`: hyperparameters and tokenizer, then every tensor with its type, shape and device,
//! then the weight bytes per device under the given placement flags.

use super::placement_args::{report_notice, PlacementArgs};
use anyhow::Result;
use fitbench_engine::placement::Placement;
use std::io::Write;
use std::path::Path;

pub fn run(path: &Path, placement: &PlacementArgs) -> Result<()> {
    let opts = placement.load_options(4096)?;
    let m = super::load_model(path, &opts)?;
    report_notice(&m);
    // What the flags would do on a machine with one GPU, when this one has none.
    let hypothetical = if opts.placement.wants_gpu() && !m.placement().uses_gpu() {
        Some(Placement::resolve(
            m.gguf(),
            m.config().n_layer,
            &opts.placement,
            1,
        )?)
    } else {
        None
    };
    let shown = hypothetical.as_ref().unwrap_or(m.placement());
    // Write errors (a closed pipe) end the command quietly instead of panicking.
    let mut out = std::io::stdout().lock();
    for (key, value) in super::config_summary::lines(m.config()) {
        writeln!(out, "{key:20} = {value}")?;
    }
    // A model whose tokenizer does not load still has its tensors listed.
    let tokenizer = match fitbench_engine::tokenizer::Tokenizer::from_metadata(m.metadata()) {
        Ok(t) => t.describe(),
        Err(e) => format!("not usable: {e:#}"),
    };
    writeln!(out, "{:20} = {tokenizer}", "tokenizer")?;
    writeln!(out)?;
    for t in &m.gguf().tensors {
        let dev = shown
            .device_of(&t.info.name)
            .map(|d| d.to_string())
            .unwrap_or_default();
        writeln!(
            out,
            "{:40} {:8} {:6} {:?}",
            t.info.name,
            t.info.ggml_type.name(),
            dev,
            t.info.dims
        )?;
    }
    let label = if hypothetical.is_some() {
        "placement (if one GPU were present)"
    } else {
        "placement"
    };
    writeln!(out, "{label}: {}", shown.summary())?;
    for (d, b) in shown.bytes_per_device() {
        writeln!(out, "  {d:6} {b:>14} bytes")?;
    }
    Ok(())
}
