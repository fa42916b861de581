//! Prompt and generation throughput, mirroring llama-bench's protocol: random tokens, one
//! warm-up run, prompt processing timed as one batch, generation timed one token per step.
//!
//! `cargo run --release --example tps -- MODEL -p 512 -n 128 -t 2 -r 3`

use anyhow::{bail, Context, Result};
use fitbench_engine::model::{LoadOptions, Model};
use fitbench_engine::session::{Session, SessionOptions, WantLogits};
use std::time::Instant;

struct Args {
    model: String,
    n_prompt: usize,
    n_gen: usize,
    threads: usize,
    reps: usize,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        model: String::new(),
        n_prompt: 512,
        n_gen: 128,
        threads: 0,
        reps: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut num = |name: &str| -> Result<usize> {
            it.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} needs a number"))
        };
        match s.as_str() {
            "-p" => a.n_prompt = num("-p")?,
            "-n" => a.n_gen = num("-n")?,
            "-t" => a.threads = num("-t")?,
            "-r" => a.reps = num("-r")?,
            _ if a.model.is_empty() => a.model = s,
            _ => bail!("unexpected argument {s}"),
        }
    }
    if a.model.is_empty() {
        bail!("usage: tps MODEL [-p N] [-n N] [-t N] [-r N]");
    }
    Ok(a)
}

/// A deterministic pseudo-random token stream (llama-bench also uses random tokens).
fn tokens(n: usize, n_vocab: usize, seed: &mut u64) -> Vec<u32> {
    (0..n)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 33) % n_vocab as u64) as u32
        })
        .collect()
}

fn opts(a: &Args) -> SessionOptions {
    SessionOptions {
        n_ctx: a.n_prompt + a.n_gen + 16,
        n_batch: a.n_prompt.max(1),
        n_ubatch: a.n_prompt.clamp(1, 512),
        n_threads: a.threads,
        ..SessionOptions::default()
    }
}

fn time_pp(s: &mut Session, toks: &[u32]) -> Result<f64> {
    s.clear();
    let t = Instant::now();
    s.decode(toks, WantLogits::Last)?;
    Ok(t.elapsed().as_secs_f64())
}

fn time_tg(s: &mut Session, toks: &[u32]) -> Result<f64> {
    s.clear();
    let t = Instant::now();
    for &tok in toks {
        s.decode(&[tok], WantLogits::Last)?;
    }
    Ok(t.elapsed().as_secs_f64())
}

fn report(name: &str, n: usize, secs: &[f64]) {
    let tps: Vec<f64> = secs.iter().map(|s| n as f64 / s).collect();
    let mean = tps.iter().sum::<f64>() / tps.len() as f64;
    let var = tps.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (tps.len().max(2) - 1) as f64;
    println!(
        "{name:>6}: {mean:10.2} ± {:.2} t/s  ({} runs)",
        var.sqrt(),
        tps.len()
    );
}

fn main() -> Result<()> {
    let a = parse()?;
    let model = Model::load(&a.model, &LoadOptions::default())
        .with_context(|| format!("loading {}", a.model))?;
    let mut s = Session::new(&model, opts(&a))?;
    let mut seed = 42u64;
    let nv = model.vocab_size();
    println!("model {}  threads {}", a.model, a.threads);
    if a.n_prompt > 0 {
        let toks = tokens(a.n_prompt, nv, &mut seed);
        time_pp(&mut s, &toks)?; // warm-up
        let secs: Vec<f64> = (0..a.reps)
            .map(|_| time_pp(&mut s, &toks))
            .collect::<Result<_>>()?;
        report(&format!("pp{}", a.n_prompt), a.n_prompt, &secs);
    }
    if a.n_gen > 0 {
        let toks = tokens(a.n_gen, nv, &mut seed);
        time_tg(&mut s, &toks[..1])?; // warm-up
        let secs: Vec<f64> = (0..a.reps)
            .map(|_| time_tg(&mut s, &toks))
            .collect::<Result<_>>()?;
        report(&format!("tg{}", a.n_gen), a.n_gen, &secs);
    }
    Ok(())
}
