//! Wire types per dialect. Serde only: no I/O, no translation. Every type tolerates
//! unknown fields; unknown tagged variants decode as `Other`.

pub mod anthropic;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;

/// The API dialect a client speaks or an upstream channel expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAiChat,
    /// OpenAI Responses (`/v1/responses`).
    OpenAiResponses,
    /// Google Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
}

impl Dialect {
    /// The name used in configs, logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Anthropic => "anthropic",
            Dialect::OpenAiChat => "openai",
            Dialect::OpenAiResponses => "responses",
            Dialect::Gemini => "gemini",
        }
    }

    /// Errors in this dialect's body shape: OpenAI's for Chat and Responses.
    pub fn error_shape(self) -> Dialect {
        match self {
            Dialect::OpenAiResponses => Dialect::OpenAiChat,
            d => d,
        }
    }
}
