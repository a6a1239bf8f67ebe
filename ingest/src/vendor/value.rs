//! Readers over a parsed [`serde_json::Value`], for decoders whose records vary in shape
//! between exports (Entra, CloudTrail, Auth0, Google Workspace): a field's JSON type
//! differs from one exporter to the next, wrappers nest the record, and Panther's exports
//! lowercase some keys.
//!
//! Every reader takes an `Option<&Value>` so lookups chain: `text(path(record, &["status",
//! "errorCode"]))`. A value of an unexpected type reads as absent; the `required_*` and
//! [`object`] readers are for the few fields whose wrong type is an error.

use super::{finite, number_in, whole};
use crate::decode::{meaningful, DecodeError, Decoded, Format};
use serde_json::Value;
use vigil_schemas::CompactString;

/// A key of a JSON object, matched exactly and then ignoring ASCII case (Panther's exports
/// write `calleripaddress`, `resulttype`, `correlationid`); `None` when `value` is not an
/// object.
pub(crate) fn field<'value>(value: &'value Value, name: &str) -> Option<&'value Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(name) {
        return Some(found);
    }
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, found)| found)
}

/// A nested key, one object level per name, each matched as [`field`] does.
pub(crate) fn path<'value>(value: &'value Value, names: &[&str]) -> Option<&'value Value> {
    names
        .iter()
        .try_fold(value, |current, name| field(current, name))
}

/// A string, trimmed, unless it is a placeholder (see [`crate::present`]); any other JSON
/// type reads as absent.
pub(crate) fn string(value: Option<&Value>) -> Option<&str> {
    meaningful(value?.as_str())
}

/// A scalar as text: a string as [`string`] reads it, or a number's JSON text (ids and
/// codes some exports write as numbers).
pub(crate) fn text(value: Option<&Value>) -> Option<CompactString> {
    match value? {
        Value::Number(number) => Some(CompactString::from(number.to_string())),
        other => string(Some(other)).map(CompactString::from),
    }
}

/// A finite number written as a JSON number or a numeric string (`"49.88"`).
pub(crate) fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(number) => finite(number.as_f64()?),
        Value::String(text) => number_in(text),
        _ => None,
    }
}

/// A whole number written as a JSON number or a numeric string (`"50126"`).
pub(crate) fn integer(value: Option<&Value>) -> Option<i64> {
    whole(number(value)?)
}

/// The member `key` of `object`, which must be a non-blank string; errors name the field
/// `{prefix}{key}`. The string is returned as written.
pub(crate) fn required_string<'value>(
    format: Format,
    object: &'value Value,
    prefix: &str,
    key: &str,
) -> Result<&'value str, DecodeError> {
    match field(object, key) {
        None | Some(Value::Null) => Err(DecodeError::missing(format, &format!("{prefix}{key}"))),
        Some(Value::String(text)) if text.trim().is_empty() => {
            Err(DecodeError::missing(format, &format!("{prefix}{key}")))
        }
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(DecodeError::invalid(
            format,
            &format!("{prefix}{key}"),
            "expected a string",
        )),
    }
}

/// The member `key` of `object` when it is an object; absent or `null` is `None`, any other
/// type an error naming the field `{prefix}{key}`.
pub(crate) fn object<'value>(
    format: Format,
    object: &'value Value,
    prefix: &str,
    key: &str,
) -> Result<Option<&'value Value>, DecodeError> {
    match field(object, key) {
        None | Some(Value::Null) => Ok(None),
        Some(member @ Value::Object(_)) => Ok(Some(member)),
        Some(_) => Err(DecodeError::invalid(
            format,
            &format!("{prefix}{key}"),
            "expected an object",
        )),
    }
}

/// Parses a record that must be a JSON object.
pub(crate) fn parse_object(format: Format, record: &[u8]) -> Result<Value, DecodeError> {
    let value: Value =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(format, &error))?;
    if !value.is_object() {
        return Err(not_an_object(format));
    }
    Ok(value)
}

/// The error for a record (or batch member) that is JSON but not an object: an array or a
/// number is no record of any format.
pub(crate) fn not_an_object(format: Format) -> DecodeError {
    DecodeError::invalid(format, "record", "not a JSON object")
}

/// Decodes every member of a vendor batch (an Event Hub `records` array, a CloudTrail
/// `Records` file, a Graph `value` page) on its own: a member that fails becomes an error
/// naming its place in the batch, and loses nothing else. An empty batch is skipped with
/// `empty`.
pub(crate) fn batch(
    format: Format,
    wrapper: &str,
    members: &[Value],
    empty: &'static str,
    decode_member: impl Fn(&Value) -> Result<Decoded, DecodeError>,
) -> Decoded {
    if members.is_empty() {
        return Decoded::Skipped(empty);
    }
    let decoded = members
        .iter()
        .enumerate()
        .map(|(index, member)| {
            decode_member(member).map_err(|error| {
                DecodeError::new(
                    format,
                    format!("member {index} of `{wrapper}`: {}", error.reason),
                )
            })
        })
        .collect();
    Decoded::Batch(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_matches_exactly_then_ignoring_case() {
        let record = json!({"resultType": 1, "resulttype": 2, "calleripaddress": "a", "nested": {"Inner": {"x": 3}}});
        assert_eq!(field(&record, "resultType"), Some(&json!(1)), "exact first");
        assert_eq!(field(&record, "callerIpAddress"), Some(&json!("a")));
        assert_eq!(field(&record, "absent"), None);
        assert_eq!(field(&json!([1]), "x"), None);
        assert_eq!(path(&record, &["nested", "inner", "X"]), Some(&json!(3)));
        assert_eq!(path(&record, &["nested", "missing", "x"]), None);
    }

    #[test]
    fn strings_and_text() {
        let record = json!({"name": " ann ", "dash": "-", "none": "NULL", "id": 42, "flag": true, "list": ["a"]});
        assert_eq!(string(field(&record, "name")), Some("ann"));
        assert_eq!(string(field(&record, "id")), None, "a number is no string");
        assert_eq!(text(field(&record, "id")).as_deref(), Some("42"));
        assert_eq!(text(field(&record, "name")).as_deref(), Some("ann"));
        for absent in ["dash", "none", "flag", "list", "missing"] {
            assert_eq!(text(field(&record, absent)), None, "{absent}");
        }
    }

    #[test]
    fn numbers_and_integers() {
        let record = json!({"float": 49.88, "text": " 49.88 ", "code": "50126", "whole": 50126.0, "big": 1e300, "word": "many", "flag": false});
        assert_eq!(number(field(&record, "float")), Some(49.88));
        assert_eq!(number(field(&record, "text")), Some(49.88));
        assert_eq!(integer(field(&record, "code")), Some(50126));
        assert_eq!(integer(field(&record, "whole")), Some(50126));
        assert_eq!(integer(field(&record, "float")), None);
        assert_eq!(integer(field(&record, "big")), None, "out of `i64` range");
        assert_eq!(number(field(&record, "word")), None);
        assert_eq!(number(field(&record, "flag")), None);
        assert_eq!(number(Some(&json!("NaN"))), None, "not finite");
    }

    #[test]
    fn required_strings_and_objects_name_the_field() {
        let record = json!({"type": "s", "blank": " ", "number": 7, "details": {"a": 1}, "text": "x", "nothing": null});
        assert_eq!(required_string(Format::Auth0, &record, "", "type"), Ok("s"));
        let missing = required_string(Format::Auth0, &record, "data.", "date").unwrap_err();
        assert_eq!(missing.reason, "missing field `data.date`");
        let blank = required_string(Format::Auth0, &record, "", "blank").unwrap_err();
        assert_eq!(blank.reason, "missing field `blank`");
        let wrong = required_string(Format::Gws, &record, "id.", "number").unwrap_err();
        assert_eq!(wrong.reason, "invalid field `id.number`: expected a string");
        assert_eq!(
            object(Format::Auth0, &record, "", "details"),
            Ok(record.get("details"))
        );
        assert_eq!(object(Format::Auth0, &record, "", "nothing"), Ok(None));
        assert_eq!(object(Format::Auth0, &record, "", "absent"), Ok(None));
        let error = object(Format::Auth0, &record, "json.", "text").unwrap_err();
        assert_eq!(
            error.reason,
            "invalid field `json.text`: expected an object"
        );
    }

    #[test]
    fn batch_members_decode_on_their_own() {
        let members = [json!({"ok": true}), json!({"skip": true}), json!(3)];
        let decode_member = |member: &Value| {
            if field(member, "skip").is_some() {
                return Ok(Decoded::Skipped("not of interest"));
            }
            if field(member, "ok").is_some() {
                return Ok(Decoded::Skipped("pretend event"));
            }
            Err(not_an_object(Format::Cloudtrail))
        };
        let Decoded::Batch(decoded) = batch(
            Format::Cloudtrail,
            "Records",
            &members,
            "empty",
            decode_member,
        ) else {
            panic!("expected a batch")
        };
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[1], Ok(Decoded::Skipped("not of interest")));
        let error = decoded[2].clone().unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to decode `cloudtrail` event: member 2 of `Records`: invalid field `record`: not a JSON object"
        );
        assert_eq!(
            batch(Format::Cloudtrail, "Records", &[], "empty", decode_member),
            Decoded::Skipped("empty")
        );
    }

    #[test]
    fn records_must_be_objects() {
        assert!(parse_object(Format::Entra, br#"{"a":1}"#).is_ok());
        let error = parse_object(Format::Entra, b"[1]").unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to decode `entra` event: invalid field `record`: not a JSON object"
        );
        let error = parse_object(Format::Entra, b"{").unwrap_err();
        assert!(error.reason.starts_with("malformed JSON"), "{error}");
    }
}
