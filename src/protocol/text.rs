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
    /// once someone asked: `None` when the literal holds no escape, so that the text is
    /// the literal's inside, lent without a copy.
    Literal {
        json: RawText,
        text: OnceLock<Option<String>>,
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

/// Puts back the body that was being parsed on this thread (that of an outer parse, or
/// none), even when the parse unwinds.
struct Restore(Option<ByteString>);

impl Drop for Restore {
    fn drop(&mut self) {
        let outer = self.0.take();
        SOURCE.with_borrow_mut(|s| *s = outer);
    }
}

/// Parses `body` (checked for UTF-8 first, whole) so that the JSON text kept by [`Text`]
/// and `RawJson` values is shared with the body instead of copied out of it: the text
/// of a large request is most of its bytes. The values keep the body's buffer alive.
/// The parse is `json_de`'s (which lends raw values as serde_json does); a body that is
/// not UTF-8 is parsed from its bytes, for serde_json's error.
pub(crate) fn parse_shared<T: de::DeserializeOwned>(body: &bytes::Bytes) -> serde_json::Result<T> {
    let Ok(source) = ByteString::try_from(body.clone()) else {
        return serde_json::from_slice(body);
    };
    let _restore = Restore(SOURCE.with_borrow_mut(|s| s.replace(source.clone())));
    super::json_de::parse(&source)
}

/// Runs `f` as if no body were being parsed on this thread. For values another
/// deserializer hands out (a `serde_json::Value` gathered first, see `tagged`): it lends
/// no raw text, so raw text is copied from it instead.
pub(crate) fn unshared<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Restore(SOURCE.with_borrow_mut(Option::take));
    f()
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

    /// A string a deserializer handed over unescaped (a message's `content` given as a
    /// string is read that way, see `anthropic_de`). When it holds nothing JSON escapes
    /// (quotes, backslashes, control characters) its literal is the text between
    /// quotes, made here with the one copy the text needs anyway: it is then written
    /// back as it is instead of through serde_json's escaping, a pass that costs about
    /// nine instructions a byte. Below [`LITERAL_MIN`] bytes it stays plain.
    pub fn read(v: &str) -> Text {
        if v.len() < LITERAL_MIN || needs_escape(v) {
            return Text::new(v);
        }
        let mut lit = String::with_capacity(v.len() + 2);
        lit.push('"');
        lit.push_str(v);
        lit.push('"');
        Text::literal_of(RawText::Built(lit.into_boxed_str()))
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
            Repr::Literal { json, text } => match text.into_inner() {
                Some(Some(text)) => text,
                Some(None) => inside(&json).to_string(),
                None => unescape(&json).unwrap_or_else(|| inside(&json).to_string()),
            },
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

/// Strings shorter than this are kept plain by [`Text::read`]. A literal costs about one
/// instruction a byte to check, plus fixed steps per string (the quotes, serde_json's
/// raw-value path when written); the escaping it saves costs about nine a byte. 32 bytes
/// is well past the point where the two meet: chosen, not measured.
const LITERAL_MIN: usize = 32;

/// Whether JSON escapes a character of `s`. Every byte is looked at (no early exit),
/// which the compiler turns into a vector loop.
fn needs_escape(s: &str) -> bool {
    s.bytes().fold(false, |esc, b| esc | (b < b' ') | (b == b'"') | (b == b'\\'))
}

/// Appends `s` JSON-escaped, without the quotes.
fn push_escaped_inside(out: &mut String, s: &str) {
    // Escaping a string cannot fail.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default());
}

/// A JSON string literal without its quotes.
fn inside(json: &RawText) -> &str {
    let lit = json.get();
    lit.get(1..lit.len().saturating_sub(1)).unwrap_or_default()
}

/// The text of a JSON string literal, or `None` when it has no escape (the text is
/// then the literal's inside). Literals come from the JSON parser (or from joining
/// such), so they decode; an empty string stands in if one ever did not.
fn unescape(json: &RawText) -> Option<String> {
    memchr::memchr(b'\\', inside(json).as_bytes()).map(|_| serde_json::from_str(json.get()).unwrap_or_default())
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            Repr::Plain(s) => s,
            Repr::Literal { json, text } => match text.get_or_init(|| unescape(json)) {
                Some(text) => text,
                None => inside(json),
            },
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
                Ok(Text::read(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::new(v))
            }
        }
        d.deserialize_newtype_struct(RAW_TOKEN, V)
    }
}

/// The newtype name [`string_or`] asks `json_de` for: a string is then lent as its raw
/// text (a map, as for [`RAW_TOKEN`]) and an array handed over as a sequence, read in
/// place. Any other deserializer treats it as a plain newtype.
pub(crate) const STRING_OR_TOKEN: &str = "$llm_relay::StringOrArray";

/// Reads a value that is mostly a long string but may be an array (message content: a
/// string or parts). A string keeps its literal (see [`Text`]). With `json_de` an
/// array is read in place as an `A`; with serde_json it is parsed from its text as an
/// `A`, a second pass over it. Other deserializers go through `F`.
pub(crate) fn string_or<'de, D, A, F, T>(d: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    A: de::DeserializeOwned,
    F: Deserialize<'de>,
    T: From<A> + From<F> + From<Text>,
{
    /// `json_de` answers [`STRING_OR_TOKEN`] with a map (a string's raw text) or a
    /// sequence (an array); every other deserializer with the newtype, which is then
    /// asked for its raw text (`raw_asked`): serde_json answers with a map, the others
    /// with the newtype again, read as an `F`.
    struct V<A, F, T> {
        expecting: &'static str,
        raw_asked: bool,
        types: std::marker::PhantomData<(A, F, T)>,
    }
    impl<'de, A, F, T> Visitor<'de> for V<A, F, T>
    where
        A: de::DeserializeOwned,
        F: Deserialize<'de>,
        T: From<A> + From<F> + From<Text>,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<T, M::Error> {
            let json = RawText::deserialize(de::value::MapAccessDeserializer::new(map))?;
            match json.get().as_bytes().first() {
                Some(b'"') => Ok(T::from(Text::literal_of(json))),
                Some(b'[') => super::json_de::parse::<A>(json.get()).map(T::from).map_err(|e| {
                    // The outer parser adds the position; this one's would be within the array.
                    let msg = e.to_string();
                    let cut = if e.line() > 0 { msg.rfind(" at line ") } else { None };
                    de::Error::custom(msg.get(..cut.unwrap_or(msg.len())).unwrap_or(&msg))
                }),
                _ => Err(de::Error::invalid_type(de::Unexpected::Other(kind_of(json.get())), &self)),
            }
        }
        fn visit_seq<S: de::SeqAccess<'de>>(self, seq: S) -> Result<T, S::Error> {
            A::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(T::from)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
            if self.raw_asked {
                return F::deserialize(d).map(T::from);
            }
            d.deserialize_newtype_struct(RAW_TOKEN, V::<A, F, T> { raw_asked: true, ..self })
        }
    }
    let v = V::<A, F, T> { expecting, raw_asked: false, types: std::marker::PhantomData };
    d.deserialize_newtype_struct(STRING_OR_TOKEN, v)
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
#[path = "text_tests.rs"]
mod tests;
