//! Wire types per dialect. Serde only: no I/O, no translation. Every type tolerates
//! unknown fields; unknown tagged variants decode as `Other`. Beside them, `json_scan`
//! checks JSON syntax without decoding, for bodies passed on as they are, and `json_de`
//! reads typed bodies through it, leaving to serde_json what it does not handle.

pub mod anthropic;
pub mod gemini;
pub(crate) mod json_de;
pub(crate) mod json_scan;
pub mod openai_chat;
pub mod openai_responses;
pub(crate) mod tagged;
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

/// Parses a JSON body into typed fields, with `json_de` (serde_json for what it leaves,
/// and for every error). The body's UTF-8 is checked once, whole, before parsing: from
/// a `&[u8]` serde_json would check every string (and every raw value) on its own, a
/// call per string that costs more than one pass over the bytes.
/// Bytes that are not UTF-8 are parsed as before, so the error says where, in the
/// same words.
pub fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => json_de::parse(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// [`from_json`] for a body in a shared buffer: the JSON text that [`Text`] and
/// [`RawJson`] values keep is a slice of `body`, not a copy (see `text::parse_shared`).
/// Below [`SHARED_PARSE_MIN`] bytes the text is copied as by [`from_json`]: sharing
/// costs a few fixed steps (the buffer made shareable, a reference count per value) that
/// a small body's few short strings do not repay.
pub fn from_json_shared<T: serde::de::DeserializeOwned>(body: &bytes::Bytes) -> serde_json::Result<T> {
    if body.len() < SHARED_PARSE_MIN {
        return from_json(body);
    }
    text::parse_shared(body)
}

/// See [`from_json_shared`]. Counted with `scripts/instructions.sh`: sharing the text
/// of the bench's 250-byte requests and 300-byte answers cost 1% more instructions per
/// request, and saved 9–12% on its 80 KiB requests.
pub const SHARED_PARSE_MIN: usize = 4096;

/// A JSON value kept as the text it arrived in: checked when parsed, written back
/// verbatim, never turned into a tree unless a translation must change it. Tool
/// schemas are the bulk of large requests and usually cross dialects untouched.
#[derive(Debug, Clone)]
pub struct RawJson(text::RawText);

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl serde::Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text::RawText::deserialize(d).map(RawJson)
    }
}

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    pub fn from_value(v: &serde_json::Value) -> RawJson {
        // Serializing a Value cannot fail; `null` stands in all the same.
        RawJson(text::RawText::Parsed(
            serde_json::value::to_raw_value(v).unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        ))
    }

    /// The value as a tree, for translations that edit it.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }

    /// `{"type":"object","properties":{}}`: the schema of a tool without parameters.
    pub fn empty_object_schema() -> RawJson {
        Self::trusted(r#"{"type":"object","properties":{}}"#.to_string())
    }

    /// An object schema without its top-level `$schema` member (which OpenAI-style
    /// upstreams refuse); the other members keep their text. Anything else is kept.
    pub fn without_schema_uri(&self) -> RawJson {
        if !self.get().contains("\"$schema\"") {
            return self.clone();
        }
        if let Some(cut) = schema_uri_cut(self.get()) {
            return Self::trusted(cut);
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
        Self::trusted(out)
    }

    /// A tool's parameter schema as Anthropic takes it: an object schema that leaves its
    /// top-level `type` out (OpenAI accepts `{}` or `{"properties": …}`; Anthropic
    /// answers `input_schema.type: Field required`) gets `"type":"object"`. Anything
    /// else is kept.
    pub fn with_object_type(self) -> RawJson {
        let text = self.get().trim_start();
        let Some(rest) = text.strip_prefix('{') else { return self };
        // Generators write `type` first (zod) or last (pydantic): those need no scan.
        const LAST: &[u8] = b"\"type\":\"object\"}";
        let tail = text.bytes().rev().filter(|b| !b.is_ascii_whitespace()).take(LAST.len());
        if rest.trim_start().starts_with("\"type\"") || tail.eq(LAST.iter().rev().copied()) {
            return self;
        }
        if json_scan::top_level_member(text.as_bytes(), b"type") != Some(None) {
            return self;
        }
        let rest = rest.trim_start();
        let sep = if rest.starts_with('}') { "" } else { "," };
        Self::trusted(format!(r#"{{"type":"object"{sep}{rest}"#))
    }

    /// `text` is valid JSON: a constant, or checked text with a whole member cut out.
    fn trusted(text: String) -> RawJson {
        RawJson(text::RawText::Built(text.into_boxed_str()))
    }
}

/// Generators write `$schema` first or last (zod-to-json-schema, as Claude Code's tools
/// use, puts it last). There the member is surely top-level and is cut from the text
/// without parsing the rest: the object's text opens `{ "$schema": "…",` or ends
/// `, "$schema": "…" }`, the value having no quote or backslash.
fn schema_uri_cut(json: &str) -> Option<String> {
    const KEY: &[u8] = b"\"$schema\"";
    let b = json.as_bytes();
    let ws_after = |i: usize| b.get(i..).map_or(0, |s| s.iter().take_while(|c| c.is_ascii_whitespace()).count());
    let ws_before = |i: usize| b.get(..i).map_or(0, |s| s.iter().rev().take_while(|c| c.is_ascii_whitespace()).count());
    // First member.
    let mut i = ws_after(0);
    if b.get(i) == Some(&b'{') {
        let open = i;
        i += 1;
        i += ws_after(i);
        if b.get(i..i + KEY.len()) == Some(KEY) {
            i += KEY.len();
            i += ws_after(i);
            if b.get(i) == Some(&b':') {
                i += 1;
                i += ws_after(i);
                if b.get(i) == Some(&b'"') {
                    let len = b.get(i + 1..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
                    i += len + 1;
                    if b.get(i) == Some(&b'"') {
                        i += 1;
                        i += ws_after(i);
                        return match b.get(i)? {
                            b',' => Some(format!("{}{}", json.get(..=open)?, json.get(i + 1..)?)),
                            b'}' => Some(format!("{}{}", json.get(..=open)?, json.get(i..)?)),
                            _ => None,
                        };
                    }
                }
            }
        }
    }
    // Last member: exactly one `}` after the value, so its object is the top-level one.
    let mut i = b.len() - ws_before(b.len());
    i = i.checked_sub(1).filter(|&i| b.get(i) == Some(&b'}'))?;
    i -= ws_before(i);
    let value_end = i;
    i = i.checked_sub(1).filter(|&i| b.get(i) == Some(&b'"'))?;
    let open = b.get(..i)?.iter().rposition(|&c| c == b'"' || c == b'\\')?;
    if b.get(open) != Some(&b'"') {
        return None;
    }
    i = open - ws_before(open);
    i = i.checked_sub(1).filter(|&i| b.get(i) == Some(&b':'))?;
    i -= ws_before(i);
    i = i.checked_sub(KEY.len()).filter(|&k| b.get(k..i) == Some(KEY))?;
    i -= ws_before(i);
    let before = i.checked_sub(1)?;
    match b.get(before)? {
        b',' => Some(format!("{}{}", json.get(..before)?, json.get(value_end..)?)),
        b'{' => Some(format!("{}{}", json.get(..=before)?, json.get(value_end..)?)),
        _ => None,
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
    fn a_schema_without_its_type_is_an_object_schema() {
        let typed = |text: &str| {
            let raw: RawJson = serde_json::from_str(text).unwrap();
            let out = raw.with_object_type().get().to_string();
            serde_json::from_str::<serde_json::Value>(&out).unwrap();
            out
        };
        assert_eq!(typed("{}"), r#"{"type":"object"}"#);
        assert_eq!(typed(" { } "), r#"{"type":"object"}"#);
        assert_eq!(
            typed(r#"{"properties":{"a":{"type":"string"}}}"#),
            r#"{"type":"object","properties":{"a":{"type":"string"}}}"#
        );
        assert_eq!(typed(r#"{"properties":{},"type":"object"}"#), r#"{"properties":{},"type":"object"}"#);
        assert_eq!(typed(r#"{"anyOf":[{"type":"object"}]}"#), r#"{"type":"object","anyOf":[{"type":"object"}]}"#);
        assert_eq!(typed("true"), "true");
    }

    #[test]
    fn keeps_text_and_drops_only_the_top_level_schema_uri() {
        // In the middle: the members are parsed, and the others written back.
        let raw: RawJson = serde_json::from_str(
            r#"{"type":"object", "$schema": "http://json-schema.org/draft-07/schema#",
                "properties": {"a": {"$schema": "inner", "type": "string"}}}"#,
        )
        .unwrap();
        assert_eq!(
            raw.without_schema_uri().get(),
            r#"{"type":"object","properties":{"a": {"$schema": "inner", "type": "string"}}}"#
        );
        let plain: RawJson = serde_json::from_str(r#"{"type": "object"}"#).unwrap();
        assert_eq!(plain.without_schema_uri().get(), r#"{"type": "object"}"#);
        for (text, want) in [
            (
                r#"{"type":"object","additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}"#,
                r#"{"type":"object","additionalProperties":false}"#,
            ),
            ("{\"$schema\" : \"x\" }", "{}"),
            (r#"{"a":1, "$schema":"x"}"#, r#"{"a":1}"#),
            (r#"{"a":{"$schema":"x"}}"#, r#"{"a":{"$schema":"x"}}"#),
            (r#"{"a":"x\"$schema\":\"y"}"#, r#"{"a":"x\"$schema\":\"y"}"#),
            (r#"{"$schema":"x","a":{"$schema":"y"}}"#, r#"{"a":{"$schema":"y"}}"#),
            (r#"{"a":"$schema","$schema":"x\"y"}"#, r#"{"a":"$schema"}"#),
            (r#"{"$schema":"x", "a":["\"$schema\":\"z"]}"#, r#"{ "a":["\"$schema\":\"z"]}"#),
            (r#" { "$schema" : "x" , "b":{"$schema":"y"}}"#, r#"{ "b":{"$schema":"y"}}"#),
            (r#"{"$schema":"x\"y","b":1}"#, r#"{"b":1}"#),
            (r#"{"$schema":5,"b":1}"#, r#"{"b":1}"#),
        ] {
            let raw: RawJson = serde_json::from_str(text).unwrap();
            let cut = raw.without_schema_uri();
            assert_eq!(cut.get(), want, "{text}");
            // A cut is not parsed again: it is valid as made, and written as it is.
            let tree: serde_json::Value = serde_json::from_str(want).unwrap();
            assert_eq!(serde_json::to_string(&[&cut, &cut]).unwrap(), format!("[{want},{want}]"));
            assert_eq!(serde_json::to_value(&cut).unwrap(), tree);
        }
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

#[cfg(test)]
mod from_json_tests {
    use super::{from_json, RawJson, Text};

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Probe {
        name: String,
        text: Text,
        raw: RawJson,
    }

    #[test]
    fn parses_as_from_slice_does_and_reports_bad_utf8_in_its_words() {
        let good =
            "{\"name\":\"caf\u{e9} \\u00e9\",\"text\":\"a\\nb \u{1f600}\",\"raw\":{\"k\":[\"\u{e9}\"]}}".as_bytes();
        let ours: Probe = from_json(good).unwrap();
        assert_eq!(ours, serde_json::from_slice::<Probe>(good).unwrap());
        assert_eq!(ours.name, "caf\u{e9} \u{e9}");
        assert_eq!(ours.text.as_str(), "a\nb \u{1f600}");
        assert_eq!(ours.raw.get(), "{\"k\":[\"\u{e9}\"]}");

        for bad in [
            &b"{\"name\":\"\xff\",\"text\":\"\",\"raw\":1}"[..],
            b"{\"name\":\"x\",\"text\":\"\xc3\",\"raw\":1}",
            b"\xef",
        ] {
            let ours = from_json::<Probe>(bad).unwrap_err().to_string();
            assert_eq!(ours, serde_json::from_slice::<Probe>(bad).unwrap_err().to_string());
        }
        let err = from_json::<Probe>(b"{\"name\":\"\xff\"}").unwrap_err().to_string();
        assert_eq!(err, "invalid unicode code point at line 1 column 10");
    }
}

/// A count the APIs write as an integer; a float or `null` (some OpenAI-compatible
/// servers send `"cached_tokens": null`) is tolerated, as 0.
pub(crate) fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::Deserialize;
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)).unwrap_or(0),
        _ => 0,
    })
}
