//! Signed thinking carried by a client that has no place for it (pure).
//!
//! Anthropic wants a tool-calling turn sent back with the thinking it began with, as it
//! returned it: text and signature. A Responses client keeps reasoning items, whose
//! `encrypted_content` is opaque to it (OpenAI's own is encrypted reasoning, sent back
//! with `include: ["reasoning.encrypted_content"]` and `store: false`, as Codex does).
//! The gateway seals a signed thinking block (or a redacted one) into that field as
//! `llmrelay1.` and the base64url (unpadded) of a small JSON object, and opens it when
//! the item comes back. Anything else there (OpenAI's own) opens to nothing.
//!
//! A Gemini client keeps a function call's `thoughtSignature` and sends it back on the
//! call: the thinking a tool-calling turn began with rides there, on the turn's first
//! call (`Carry`), when it was one block (a turn of several would have to come back
//! with all of them, in order).
//!
//! The seal is not encrypted: the client already saw the thinking as the item's
//! summary (or could have, as thought parts). Whether a provider takes the block is decided where the request is written
//! for it, as for thinking that came back any other way (`anthropic_request`).

use crate::protocol::anthropic::ContentBlock;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

const PREFIX: &str = "llmrelay1.";

#[derive(Serialize, Deserialize)]
struct Seal<'a> {
    #[serde(default, borrow, skip_serializing_if = "is_empty", rename = "t")]
    thinking: Cow<'a, str>,
    #[serde(default, borrow, skip_serializing_if = "is_empty", rename = "s")]
    signature: Cow<'a, str>,
    /// A `redacted_thinking` block's data.
    #[serde(default, borrow, skip_serializing_if = "is_empty", rename = "r")]
    redacted: Cow<'a, str>,
}

#[allow(clippy::ptr_arg)] // serde hands the field itself.
fn is_empty(s: &Cow<'_, str>) -> bool {
    s.is_empty()
}

/// The sealed form of a thinking block worth carrying: one with a signature, or a
/// redacted one. Unsigned thinking (from a provider that signs nothing) is not.
pub fn seal(block: &ContentBlock) -> Option<String> {
    match block {
        ContentBlock::Thinking { thinking, signature } => seal_thinking(thinking, signature),
        ContentBlock::RedactedThinking { data } => seal_redacted(data),
        _ => None,
    }
}

/// The sealed form of a thinking block's text and signature; none without a signature.
pub fn seal_thinking(thinking: &str, signature: &str) -> Option<String> {
    (!signature.is_empty()).then(|| {
        sealed(&Seal {
            thinking: Cow::Borrowed(thinking),
            signature: Cow::Borrowed(signature),
            redacted: Cow::default(),
        })
    })
}

/// The sealed form of a redacted thinking block's data.
pub fn seal_redacted(data: &str) -> Option<String> {
    (!data.is_empty())
        .then(|| sealed(&Seal { thinking: Cow::default(), signature: Cow::default(), redacted: Cow::Borrowed(data) }))
}

fn sealed(seal: &Seal<'_>) -> String {
    // Strings only: serializing cannot fail.
    let json = serde_json::to_vec(seal).unwrap_or_default();
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
}

/// The thinking block `sealed` carries, if it is a seal of this gateway's.
pub fn open(sealed: &str) -> Option<ContentBlock> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
    let seal: Seal<'_> = serde_json::from_slice(&bytes).ok()?;
    if !seal.redacted.is_empty() {
        return Some(ContentBlock::RedactedThinking { data: seal.redacted.into_owned() });
    }
    (!seal.signature.is_empty()).then(|| ContentBlock::Thinking {
        thinking: seal.thinking.into_owned(),
        signature: seal.signature.into_owned(),
    })
}

/// Marks a signature (or redacted data) with the provider family that issued it.
const FAMILY_TAG: &str = "relay-family:";

/// `signature` marked as `family`'s: thinking an Anthropic channel gave a client of
/// another dialect, which may send it back to a channel of another family (failover, a
/// changed config). Only `family` takes it back (`anthropic_request`), unmarked.
pub fn tagged(family: &str, signature: &str) -> String {
    format!("{FAMILY_TAG}{family}\n{signature}")
}

/// The family and the signature of a marked signature.
pub fn untagged(signature: &str) -> Option<(&str, &str)> {
    signature.strip_prefix(FAMILY_TAG)?.split_once('\n')
}

/// Marks the signatures of thinking blocks (and redacted data) as `family`'s; empty
/// ones and Gemini's (`gemini:`) stay as they are.
pub fn tag_blocks(blocks: &mut [ContentBlock], family: &str) {
    for block in blocks {
        match block {
            ContentBlock::Thinking { signature, .. } => tag(signature, family),
            ContentBlock::RedactedThinking { data } => tag(data, family),
            _ => {}
        }
    }
}

/// Marks `signature` as `family`'s, unless it is empty, Gemini's, or marked already.
pub fn tag(signature: &mut String, family: &str) {
    if !signature.is_empty() && !signature.starts_with("gemini:") && !signature.starts_with(FAMILY_TAG) {
        *signature = tagged(family, signature);
    }
}

/// The thinking a turn began with, on its way to the turn's first call (Gemini clients).
#[derive(Debug, Default)]
pub struct Carry {
    seal: Option<String>,
    blocks: u32,
    /// The first call has been given its seal, or had to go without.
    spent: bool,
}

impl Carry {
    /// A thinking block of the turn ended, with `sealed` its seal (none for unsigned
    /// thinking, which cannot come back).
    pub fn thinking(&mut self, sealed: Option<String>) {
        if !self.spent {
            self.blocks += 1;
            self.seal = sealed;
        }
    }

    /// The seal for the turn's next call: the first call's, when the turn began with one
    /// sealed block and nothing else to carry.
    pub fn for_call(&mut self) -> Option<String> {
        if std::mem::replace(&mut self.spent, true) || self.blocks != 1 {
            return None;
        }
        self.seal.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_and_redacted_thinking_open_as_sealed() {
        let signed =
            ContentBlock::Thinking { thinking: "Let me \"think\".\n".into(), signature: "EqQBCkgIAxAB".into() };
        let sealed = seal(&signed).unwrap();
        assert!(sealed.starts_with("llmrelay1.") && !sealed.contains('='), "{sealed}");
        assert_eq!(open(&sealed), Some(signed));
        let redacted = ContentBlock::RedactedThinking { data: "EmwKAhgB".into() };
        assert_eq!(open(&seal(&redacted).unwrap()), Some(redacted));
        let gemini = ContentBlock::Thinking { thinking: String::new(), signature: "gemini:CiQB".into() };
        assert_eq!(open(&seal(&gemini).unwrap()), Some(gemini));
    }

    #[test]
    fn signatures_are_marked_with_their_family() {
        let mut blocks = vec![
            ContentBlock::Thinking { thinking: "t".into(), signature: "EqQB".into() },
            ContentBlock::Thinking { thinking: "g".into(), signature: "gemini:CiQB".into() },
            ContentBlock::Thinking { thinking: "u".into(), signature: String::new() },
            ContentBlock::RedactedThinking { data: "EmwK".into() },
        ];
        tag_blocks(&mut blocks, "anthropic:api.anthropic.com");
        tag_blocks(&mut blocks, "twice");
        let ContentBlock::Thinking { signature, .. } = &blocks[0] else { panic!() };
        assert_eq!(untagged(signature), Some(("anthropic:api.anthropic.com", "EqQB")));
        assert!(matches!(&blocks[1], ContentBlock::Thinking { signature, .. } if signature == "gemini:CiQB"));
        assert!(matches!(&blocks[2], ContentBlock::Thinking { signature, .. } if signature.is_empty()));
        assert!(
            matches!(&blocks[3], ContentBlock::RedactedThinking { data } if untagged(data) == Some(("anthropic:api.anthropic.com", "EmwK")))
        );
        assert_eq!(untagged("EqQB"), None);
    }

    #[test]
    fn a_turn_carries_its_one_thinking_block_to_its_first_call_only() {
        let mut one = Carry::default();
        one.thinking(Some("S".into()));
        assert_eq!((one.for_call(), one.for_call()), (Some("S".into()), None));
        let mut two = Carry::default();
        two.thinking(Some("S".into()));
        two.thinking(Some("T".into()));
        assert_eq!(two.for_call(), None, "two blocks cannot ride on one call");
        let mut none = Carry::default();
        assert_eq!(none.for_call(), None);
        none.thinking(Some("late".into()));
        assert_eq!(none.for_call(), None, "thinking after the first call is not carried");
    }

    #[test]
    fn unsigned_thinking_is_not_sealed_and_foreign_content_not_opened() {
        assert_eq!(seal(&ContentBlock::Thinking { thinking: "t".into(), signature: String::new() }), None);
        assert_eq!(seal(&ContentBlock::text("x")), None);
        for other in ["gAAAAABo-openai-encrypted", "llmrelay1.!!!", "llmrelay1.e30", ""] {
            assert_eq!(open(other), None, "{other}");
        }
    }
}
