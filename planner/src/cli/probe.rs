//! `fitbench probe`: describe this machine (table, JSON, or YAML that `--profile-file` reads back).

use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::hw::HardwareProfile;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the profile as JSON.
    #[arg(long, conflicts_with = "yaml")]
    pub json: bool,
    /// Print the profile as YAML (save it under hw-profiles/ and load it with --profile-file).
    #[arg(long)]
    pub yaml: bool,
    /// Skip the ~0.5 s RAM read-bandwidth measurement.
    #[arg(long)]
    pub no_bandwidth: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let profile = crate::probe::probe(!args.no_bandwidth).context("probing this machine")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&profile)?);
    } else if args.yaml {
        print!(
            "{}",
            serde_saphyr::to_string(&profile).context("writing YAML")?
        );
    } else {
        print_summary(&profile);
    }
    Ok(())
}

fn print_summary(p: &HardwareProfile) {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_header(vec!["", "this machine"]);
    let c = &p.cpu;
    t.add_row(vec![
        "CPU".to_string(),
        format!(
            "{} ({} cores / {} threads)",
            c.name, c.physical_cores, c.logical_cores
        ),
    ]);
    t.add_row(vec!["SIMD".to_string(), c.simd.join(" ")]);
    if let Some(g) = c.gflops {
        t.add_row(vec![
            "CPU FP32 peak".to_string(),
            format!("~{g:.0} GFLOP/s (estimate)"),
        ]);
    }
    let r = &p.ram;
    let avail = r
        .available_gib
        .map_or(String::new(), |a| format!(", {a:.1} GiB available"));
    t.add_row(vec![
        "RAM".to_string(),
        format!("{:.1} GiB{avail}", r.total_gib),
    ]);
    t.add_row(vec![
        "RAM read bandwidth".to_string(),
        match r.measured_read_gbs {
            Some(m) => format!("{m:.1} GB/s measured"),
            None => "not measured".into(),
        },
    ]);
    t.add_row(vec![
        "RAM theoretical".to_string(),
        match r.sources.get("bandwidth_gbs") {
            Some(src) if !src.starts_with("ESTIMATE") => {
                format!("{:.1} GB/s ({src})", r.bandwidth_gbs)
            }
            _ => format!(
                "~{:.1} GB/s (ESTIMATE; edit to channels x MT/s x 8 in the YAML)",
                r.bandwidth_gbs
            ),
        },
    ]);
    if p.gpus.is_empty() {
        t.add_row(vec!["GPUs".to_string(), "none found".to_string()]);
    }
    for (i, g) in p.gpus.iter().enumerate() {
        let free = g
            .free_gib
            .map_or(String::new(), |f| format!(", {f:.1} GiB free"));
        let cc = g
            .compute_capability
            .as_deref()
            .map_or(String::new(), |c| format!(", compute {c}"));
        t.add_row(vec![
            format!("GPU {i}"),
            format!("{} ({}{cc})", g.name, g.backend),
        ]);
        t.add_row(vec![
            format!("GPU {i} memory"),
            format!(
                "{:.1} GiB{free}, {:.0} GB/s theoretical",
                g.vram_gib, g.bandwidth_gbs
            ),
        ]);
        t.add_row(vec![
            format!("GPU {i} FP16 tensor"),
            format!(
                "{:.1} TFLOP/s ({})",
                g.fp16_tflops,
                g.sources.get("fp16_tflops").map_or("", |s| s.as_str())
            ),
        ]);
        if let Some(l) = &g.pcie {
            t.add_row(vec![
                format!("GPU {i} PCIe"),
                format!(
                    "gen {} x{}: {:.1} GB/s per direction",
                    l.gen, l.width, l.bandwidth_gbs
                ),
            ]);
        }
        let d2d = g
            .measured_bandwidth_gbs
            .map_or("not measured".to_string(), |b| format!("{b:.0} GB/s"));
        let h2d = g
            .pcie
            .as_ref()
            .and_then(|l| l.measured_h2d_gbs)
            .map_or("not measured".to_string(), |b| format!("{b:.1} GB/s"));
        t.add_row(vec![
            format!("GPU {i} measured"),
            format!("device-to-device {d2d}, host-to-device {h2d}"),
        ]);
    }
    println!("{t}");
    for n in &p.notes {
        println!("note: {n}");
    }
}
