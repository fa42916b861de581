//! Chat templates: the Jinja template a model ships (`tokenizer.chat_template`, or a file) that
//! turns a conversation into the prompt text, rendered with minijinja in the environment Hugging
//! Face's `apply_chat_template` provides (trim_blocks, lstrip_blocks, loop controls,
//! `raise_exception`, `strftime_now`, its `tojson`, Python string methods).

use std::path::Path;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use serde::Serialize;

use super::error::{Result, TokenizerError};
use super::pycompat;
use super::Tokenizer;
use crate::gguf::Metadata;

const TEMPLATE_NAME: &str = "chat_template";

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
    /// The assistant's reasoning, for templates that render it separately (Qwen3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
            reasoning_content: None,
        }
    }
}

/// The variables a template sees besides `messages`.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// End the prompt with the opening of an assistant turn.
    pub add_generation_prompt: bool,
    /// `enable_thinking` (Qwen3/3.5); `None` leaves it undefined, the templates' default (on).
    pub enable_thinking: Option<bool>,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    /// Tool definitions (JSON schema objects); `None` renders `tools` as none.
    pub tools: Option<serde_json::Value>,
}

impl RenderOptions {
    /// Options with the BOS/EOS texts of `tokenizer`.
    pub fn for_tokenizer(tokenizer: &Tokenizer, add_generation_prompt: bool) -> RenderOptions {
        let text = |id: Option<u32>| {
            id.and_then(|id| tokenizer.token_text(id))
                .map(str::to_string)
        };
        RenderOptions {
            add_generation_prompt,
            bos_token: text(tokenizer.bos()),
            eos_token: text(tokenizer.eos()),
            ..RenderOptions::default()
        }
    }
}

/// A parsed chat template, ready to render conversations.
pub struct ChatTemplate {
    env: Environment<'static>,
    origin: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("origin", &self.origin)
            .finish()
    }
}

impl ChatTemplate {
    /// Parses `source`; `origin` names where it came from in error messages.
    pub fn new(source: impl Into<String>, origin: impl Into<String>) -> Result<ChatTemplate> {
        let origin = origin.into();
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(pycompat::unknown_method);
        env.add_filter("tojson", pycompat::tojson);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_function("strftime_now", |format: String| strftime_now(&format));
        env.add_template_owned(TEMPLATE_NAME, source.into())
            .map_err(|e| template_error(&origin, &e))?;
        Ok(ChatTemplate { env, origin })
    }

    /// Reads a template file (`.jinja`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<ChatTemplate> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|e| TokenizerError::Template {
            origin: Some(path.display().to_string()),
            message: format!("cannot read: {e}"),
        })?;
        ChatTemplate::new(source, path.display().to_string())
    }

    /// The model's own template (`tokenizer.chat_template`), if it has one.
    pub fn from_metadata(md: &Metadata) -> Result<Option<ChatTemplate>> {
        match md.get_str("tokenizer.chat_template") {
            Some(source) => ChatTemplate::new(source, "tokenizer.chat_template").map(Some),
            None => Ok(None),
        }
    }

    /// Renders a conversation.
    pub fn render(&self, messages: &[ChatMessage], opts: &RenderOptions) -> Result<String> {
        self.render_value(Value::from_serialize(messages), opts)
    }

    /// Renders messages given as JSON (for fields [`ChatMessage`] does not carry: `tool_calls`,
    /// list-valued `content`…).
    pub fn render_json(
        &self,
        messages: &serde_json::Value,
        opts: &RenderOptions,
    ) -> Result<String> {
        self.render_value(Value::from_serialize(messages), opts)
    }

    fn render_value(&self, messages: Value, opts: &RenderOptions) -> Result<String> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| template_error(&self.origin, &e))?;
        let none = || Value::from(());
        let mut ctx: Vec<(&str, Value)> = vec![
            ("messages", messages),
            (
                "add_generation_prompt",
                Value::from(opts.add_generation_prompt),
            ),
            (
                "tools",
                opts.tools
                    .as_ref()
                    .map(Value::from_serialize)
                    .unwrap_or_else(none),
            ),
            ("documents", none()),
        ];
        if let Some(b) = &opts.bos_token {
            ctx.push(("bos_token", Value::from(b.as_str())));
        }
        if let Some(e) = &opts.eos_token {
            ctx.push(("eos_token", Value::from(e.as_str())));
        }
        if let Some(t) = opts.enable_thinking {
            ctx.push(("enable_thinking", Value::from(t)));
        }
        let ctx: Value = ctx.into_iter().collect();
        template
            .render(ctx)
            .map_err(|e| template_error(&self.origin, &e))
    }
}

fn template_error(origin: &str, e: &Error) -> TokenizerError {
    // `{:#}` includes the template line the error points at.
    let mut message = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.to_string());
    if let Some(line) = e.line() {
        message = format!("line {line}: {message}");
    }
    TokenizerError::Template {
        origin: Some(origin.to_string()),
        message,
    }
}

/// `strftime_now(format)`: the current UTC time, for the common `strftime` fields.
fn strftime_now(format: &str) -> std::result::Result<String, Error> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok(format_time(secs, format))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats a UNIX time (UTC) with `%Y %y %m %d %-d %B %b %A %a %H %M %S %j %%`.
fn format_time(secs: i64, format: &str) -> String {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_mar + 2) / 153;
    let day = doy_mar - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cumulative[(month - 1) as usize] + day + i64::from(leap && month > 2);
    let weekday = (days + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    let month_name = MONTHS[(month - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year % 100)),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('-') => match chars.next() {
                Some('d') => out.push_str(&day.to_string()),
                Some('m') => out.push_str(&month.to_string()),
                Some(other) => out.extend(['%', '-', other]),
                None => out.push_str("%-"),
            },
            Some('B') => out.push_str(month_name),
            Some('b') => out.push_str(&month_name[..3]),
            Some('A') => out.push_str(WEEKDAYS[weekday]),
            Some('a') => out.push_str(&WEEKDAYS[weekday][..3]),
            Some('H') => out.push_str(&format!("{:02}", tod / 3600)),
            Some('M') => out.push_str(&format!("{:02}", tod / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", tod % 60)),
            Some('j') => out.push_str(&format!("{yday:03}")),
            Some('%') => out.push('%'),
            Some(other) => out.extend(['%', other]),
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_like_strftime() {
        // 2024-07-26 12:34:56 UTC, a Friday, day 208 of a leap year.
        let t = 1_721_997_296;
        assert_eq!(format_time(t, "%d %b %Y"), "26 Jul 2024");
        assert_eq!(
            format_time(t, "%A %B %-d, %y %H:%M:%S %j %%"),
            "Friday July 26, 24 12:34:56 208 %"
        );
        assert_eq!(format_time(0, "%Y-%m-%d %a"), "1970-01-01 Thu");
    }
}
