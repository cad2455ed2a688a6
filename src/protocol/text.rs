//! Prose that usually crosses dialects untouched: message text, system prompts, tool
//! descriptions. A `Text` read from JSON keeps its JSON literal (quotes and escapes as
//! they arrived) and is written back from it with one copy; the unescaped string is
//! made only when a translation reads it. Request text is most of a large request, and
//! re-escaping it was the largest single cost of translating one.

use bytestring::ByteString;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

/// A JSON string value; dereferences to its (unescaped) text.
pub struct Text(Repr);

enum Repr {
    /// The JSON string literal as read (or joined from such), and its unescaped text
    /// once someone asked.
    Literal {
        json: RawText,
        text: OnceLock<String>,
    },
    Plain(String),
}

/// The name serde_json gives the newtype it answers with a value's raw JSON text (the
/// mechanism behind `RawValue`). Any other deserializer hands the plain string instead.
pub(crate) const RAW_TOKEN: &str = "$serde_json::private::RawValue";

/// JSON text: read (and checked) by serde_json, or made here from checked pieces and
/// valid by construction, so not parsed again. All are written as they are.
#[derive(Debug, Clone)]
pub(crate) enum RawText {
    /// Copied out of the text it was read from.
    Parsed(Box<RawValue>),
    /// A piece of the body being parsed by [`parse_shared`]: shares its buffer, so
    /// neither reading it nor cloning it copies the text.
    Shared(ByteString),
    Built(Box<str>),
}

impl RawText {
    pub(crate) fn get(&self) -> &str {
        match self {
            RawText::Parsed(raw) => raw.get(),
            RawText::Shared(text) => text,
            RawText::Built(text) => text,
        }
    }

    /// A raw value serde_json lent out: shared when it lies in the body
    /// [`parse_shared`] is parsing on this thread, copied otherwise.
    fn from_borrowed(raw: &RawValue) -> RawText {
        let shared = SOURCE.with_borrow(|source| {
            let source = source.as_ref()?;
            let (outer, inner) = (source.as_ptr() as usize, raw.get().as_ptr() as usize);
            let inside = inner >= outer && inner + raw.get().len() <= outer + source.len();
            inside.then(|| source.slice_ref(raw.get()))
        });
        match shared {
            Some(text) => RawText::Shared(text),
            None => RawText::Parsed(raw.to_owned()),
        }
    }

    /// Reads a raw value: borrowed (and then shared or copied, see [`from_borrowed`])
    /// while [`parse_shared`] runs on this thread, whose parser can lend it; copied by
    /// serde_json otherwise (any input, including a reader that cannot lend).
    ///
    /// [`from_borrowed`]: RawText::from_borrowed
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RawText, D::Error> {
        if SOURCE.with_borrow(Option::is_some) {
            <&'de RawValue>::deserialize(d).map(RawText::from_borrowed)
        } else {
            Box::<RawValue>::deserialize(d).map(RawText::Parsed)
        }
    }
}

thread_local! {
    /// The body [`parse_shared`] is parsing on this thread.
    static SOURCE: RefCell<Option<ByteString>> = const { RefCell::new(None) };
}

/// Parses `body` (checked for UTF-8 first, whole) so that the JSON text kept by [`Text`]
/// and `RawJson` values is shared with the body instead of copied out of it: the text
/// of a large request is most of its bytes. The values keep the body's buffer alive.
/// A body that is not UTF-8 is parsed from its bytes, for serde_json's error.
pub(crate) fn parse_shared<T: de::DeserializeOwned>(body: &bytes::Bytes) -> serde_json::Result<T> {
    let Ok(source) = ByteString::try_from(body.clone()) else {
        return serde_json::from_slice(body);
    };
    // Restores the outer source (a parse within a parse) even when the parse unwinds.
    struct Restore(Option<ByteString>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            SOURCE.with_borrow_mut(|s| *s = outer);
        }
    }
    let _restore = Restore(SOURCE.with_borrow_mut(|s| s.replace(source.clone())));
    serde_json::from_str(&source)
}

impl Serialize for RawText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RawText::Parsed(raw) => raw.serialize(s),
            // What serde_json's own `RawValue` writes: its serializers copy the text.
            RawText::Shared(_) | RawText::Built(_) => {
                use serde::ser::SerializeStruct;
                let mut st = s.serialize_struct(RAW_TOKEN, 1)?;
                st.serialize_field(RAW_TOKEN, self.get())?;
                st.end()
            }
        }
    }
}

impl Text {
    /// Text built from its unescaped form.
    pub fn new(text: impl Into<String>) -> Self {
        Text(Repr::Plain(text.into()))
    }

    pub fn as_str(&self) -> &str {
        self
    }

    /// Whether the text is empty, without unescaping it.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Repr::Literal { json, .. } => json.get().len() <= 2,
            Repr::Plain(s) => s.is_empty(),
        }
    }

    /// The unescaped text, owned.
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Plain(s) => s,
            Repr::Literal { json, text } => text.into_inner().unwrap_or_else(|| unescape(&json)),
        }
    }

    /// Appends `s` (the text is then held unescaped).
    pub fn push_str(&mut self, s: &str) {
        if let Repr::Plain(p) = &mut self.0 {
            p.push_str(s);
            return;
        }
        let mut owned = std::mem::take(self).into_string();
        owned.push_str(s);
        *self = Text::new(owned);
    }

    /// The JSON literal of this text (with its quotes), when it was read from JSON or
    /// joined from texts that were.
    fn literal(&self) -> Option<&str> {
        match &self.0 {
            Repr::Literal { json, .. } => Some(json.get()),
            Repr::Plain(_) => None,
        }
    }

    /// The texts joined by `sep`. When some were read from JSON the join is made from
    /// their literals (the others escaped), so it too is written back without
    /// re-escaping.
    pub fn join<'a>(parts: impl IntoIterator<Item = &'a Text>, sep: &str) -> Text {
        let parts: Vec<&Text> = parts.into_iter().collect();
        match parts.as_slice() {
            [] => return Text::default(),
            [one] => return (*one).clone(),
            _ => {}
        }
        if parts.iter().any(|p| p.literal().is_some()) {
            let len = parts.iter().map(|p| p.literal().map_or(p.len() + 2, str::len)).sum::<usize>();
            let mut out = String::with_capacity(len + (sep.len() + 2) * parts.len());
            out.push('"');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    push_escaped_inside(&mut out, sep);
                }
                match p.literal() {
                    Some(lit) => out.push_str(lit.get(1..lit.len().saturating_sub(1)).unwrap_or_default()),
                    None => push_escaped_inside(&mut out, p),
                }
            }
            out.push('"');
            // Literals' insides and escaped text make a literal: no need to parse it.
            return Text(Repr::Literal { json: RawText::Built(out.into_boxed_str()), text: OnceLock::new() });
        }
        let mut out = String::with_capacity(parts.iter().map(|p| p.len() + sep.len()).sum());
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(p);
        }
        Text::new(out)
    }

    /// `prefix` followed by this text.
    pub fn prefixed(&self, prefix: &str) -> Text {
        Text::join([&Text::new(prefix), self], "")
    }

    fn literal_of(json: RawText) -> Text {
        Text(Repr::Literal { json, text: OnceLock::new() })
    }
}

/// Appends `s` JSON-escaped, without the quotes.
fn push_escaped_inside(out: &mut String, s: &str) {
    // Escaping a string cannot fail.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default());
}

/// The text of a JSON string literal. Literals come from the JSON parser (or from
/// joining such), so they decode; an empty string stands in if one ever did not.
fn unescape(json: &RawText) -> String {
    let lit = json.get();
    match lit.get(1..lit.len().saturating_sub(1)) {
        Some(inner) if memchr::memchr(b'\\', inner.as_bytes()).is_none() => inner.to_string(),
        _ => serde_json::from_str(lit).unwrap_or_default(),
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            Repr::Plain(s) => s,
            Repr::Literal { json, text } => text.get_or_init(|| unescape(json)),
        }
    }
}

impl Clone for Text {
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::Plain(s) => Text(Repr::Plain(s.clone())),
            Repr::Literal { json, text } => Text(Repr::Literal { json: json.clone(), text: text.clone() }),
        }
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::new(String::new())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::new(s)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.into_string()
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Literal { json, .. } => json.serialize(s),
            Repr::Plain(text) => s.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            /// serde_json: the value's JSON text.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                let json = RawText::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if !json.get().starts_with('"') {
                    return Err(de::Error::invalid_type(de::Unexpected::Other(kind_of(json.get())), &self));
                }
                Ok(Text::literal_of(json))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                String::deserialize(d).map(Text::new)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::new(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::new(v))
            }
        }
        d.deserialize_newtype_struct(RAW_TOKEN, V)
    }
}

/// Reads a value that is mostly a long string but may be an array (message content: a
/// string or parts). With serde_json a string keeps its literal (see [`Text`]) and an
/// array is parsed from its text as an `A`; other deserializers go through `F`.
pub(crate) fn string_or<'de, D, A, F, T>(d: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    A: de::DeserializeOwned,
    F: Deserialize<'de>,
    T: From<A> + From<F> + From<Text>,
{
    struct V<A, F, T>(&'static str, std::marker::PhantomData<(A, F, T)>);
    impl<'de, A, F, T> Visitor<'de> for V<A, F, T>
    where
        A: de::DeserializeOwned,
        F: Deserialize<'de>,
        T: From<A> + From<F> + From<Text>,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<T, M::Error> {
            let json = RawText::deserialize(de::value::MapAccessDeserializer::new(map))?;
            match json.get().as_bytes().first() {
                Some(b'"') => Ok(T::from(Text::literal_of(json))),
                Some(b'[') => serde_json::from_str::<A>(json.get()).map(T::from).map_err(|e| {
                    // The outer parser adds the position; this one's would be within the array.
                    let msg = e.to_string();
                    let cut = if e.line() > 0 { msg.rfind(" at line ") } else { None };
                    de::Error::custom(msg.get(..cut.unwrap_or(msg.len())).unwrap_or(&msg))
                }),
                _ => Err(de::Error::invalid_type(de::Unexpected::Other(kind_of(json.get())), &self)),
            }
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
            F::deserialize(d).map(T::from)
        }
    }
    d.deserialize_newtype_struct(RAW_TOKEN, V::<A, F, T>(expecting, std::marker::PhantomData))
}

/// What a non-string JSON value is, for the type error.
fn kind_of(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'{') => "map",
        Some(b'[') => "sequence",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

#[cfg(test)]
mod tests {
    use super::{RawText, Repr, Text};
    use bytes::Bytes;

    /// Whether `raw` is a slice of `body`'s buffer (not a copy of it).
    fn in_body(raw: &RawText, body: &Bytes) -> bool {
        let RawText::Shared(text) = raw else { return false };
        let (outer, inner) = (body.as_ptr() as usize, text.as_ptr() as usize);
        inner >= outer && inner + text.len() <= outer + body.len()
    }

    fn literal(t: &Text) -> &RawText {
        match &t.0 {
            Repr::Literal { json, .. } => json,
            Repr::Plain(_) => panic!("plain text"),
        }
    }

    #[test]
    fn text_parsed_from_a_shared_body_is_a_slice_of_it() {
        use crate::protocol::anthropic::{Content, ContentBlock, MessagesRequest, Tool};
        let body = Bytes::from(
            r#"{"model":"m","system":"be \"brief\"","messages":[{"role":"user","content":[
                {"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"inner\u0041"}]},
                {"type":"text","text":"caf\u00e9"}]}],
              "tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}]}"#,
        );
        let req: MessagesRequest = super::parse_shared(&body).unwrap();
        let Content::Blocks(blocks) = &req.messages[0].content else { panic!("blocks") };
        let ContentBlock::Text { text, .. } = &blocks[1] else { panic!("{blocks:?}") };
        assert!(in_body(literal(text), &body));
        assert_eq!((text.as_str(), serde_json::to_string(text).unwrap().as_str()), ("café", r#""caf\u00e9""#));
        // A clone shares the buffer too.
        assert!(in_body(literal(&text.clone()), &body));
        // Content given as an array is parsed from its text, which is in the body as well.
        let ContentBlock::ToolResult { content: Some(Content::Blocks(inner)), .. } = &blocks[0] else { panic!() };
        let ContentBlock::Text { text: inner, .. } = &inner[0] else { panic!("{inner:?}") };
        assert!(in_body(literal(inner), &body));
        assert_eq!(inner, "innerA");
        let Some(Content::Text(system)) = &req.system else { panic!("{:?}", req.system) };
        assert!(in_body(literal(system), &body));
        let tools: &[Tool] = req.tools.as_deref().unwrap();
        assert!(in_body(&tools[0].input_schema.as_ref().unwrap().0, &body));
        assert_eq!(
            serde_json::to_string(&req.tools).unwrap(),
            r#"[{"name":"f","description":"d","input_schema":{"type":"object"}}]"#
        );

        // Outside `parse_shared` (also after it), text is copied out as before.
        let t: Text = serde_json::from_str(r#""x""#).unwrap();
        assert!(matches!(literal(&t), RawText::Parsed(_)));
    }

    #[test]
    fn only_bodies_past_the_threshold_are_shared() {
        use crate::protocol::{from_json_shared, SHARED_PARSE_MIN};
        #[derive(serde::Deserialize)]
        struct Body {
            text: Text,
        }
        let body = |pad: usize| Bytes::from(format!(r#"{{"pad":"{}","text":"t"}}"#, "p".repeat(pad)));
        let small = body(10);
        assert!(small.len() < SHARED_PARSE_MIN);
        let b: Body = from_json_shared(&small).unwrap();
        assert!(matches!(literal(&b.text), RawText::Parsed(_)));
        let large = body(SHARED_PARSE_MIN);
        let b: Body = from_json_shared(&large).unwrap();
        assert!(in_body(literal(&b.text), &large));
        assert_eq!(b.text, "t");
    }

    #[test]
    fn a_shared_parse_fails_as_a_plain_one() {
        use crate::protocol::anthropic::MessagesRequest;
        for body in
            [&b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"[..], b"{\"model\":", b"[1]"]
        {
            let shared = super::parse_shared::<MessagesRequest>(&Bytes::copy_from_slice(body)).unwrap_err();
            let plain = serde_json::from_slice::<MessagesRequest>(body).unwrap_err();
            assert_eq!(shared.to_string(), plain.to_string());
        }
        // A failed parse leaves no source behind.
        let t: Text = serde_json::from_str(r#""x""#).unwrap();
        assert!(matches!(literal(&t), RawText::Parsed(_)));
    }

    #[test]
    fn a_literal_is_written_back_as_it_arrived() {
        let json = r#""line\none \"quoted\" \u00e9 \/""#;
        let t: Text = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), json);
        assert_eq!(t.as_str(), "line\none \"quoted\" é /");
        // Reading the text does not change what is written.
        assert_eq!(serde_json::to_string(&t.clone()).unwrap(), json);
        assert!(!t.is_empty());
        assert!(serde_json::from_str::<Text>(r#""""#).unwrap().is_empty());
        assert_eq!(t.into_string(), "line\none \"quoted\" é /");
    }

    #[test]
    fn plain_text_is_escaped_when_written() {
        let t = Text::new("a\"b\n");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""a\"b\n""#);
        assert_eq!(t, "a\"b\n");
    }

    #[test]
    fn only_strings_are_text() {
        let err = serde_json::from_str::<Text>("12").unwrap_err().to_string();
        assert!(err.contains("expected a string"), "{err}");
        assert!(serde_json::from_str::<Text>("{\"a\":1}").is_err());
        assert!(serde_json::from_str::<Text>("null").is_err());
        assert!(serde_json::from_str::<Text>("\"unterminated").is_err());
    }

    #[test]
    fn reads_from_a_value_tree_and_buffered_input() {
        let t: Text = serde_json::from_value(serde_json::json!("x\ny")).unwrap();
        assert_eq!(t, "x\ny");
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum E {
            T(Text),
        }
        let E::T(t) = serde_json::from_str::<E>(r#""a\tb""#).unwrap();
        assert_eq!(t, "a\tb");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""a\tb""#);
    }

    #[test]
    fn joins_literals_without_unescaping() {
        let a: Text = serde_json::from_str(r#""one\n""#).unwrap();
        let b: Text = serde_json::from_str(r#""two \"2\"""#).unwrap();
        let j = Text::join([&a, &b], "\n\n");
        assert_eq!(serde_json::to_string(&j).unwrap(), r#""one\n\n\ntwo \"2\"""#);
        assert_eq!(j, "one\n\n\ntwo \"2\"");
        let mixed = Text::join([&a, &Text::new("p\"")], "-");
        assert_eq!(mixed, "one\n-p\"");
        assert_eq!(serde_json::to_string(&mixed).unwrap(), r#""one\n-p\"""#);
        // A joined literal is written as made, into text or a tree alike.
        assert_eq!(serde_json::to_string(&[&j, &mixed]).unwrap(), r#"["one\n\n\ntwo \"2\"","one\n-p\""]"#);
        assert_eq!(serde_json::to_value(&mixed).unwrap(), serde_json::json!("one\n-p\""));
        assert_eq!(Text::join([], "x"), "");
        let e = b.prefixed("Error: ");
        assert_eq!(serde_json::to_string(&e).unwrap(), r#""Error: two \"2\"""#);
        assert_eq!(Text::new("x").prefixed("> "), "> x");
        assert_eq!(serde_json::to_string(&Text::join([&b], "x")).unwrap(), r#""two \"2\"""#);
    }

    #[test]
    fn long_strings_in_requests_cross_dialects_as_they_arrived() {
        use crate::protocol::anthropic::{Content, ContentBlock, MessagesRequest};
        use crate::protocol::openai_chat::{ChatContent, ChatRequest};
        let req: MessagesRequest = serde_json::from_str(
            r#"{"model":"m","system":"be \"brief\"\n","messages":[{"role":"user","content":[
                {"type":"tool_result","tool_use_id":"t","content":"line\u0041\n"},
                {"type":"tool_result","tool_use_id":"u","content":[{"type":"text","text":"x\ty"}]},
                {"type":"text","text":"\/"}]}]}"#,
        )
        .unwrap();
        let system = req.system.as_ref().unwrap().joined_text("");
        assert_eq!(system, "be \"brief\"\n");
        assert_eq!(serde_json::to_string(&system).unwrap(), r#""be \"brief\"\n""#);
        let Content::Blocks(blocks) = &req.messages[0].content else { panic!("blocks") };
        let ContentBlock::ToolResult { content: Some(Content::Text(t)), .. } = &blocks[0] else { panic!("{blocks:?}") };
        assert_eq!(serde_json::to_string(t).unwrap(), r#""line\u0041\n""#);
        assert_eq!(t, "lineA\n");
        let ContentBlock::ToolResult { content: Some(Content::Blocks(inner)), .. } = &blocks[1] else { panic!() };
        assert_eq!(inner, &vec![ContentBlock::text("x\ty")]);
        assert_eq!(serde_json::to_string(&blocks[2]).unwrap(), r#"{"type":"text","text":"\/"}"#);

        let chat: ChatRequest = serde_json::from_str(
            r#"{"model":"m","messages":[{"role":"user","content":"a\u00e9"},
                {"role":"user","content":[{"type":"text","text":"p"}]},{"role":"assistant","content":null}]}"#,
        )
        .unwrap();
        let Some(ChatContent::Text(t)) = &chat.messages[0].content else { panic!() };
        assert_eq!((t.as_str(), serde_json::to_string(t).unwrap().as_str()), ("aé", r#""a\u00e9""#));
        assert!(matches!(&chat.messages[1].content, Some(ChatContent::Parts(p)) if p.len() == 1));
        assert_eq!(chat.messages[2].content, None);
    }

    #[test]
    fn content_of_the_wrong_type_is_refused_with_what_was_expected() {
        use crate::protocol::anthropic::MessagesRequest;
        use crate::protocol::openai_chat::ChatRequest;
        let err = serde_json::from_str::<MessagesRequest>(r#"{"model":"m","messages":[],"system":5}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a string or an array of content blocks"), "{err}");
        let err = serde_json::from_str::<ChatRequest>(r#"{"model":"m","messages":[{"role":"user","content":{}}]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected a string or an array of content parts"), "{err}");
        let err = serde_json::from_str::<ChatRequest>(r#"{"model":"m","messages":[{"role":"user","content":[1]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid type: integer `1`, expected internally tagged enum ChatPart at line 1 column"),
            "{err}"
        );
        // Read from a tree (no JSON text to keep), the same values still decode.
        let req: MessagesRequest =
            serde_json::from_value(serde_json::json!({"model":"m","messages":[],"system":"s"})).unwrap();
        assert_eq!(req.system.unwrap().joined_text(""), "s");
    }
}
