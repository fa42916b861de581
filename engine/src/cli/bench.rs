//! `fitbench-engine bench`: llama-bench's measurement on the bundled CPU engine (protocol in
//! `fitbench_engine::bench`). Flag names follow llama-bench, including its multi-letter
//! single-dash flags (`-ub`, `-ctk`, `-ctv`, `-fa`, `-ngl`), which [`normalize_args`] rewrites to
//! `--ub` etc. before clap sees them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use fitbench_engine::bench::{run_bench, BenchLine, BenchSpec};
use fitbench_engine::gguf::GgmlType;
use fitbench_engine::{Model, Session, SessionOptions};
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One JSON object per finished point, flushed at once (what `fitbench bench` parses).
    Jsonl,
    /// One JSON array of all points, printed at the end.
    Json,
    /// A llama-bench-like Markdown table, printed at the end.
    Md,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub load: super::LoadFlags,
    /// GGUF model file (first part of a split set).
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Prompt lengths, comma separated; a pp test per nonzero value.
    #[arg(
        short = 'p',
        long = "n-prompt",
        value_delimiter = ',',
        default_value = "512"
    )]
    pub n_prompt: Vec<usize>,
    /// Generation lengths, comma separated; a tg test per nonzero value.
    #[arg(
        short = 'n',
        long = "n-gen",
        value_delimiter = ',',
        default_value = "128"
    )]
    pub n_gen: Vec<usize>,
    /// Context depths (tokens already in the context, filled untimed), comma separated.
    #[arg(
        short = 'd',
        long = "n-depth",
        value_delimiter = ',',
        default_value = "0"
    )]
    pub depths: Vec<usize>,
    /// Tokens per decode call (the prompt is submitted in chunks of this size).
    #[arg(short = 'b', long = "batch-size", default_value_t = 2048)]
    pub n_batch: usize,
    /// Tokens per forward pass inside a decode call (`-ub`).
    #[arg(long = "ub", alias = "ubatch-size", default_value_t = 512)]
    pub n_ubatch: usize,
    /// KV cache type of K (`-ctk`), e.g. f16, f32, q8_0.
    #[arg(long = "ctk", alias = "cache-type-k", default_value = "f16")]
    pub type_k: String,
    /// KV cache type of V (`-ctv`).
    #[arg(long = "ctv", alias = "cache-type-v", default_value = "f16")]
    pub type_v: String,
    /// Flash attention (`-fa`): on|off|auto (auto = off on this engine), or 1|0.
    #[arg(long = "fa", alias = "flash-attn", default_value = "auto")]
    pub flash_attn: String,
    /// Worker threads (0 = one per core).
    #[arg(short = 't', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Weight placement (`-ngl`, `--n-cpu-moe`, `--cpu-moe`, `-ot`, `--fit`).
    #[command(flatten)]
    pub placement: super::placement_args::PlacementArgs,
    /// Timed repetitions per point.
    #[arg(short = 'r', long = "repetitions", default_value_t = 5)]
    pub reps: usize,
    /// Skip the untimed warm-up run of each point.
    #[arg(long)]
    pub no_warmup: bool,
    /// Seed of the random token ids.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Measure RAM read bandwidth (same thread count) before each timed repetition and report
    /// generation as a percentage of the bound (weight bytes read per token / that bandwidth).
    #[arg(long)]
    pub bandwidth_anchor: bool,
    #[arg(short = 'o', long, value_enum, default_value = "md")]
    pub output: Output,
}

/// Rewrites llama-bench's multi-letter single-dash flags (`-ub 512`) to long flags (`--ub 512`).
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    const MULTI: [&str; 9] = [
        "-ub", "-ctk", "-ctv", "-fa", "-ngl", "-ot", "-ncmoe", "-cmoe", "-fitt",
    ];
    args.into_iter()
        .map(|a| {
            if MULTI.contains(&a.as_str()) {
                format!("-{a}")
            } else {
                a
            }
        })
        .collect()
}

fn parse_flash_attn(s: &str) -> Result<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "1" | "true" => Ok(true),
        "off" | "0" | "false" | "auto" => Ok(false),
        _ => bail!("-fa: expected on, off, auto, 1 or 0, got `{s}`"),
    }
}

fn parse_kv_type(flag: &str, s: &str) -> Result<GgmlType> {
    GgmlType::from_name(s)
        .with_context(|| format!("{flag}: unknown type `{s}` (e.g. f16, f32, q8_0)"))
}

fn resolved_threads(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn run(args: Args) -> Result<()> {
    if args.reps == 0 {
        bail!("-r: at least one repetition is needed");
    }
    if args.n_batch == 0 || args.n_ubatch == 0 {
        bail!("-b and -ub must be at least 1");
    }
    let type_k = parse_kv_type("-ctk", &args.type_k)?;
    let type_v = parse_kv_type("-ctv", &args.type_v)?;
    let flash_attn = parse_flash_attn(&args.flash_attn)?;
    let threads = resolved_threads(args.threads);

    let max_tokens = args
        .n_prompt
        .iter()
        .chain(&args.n_gen)
        .max()
        .copied()
        .unwrap_or(0)
        + args.depths.iter().max().copied().unwrap_or(0);
    let load = args.load.apply(args.placement.load_options(max_tokens)?);
    let model = super::load_model(&args.model, &load)?;
    super::placement_args::report_notice(&model);
    let max = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
    // Room for the deepest point plus its longest test (a tg warm-up adds one token at most).
    let n_ctx = max(&args.depths) + max(&args.n_prompt).max(max(&args.n_gen)) + 1;
    let n_ctx_train = model.config().n_ctx_train;
    if n_ctx > n_ctx_train {
        eprintln!("note: context {n_ctx} exceeds the model's trained context {n_ctx_train}");
    }
    let n_ubatch = args.n_ubatch.min(args.n_batch);
    let opts = SessionOptions {
        n_ctx,
        n_batch: args.n_batch,
        n_ubatch,
        n_threads: threads,
        kv_type_k: type_k,
        kv_type_v: type_v,
        flash_attn,
    };
    let mut session = Session::new(&model, opts).context("creating the session")?;

    let mut params = BTreeMap::new();
    params.insert("n_ubatch".into(), json!(n_ubatch));
    params.insert("n_threads".into(), json!(threads));
    params.insert("type_k".into(), json!(type_k.name()));
    params.insert("type_v".into(), json!(type_v.name()));
    params.insert("flash_attn".into(), json!(flash_attn));
    params.insert("n_cpu_moe".into(), json!(args.placement.n_cpu_moe));
    let n_gpu_layers = match load.placement.gpu_layers {
        fitbench_engine::placement::GpuLayers::All => model.config().n_layer + 1,
        fitbench_engine::placement::GpuLayers::Count(n) => n,
    };
    params.insert("n_gpu_layers".into(), json!(n_gpu_layers));
    let placement = model.placement();
    let backend = if placement.uses_gpu() { "CUDA" } else { "CPU" };
    params.insert("backend".into(), json!(backend));
    let per_device: BTreeMap<String, u64> = placement
        .bytes_per_device()
        .into_iter()
        .map(|(d, b)| (d.to_string(), b))
        .collect();
    params.insert("weight_bytes_per_device".into(), json!(per_device));
    params.insert("n_ctx".into(), json!(n_ctx));
    params.insert(
        "weight_bytes_per_token".into(),
        json!(weight_bytes_per_token(&model)),
    );
    params.insert(
        "recurrent_state_bytes_per_token".into(),
        json!(recurrent_state_bytes(&model)),
    );
    let spec = BenchSpec {
        n_prompt: args.n_prompt,
        n_gen: args.n_gen,
        depths: args.depths,
        n_batch: args.n_batch,
        reps: args.reps,
        warmup: !args.no_warmup,
        seed: args.seed,
        params,
    };

    let mut out = std::io::stdout().lock();
    let mut lines = Vec::new();
    let mut write_error = None;
    // Sized only when asked for: reading /proc/meminfo and sysfs is no part of a plain bench.
    let mut measure = args.bandwidth_anchor.then(|| {
        let buffer = fitbench_engine::membw::buffer_bytes_for(
            fitbench_engine::membw::available_memory_bytes().unwrap_or(1 << 30),
        );
        move || fitbench_engine::membw::measure_with(threads, buffer, ANCHOR_BUDGET).gb_per_s
    });
    let anchor = measure.as_mut().map(|m| m as &mut dyn FnMut() -> f64);
    let ok = run_bench(&mut session, &spec, anchor, |line| {
        if let Some(e) = line.error.as_deref() {
            eprintln!("point failed: {e}");
        }
        if args.output == Output::Jsonl && write_error.is_none() {
            let r = serde_json::to_string(line)
                .map_err(anyhow::Error::from)
                .and_then(|s| writeln!(out, "{s}").map_err(Into::into))
                .and_then(|_| out.flush().map_err(Into::into));
            write_error = r.err();
        }
        lines.push(line.clone());
    });
    if let Some(e) = write_error {
        return Err(e.context("writing to stdout"));
    }
    match args.output {
        Output::Jsonl => {}
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&lines)?)?,
        Output::Md => write!(out, "{}", markdown(&model, &args.model, &lines))?,
    }
    if !ok {
        bail!("a test point failed (see the last line)");
    }
    Ok(())
}

/// Time for each repetition's bandwidth anchor (allocation, first touch and the read together).
const ANCHOR_BUDGET: std::time::Duration = std::time::Duration::from_millis(400);

/// Weight bytes one generated token reads: every tensor whole, except the routed experts (the
/// `n_expert_used / n_expert` share of each `*_exps` tensor) and the token embedding (one row,
/// unless the output head reuses it).
pub fn weight_bytes_per_token(model: &Model) -> u64 {
    let c = model.config();
    let tensors = &model.gguf().tensors;
    let tied = !tensors.iter().any(|t| t.info.name == "output.weight");
    tensors
        .iter()
        .map(|t| {
            let (name, size) = (t.info.name.as_str(), t.info.size);
            if name.contains("_exps") && c.n_expert > 0 {
                size * c.n_expert_used.min(c.n_expert) as u64 / c.n_expert as u64
            } else if name == "token_embd.weight" && !tied {
                size / t.info.dims.get(1).copied().unwrap_or(1).max(1)
            } else {
                size
            }
        })
        .sum()
}

/// Bytes of recurrent state (conv windows and delta-rule matrices, f32) a generated token reads:
/// every recurrent layer's whole state, once.
pub fn recurrent_state_bytes(model: &Model) -> u64 {
    let c = model.config();
    let per_layer = c.ssm.as_ref().map_or(0, |s| s.state_bytes());
    c.recurrent.iter().filter(|&&r| r).count() as u64 * per_layer
}

/// Median over repetitions of (bytes read per token × t/s) / anchor, in percent: the weights and
/// the recurrent state (the KV cache is left out, a bound that is tight at depth 0 only).
fn bandwidth_percent(l: &BenchLine) -> Option<f64> {
    let state = l
        .params
        .get("recurrent_state_bytes_per_token")
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    let bytes = l.params.get("weight_bytes_per_token")?.as_f64()? + state;
    if l.n_gen == 0 || l.n_prompt > 0 || l.anchor_gbps.len() != l.samples_ts.len() {
        return None;
    }
    let mut pct: Vec<f64> = l
        .samples_ts
        .iter()
        .zip(&l.anchor_gbps)
        .map(|(ts, gbps)| 100.0 * bytes * ts / (gbps * 1e9))
        .collect();
    pct.sort_by(|a, b| a.total_cmp(b));
    pct.get(pct.len() / 2).map(|&m| {
        if pct.len().is_multiple_of(2) {
            (m + pct[pct.len() / 2 - 1]) / 2.0
        } else {
            m
        }
    })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// llama-bench's Markdown table: one row per point, t/s as mean ± standard deviation.
fn markdown(model: &Model, path: &std::path::Path, lines: &[BenchLine]) -> String {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let bytes: u64 = model.gguf().tensors.iter().map(|t| t.info.size).sum();
    let params: u64 = model
        .gguf()
        .tensors
        .iter()
        .map(|t| t.info.dims.iter().product::<u64>())
        .sum();
    let p = |l: &BenchLine, k: &str| l.params.get(k).map_or(String::new(), |v| v.to_string());
    let anchored = lines.iter().any(|l| !l.anchor_gbps.is_empty());
    let mut s = String::from(
        "| model | size | params | backend | threads | n_ubatch | type_k | type_v | fa | test | t/s |",
    );
    s.push_str(if anchored {
        " anchor GB/s | % of bw bound |\n"
    } else {
        "\n"
    });
    s.push_str("| ----- | ---: | -----: | ------- | ------: | -------: | ------ | ------ | -- | ---- | --: |");
    s.push_str(if anchored { " --: | --: |\n" } else { "\n" });
    for l in lines {
        let test = match (l.n_prompt, l.n_gen) {
            (p, 0) => format!("pp{p}"),
            (0, g) => format!("tg{g}"),
            (p, g) => format!("pp{p}+tg{g}"),
        };
        let test = if l.n_depth > 0 {
            format!("{test} @ d{}", l.n_depth)
        } else {
            test
        };
        let ts = match &l.error {
            Some(e) => format!("failed: {e}"),
            None => {
                let (m, sd) = mean_std(&l.samples_ts);
                format!("{m:.2} ± {sd:.2}")
            }
        };
        s.push_str(&format!(
            "| {name} | {:.2} MiB | {:.2} M | CPU | {} | {} | {} | {} | {} | {test} | {ts} |\n",
            bytes as f64 / (1024.0 * 1024.0),
            params as f64 / 1e6,
            p(l, "n_threads"),
            p(l, "n_ubatch"),
            p(l, "type_k").trim_matches('"'),
            p(l, "type_v").trim_matches('"'),
            if p(l, "flash_attn") == "true" { 1 } else { 0 },
        ));
        if anchored {
            s.pop();
            let (a, _) = mean_std(&l.anchor_gbps);
            let pct = bandwidth_percent(l).map_or("-".to_string(), |v| format!("{v:.1}"));
            s.push_str(&format!(" {a:.1} | {pct} |\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_bench_flags_are_rewritten() {
        let a = normalize_args(
            [
                "x", "bench", "-ub", "64", "-ctk", "q8_0", "-fa", "on", "-p", "8",
            ]
            .map(String::from),
        );
        assert_eq!(
            a,
            ["x", "bench", "--ub", "64", "--ctk", "q8_0", "--fa", "on", "-p", "8"]
        );
    }

    #[test]
    fn flash_attn_values() {
        assert!(parse_flash_attn("on").unwrap());
        assert!(!parse_flash_attn("auto").unwrap());
        assert!(parse_flash_attn("maybe").is_err());
    }
}
