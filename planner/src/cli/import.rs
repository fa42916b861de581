//! `fitbench import FILE`: llama-bench JSON / JSONL output converted to fitbench records.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::bench::llama_bench;
use crate::bench::model_id::ModelIdentity;
use crate::bench::record::{now_rfc3339, Record};
use crate::bench::results_file::ResultsWriter;

#[derive(clap::Args)]
pub struct Args {
    /// llama-bench output (`-o json` or `-o jsonl`).
    pub file: PathBuf,
    /// Append the records to this file instead of printing them.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The GGUF file that was benchmarked, to identify it by header hash (by default the
    /// `model_filename` of each record is used when that file exists here).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Suite name stored in the records.
    #[arg(long, default_value = "import")]
    pub suite: String,
}

pub fn convert(
    text: &str,
    origin: &str,
    model: Option<&Path>,
    suite: &str,
) -> anyhow::Result<Vec<Record>> {
    let rows = llama_bench::parse(text, origin)?;
    let run_id = format!("import-{}", now_rfc3339());
    let given = model.map(ModelIdentity::of_file).transpose()?;
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut r = row.to_record(&run_id, i, suite);
        if let Some(m) = &given {
            r.model = m.clone();
        } else if Path::new(&row.model_filename).is_file() {
            if let Ok(m) = ModelIdentity::of_file(Path::new(&row.model_filename)) {
                r.model = m;
            }
        }
        out.push(r);
    }
    Ok(out)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let records = convert(
        &text,
        &args.file.display().to_string(),
        args.model.as_deref(),
        &args.suite,
    )?;
    match &args.output {
        Some(out) => {
            let mut w = ResultsWriter::open(out)?;
            for r in &records {
                w.append(r)?;
            }
            eprintln!("{} record(s) appended to {}", records.len(), out.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            for r in &records {
                writeln!(stdout, "{}", serde_json::to_string(r)?)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_sample_and_identifies_a_local_model() {
        let text = include_str!("../bench/testdata/llama-bench-sample.jsonl");
        let recs = convert(text, "sample", None, "import").unwrap();
        assert_eq!(recs.len(), 4);
        assert!(recs[0].model.header_sha256.is_none());
        if let Some(m) = fitbench_engine::fixtures::find("models/qwen35moe-tiny-Q4_K_M.gguf") {
            let recs = convert(text, "sample", Some(&m), "import").unwrap();
            assert!(recs.iter().all(|r| r.model.header_sha256.is_some()));
        }
        let e = convert("garbage\n", "x.jsonl", None, "import")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.jsonl: line 1"), "{e}");
    }
}
