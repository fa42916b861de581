//! Benchmark suites: YAML files in `bench-suites/` (schema in bench-suites/README.md). A suite names
//! the models, the test shapes and depths, and sweeps over engine settings; it expands into one
//! configuration per combination of sweep values.

use std::path::Path;

use serde::Deserialize;

use super::record::BenchConfig;

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("{path}: cannot read: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: field `{field}`: {message}")]
    Field {
        path: String,
        field: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub models: Vec<ModelRef>,
    #[serde(default)]
    pub placement: PlacementSpec,
    pub tests: Tests,
    #[serde(default = "default_reps")]
    pub reps: u32,
    /// Per engine invocation (one configuration, all its depths).
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    #[serde(default)]
    pub sweep: Sweep,
}

fn default_reps() -> u32 {
    5
}
fn default_timeout() -> u64 {
    1800
}

/// A model by file, or by catalog name and quant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub quant: Option<String>,
    /// Catalog models only: benchmark a synthetic slice (real shapes, random weights) instead of
    /// looking for the real file.
    #[serde(default)]
    pub synth: Option<SynthSlice>,
}

/// `synth: {layers: 4, vocab: 32768, seed: 0}`: what `fitbench synth --like` would write.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthSlice {
    /// First N layers; absent = all.
    #[serde(default)]
    pub layers: Option<u64>,
    /// Vocabulary size; absent = the model's own.
    #[serde(default)]
    pub vocab: Option<u64>,
    #[serde(default)]
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PlacementSpec {
    /// Only `auto`: the planner places the model.
    Keyword(String),
    Explicit(ExplicitPlacement),
}

impl Default for PlacementSpec {
    fn default() -> Self {
        PlacementSpec::Keyword("auto".into())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExplicitPlacement {
    #[serde(default)]
    pub n_gpu_layers: Option<i32>,
    #[serde(default)]
    pub n_cpu_moe: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tests {
    #[serde(default = "default_pp")]
    pub n_prompt: Vec<u32>,
    #[serde(default = "default_tg")]
    pub n_gen: Vec<u32>,
    #[serde(default = "default_depths")]
    pub depths: Vec<u32>,
    /// Depths with depth + n_prompt + n_gen beyond this are dropped (the model's or plan's
    /// context limit also caps them; see `Suite::depths_for`).
    #[serde(default)]
    pub max_context: Option<u32>,
}

fn default_pp() -> Vec<u32> {
    vec![512]
}
fn default_tg() -> Vec<u32> {
    vec![128]
}
fn default_depths() -> Vec<u32> {
    vec![0]
}

/// Values to sweep; an absent field keeps the default of BenchConfig.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    #[serde(default)]
    pub n_batch: Vec<u32>,
    #[serde(default)]
    pub n_ubatch: Vec<u32>,
    #[serde(default)]
    pub n_threads: Vec<u32>,
    #[serde(default)]
    pub type_k: Vec<String>,
    #[serde(default)]
    pub type_v: Vec<String>,
    #[serde(default)]
    pub flash_attn: Vec<String>,
    #[serde(default)]
    pub n_cpu_moe: Vec<u32>,
}

/// KV cache types llama-bench accepts for -ctk/-ctv.
const KV_TYPES: &[&str] = &[
    "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl", "f32",
];
/// Largest depth a suite may ask for (1M tokens): beyond it a typo, not a benchmark.
const MAX_DEPTH: u32 = 1 << 20;

impl Suite {
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|cause| SuiteError::Read {
            path: path.display().to_string(),
            cause,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Suite, SuiteError> {
        let suite: Suite = serde_saphyr::from_str(text).map_err(|e| SuiteError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        suite.validate(origin)?;
        Ok(suite)
    }

    pub fn validate(&self, origin: &str) -> Result<(), SuiteError> {
        let bad = |field: &str, message: String| {
            Err(SuiteError::Field {
                path: origin.to_string(),
                field: field.to_string(),
                message,
            })
        };
        if self.name.trim().is_empty() {
            return bad("name", "must not be empty".into());
        }
        if self.models.is_empty() {
            return bad("models", "lists no model".into());
        }
        for (i, m) in self.models.iter().enumerate() {
            if m.synth.is_some() && m.catalog.is_none() {
                return bad(
                    &format!("models[{i}].synth"),
                    "only a `catalog` model can be synthesized".into(),
                );
            }
            match (&m.file, &m.catalog, &m.quant) {
                (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                (None, Some(_), None) => {
                    return bad(
                        &format!("models[{i}].quant"),
                        "a catalog model needs a quant".into(),
                    )
                }
                _ => {
                    return bad(
                        &format!("models[{i}]"),
                        "give either `file`, or `catalog` and `quant`".into(),
                    );
                }
            }
        }
        if let PlacementSpec::Keyword(k) = &self.placement {
            if k != "auto" {
                return bad(
                    "placement",
                    format!("`{k}`: expected `auto` or a map of n_gpu_layers / n_cpu_moe"),
                );
            }
        }
        if self.reps == 0 || self.reps > 1000 {
            return bad("reps", format!("{} is outside 1..=1000", self.reps));
        }
        if self.timeout_s == 0 {
            return bad("timeout_s", "must be at least 1".into());
        }
        let t = &self.tests;
        if t.n_prompt.iter().chain(&t.n_gen).all(|&n| n == 0) {
            return bad(
                "tests",
                "no test: n_prompt and n_gen are all 0 or empty".into(),
            );
        }
        if t.depths.is_empty() {
            return bad(
                "tests.depths",
                "must list at least one depth (0 = empty context)".into(),
            );
        }
        if let Some(&d) = t.depths.iter().find(|&&d| d > MAX_DEPTH) {
            return bad("tests.depths", format!("{d} is beyond {MAX_DEPTH} tokens"));
        }
        let sw = &self.sweep;
        for (field, v) in [
            ("sweep.n_batch", &sw.n_batch),
            ("sweep.n_ubatch", &sw.n_ubatch),
            ("sweep.n_threads", &sw.n_threads),
        ] {
            if v.contains(&0) {
                return bad(field, "values must be at least 1".into());
            }
        }
        for (field, v) in [("sweep.type_k", &sw.type_k), ("sweep.type_v", &sw.type_v)] {
            if let Some(t) = v.iter().find(|t| !KV_TYPES.contains(&t.as_str())) {
                return bad(
                    field,
                    format!("unknown KV type `{t}` (one of {})", KV_TYPES.join(", ")),
                );
            }
        }
        if let Some(f) = sw
            .flash_attn
            .iter()
            .find(|f| !["auto", "on", "off"].contains(&f.as_str()))
        {
            return bad(
                "sweep.flash_attn",
                format!("`{f}`: expected auto, on or off"),
            );
        }
        Ok(())
    }

    /// Depths to run given the context limit of the model or plan (None = no limit known).
    pub fn depths_for(&self, context_limit: Option<u32>) -> Vec<u32> {
        let longest_test = self
            .tests
            .n_prompt
            .iter()
            .chain(&self.tests.n_gen)
            .copied()
            .max()
            .unwrap_or(0);
        let cap = [context_limit, self.tests.max_context]
            .into_iter()
            .flatten()
            .min();
        let mut depths: Vec<u32> = self
            .tests
            .depths
            .iter()
            .copied()
            .filter(|&d| cap.is_none_or(|c| d.saturating_add(longest_test) <= c))
            .collect();
        depths.dedup();
        depths
    }

    /// Every configuration of the sweep (cartesian product), in file order.
    pub fn configurations(&self) -> Vec<BenchConfig> {
        let mut base = BenchConfig::default();
        if let PlacementSpec::Explicit(p) = &self.placement {
            base.n_gpu_layers = p.n_gpu_layers;
            base.n_cpu_moe = p.n_cpu_moe.unwrap_or(0);
            base.placement = "explicit".into();
        }
        let sw = &self.sweep;
        let mut out = vec![base];
        fn expand<T: Clone>(
            out: Vec<BenchConfig>,
            values: &[T],
            set: impl Fn(&mut BenchConfig, T),
        ) -> Vec<BenchConfig> {
            if values.is_empty() {
                return out;
            }
            out.into_iter()
                .flat_map(|c| {
                    values
                        .iter()
                        .map(|v| {
                            let mut c = c.clone();
                            set(&mut c, v.clone());
                            c
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        }
        out = expand(out, &sw.n_batch, |c, v| c.n_batch = v);
        out = expand(out, &sw.n_ubatch, |c, v| c.n_ubatch = v);
        out = expand(out, &sw.n_threads, |c, v| c.n_threads = Some(v));
        out = expand(out, &sw.type_k, |c, v| c.type_k = v);
        out = expand(out, &sw.type_v, |c, v| c.type_v = v);
        out = expand(out, &sw.flash_attn, |c, v| c.flash_attn = v);
        out = expand(out, &sw.n_cpu_moe, |c, v| c.n_cpu_moe = v);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "
name: t
models:
  - file: a.gguf
  - catalog: qwen3.5-35b-a3b
    quant: Q4_K_M
tests:
  n_prompt: [512]
  n_gen: [128]
  depths: [0, 1024, 4096, 131072]
reps: 3
sweep:
  n_ubatch: [256, 512]
  type_k: [f16, q8_0]
";

    #[test]
    fn parses_and_expands() {
        let s = Suite::parse(GOOD, "good.yaml").unwrap();
        assert_eq!(s.reps, 3);
        assert_eq!(s.placement, PlacementSpec::Keyword("auto".into()));
        let c = s.configurations();
        assert_eq!(c.len(), 4);
        assert_eq!((c[1].n_ubatch, c[1].type_k.as_str()), (256, "q8_0"));
        assert_eq!(s.depths_for(Some(8192)), vec![0, 1024, 4096]);
        assert_eq!(s.depths_for(None).len(), 4);
    }

    #[test]
    fn explicit_placement() {
        let y = "name: t\nmodels: [{file: a.gguf}]\nplacement: {n_gpu_layers: 99, n_cpu_moe: 12}\ntests: {depths: [0]}\n";
        let s = Suite::parse(y, "p.yaml").unwrap();
        let c = s.configurations();
        assert_eq!(
            (c[0].n_gpu_layers, c[0].n_cpu_moe, c[0].placement.as_str()),
            (Some(99), 12, "explicit")
        );
    }

    fn err(y: &str) -> String {
        Suite::parse(y, "bad.yaml").unwrap_err().to_string()
    }

    #[test]
    fn malformed_suites_name_file_and_field() {
        let e = err("name: t\nmodels: [{file: a.gguf}]\ntests: {depths: [0]}\nrepz: 3\n");
        assert!(e.starts_with("bad.yaml:") && e.contains("repz"), "{e}");
        let e = err("name: t\nmodels: [{file: a.gguf}]\ntests: {depths: [0]}\nreps: 0\n");
        assert!(e.contains("bad.yaml") && e.contains("`reps`"), "{e}");
        let e = err("name: t\nmodels: [{catalog: x}]\ntests: {depths: [0]}\n");
        assert!(e.contains("models[0].quant"), "{e}");
        let e = err(
            "name: t\nmodels: [{file: a.gguf}]\ntests: {depths: [0]}\nsweep: {type_k: [q9_9]}\n",
        );
        assert!(e.contains("sweep.type_k") && e.contains("q9_9"), "{e}");
        let e = err("name: t\nmodels: [{file: a.gguf}]\ntests: {depths: []}\n");
        assert!(e.contains("tests.depths"), "{e}");
        let e = err("name: t\nmodels: []\ntests: {depths: [0]}\n");
        assert!(e.contains("`models`"), "{e}");
        let e = err("name: t\nmodels: [{file: a.gguf}]\ntests: {depths: [zero]}\n");
        assert!(e.starts_with("bad.yaml:"), "{e}");
        let e = err("name: t\nmodels: [{file: a.gguf}]\nplacement: manual\ntests: {depths: [0]}\n");
        assert!(e.contains("`placement`"), "{e}");
        let e = err("name: [unclosed\n");
        assert!(e.starts_with("bad.yaml:"), "{e}");
    }

    #[test]
    fn committed_suites_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-suites");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                Suite::load(&p).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 5, "{n} suites");
        let q = Suite::load(&dir.join("quick.yaml")).unwrap();
        assert_eq!((q.reps, q.depths_for(None)), (6, vec![0, 256]));
    }
}
