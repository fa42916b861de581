//! `fitbench calibrate [--quick] [--out FILE]`: measure this machine's CPU speed coefficients on
//! synthetic slices of catalog models and store them for `fitbench plan` (see planner/src/calibrate).

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::output::{table, OutputArgs};
use crate::bench::host::HostFingerprint;
use crate::calibrate::{
    calibrate, default_dir, file_name, save, BenchSettings, SliceJob, FULL_SLICES, QUICK_SLICES,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Two small slices, pp64/tg16, 2 repetitions: under a minute on 2 cores.
    #[arg(long)]
    pub quick: bool,
    /// Where to write the calibration; default: the per-host file that `fitbench plan` reads
    /// (~/.config/fitbench/calibration/<fingerprint>.yaml, or $FITBENCH_CALIBRATION_DIR).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Where synthesized slices are kept for reruns; default: a fitbench directory under the
    /// system temp directory.
    #[arg(long = "work-dir")]
    pub work_dir: Option<PathBuf>,
    /// Measure these slices instead (LIKE:LAYERS:QUANT:VOCAB, repeatable), e.g.
    /// `--slice gemma-3-270m:6:Q4_K_M:8192`.
    #[arg(long = "slice")]
    pub slices: Vec<String>,
    /// Engine threads; 0 = one per core.
    #[arg(long, short = 't', default_value_t = 0)]
    pub threads: usize,
    /// Prompt tokens per pp test (default 128, 64 with --quick).
    #[arg(long = "n-prompt", short = 'p')]
    pub n_prompt: Option<usize>,
    /// Generated tokens per tg test (default 32, 16 with --quick).
    #[arg(long = "n-gen", short = 'n')]
    pub n_gen: Option<usize>,
    /// Repetitions per test (default 3, 2 with --quick).
    #[arg(long = "reps", short = 'r')]
    pub reps: Option<usize>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// One-minute load average (Linux); None elsewhere.
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let names: Vec<&str> = if !args.slices.is_empty() {
        args.slices.iter().map(String::as_str).collect()
    } else if args.quick {
        QUICK_SLICES.to_vec()
    } else {
        FULL_SLICES.to_vec()
    };
    let jobs = names
        .iter()
        .map(|s| SliceJob::parse(s).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()
        .context("--slice")?;
    let (p, n, r) = if args.quick {
        (64, 16, 2)
    } else {
        (128, 32, 3)
    };
    let settings = BenchSettings {
        n_prompt: args.n_prompt.unwrap_or(p),
        n_gen: args.n_gen.unwrap_or(n),
        reps: args.reps.unwrap_or(r),
        threads: args.threads,
        seed: 0,
    };
    if settings.n_prompt == 0 || settings.n_gen == 0 || settings.reps == 0 {
        bail!("--n-prompt, --n-gen and --reps must be at least 1");
    }
    if settings.n_prompt > 4096 || settings.n_gen > 4096 {
        bail!("--n-prompt and --n-gen: at most 4096 (calibration needs short runs)");
    }
    let host = HostFingerprint::detect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = load_average();
    if let Some(load) = load {
        if load > cores as f64 * 0.5 {
            eprintln!(
                "warning: load average {load:.1} on {cores} cores before starting: other work shares the CPU, \
                 so the coefficients will describe a busy machine (slower than an idle one)"
            );
        }
    }
    let out = match args.out {
        Some(p) => p,
        None => default_dir()?.join(file_name(&host)),
    };
    let work_dir = args
        .work_dir
        .unwrap_or_else(|| std::env::temp_dir().join("fitbench-calibrate"));
    eprintln!(
        "calibrating on {} slices (pp{} tg{}, {} reps); synthesized slices kept in {}",
        jobs.len(),
        settings.n_prompt,
        settings.n_gen,
        settings.reps,
        work_dir.display()
    );
    let mut file = calibrate(&jobs, &settings, &work_dir, host, |m| {
        eprintln!(
            "  {}:{}:{}:{}  tg {:.1} t/s ({:.1} MB/token)  pp {:.1} t/s ({:.2} GFLOP/token)",
            m.slice.like,
            m.slice.layers,
            m.slice.quant,
            m.slice.vocab,
            m.tg_tps,
            m.gen_bytes_per_token / 1e6,
            m.pp_tps,
            m.prompt_flops_per_token / 1e9
        );
    })?;
    file.load_average = load;
    save(&file, &out)?;
    if args.output.emit(&file)? {
        return Ok(());
    }
    let c = &file.cpu;
    let mut t = table();
    t.set_header(vec!["coefficient", "value"]);
    t.add_row(vec![
        "generation: effective read".to_string(),
        format!("{:.2} GB/s", c.gen_read_gbs),
    ]);
    t.add_row(vec![
        "generation: per layer per token".to_string(),
        format!("{:.1} µs", c.gen_layer_overhead_s * 1e6),
    ]);
    t.add_row(vec![
        "prompt: effective compute".to_string(),
        format!("{:.1} GFLOP/s", c.prompt_gflops),
    ]);
    t.add_row(vec![
        "fit: largest error (gen / prompt)".to_string(),
        format!(
            "{:.1}% / {:.1}%",
            file.gen_fit_max_error * 100.0,
            file.prompt_fit_max_error * 100.0
        ),
    ]);
    t.add_row(vec![
        "engine".to_string(),
        format!("{}, {} threads, {}", c.engine, c.threads, c.measured_on),
    ]);
    println!("{t}");
    println!(
        "saved {}; `fitbench plan` on this machine now uses these coefficients",
        out.display()
    );
    Ok(())
}
