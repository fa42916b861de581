//! The Python string and dict methods real chat templates call (`content.startswith(..)`,
//! `.split`, `.strip`, `message.items()`…), which minijinja leaves to an unknown-method hook,
//! and `tojson` as Hugging Face's template environment defines it.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn str_arg<'a>(args: &'a [Value], i: usize, method: &str) -> Result<Option<&'a str>, Error> {
    match args.get(i) {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => v.as_str().map(Some).ok_or_else(|| {
            invalid(format!(
                "{method}() expects a string argument, got {}",
                v.kind()
            ))
        }),
    }
}

fn int_arg(args: &[Value], i: usize) -> Option<i64> {
    args.get(i).and_then(Value::as_i64)
}

fn strip_with<'a>(s: &'a str, chars: Option<&str>, left: bool, right: bool) -> &'a str {
    let pred = |c: char| match chars {
        Some(set) => set.contains(c),
        None => c.is_whitespace(),
    };
    let s = if left { s.trim_start_matches(pred) } else { s };
    if right {
        s.trim_end_matches(pred)
    } else {
        s
    }
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let limit = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some("") => Err(invalid("split(): empty separator")),
        Some(sep) => {
            let mut parts = Vec::new();
            let mut rest = s;
            while parts.len() < limit {
                let Some(i) = rest.find(sep) else { break };
                parts.push(rest[..i].to_string());
                rest = &rest[i + sep.len()..];
            }
            parts.push(rest.to_string());
            Ok(parts)
        }
        None => {
            let mut parts = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if parts.len() == limit {
                    parts.push(rest.to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                parts.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            Ok(parts)
        }
    }
}

/// Python's `str.startswith`/`endswith`: the prefix may be a string or a tuple (list) of strings.
fn affix_test(
    s: &str,
    arg: Option<&Value>,
    method: &str,
    test: fn(&str, &str) -> bool,
) -> Result<Value, Error> {
    let arg = arg.ok_or_else(|| invalid(format!("{method}() takes one argument")))?;
    if let Some(p) = arg.as_str() {
        return Ok(Value::from(test(s, p)));
    }
    if matches!(arg.kind(), ValueKind::Seq) {
        for item in arg.try_iter()? {
            if item.as_str().is_some_and(|p| test(s, p)) {
                return Ok(Value::from(true));
            }
        }
        return Ok(Value::from(false));
    }
    Err(invalid(format!(
        "{method}() expects a string or a tuple of strings"
    )))
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let strs = |v: Vec<String>| Value::from(v.into_iter().map(Value::from).collect::<Vec<_>>());
    Ok(match method {
        "strip" => Value::from(strip_with(s, str_arg(args, 0, method)?, true, true)),
        "lstrip" => Value::from(strip_with(s, str_arg(args, 0, method)?, true, false)),
        "rstrip" => Value::from(strip_with(s, str_arg(args, 0, method)?, false, true)),
        "split" => strs(py_split(
            s,
            str_arg(args, 0, method)?,
            int_arg(args, 1).unwrap_or(-1),
        )?),
        "rsplit" => {
            let sep = str_arg(args, 0, method)?;
            let maxsplit = int_arg(args, 1).unwrap_or(-1);
            if maxsplit < 0 {
                strs(py_split(s, sep, -1)?)
            } else {
                // Split the reversed problem: reverse, split with the reversed separator, reverse back.
                let rev: String = s.chars().rev().collect();
                let rsep: Option<String> = sep.map(|p| p.chars().rev().collect());
                let mut parts: Vec<String> = py_split(&rev, rsep.as_deref(), maxsplit)?
                    .into_iter()
                    .map(|p| p.chars().rev().collect())
                    .collect();
                parts.reverse();
                strs(parts)
            }
        }
        "splitlines" => strs(s.lines().map(str::to_string).collect()),
        "startswith" => affix_test(s, args.first(), method, |s, p| s.starts_with(p))?,
        "endswith" => affix_test(s, args.first(), method, |s, p| s.ends_with(p))?,
        "lower" => Value::from(s.to_lowercase()),
        "upper" => Value::from(s.to_uppercase()),
        "title" => {
            let mut out = String::with_capacity(s.len());
            let mut prev_cased = false;
            for c in s.chars() {
                if prev_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                prev_cased = c.is_alphabetic();
            }
            Value::from(out)
        }
        "capitalize" => {
            let mut chars = s.chars();
            let out: String = match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            };
            Value::from(out)
        }
        "replace" => {
            let old =
                str_arg(args, 0, method)?.ok_or_else(|| invalid("replace() needs two strings"))?;
            let new =
                str_arg(args, 1, method)?.ok_or_else(|| invalid("replace() needs two strings"))?;
            match int_arg(args, 2) {
                Some(n) if n >= 0 => Value::from(s.replacen(old, new, n as usize)),
                _ => Value::from(s.replace(old, new)),
            }
        }
        "find" | "rfind" | "index" | "rindex" | "count" => {
            let needle = str_arg(args, 0, method)?
                .ok_or_else(|| invalid(format!("{method}() needs a string")))?;
            let found = if method.starts_with('r') {
                s.rfind(needle)
            } else {
                s.find(needle)
            };
            let to_index = |byte: usize| s[..byte].chars().count() as i64;
            match method {
                "count" => Value::from(s.matches(needle).count() as i64),
                "index" | "rindex" => Value::from(to_index(
                    found.ok_or_else(|| invalid("substring not found"))?,
                )),
                _ => Value::from(found.map(to_index).unwrap_or(-1)),
            }
        }
        "join" => {
            let items = args
                .first()
                .ok_or_else(|| invalid("join() takes one argument"))?;
            let mut parts = Vec::new();
            for item in items.try_iter()? {
                parts.push(item.to_string());
            }
            Value::from(parts.join(s))
        }
        "isdigit" | "isnumeric" => Value::from(!s.is_empty() && s.chars().all(char::is_numeric)),
        "isalpha" => Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isalnum" => Value::from(!s.is_empty() && s.chars().all(char::is_alphanumeric)),
        "isspace" => Value::from(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "islower" => {
            Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "isupper" => {
            Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        _ => return Err(Error::from(ErrorKind::UnknownMethod)),
    })
}

fn map_method(state: &State, map: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "items" => state.apply_filter("items", std::slice::from_ref(map)),
        "keys" => Ok(Value::from(map.try_iter()?.collect::<Vec<_>>())),
        "values" => {
            let mut values = Vec::new();
            for key in map.try_iter()? {
                values.push(map.get_item(&key)?);
            }
            Ok(Value::from(values))
        }
        "get" => {
            let key = args.first().ok_or_else(|| invalid("get() needs a key"))?;
            let value = map.get_item(key)?;
            Ok(if value.is_undefined() {
                args.get(1).cloned().unwrap_or(Value::from(()))
            } else {
                value
            })
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// minijinja's unknown-method hook: Python methods on strings, dicts and lists.
pub fn unknown_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), method, args),
        ValueKind::Map => map_method(state, value, method, args),
        ValueKind::Seq if method == "count" => {
            let needle = args
                .first()
                .ok_or_else(|| invalid("count() needs a value"))?;
            Ok(Value::from(
                value.try_iter()?.filter(|v| v == needle).count() as i64,
            ))
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// `tojson` as Hugging Face defines it for chat templates: Python's `json.dumps(x,
/// ensure_ascii=False, indent=indent)` — no HTML escaping, `", "`/`": "` separators.
pub fn tojson(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    write_json(value, indent, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

fn write_json(
    value: &Value,
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) -> Result<(), Error> {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if value.is_integer() {
                out.push_str(&value.to_string());
            } else {
                let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
                out.push_str(&python_float(f));
            }
        }
        ValueKind::String => write_json_string(value.as_str().unwrap_or_default(), out),
        ValueKind::Map => {
            let keys: Vec<Value> = value.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                write_json_string(&key.to_string(), out);
                out.push_str(": ");
                write_json(&value.get_item(key)?, indent, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                write_json(item, indent, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        other => {
            return Err(invalid(format!(
                "tojson: cannot serialize a value of type {other}"
            )))
        }
    }
    Ok(())
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)` for the values JSON can hold.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let s = format!("{f:?}");
    if s.contains('e') {
        // Rust writes `1e20`, Python `1e+20`.
        s.replace("e", "e+").replace("e+-", "e-")
    } else {
        s
    }
}
