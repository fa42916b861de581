//! A conversation's next turn as the text to append to a session that already holds the earlier
//! turns, as llama.cpp's `llama-cli` builds it (`common_chat_format_single`): render the history
//! with and without the new message and keep the difference, so earlier turns are not re-read.

use anyhow::Result;

use super::{ChatMessage, ChatTemplate, RenderOptions};

/// What to feed the session for the next message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnText {
    /// Append this text to what the session holds.
    Append(String),
    /// The template renders the last reply differently once a new message follows it (Qwen3's
    /// drops the reasoning of replies before the last user message): go back to the checkpoint
    /// (the session as it was after the previous prompt) and append this text from there.
    FromCheckpoint(String),
    /// Neither fits: clear the session and read this whole conversation again.
    Restart(String),
}

/// The next turn: what to feed, and the whole conversation with the new message as rendered
/// (what the session holds once `feed` is read: the checkpoint text for the turn after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextTurn {
    pub feed: TurnText,
    pub whole: String,
}

/// The text for `new` after `past`. The session is assumed to hold `past` as rendered, except
/// that a reply generated into it stops at its end-of-turn token: when the rendered history ends
/// with a newline after that token, the newline is added back here (what llama-cli does).
/// `checkpoint` is the whole conversation as rendered for the previous prompt, if the caller
/// saved the session's state right after reading it.
pub fn next_turn(
    template: &ChatTemplate,
    past: &[ChatMessage],
    new: &ChatMessage,
    opts: &RenderOptions,
    checkpoint: Option<&str>,
) -> Result<NextTurn> {
    let mut all = past.to_vec();
    all.push(new.clone());
    let whole = template.render(&all, opts)?;
    let feed = feed(template, past, &whole, opts, checkpoint)?;
    Ok(NextTurn { feed, whole })
}

fn feed(
    template: &ChatTemplate,
    past: &[ChatMessage],
    after: &str,
    opts: &RenderOptions,
    checkpoint: Option<&str>,
) -> Result<TurnText> {
    if past.is_empty() {
        return Ok(TurnText::Append(after.to_string()));
    }
    let before = template.render(
        past,
        &RenderOptions {
            add_generation_prompt: false,
            ..opts.clone()
        },
    )?;
    if let Some(rest) = after.strip_prefix(&before) {
        let newline = if opts.add_generation_prompt && before.ends_with('\n') {
            "\n"
        } else {
            ""
        };
        return Ok(TurnText::Append(format!("{newline}{rest}")));
    }
    Ok(match checkpoint.and_then(|cp| after.strip_prefix(cp)) {
        Some(rest) => TurnText::FromCheckpoint(rest.to_string()),
        None => TurnText::Restart(after.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn template(file: &str) -> ChatTemplate {
        ChatTemplate::from_file(fixtures::in_repo().join("templates").join(file)).unwrap()
    }

    fn opts() -> RenderOptions {
        RenderOptions {
            add_generation_prompt: true,
            bos_token: Some("<s>".into()),
            eos_token: Some("</s>".into()),
            ..RenderOptions::default()
        }
    }

    /// Turn by turn, what the session holds (each reply cut at its end-of-turn token, as generation
    /// leaves it) after each turn's text is the whole conversation rendered at once. Qwen3's
    /// template goes through the checkpoint: its last reply gains an empty reasoning block.
    #[test]
    fn appended_turns_rebuild_the_whole_conversation() {
        for (file, end_of_turn, via_checkpoint) in [
            ("google-gemma-2-2b-it.jinja", "<end_of_turn>", false),
            (
                "meta-llama-Llama-3.1-8B-Instruct.jinja",
                "<|eot_id|>",
                false,
            ),
            ("Qwen-Qwen3-0.6B.jinja", "<|im_end|>", true),
        ] {
            let t = template(file);
            let mut past: Vec<ChatMessage> = Vec::new();
            let mut session = String::new();
            let mut checkpoint: Option<String> = None;
            for (user, reply) in [
                ("Hi there", "Hello! How can I help?"),
                ("2+2?", "4."),
                ("Bye", ""),
            ] {
                let msg = ChatMessage::new("user", user);
                let turn = next_turn(&t, &past, &msg, &opts(), checkpoint.as_deref()).unwrap();
                match turn.feed {
                    TurnText::Append(s) => session.push_str(&s),
                    TurnText::FromCheckpoint(s) => {
                        assert!(via_checkpoint, "{file}: checkpoint");
                        session = checkpoint.clone().unwrap() + &s;
                    }
                    TurnText::Restart(s) => panic!("{file}: restart with {s:?}"),
                }
                past.push(msg);
                assert_eq!(session, t.render(&past, &opts()).unwrap(), "{file}");
                assert_eq!(session, turn.whole, "{file}");
                checkpoint = Some(session.clone());
                // Generation: the reply, then its end-of-turn token.
                session.push_str(reply);
                session.push_str(end_of_turn);
                past.push(ChatMessage::new("assistant", reply));
            }
        }
    }

    /// Qwen3 drops a reply's reasoning once a later user message exists: from the checkpoint
    /// when there is one (the reply is read again without it), else the whole conversation.
    #[test]
    fn a_template_that_rewrites_history_goes_back() {
        let t = template("Qwen-Qwen3-0.6B.jinja");
        let first = ChatMessage::new("user", "Hi");
        let past = vec![
            first.clone(),
            ChatMessage::new("assistant", "<think>\nThe user greets.\n</think>\n\nHello!"),
        ];
        let new = ChatMessage::new("user", "Bye");
        let mut all = past.clone();
        all.push(new.clone());
        let whole = t.render(&all, &opts()).unwrap();
        assert!(!whole.contains("The user greets"), "{whole}");
        let checkpoint = t.render(&[first], &opts()).unwrap();
        match next_turn(&t, &past, &new, &opts(), Some(&checkpoint))
            .unwrap()
            .feed
        {
            TurnText::FromCheckpoint(s) => assert_eq!(checkpoint + &s, whole),
            other => panic!("{other:?}"),
        }
        match next_turn(&t, &past, &new, &opts(), None).unwrap().feed {
            TurnText::Restart(s) => assert_eq!(s, whole),
            other => panic!("{other:?}"),
        }
    }
}
