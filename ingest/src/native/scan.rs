//! The fast path of the native decoder: the common record (one flat object, strings
//! without escapes, plain numbers, a flat `geo` object) read in one pass over its bytes,
//! every string borrowed from the record, without serde's per-field machinery.
//!
//! It answers only when it is sure to read the record exactly as `serde_json` into
//! [`NativeRecord`] would; anything else (an escape, a nested value of an unknown field,
//! a duplicate field, posture `checks`, a number in an unusual form, a syntax error) gives
//! `None` and the record goes through serde, which also words the errors.

use super::{NativeRecord, Text};
use vigil_schemas::{CompactString, Geo, IdentityType, Outcome};

/// Reads `text` (valid UTF-8) as a native record, or `None` when serde must.
pub(super) fn scan(text: &str) -> Option<NativeRecord<'_>> {
    let mut cursor = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut record = NativeRecord::default();
    let mut seen = 0u32;
    cursor.open()?;
    if !cursor.close() {
        loop {
            let key = cursor.key()?;
            let field = Field::of(key);
            if let Some(field) = field {
                let bit = 1u32 << field as u32;
                if seen & bit != 0 {
                    return None; // serde's "duplicate field" error
                }
                seen |= bit;
            }
            cursor.space();
            match field {
                None => cursor.skip_scalar()?,
                Some(field) => read_field(&mut cursor, &mut record, field)?,
            }
            if !cursor.next_member()? {
                break;
            }
        }
    }
    cursor.space();
    (cursor.at == cursor.bytes.len()).then_some(record)
}

/// The fields of [`NativeRecord`], by the bit that marks them seen.
#[derive(Clone, Copy)]
enum Field {
    Kind,
    Time,
    Identity,
    IdentityType,
    SessionId,
    DeviceId,
    Ip,
    Geo,
    Asn,
    UserAgent,
    App,
    EventId,
    Action,
    Outcome,
    Factor,
    Reason,
    Compliant,
    Checks,
    Resource,
    Bytes,
    Status,
    Tool,
    OnBehalfOf,
}

impl Field {
    fn of(key: &str) -> Option<Field> {
        Some(match key {
            "kind" => Field::Kind,
            "time" => Field::Time,
            "identity" => Field::Identity,
            "identity_type" => Field::IdentityType,
            "session_id" => Field::SessionId,
            "device_id" => Field::DeviceId,
            "ip" => Field::Ip,
            "geo" => Field::Geo,
            "asn" => Field::Asn,
            "user_agent" => Field::UserAgent,
            "app" => Field::App,
            "event_id" => Field::EventId,
            "action" => Field::Action,
            "outcome" => Field::Outcome,
            "factor" => Field::Factor,
            "reason" => Field::Reason,
            "compliant" => Field::Compliant,
            "checks" => Field::Checks,
            "resource" => Field::Resource,
            "bytes" => Field::Bytes,
            "status" => Field::Status,
            "tool" => Field::Tool,
            "on_behalf_of" => Field::OnBehalfOf,
            _ => return None,
        })
    }
}

fn read_field<'a>(
    cursor: &mut Cursor<'a>,
    record: &mut NativeRecord<'a>,
    field: Field,
) -> Option<()> {
    if cursor.null() {
        return Some(()); // `Option` fields take `null` as absent
    }
    let text = |cursor: &mut Cursor<'a>| cursor.string().map(|text| Some(Text::Borrowed(text)));
    match field {
        Field::Kind => record.kind = text(cursor)?,
        Field::Time => record.time = text(cursor)?,
        Field::Identity => record.identity = text(cursor)?,
        Field::SessionId => record.session_id = text(cursor)?,
        Field::DeviceId => record.device_id = text(cursor)?,
        Field::Ip => record.ip = text(cursor)?,
        Field::UserAgent => record.user_agent = text(cursor)?,
        Field::App => record.app = text(cursor)?,
        Field::EventId => record.event_id = text(cursor)?,
        Field::Action => record.action = text(cursor)?,
        Field::Factor => record.factor = text(cursor)?,
        Field::Reason => record.reason = text(cursor)?,
        Field::Resource => record.resource = text(cursor)?,
        Field::Tool => record.tool = text(cursor)?,
        Field::OnBehalfOf => record.on_behalf_of = text(cursor)?,
        Field::IdentityType => {
            record.identity_type = Some(match cursor.string()? {
                "user" => IdentityType::User,
                "service" => IdentityType::Service,
                "agent" => IdentityType::Agent,
                _ => return None,
            })
        }
        Field::Outcome => {
            record.outcome = Some(match cursor.string()? {
                "success" => Outcome::Success,
                "failure" => Outcome::Failure,
                "denied" => Outcome::Denied,
                "timeout" => Outcome::Timeout,
                _ => return None,
            })
        }
        Field::Asn => record.asn = Some(cursor.unsigned()?.try_into().ok()?),
        Field::Bytes => record.bytes = Some(cursor.unsigned()?),
        Field::Status => record.status = Some(cursor.unsigned()?.try_into().ok()?),
        Field::Compliant => record.compliant = Some(cursor.boolean()?),
        Field::Geo => record.geo = Some(geo(cursor)?),
        Field::Checks => return None,
    }
    Some(())
}

/// A flat `geo` object.
fn geo(cursor: &mut Cursor<'_>) -> Option<Geo> {
    let mut geo = Geo::default();
    let mut seen = 0u8;
    cursor.open()?;
    if cursor.close() {
        return Some(geo);
    }
    loop {
        let key = cursor.key()?;
        let bit = match key {
            "lat" => 1,
            "lon" => 2,
            "country" => 4,
            "city" => 8,
            "accuracy_km" => 16,
            _ => 0,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        cursor.space();
        if bit == 0 {
            cursor.skip_scalar()?;
        } else if !cursor.null() {
            match bit {
                1 => geo.lat = Some(cursor.float()?),
                2 => geo.lon = Some(cursor.float()?),
                4 => geo.country = Some(CompactString::from(cursor.string()?)),
                8 => geo.city = Some(CompactString::from(cursor.string()?)),
                _ => geo.accuracy_km = Some(cursor.float()?),
            }
        }
        if !cursor.next_member()? {
            return Some(geo);
        }
    }
}

/// The first quote, backslash or control character at or after `at`: eight bytes at a
/// time (the strings of a record are mostly short, too short for a vector search to pay
/// for its setup). In each test below a byte can be flagged wrongly only above a byte
/// rightly flagged, so the lowest flag is the first such byte.
fn stop(bytes: &[u8], mut at: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = bytes.get(at..)?;
    rest.iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .map(|offset| at + offset)
}

struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Past JSON whitespace.
    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Past `byte` after whitespace, if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        let found = self.bytes.get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }

    fn open(&mut self) -> Option<()> {
        self.eat(b'{').then_some(())
    }

    fn close(&mut self) -> bool {
        self.eat(b'}')
    }

    /// A member's key and its colon.
    fn key(&mut self) -> Option<&'a str> {
        self.space();
        let key = self.string()?;
        self.eat(b':').then_some(key)
    }

    /// After a member: `true` at a comma (another member follows), `false` at the
    /// closing brace.
    fn next_member(&mut self) -> Option<bool> {
        if self.eat(b',') {
            Some(true)
        } else {
            self.close().then_some(false)
        }
    }

    fn word(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    fn null(&mut self) -> bool {
        self.word(b"null")
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.word(b"true") {
            Some(true)
        } else if self.word(b"false") {
            Some(false)
        } else {
            None
        }
    }

    /// A string with neither escapes nor control characters, borrowed; the cursor is on
    /// its opening quote.
    fn string(&mut self) -> Option<&'a str> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let end = stop(self.bytes, start)?;
        if self.bytes[end] != b'"' {
            return None; // an escape or a control character
        }
        self.at = end + 1;
        // Both ends are next to an ASCII quote, so on character boundaries.
        self.text.get(start..end)
    }

    /// The text of a number of JSON's grammar.
    fn number(&mut self) -> Option<&'a str> {
        let bytes = self.bytes;
        let start = self.at;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        at += usize::from(bytes.get(at) == Some(&b'-'));
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                digits(&mut at);
            }
            _ => return None,
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            at += usize::from(matches!(bytes.get(at), Some(b'+' | b'-')));
            if !digits(&mut at) {
                return None;
            }
        }
        self.at = at;
        self.text.get(start..at)
    }

    /// A non-negative integer in plain digits.
    fn unsigned(&mut self) -> Option<u64> {
        let number = self.number()?;
        if !number.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        number.parse().ok()
    }

    /// A number as `serde_json` reads it into an `f64`: short decimals (at most 15
    /// digits, no exponent, not a negative integer, which serde reads as -0.0 or an
    /// `i64`) are exact in both; the rest is read by `serde_json` itself.
    fn float(&mut self) -> Option<f64> {
        let number = self.number()?;
        let digits = number.bytes().filter(u8::is_ascii_digit).count();
        let plain = digits <= 15
            && !number.contains(['e', 'E'])
            && (number.contains('.') || !number.starts_with('-'));
        if plain {
            number.parse().ok()
        } else {
            serde_json::from_str(number).ok()
        }
    }

    /// Past the value of a field the record does not read: a scalar only (a nested
    /// value is left to serde).
    fn skip_scalar(&mut self) -> Option<()> {
        match self.bytes.get(self.at)? {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => (self.null() || self.boolean().is_some()).then_some(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::event;
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "kind",
        "time",
        "identity",
        "identity_type",
        "session_id",
        "device_id",
        "ip",
        "asn",
        "user_agent",
        "app",
        "event_id",
        "action",
        "outcome",
        "factor",
        "reason",
        "compliant",
        "resource",
        "bytes",
        "status",
        "tool",
        "on_behalf_of",
        "geo",
        "checks",
        "extra",
        "Kind",
    ];
    const GEO_KEYS: &[&str] = &["lat", "lon", "country", "city", "accuracy_km", "region"];
    const VALUES: &[&str] = &[
        r#""auth""#,
        r#""access""#,
        r#""posture""#,
        r#""login""#,
        r#""mfa""#,
        r#""success""#,
        r#""denied""#,
        r#""user""#,
        r#""agent""#,
        r#""robot""#,
        r#""2026-03-01T09:00:00Z""#,
        r#""81.2.69.142""#,
        r#""""#,
        r#""a\u0041""#,
        "\"tab\there\"",
        r#""é ü""#,
        r#""DE""#,
        r#""https://mail.example.com/inbox""#,
        "0",
        "7",
        "-0",
        "-7",
        "1.5",
        "52.52",
        "-0.1275",
        "1e3",
        "2E-2",
        "4294967296",
        "65536",
        "123456789012345678",
        "0.1000000000000000055511151231257827",
        "-0.0",
        "01",
        "1.",
        ".5",
        "null",
        "true",
        "false",
        "nul",
        "{}",
        "[]",
        "[1,2]",
        r#"{"lat":1}"#,
        r#"{"edr_running":true}"#,
    ];
    const SPACES: &[&str] = &["", "", "", " ", "\n", "\t "];

    fn object(keys: &'static [&'static str], nested: bool) -> BoxedStrategy<String> {
        let value = if nested {
            prop_oneof![
                4 => prop::sample::select(VALUES).prop_map(str::to_string),
                1 => object(GEO_KEYS, false),
            ]
            .boxed()
        } else {
            prop::sample::select(VALUES)
                .prop_map(str::to_string)
                .boxed()
        };
        let member = (
            prop::sample::select(keys),
            value,
            prop::sample::select(SPACES),
        );
        prop::collection::vec(member, 0..10)
            .prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(key, value, space)| format!("{space}\"{key}\"{space}:{space}{value}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            })
            .boxed()
    }

    fn records() -> impl Strategy<Value = String> {
        (
            object(KEYS, true),
            prop::sample::select(&["", " ", "\n", "x", "}", ","][..]),
        )
            .prop_map(|(object, tail)| format!("{object}{tail}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Whenever the fast path answers, serde reads the record and the event (or the
        /// error) is the same.
        #[test]
        fn the_fast_path_reads_as_serde_does(text in records()) {
            if let Some(fast) = scan(&text) {
                let slow: NativeRecord<'_> = serde_json::from_str(&text)
                    .map_err(|error| TestCaseError::fail(format!("serde refused {text}: {error}")))?;
                prop_assert_eq!(format!("{:?}", event(fast)), format!("{:?}", event(slow)), "{}", text);
            }
        }
    }

    proptest! {
        /// The word-at-a-time search finds what a byte-at-a-time one finds.
        #[test]
        fn stop_finds_the_first_quote_backslash_or_control(
            bytes in prop::collection::vec(prop_oneof![any::<u8>(), Just(b'a'), Just(0xC3u8)], 0..40),
            at in 0usize..40,
        ) {
            let naive = bytes
                .iter()
                .enumerate()
                .skip(at)
                .find(|(_, &byte)| byte == b'"' || byte == b'\\' || byte < 0x20)
                .map(|(index, _)| index);
            let expected = if at > bytes.len() { None } else { naive };
            prop_assert_eq!(stop(&bytes, at), expected);
        }
    }

    #[test]
    fn common_records_take_the_fast_path() {
        for text in [
            r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"alice@example.com","identity_type":"user","action":"mfa","outcome":"denied","session_id":"s1","device_id":"d1","ip":"81.2.69.142","geo":{"lat":51.5,"lon":-0.1,"country":"GB","city":"London","accuracy_km":10},"asn":1234,"user_agent":"ua","app":"okta","factor":"push","extra":"ignored"}"#,
            r#" { "kind": "access", "time": "2026-03-01T09:00:00Z", "identity": "bot", "resource": "https://x/y", "bytes": 20000, "status": 200, "tool": "search", "on_behalf_of": null } "#,
        ] {
            let fast = scan(text).expect("fast path");
            let slow: NativeRecord<'_> = serde_json::from_str(text).expect("serde");
            assert_eq!(format!("{:?}", event(fast)), format!("{:?}", event(slow)));
        }
        for text in [
            r#"{"kind":"auth","identity":"a\"b"}"#,
            r#"{"kind":"auth","kind":"auth"}"#,
            r#"{"kind":"posture","checks":{"edr_running":true}}"#,
            r#"{"kind":"auth","geo":{"lat":1e2}}x"#,
        ] {
            assert!(scan(text).is_none(), "{text}");
        }
    }
}
