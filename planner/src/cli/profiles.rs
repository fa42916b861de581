//! `fitbench profiles`: list the built-in hardware profiles.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::hw::{builtin_profiles, HardwareProfile};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print every profile in full as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let profiles = builtin_profiles()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&profiles)?);
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "id",
        "GPU(s)",
        "VRAM GiB",
        "GPU GB/s",
        "FP16 TFLOPS",
        "RAM GiB",
        "RAM GB/s",
        "CPU GFLOPS",
        "GPU-usable (unified)",
    ]);
    for p in &profiles {
        t.add_row(row(p));
    }
    println!("{t}");
    println!(
        "{} profiles; use one with --profile ID, or probe this machine with `fitbench probe`.",
        profiles.len()
    );
    Ok(())
}

fn row(p: &HardwareProfile) -> Vec<String> {
    let join = |f: &dyn Fn(&crate::hw::GpuSpec) -> String| {
        if p.gpus.is_empty() {
            "-".to_string()
        } else {
            p.gpus.iter().map(f).collect::<Vec<_>>().join(" + ")
        }
    };
    vec![
        p.name.clone(),
        join(&|g| g.name.replace("NVIDIA ", "").replace("GeForce ", "")),
        join(&|g| format!("{:.0}", g.vram_gib)),
        join(&|g| format!("{:.0}", g.bandwidth_gbs)),
        join(&|g| format!("{:.0}", g.fp16_tflops)),
        format!("{:.0}", p.ram.total_gib),
        format!("{:.0}", p.ram.bandwidth_gbs),
        p.cpu.gflops.map_or("-".into(), |g| format!("{g:.0}")),
        p.unified_memory
            .as_ref()
            .map_or("-".into(), |u| format!("{:.0}", u.gpu_usable_gib)),
    ]
}
