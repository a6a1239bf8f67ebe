//! Typed lenient readers, for decoders that know the shape of their records and read
//! them in one pass into borrowed structs (Okta, OCSF, and format detection).
//!
//! Each reader accepts any JSON value: a value of an unexpected type reads as absent
//! instead of failing the record, so one odd field never loses an event. Errors inside an
//! object that was read (a malformed nested value) still fail the record.

use super::{finite, number_in, whole};
use crate::decode::meaningful;
use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A text field read leniently: strings are kept (borrowed when they have no escapes),
/// numbers and booleans become their JSON text, and `null`, objects and arrays read as
/// absent.
#[derive(Debug, Default)]
pub(crate) struct LooseText<'a>(pub(crate) Option<Cow<'a, str>>);

impl LooseText<'_> {
    /// The trimmed text, unless absent or a placeholder vendors write for "no value"
    /// (`""`, `"null"`, `"-"`, `"unknown"`, in any case).
    pub(crate) fn get(&self) -> Option<&str> {
        meaningful(self.0.as_deref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LooseText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseTextVisitor {
            lifetime: PhantomData,
        })
    }
}

/// Reads any JSON value into a [`LooseText`].
struct LooseTextVisitor<'a> {
    /// Ties the visitor to the borrowed text's lifetime.
    lifetime: PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> Visitor<'de> for LooseTextVisitor<'a> {
    type Value = LooseText<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Borrowed(text))))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(text.to_string()))))
    }

    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(text))))
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Borrowed(if flag {
            "true"
        } else {
            "false"
        }))))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(number.to_string()))))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(number.to_string()))))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(number.to_string()))))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseText(None))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseText(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        LooseText::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseText(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseText(None))
    }
}

/// A number field read leniently: JSON numbers and numeric strings (`"49.88"`) are read,
/// anything else (and non-finite values) reads as absent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LooseNumber(pub(crate) Option<f64>);

impl LooseNumber {
    /// The value when it is a whole number that fits an `i64` (see [`whole`]).
    pub(crate) fn integer(self) -> Option<i64> {
        whole(self.0?)
    }

    /// The value as an autonomous system number (see [`super::asn`]).
    pub(crate) fn asn(self) -> Option<u32> {
        super::asn(self.integer()?)
    }
}

impl<'de> Deserialize<'de> for LooseNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseNumberVisitor)
    }
}

/// Reads any JSON value into a [`LooseNumber`].
struct LooseNumberVisitor;

impl<'de> Visitor<'de> for LooseNumberVisitor {
    type Value = LooseNumber;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_i64<E>(self, number: i64) -> Result<Self::Value, E> {
        Ok(LooseNumber(finite(number as f64)))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Self::Value, E> {
        Ok(LooseNumber(finite(number as f64)))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Self::Value, E> {
        Ok(LooseNumber(finite(number)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(LooseNumber(number_in(text)))
    }

    fn visit_bool<E>(self, _flag: bool) -> Result<Self::Value, E> {
        Ok(LooseNumber(None))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseNumber(None))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseNumber(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        LooseNumber::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseNumber(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseNumber(None))
    }
}

/// An object field read leniently: a JSON object is read as `T`, anything else (`null`, a
/// string, an array) reads as absent. Errors inside the object still fail the record.
#[derive(Debug)]
pub(crate) struct LooseObject<T>(pub(crate) Option<T>);

impl<T> Default for LooseObject<T> {
    fn default() -> Self {
        LooseObject(None)
    }
}

impl<T> LooseObject<T> {
    /// The object, when it was one.
    pub(crate) fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LooseObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseObjectVisitor { item: PhantomData })
    }
}

/// Reads any JSON value into a [`LooseObject`].
struct LooseObjectVisitor<T> {
    /// The object type.
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LooseObjectVisitor<T> {
    type Value = LooseObject<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|object| LooseObject(Some(object)))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        LooseObject::deserialize(deserializer)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_bool<E>(self, _flag: bool) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_i64<E>(self, _number: i64) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_u64<E>(self, _number: u64) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_f64<E>(self, _number: f64) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_str<E>(self, _text: &str) -> Result<Self::Value, E> {
        Ok(LooseObject(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseObject(None))
    }
}

/// An array of objects read leniently: elements that are not objects are dropped, and a
/// value that is not an array reads as empty.
#[derive(Debug)]
pub(crate) struct LooseList<T>(pub(crate) Vec<T>);

impl<T> Default for LooseList<T> {
    fn default() -> Self {
        LooseList(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LooseList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseListVisitor { item: PhantomData })
    }
}

/// Reads any JSON value into a [`LooseList`].
struct LooseListVisitor<T> {
    /// The element type.
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LooseListVisitor<T> {
    type Value = LooseList<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(element) = sequence.next_element::<LooseObject<T>>()? {
            if let Some(item) = element.0 {
                items.push(item);
            }
        }
        Ok(LooseList(items))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        LooseList::deserialize(deserializer)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_bool<E>(self, _flag: bool) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_i64<E>(self, _number: i64) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_u64<E>(self, _number: u64) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_f64<E>(self, _number: f64) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_str<E>(self, _text: &str) -> Result<Self::Value, E> {
        Ok(LooseList::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseList::default())
    }
}

/// The first element of an array read leniently as `T` when it is an object, the rest
/// skipped without being kept: enough to tell what a vendor batch holds. `array` says
/// whether the value was an array at all (an empty one has no `first`).
#[derive(Debug)]
pub(crate) struct LooseFirst<T> {
    /// Whether the value was an array.
    pub(crate) array: bool,
    /// Its first element, when that is an object.
    pub(crate) first: Option<T>,
}

impl<T> Default for LooseFirst<T> {
    fn default() -> Self {
        LooseFirst {
            array: false,
            first: None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LooseFirst<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseFirstVisitor { item: PhantomData })
    }
}

/// Reads any JSON value into a [`LooseFirst`].
struct LooseFirstVisitor<T> {
    /// The element type.
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LooseFirstVisitor<T> {
    type Value = LooseFirst<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        let first = sequence
            .next_element::<LooseObject<T>>()?
            .and_then(|element| element.0);
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseFirst { array: true, first })
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        LooseFirst::deserialize(deserializer)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_bool<E>(self, _flag: bool) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_i64<E>(self, _number: i64) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_u64<E>(self, _number: u64) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_f64<E>(self, _number: f64) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_str<E>(self, _text: &str) -> Result<Self::Value, E> {
        Ok(LooseFirst::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseFirst::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a record for the tests.
    #[derive(Deserialize, Default, Debug)]
    #[serde(default)]
    struct Probe<'a> {
        #[serde(borrow)]
        text: LooseText<'a>,
        number: LooseNumber,
        object: LooseObject<Inner<'a>>,
        list: LooseList<Inner<'a>>,
        first: LooseFirst<Inner<'a>>,
    }

    /// A nested object for the tests.
    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Inner<'a> {
        #[serde(borrow)]
        name: Option<Cow<'a, str>>,
    }

    fn probe(json: &str) -> Probe<'_> {
        serde_json::from_str(json).expect("probe parses")
    }

    #[test]
    fn text_reads_scalars_and_drops_placeholders() {
        assert_eq!(probe(r#"{"text":" alice "}"#).text.get(), Some("alice"));
        assert!(matches!(
            probe(r#"{"text":"plain"}"#).text.0,
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(probe(r#"{"text":"a\"b"}"#).text.get(), Some("a\"b"));
        assert_eq!(probe(r#"{"text":42}"#).text.get(), Some("42"));
        assert_eq!(probe(r#"{"text":true}"#).text.get(), Some("true"));
        for absent in [
            r#""NULL""#,
            r#""-""#,
            r#""unknown""#,
            r#""  ""#,
            "null",
            "[1]",
            r#"{"a":1}"#,
        ] {
            assert_eq!(
                probe(&format!(r#"{{"text":{absent}}}"#)).text.get(),
                None,
                "{absent}"
            );
        }
    }

    #[test]
    fn number_reads_numbers_and_numeric_strings() {
        assert_eq!(probe(r#"{"number":49.88}"#).number.0, Some(49.88));
        assert_eq!(probe(r#"{"number":" 49.88 "}"#).number.0, Some(49.88));
        assert_eq!(probe(r#"{"number":"3301"}"#).number.asn(), Some(3301));
        assert_eq!(probe(r#"{"number":3301.0}"#).number.integer(), Some(3301));
        assert_eq!(probe(r#"{"number":3301.5}"#).number.integer(), None);
        assert_eq!(
            probe(r#"{"number":0}"#).number.asn(),
            None,
            "AS 0 is reserved"
        );
        for absent in [
            r#""NaN""#,
            r#""inf""#,
            r#""x""#,
            "true",
            "null",
            "[1]",
            r#"{"a":1}"#,
        ] {
            assert_eq!(
                probe(&format!(r#"{{"number":{absent}}}"#)).number.0,
                None,
                "{absent}"
            );
        }
    }

    #[test]
    fn objects_lists_and_first_elements() {
        let read = probe(
            r#"{"object":{"name":"o"},"list":[{"name":"a"},"junk",null,{"name":"b"}],"first":[{"name":"f"},7]}"#,
        );
        assert_eq!(
            read.object.get().and_then(|inner| inner.name.as_deref()),
            Some("o")
        );
        let names: Vec<_> = read
            .list
            .0
            .iter()
            .filter_map(|inner| inner.name.as_deref())
            .collect();
        assert_eq!(names, ["a", "b"], "non-objects dropped");
        assert!(read.first.array);
        assert_eq!(
            read.first.first.and_then(|inner| inner.name).as_deref(),
            Some("f")
        );
        let odd = probe(r#"{"object":"text","list":{"name":"a"},"first":{"name":"f"}}"#);
        assert!(odd.object.get().is_none() && odd.list.0.is_empty());
        assert!(!odd.first.array && odd.first.first.is_none());
        let empty = probe(r#"{"first":[]}"#);
        assert!(empty.first.array && empty.first.first.is_none());
        let junk_first = probe(r#"{"first":[3,{"name":"second"}]}"#);
        assert!(junk_first.first.array && junk_first.first.first.is_none());
    }

    #[test]
    fn errors_inside_a_read_object_still_fail() {
        let broken: Result<Probe<'_>, _> = serde_json::from_str(r#"{"object":{"name":7}}"#);
        assert!(broken.is_err());
    }
}
