//! Wire types per dialect. Serde only: no I/O, no translation. Every type tolerates
//! unknown fields; unknown tagged variants decode as `Other`.

pub mod anthropic;
pub mod openai_chat;

/// The API dialect a client speaks or an upstream channel expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Anthropic,
    OpenAiChat,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Anthropic => "anthropic",
            Dialect::OpenAiChat => "openai",
        }
    }
}
