use super::*;

// Logits ln(0.5), ln(0.25), ln(0.15), ln(0.1): probabilities 0.5/0.25/0.15/0.1 by hand.
fn four() -> Vec<Candidate> {
    candidates(&[0.25f32.ln(), 0.5f32.ln(), 0.1f32.ln(), 0.15f32.ln()])
}

fn ids(c: &[Candidate]) -> Vec<u32> {
    c.iter().map(|x| x.id).collect()
}

#[test]
fn top_k_keeps_highest_sorted() {
    let mut c = four();
    top_k(&mut c, 2);
    assert_eq!(ids(&c), vec![1, 0]);
}

#[test]
fn top_p_keeps_smallest_prefix_reaching_p() {
    // 0.5 < 0.7; 0.5 + 0.25 = 0.75 >= 0.7 -> two tokens.
    let mut c = four();
    top_p(&mut c, 0.7);
    assert_eq!(ids(&c), vec![1, 0]);
    let mut c = four();
    top_p(&mut c, 0.76); // needs 0.9 -> three
    assert_eq!(ids(&c), vec![1, 0, 3]);
    softmax(&mut c); // renormalised: 0.5/0.9, 0.25/0.9, 0.15/0.9
    assert!((c[0].p - 0.5 / 0.9).abs() < 1e-6);
    assert!((c[2].p - 0.15 / 0.9).abs() < 1e-6);
}

#[test]
fn min_p_cuts_relative_to_top() {
    // 0.3 * 0.5 = 0.15: keeps 0.5, 0.25, 0.15 (equal kept), drops 0.1.
    let mut c = four();
    min_p(&mut c, 0.29);
    assert_eq!(ids(&c), vec![1, 0, 3]);
    let mut c = four();
    min_p(&mut c, 0.6); // 0.3: only 0.5
    assert_eq!(ids(&c), vec![1]);
}

#[test]
fn temperature_sharpens() {
    // T = 0.5 squares the probabilities: 0.25, 0.0625, 0.0225, 0.01 (sum 0.345).
    let mut c = four();
    top_k(&mut c, 0);
    temperature(&mut c, 0.5);
    softmax(&mut c);
    assert!((c[0].p - 0.25 / 0.345).abs() < 1e-5);
    assert!((c[3].p - 0.01 / 0.345).abs() < 1e-5);
}

#[test]
fn penalties_by_hand() {
    let mut c = candidates(&[2.0, -2.0, 1.0]);
    apply_penalties(&mut c, &[0, 1, 0], 2.0, 0.5);
    assert_eq!(c[0].logit, 2.0 / 2.0 - 0.5);
    assert_eq!(c[1].logit, -2.0 * 2.0 - 0.5);
    assert_eq!(c[2].logit, 1.0);
}

#[test]
fn greedy_is_argmax_and_penalty_window_slides() {
    let logits = [0.1, 3.0, 2.9, -1.0];
    let mut s = Sampler::new(SamplingParams::greedy());
    assert_eq!(s.sample(&logits), 1);
    let mut s = Sampler::new(SamplingParams {
        presence_penalty: 0.5,
        repeat_last_n: 2,
        ..SamplingParams::greedy()
    });
    s.accept(1);
    assert_eq!(s.sample(&logits), 2);
    s.accept(3);
    s.accept(3); // 1 left the window
    assert_eq!(s.sample(&logits), 1);
}

#[test]
fn seed_determinism_and_distribution() {
    let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
    let params = SamplingParams {
        temperature: 1.0,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        seed: 42,
        ..SamplingParams::default()
    };
    let draw = |seed| {
        let mut s = Sampler::new(SamplingParams {
            seed,
            ..params.clone()
        });
        (0..200).map(|_| s.sample(&logits)).collect::<Vec<_>>()
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42), draw(43));
    // Frequencies follow the softmax: over 20k draws of a 2-token distribution 0.75/0.25.
    let mut s = Sampler::new(SamplingParams {
        seed: 7,
        ..params.clone()
    });
    let two = [3f32.ln(), 0.0];
    let n0 = (0..20000).filter(|_| s.sample(&two) == 0).count();
    assert!((n0 as f64 / 20000.0 - 0.75).abs() < 0.015, "{n0}");
}

#[test]
fn presets_exist() {
    for name in SamplingParams::PRESETS {
        assert!(SamplingParams::preset(name).is_some(), "{name}");
    }
    // The Qwen3.5 model card's table: temperature, top_p, top_k, min_p, presence_penalty.
    for (name, want) in [
        ("thinking-general", (1.0, 0.95, 20, 0.0, 1.5)),
        ("thinking-coding", (0.6, 0.95, 20, 0.0, 0.0)),
        ("instruct-general", (0.7, 0.8, 20, 0.0, 1.5)),
        ("instruct-reasoning", (1.0, 1.0, 40, 0.0, 2.0)),
    ] {
        let t = SamplingParams::preset(name).unwrap();
        assert_eq!(
            (t.temperature, t.top_p, t.top_k, t.min_p, t.presence_penalty),
            want,
            "{name}"
        );
        assert_eq!(t.repeat_penalty, 1.0, "{name}");
    }
    assert!(SamplingParams::preset("nope").is_none());
}
