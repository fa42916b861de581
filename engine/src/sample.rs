//! Token sampling in llama.cpp's default chain order: penalties → top-k → top-p → min-p →
//! temperature → dist (`common/sampling.cpp`, `src/llama-sampling.cpp`). A temperature <= 0 is
//! greedy (argmax of the penalised logits).

/// Sampling settings; `Default` is llama.cpp's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub temperature: f32,
    /// 0 = off.
    pub top_k: usize,
    /// 1.0 = off.
    pub top_p: f32,
    /// 0.0 = off.
    pub min_p: f32,
    /// Subtracted once from the logit of every token seen in the window (0 = off).
    pub presence_penalty: f32,
    /// Logits of seen tokens: positive ones divided, negative ones multiplied (1 = off).
    pub repeat_penalty: f32,
    /// Window of recent tokens the penalties look at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            presence_penalty: 0.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplingParams {
    pub fn greedy() -> SamplingParams {
        SamplingParams {
            temperature: 0.0,
            ..SamplingParams::default()
        }
    }

    /// Named presets from the Qwen3.5 model card's recommended sampling table
    /// (huggingface.co/Qwen/Qwen3.5-35B-A3B, "Best Practices"; repetition_penalty 1.0 in every row):
    /// thinking general 1.0/0.95/20/0/1.5, thinking precise coding 0.6/0.95/20/0/0,
    /// instruct general 0.7/0.8/20/0/1.5, instruct reasoning 1.0/1.0/40/0/2.0
    /// (temperature/top_p/top_k/min_p/presence_penalty).
    pub fn preset(name: &str) -> Option<SamplingParams> {
        let p = |temperature, top_p, top_k, min_p, presence_penalty| SamplingParams {
            temperature,
            top_k,
            top_p,
            min_p,
            presence_penalty,
            ..SamplingParams::default()
        };
        Some(match name {
            "thinking-general" => p(1.0, 0.95, 20, 0.0, 1.5),
            "thinking-coding" => p(0.6, 0.95, 20, 0.0, 0.0),
            "instruct-general" | "non-thinking-general" => p(0.7, 0.8, 20, 0.0, 1.5),
            "instruct-reasoning" | "non-thinking-reasoning" => p(1.0, 1.0, 40, 0.0, 2.0),
            _ => return None,
        })
    }

    pub const PRESETS: [&'static str; 4] = [
        "thinking-general",
        "thinking-coding",
        "instruct-general",
        "instruct-reasoning",
    ];
}

/// SplitMix64: a small deterministic generator (same seed → same tokens).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A candidate token: id, logit, and probability once a filter has computed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub id: u32,
    pub logit: f32,
    pub p: f32,
}

/// Candidates sorted by descending logit after `top_k` (llama.cpp sorts there too).
pub fn candidates(logits: &[f32]) -> Vec<Candidate> {
    logits
        .iter()
        .enumerate()
        .map(|(i, &l)| Candidate {
            id: i as u32,
            logit: l,
            p: 0.0,
        })
        .collect()
}

fn sort_desc(c: &mut [Candidate]) {
    c.sort_by(|a, b| b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id)));
}

/// Softmax over the candidates' logits into `p` (candidates must be sorted).
pub fn softmax(c: &mut [Candidate]) {
    let Some(max) = c.iter().map(|x| x.logit).reduce(f32::max) else {
        return;
    };
    let mut sum = 0.0f32;
    for x in c.iter_mut() {
        x.p = (x.logit - max).exp();
        sum += x.p;
    }
    for x in c.iter_mut() {
        x.p /= sum;
    }
}

/// Repeat and presence penalties over the tokens in `recent` (the last-n window).
pub fn apply_penalties(c: &mut [Candidate], recent: &[u32], repeat: f32, presence: f32) {
    if recent.is_empty() || (repeat == 1.0 && presence == 0.0) {
        return;
    }
    let seen: std::collections::HashSet<u32> = recent.iter().copied().collect();
    for x in c.iter_mut().filter(|x| seen.contains(&x.id)) {
        if x.logit <= 0.0 {
            x.logit *= repeat;
        } else {
            x.logit /= repeat;
        }
        x.logit -= presence;
    }
}

/// Keeps the `k` highest logits (sorted descending); 0 keeps all (sorted).
pub fn top_k(c: &mut Vec<Candidate>, k: usize) {
    sort_desc(c);
    if k > 0 && k < c.len() {
        c.truncate(k);
    }
}

/// Keeps the smallest prefix whose probability mass reaches `p` (at least one token).
pub fn top_p(c: &mut Vec<Candidate>, p: f32) {
    if p >= 1.0 || c.is_empty() {
        return;
    }
    sort_desc(c);
    softmax(c);
    let mut cum = 0.0f32;
    let mut keep = c.len();
    for (i, x) in c.iter().enumerate() {
        cum += x.p;
        if cum >= p {
            keep = i + 1;
            break;
        }
    }
    c.truncate(keep.max(1));
}

/// Keeps tokens whose probability is at least `min_p` times the top probability.
pub fn min_p(c: &mut Vec<Candidate>, min_p: f32) {
    if min_p <= 0.0 || c.is_empty() {
        return;
    }
    sort_desc(c);
    // p_i >= min_p * p_max  <=>  logit_i >= logit_max + ln(min_p)
    let cut = c[0].logit + min_p.ln();
    let keep = c.iter().take_while(|x| x.logit >= cut).count();
    c.truncate(keep.max(1));
}

pub fn temperature(c: &mut [Candidate], t: f32) {
    for x in c.iter_mut() {
        x.logit /= t;
    }
}

/// Draws one candidate from the softmax of the logits.
pub fn dist(c: &mut [Candidate], rng: &mut SplitMix64) -> u32 {
    softmax(c);
    let u = rng.next_f64() as f32;
    let mut cum = 0.0f32;
    for x in c.iter() {
        cum += x.p;
        if u < cum {
            return x.id;
        }
    }
    c.last().map_or(0, |x| x.id)
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// A sampler: parameters, RNG and the window of recent tokens.
pub struct Sampler {
    pub params: SamplingParams,
    rng: SplitMix64,
    recent: std::collections::VecDeque<u32>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Sampler {
        let rng = SplitMix64::new(params.seed);
        Sampler {
            params,
            rng,
            recent: Default::default(),
        }
    }

    /// Records a token (prompt or generated) in the penalty window.
    pub fn accept(&mut self, id: u32) {
        if self.params.repeat_last_n == 0 {
            return;
        }
        if self.recent.len() == self.params.repeat_last_n {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
    }

    /// Picks the next token from one row of logits (does not `accept` it).
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let p = &self.params;
        let mut c = candidates(logits);
        let recent: Vec<u32> = self.recent.iter().copied().collect();
        apply_penalties(&mut c, &recent, p.repeat_penalty, p.presence_penalty);
        if p.temperature <= 0.0 {
            let l: Vec<f32> = c.iter().map(|x| x.logit).collect();
            return argmax(&l);
        }
        top_k(&mut c, p.top_k);
        top_p(&mut c, p.top_p);
        min_p(&mut c, p.min_p);
        temperature(&mut c, p.temperature);
        dist(&mut c, &mut self.rng)
    }
}

#[cfg(test)]
#[path = "sample_tests.rs"]
mod tests;
