//! A serde `Deserializer` over [`Scanner`], for the typed parse of request bodies that
//! are translated.
//!
//! Most of a large request is text kept as its JSON literal (`Text`, `RawJson`): the
//! parse only has to find where each string ends. serde_json finds it eight bytes at a
//! time in integer registers and restarts at every escape; the scanner compares sixteen
//! or 64 bytes at a time (see `json_scan`). Everything else is read as serde_json reads
//! it: the same visitor calls in the same order, numbers handed to serde_json itself, a
//! value's raw text lent through serde_json's own raw-value protocol (a one-entry map
//! keyed by its token), so every `Deserialize` implementation sees what it would see
//! from serde_json.
//!
//! Like the scanner, this reader accepts a subset of what serde_json accepts: anything
//! it does not handle (a number where a string is wanted, a struct written as an array,
//! an enum written as an object, nesting past 100 levels, any error) fails, and
//! [`parse`] then parses with serde_json, whose answer (value or error) is returned.

use super::json_scan::{Scanner, StrSpan};
use super::text::{RAW_TOKEN, STRING_OR_TOKEN};
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Visitor};
use serde_json::Error;

/// Containers nested deeper than this are left to serde_json (its own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Parses `text` as one JSON value of type `T`: with [`Deserializer`] when it can, with
/// serde_json otherwise (and for every error, so that errors keep serde_json's words and
/// position).
pub(crate) fn parse<'de, T: de::Deserialize<'de>>(text: &'de str) -> serde_json::Result<T> {
    match try_parse(text) {
        Some(value) => Ok(value),
        None => serde_json::from_str(text),
    }
}

/// `text` read as a `T` by [`Deserializer`], or `None` when it leaves the text to
/// serde_json.
pub(crate) fn try_parse<'de, T: de::Deserialize<'de>>(text: &'de str) -> Option<T> {
    let mut d = Deserializer { s: Scanner::new(text.as_bytes()), text, depth: 0, scratch: String::new() };
    let value = T::deserialize(&mut d).ok()?;
    d.s.at_end().then_some(value)
}

struct Deserializer<'de> {
    s: Scanner<'de>,
    text: &'de str,
    depth: u32,
    /// Unescaped strings handed to visitors, reused as serde_json reuses its own.
    scratch: String,
}

/// The error of every path this reader leaves to serde_json. Its words are never shown:
/// [`parse`] parses again with serde_json.
fn refused() -> Error {
    de::Error::custom("left to serde_json")
}

impl<'de> Deserializer<'de> {
    fn string(&mut self) -> Result<StrSpan, Error> {
        self.s.string().ok_or_else(refused)
    }

    /// The text of a span: the inside of a string or a value's raw text. Spans begin and
    /// end at ASCII bytes (quotes, brackets, digits), so they cut on character bounds.
    fn text(&self, range: std::ops::Range<usize>) -> Result<&'de str, Error> {
        self.text.get(range).ok_or_else(refused)
    }

    /// Hands a string to `v` as serde_json does: borrowed when it holds no escape,
    /// unescaped into the scratch buffer and lent otherwise.
    fn visit_string<V: Visitor<'de>>(&mut self, span: StrSpan, v: V) -> Result<V::Value, Error> {
        let inside = self.text(span.start..span.end)?;
        if !span.escaped {
            return v.visit_borrowed_str(inside);
        }
        unescape_into(inside, &mut self.scratch).ok_or_else(refused)?;
        v.visit_str(&self.scratch)
    }

    /// A scalar that is not a string (a number, `true`, `false`, `null`), read by
    /// serde_json's own method of the same name; strings and containers are refused, as
    /// serde_json refuses them for these methods.
    fn scalar(&mut self) -> Result<serde_json::Deserializer<serde_json::de::StrRead<'de>>, Error> {
        if matches!(self.s.peek(), None | Some(b'"' | b'{' | b'[')) {
            return Err(refused());
        }
        let range = self.s.raw_range().ok_or_else(refused)?;
        Ok(serde_json::Deserializer::from_str(self.text(range)?))
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(refused());
        }
        Ok(())
    }

    fn eat(&mut self, b: u8) -> Result<(), Error> {
        self.s.eat(b).ok_or_else(refused)
    }

    /// Steps to the next element or member of a container whose opening bracket was
    /// read: `false` at its closing one (`close`, left for the container to read).
    fn next_item(&mut self, close: u8, first: &mut bool) -> Result<bool, Error> {
        match self.s.peek() {
            Some(b) if b == close => return Ok(false),
            Some(b',') if !*first => self.eat(b',')?,
            _ if *first => {}
            _ => return Err(refused()),
        }
        *first = false;
        Ok(true)
    }
}

/// The text of a string's inside, whose escapes the scanner checked, written into
/// `out`. A `\u` escape of half a surrogate pair that is not followed by the other half
/// is refused, as serde_json refuses it in a string.
fn unescape_into(inside: &str, out: &mut String) -> Option<()> {
    out.clear();
    let bytes = inside.as_bytes();
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', bytes.get(at..)?) {
        // Escapes are ASCII, so every cut here falls between characters.
        out.push_str(inside.get(at..at + found)?);
        at += found + 2;
        let c = match bytes.get(at - 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = hex4(bytes.get(at..at + 4)?)?;
                at += 4;
                let code = match first {
                    0xD800..=0xDBFF => {
                        if bytes.get(at..at + 2)? != b"\\u" {
                            return None;
                        }
                        let second = hex4(bytes.get(at + 2..at + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return None;
                        }
                        at += 6;
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return None,
                    code => code,
                };
                char::from_u32(code)?
            }
            _ => return None,
        };
        out.push(c);
    }
    out.push_str(inside.get(at..)?);
    Some(())
}

/// Four hexadecimal digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

/// [`unescape_into`] into a new string.
pub(crate) fn unescape(inside: &str) -> Result<String, Error> {
    let mut out = String::new();
    unescape_into(inside, &mut out).ok_or_else(refused)?;
    Ok(out)
}

/// Methods of a member name's reader that read it as a string.
macro_rules! as_string {
    ($($method:ident),+ $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            self.visit(v)
        }
    )+};
}

/// Methods of a member name's reader that are left to serde_json: it reads integer
/// keys out of their quotes, and no name is a bool or a container.
macro_rules! refused {
    ($($method:ident),+ $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Error> {
            Err(refused())
        }
    )+};
}

/// serde_json's methods for scalars, by name.
macro_rules! scalars {
    ($($method:ident),+ $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            de::Deserializer::$method(&mut self.scalar()?, v)
        }
    )+};
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.s.peek() {
            Some(b'{') => self.deserialize_map(v),
            Some(b'[') => self.deserialize_seq(v),
            Some(b'"') => {
                let span = self.string()?;
                self.visit_string(span, v)
            }
            _ => de::Deserializer::deserialize_any(&mut self.scalar()?, v),
        }
    }

    scalars!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_unit,
    );

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let span = self.string()?;
        self.visit_string(span, v)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Error> {
        Err(refused())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Error> {
        Err(refused())
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if self.s.peek() == Some(b'n') {
            if self.s.raw_value() != Some(b"null") {
                return Err(refused());
            }
            return v.visit_none();
        }
        v.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, v: V) -> Result<V::Value, Error> {
        self.deserialize_unit(v)
    }

    /// serde_json's raw-value protocol for its own token: the value's text as the one
    /// entry of a map keyed by the token (what `RawValue` and `Text` read). For
    /// `text::string_or`'s token, the same for a string and the elements of an array,
    /// read in place instead of skipped and parsed again from their text.
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, v: V) -> Result<V::Value, Error> {
        if name == STRING_OR_TOKEN && self.s.peek() == Some(b'[') {
            return self.deserialize_seq(v);
        }
        if name != RAW_TOKEN && name != STRING_OR_TOKEN {
            return v.visit_newtype_struct(self);
        }
        let range = self.s.raw_range().ok_or_else(refused)?;
        v.visit_map(RawEntry { raw: Some(self.text(range)?), key_read: false })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.eat(b'[')?;
        self.enter()?;
        let value = v.visit_seq(Elements { d: self, first: true })?;
        self.depth -= 1;
        self.eat(b']')?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.eat(b'{')?;
        self.enter()?;
        let value = v.visit_map(Members { d: self, first: true })?;
        self.depth -= 1;
        self.eat(b'}')?;
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(v)
    }

    /// Unit variants, written as strings. An enum written as an object is left to
    /// serde_json.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let span = self.string()?;
        if !span.escaped {
            return v.visit_enum(BorrowedStrDeserializer::new(self.text(span.start..span.end)?));
        }
        v.visit_enum(StringDeserializer::new(unescape(self.text(span.start..span.end)?)?))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.s.skip_value().ok_or_else(refused)?;
        v.visit_unit()
    }
}

/// The elements of an array, after its `[`.
struct Elements<'a, 'de> {
    d: &'a mut Deserializer<'de>,
    first: bool,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if !self.d.next_item(b']', &mut self.first)? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.d).map(Some)
    }
}

/// The members of an object, after its `{`.
struct Members<'a, 'de> {
    d: &'a mut Deserializer<'de>,
    first: bool,
}

impl<'de> de::MapAccess<'de> for Members<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if !self.d.next_item(b'}', &mut self.first)? {
            return Ok(None);
        }
        let span = self.d.s.key().ok_or_else(refused)?;
        let key = if span.escaped {
            Key::Unescaped(unescape(self.d.text(span.start..span.end)?)?)
        } else {
            Key::Borrowed(self.d.text(span.start..span.end)?)
        };
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.d)
    }
}

/// An object's member name, read as serde_json reads one as a string, an identifier, an
/// option, a newtype or a unit variant.
enum Key<'de> {
    Borrowed(&'de str),
    Unescaped(String),
}

impl<'de> Key<'de> {
    fn visit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Key::Borrowed(s) => v.visit_borrowed_str(s),
            Key::Unescaped(s) => v.visit_str(&s),
        }
    }
}

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = Error;

    as_string!(deserialize_any, deserialize_str, deserialize_string, deserialize_identifier, deserialize_char,);

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, v: V) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self {
            Key::Borrowed(s) => v.visit_enum(BorrowedStrDeserializer::new(s)),
            Key::Unescaped(s) => v.visit_enum(StringDeserializer::new(s)),
        }
    }

    refused!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, _v: V) -> Result<V::Value, Error> {
        Err(refused())
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, _v: V) -> Result<V::Value, Error> {
        Err(refused())
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        _v: V,
    ) -> Result<V::Value, Error> {
        Err(refused())
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, Error> {
        Err(refused())
    }
}

/// The raw text of one value, as serde_json lends it: a map whose one key is the
/// raw-value token and whose value is the text.
struct RawEntry<'de> {
    raw: Option<&'de str>,
    key_read: bool,
}

impl<'de> de::MapAccess<'de> for RawEntry<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.key_read {
            return Ok(None);
        }
        self.key_read = true;
        seed.deserialize(BorrowedStrDeserializer::new(RAW_TOKEN)).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let raw = self.raw.take().ok_or_else(refused)?;
        seed.deserialize(BorrowedStrDeserializer::new(raw))
    }
}

#[cfg(test)]
#[path = "json_de_tests.rs"]
mod tests;
