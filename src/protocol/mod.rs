//! Wire types per dialect. Serde only: no I/O, no translation. Every type tolerates
//! unknown fields; unknown tagged variants decode as `Other`.

pub mod anthropic;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;
pub(crate) mod text;

pub use text::Text;

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

/// A JSON value kept as the text it arrived in: checked when parsed, written back
/// verbatim, never turned into a tree unless a translation must change it. Tool
/// schemas are the bulk of large requests and usually cross dialects untouched.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    pub fn from_value(v: &serde_json::Value) -> RawJson {
        // Serializing a Value cannot fail; `null` stands in all the same.
        RawJson(serde_json::value::to_raw_value(v).unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()))
    }

    /// The value as a tree, for translations that edit it.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }

    /// `{"type":"object","properties":{}}`: the schema of a tool without parameters.
    pub fn empty_object_schema() -> RawJson {
        Self::trusted(r#"{"type":"object","properties":{}}"#)
    }

    /// An object schema without its top-level `$schema` member (which OpenAI-style
    /// upstreams refuse); the other members keep their text. Anything else is kept.
    pub fn without_schema_uri(&self) -> RawJson {
        if !self.get().contains("\"$schema\"") {
            return self.clone();
        }
        let Ok(members) = serde_json::from_str::<Members<'_>>(self.get()) else {
            return self.clone();
        };
        let mut out = String::with_capacity(self.get().len());
        out.push('{');
        for (key, value) in members.0.iter().filter(|(k, _)| k != "$schema") {
            if out.len() > 1 {
                out.push(',');
            }
            // Keys came out of JSON text, so they serialize.
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push(':');
            out.push_str(value.get());
        }
        out.push('}');
        Self::trusted(&out)
    }

    fn trusted(text: &str) -> RawJson {
        RawJson(
            serde_json::value::RawValue::from_string(text.to_string())
                .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        )
    }
}

/// An object's members in order, values left as text.
struct Members<'a>(Vec<(String, &'a serde_json::value::RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Members<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de serde_json::value::RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod raw_json_tests {
    use super::RawJson;

    #[test]
    fn keeps_text_and_drops_only_the_top_level_schema_uri() {
        let raw: RawJson = serde_json::from_str(
            r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type":"object",
                "properties": {"a": {"$schema": "inner", "type": "string"}}}"#,
        )
        .unwrap();
        assert_eq!(
            raw.without_schema_uri().get(),
            r#"{"type":"object","properties":{"a": {"$schema": "inner", "type": "string"}}}"#
        );
        let plain: RawJson = serde_json::from_str(r#"{"type": "object"}"#).unwrap();
        assert_eq!(plain.without_schema_uri().get(), r#"{"type": "object"}"#);
        let odd: RawJson = serde_json::from_str(r#"["$schema"]"#).unwrap();
        assert_eq!(odd.without_schema_uri().get(), r#"["$schema"]"#);
        assert_eq!(
            serde_json::to_string(&RawJson::empty_object_schema()).unwrap(),
            r#"{"type":"object","properties":{}}"#
        );
        assert!(serde_json::from_str::<RawJson>("{").is_err());
    }

    #[test]
    fn reads_from_a_value_tree_too() {
        let raw: RawJson = serde_json::from_value(serde_json::json!({"type": "object"})).unwrap();
        assert_eq!(raw.to_value(), serde_json::json!({"type": "object"}));
    }
}
