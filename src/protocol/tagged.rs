//! Objects tagged by their `type` key, read without serde's buffering.
//!
//! serde's derived internally `tag`ged enums buffer each value into an intermediate
//! tree before choosing a variant; on a large request that doubles the parse. A
//! [`Tagged`] type reads `type` when it is the first key (as every SDK and this gateway
//! write it) and streams the other fields straight into the variant. An object with
//! `type` elsewhere is gathered first and read the same way.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

pub(crate) trait Tagged: Sized {
    /// What the object is, for type errors.
    const EXPECTING: &'static str;

    /// The value of type `kind`, from the object's other fields.
    fn build<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Self, D::Error>;

    /// The type of an object without a `type` key, when its other keys imply one.
    fn implied(_fields: &Map<String, Value>) -> Option<&'static str> {
        None
    }
}

/// `Deserialize` for [`Tagged`] types: each reads through [`deserialize`].
macro_rules! deserialize_tagged {
    ($($t:ty),+ $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::protocol::tagged::deserialize(d)
            }
        }
    )+};
}
pub(crate) use deserialize_tagged;

/// A string borrowed from the input when it can be (no escapes, a borrowing
/// deserializer), copied otherwise. serde's own `Cow<str>` always copies.
struct Str<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads a [`Tagged`] object (a `Deserialize` implementation's body).
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Tagged>(d: D) -> Result<T, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: Tagged> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let first = map.next_key::<Str<'de>>()?;
            if first.as_ref().map(|k| &*k.0) == Some("type") {
                let kind: Str<'de> = map.next_value()?;
                return T::build(&kind.0, MapAccessDeserializer::new(map));
            }
            let mut fields = Map::new();
            if let Some(first) = first {
                let value: Value = map.next_value()?;
                fields.insert(first.0.into_owned(), value);
            }
            while let Some((k, v)) = map.next_entry::<String, Value>()? {
                fields.insert(k, v);
            }
            let kind = match fields.remove("type") {
                Some(Value::String(kind)) => kind,
                None => T::implied(&fields).ok_or_else(|| de::Error::missing_field("type"))?.to_string(),
                Some(_) => return Err(de::Error::missing_field("type")),
            };
            // The gathered fields lend no raw text: `Text` and `RawJson` copy it out.
            super::text::unshared(|| T::build(&kind, Value::Object(fields))).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(V(PhantomData))
}
