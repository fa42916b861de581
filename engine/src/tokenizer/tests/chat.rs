//! Chat templates rendered exactly as Python's jinja2 renders them in Hugging Face's template
//! environment: `engine/tests/fixtures/templates/render_expected.py` wrote `expected/` from
//! `cases.json`; each case must match byte for byte (or fail with the same message).

use std::collections::HashMap;

use serde_json::Value;

use super::super::{ChatMessage, ChatTemplate, RenderOptions};
use crate::fixtures;

fn opt_str(case: &Value, key: &str) -> Option<String> {
    case.get(key).and_then(Value::as_str).map(str::to_string)
}

#[test]
fn templates_render_like_jinja2() {
    let dir = fixtures::in_repo().join("templates");
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("cases.json")).expect("read cases.json"),
    )
    .expect("parse cases.json");
    let mut templates: HashMap<String, ChatTemplate> = HashMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let file = case["template"].as_str().expect("template");
        let template = templates.entry(file.to_string()).or_insert_with(|| {
            ChatTemplate::from_file(dir.join(file)).unwrap_or_else(|e| panic!("{e}"))
        });
        let opts = RenderOptions {
            add_generation_prompt: case["add_generation_prompt"]
                .as_bool()
                .expect("add_generation_prompt"),
            enable_thinking: case.get("enable_thinking").and_then(Value::as_bool),
            bos_token: opt_str(case, "bos_token"),
            eos_token: opt_str(case, "eos_token"),
            tools: case.get("tools").cloned(),
        };
        let rendered = template.render_json(&case["messages"], &opts);
        let expected_ok = std::fs::read_to_string(dir.join(format!("expected/{name}.txt")));
        let expected_err = std::fs::read_to_string(dir.join(format!("expected/{name}.error.txt")));
        match (rendered, expected_ok, expected_err) {
            (Ok(got), Ok(want), _) if got == want => {}
            (Ok(got), Ok(want), _) => failures.push(format!(
                "{name}: rendered differently\n--- want\n{want}\n--- got\n{got}"
            )),
            (Err(e), _, Ok(msg)) if e.to_string().contains(&msg) => {}
            (Err(e), _, Ok(msg)) => {
                failures.push(format!("{name}: error {e:?} does not mention {msg:?}"))
            }
            (Err(e), Ok(_), _) => failures.push(format!("{name}: failed: {e}")),
            (Ok(_), _, Ok(msg)) => {
                failures.push(format!("{name}: rendered, but jinja2 raised {msg:?}"))
            }
            (_, Err(_), Err(_)) => {
                failures.push(format!("{name}: no expected output in expected/"))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!("{} template cases match jinja2", cases.len());
}

#[test]
fn typed_messages_render_like_json_ones() {
    let dir = fixtures::in_repo().join("templates");
    let template = ChatTemplate::from_file(dir.join("Qwen3.5-4B.jinja")).expect("template");
    let messages = [
        ChatMessage::new("system", "You are a concise assistant."),
        ChatMessage::new("user", "What is the capital of France?"),
        ChatMessage::new("assistant", "The capital of France is Paris."),
        ChatMessage::new("user", "And of Italy? Answer in one word, café ☕."),
    ];
    let opts = RenderOptions {
        add_generation_prompt: true,
        enable_thinking: Some(false),
        eos_token: Some("<|im_end|>".into()),
        ..RenderOptions::default()
    };
    let want = std::fs::read_to_string(dir.join("expected/qwen35-two-turn-no-thinking.txt"))
        .expect("expected");
    assert_eq!(template.render(&messages, &opts).expect("render"), want);
}

#[test]
fn template_errors_name_the_template() {
    let err = ChatTemplate::new("{% if %}", "broken.jinja")
        .expect_err("parse error")
        .to_string();
    assert!(err.contains("broken.jinja"), "{err}");
    let err = ChatTemplate::from_file("/nonexistent/t.jinja")
        .expect_err("read error")
        .to_string();
    assert!(err.contains("/nonexistent/t.jinja"), "{err}");
}

#[test]
fn gguf_template_renders_and_tokenizes_with_special_tokens() {
    let path = fixtures::in_repo().join("vocab/ggml-vocab-qwen35.gguf");
    let model = crate::gguf::GgufModel::open(&path).expect("open");
    let md = model.metadata();
    let template = ChatTemplate::from_metadata(md)
        .expect("parse")
        .expect("the file has a template");
    let tok = super::super::Tokenizer::from_metadata(md).expect("tokenizer");
    let opts = RenderOptions::for_tokenizer(&tok, true);
    let prompt = template
        .render(&[ChatMessage::new("user", "Hi")], &opts)
        .expect("render");
    // This file's template (Qwen2's) adds a default system turn when none is given.
    let want = "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n\
                <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
    assert_eq!(prompt, want);
    let ids = tok.encode(&prompt, true, true);
    let im_start = tok.token_id("<|im_start|>").expect("im_start");
    assert_eq!(ids.iter().filter(|&&id| id == im_start).count(), 3);
    assert_eq!(tok.decode_with(&ids, true), prompt);
}
