//! The per-SET checks of the OpenID SSF conformance suite (transmitter test plans, summarised
//! in `shared/data/caep-ssf/CONFORMANCE_CHECKLIST.md`), written as our own code from the
//! specifications: RFC 8417 (SETs), RFC 9493 (subject identifiers), OpenID SSF 1.0, OpenID
//! CAEP 1.0 and the CAEP Interoperability Profile.
//!
//! [`check_set`] runs every check on one compact JWS and reports every failure, not just
//! the first one. Each message starts with the name of the check, then `": "` and what was
//! wrong, so tests can match on the name ([`failed_checks`]).
//!
//! Errors (the SET fails):
//! - `compact`: not three base64url parts whose first two are JSON objects (nothing else
//!   is checked then);
//! - `typ`: the JOSE header `typ` does not name `application/secevent+jwt` (case-insensitive,
//!   `application/` may be left out);
//! - `alg`: not RS256 under the CAEP interoperability profile, else not RS256 or ES256;
//! - `signature`: does not verify against the JWK Set by `kid` and `alg`;
//! - `key_size`: the RSA key that signed it has a modulus under 2048 bits (RFC 7518 3.3
//!   asks this of every RS256 key, the interoperability profile again, so it applies with
//!   and without `caep_interop`);
//! - `events`, `single_event`, `event_object`: `events` missing or not an object, not
//!   exactly one event, an event value not an object;
//! - `exp`, `sub`: the claim is present;
//! - `iat`: missing, not an integer, or more than [`CLOCK_SKEW_SECS`] in the future;
//! - `iss`, `aud`, `jti`, `txn`: issuer differs, audience missing or malformed or not naming
//!   ours, `jti` not a non-empty string, `txn` present but not a string;
//! - `sub_id`: missing or not a well-formed subject identifier (RFC 9493 and the SSF formats;
//!   complex subjects are objects of simple ones);
//! - `subject_format`: with `caep_interop`, a CAEP event whose subject is not `email` or
//!   `iss_sub` (a complex subject only when its `user` is not `email` or `iss_sub`); always,
//!   an SSF verification or stream-updated event whose subject is not `opaque`;
//! - `reason_admin_present`: with `caep_interop`, a CAEP event without a non-empty
//!   `reason_admin`;
//! - `event_timestamp`, `initiating_entity`, `reason_admin`, `reason_user`: the common
//!   optional CAEP members, when present, malformed (`event_timestamp` a non-negative JSON
//!   integer of seconds, below 1e11 so not milliseconds);
//! - `session_revoked`, `token_claims_change`, `credential_change`, `assurance_level_change`,
//!   `device_compliance_change`, `session_established`, `session_presented`,
//!   `risk_level_change`, `verification`, `stream_updated`: the members of that event type.
//!
//! Warnings (in [`Checked::warnings`]; the SET passes): `typ_form` (not the preferred
//! `secevent+jwt` spelling), `txn_missing`, `complex_subject` (interop), `sub_id_format`
//! (a proprietary format, or a phone number not in strict E.164), `sub_id_unknown_members`,
//! `event_timestamp_future`, `event_timestamp_implausible` (before 2024), `unknown_members`,
//! `unknown_event_type` (under the CAEP prefix but not a CAEP 1.0 type),
//! `change_direction_missing`, `risk_reason_missing`, `credential_type_nonstandard`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What a receiver expects of every SET on one stream.
pub struct Expect<'a> {
    /// The transmitter's JWK Set (what its `jwks_uri` serves).
    pub jwks: &'a Value,
    /// The stream's `iss`.
    pub issuer: &'a str,
    /// The stream's audience: `aud` must name it.
    pub audience: &'a str,
    /// The CAEP interoperability profile: RS256 with keys of 2048 bits or more, `email` or
    /// `iss_sub` subjects on CAEP events, `reason_admin` on CAEP events.
    pub caep_interop: bool,
}

/// A SET that passed every check: its header and claims.
pub struct Checked {
    /// The JOSE header.
    pub header: Value,
    /// The verified claims.
    pub claims: Value,
    /// The one event's type URI.
    pub event_type: String,
    /// The one event's members.
    pub event: Value,
    /// What the suite reports as warnings.
    pub warnings: Vec<String>,
}

/// How far in the future `iat` may be (receiver clock skew).
pub const CLOCK_SKEW_SECS: i64 = 5;

/// How far in the future an `event_timestamp` may be before it is warned about.
pub const EVENT_TIMESTAMP_SKEW_SECS: i64 = 300;

/// `event_timestamp`s before this (2024-01-01T00:00:00Z) are warned about as implausible
/// for a live stream (placeholders, wrong units).
pub const EARLIEST_PLAUSIBLE_EVENT_TIMESTAMP: i64 = 1_704_067_200;

/// `event_timestamp`s at or above this are milliseconds, not seconds (the year 5138).
pub const MILLISECONDS_THRESHOLD: i64 = 100_000_000_000;

/// Base URI of the CAEP event types.
pub const CAEP_PREFIX: &str = "https://schemas.openid.net/secevent/caep/event-type/";
/// The SSF verification event.
pub const SSF_VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The SSF stream-updated event.
pub const SSF_STREAM_UPDATED: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";

/// Members every CAEP event may carry (CAEP 1.0 section 2).
const CAEP_COMMON_MEMBERS: [&str; 4] = [
    "event_timestamp",
    "initiating_entity",
    "reason_admin",
    "reason_user",
];

/// The names of the checks that failed (the part of each message before `": "`).
pub fn failed_checks(messages: &[String]) -> BTreeSet<String> {
    messages
        .iter()
        .map(|message| message.split(": ").next().unwrap_or_default().to_string())
        .collect()
}

/// Errors and warnings as the checks find them.
#[derive(Default)]
struct Findings {
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Findings {
    fn error(&mut self, check: &str, detail: impl std::fmt::Display) {
        self.errors.push(format!("{check}: {detail}"));
    }

    fn warn(&mut self, check: &str, detail: impl std::fmt::Display) {
        self.warnings.push(format!("{check}: {detail}"));
    }
}

/// A non-empty JSON string.
fn non_empty_str(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

/// Checks one compact JWS SET; Err lists every failed check by name.
pub fn check_set(token: &str, expect: &Expect, now_secs: i64) -> Result<Checked, Vec<String>> {
    let mut found = Findings::default();
    let Some((header, claims)) = decode(token) else {
        return Err(vec![
            "compact: not three base64url parts with a JSON object header and claims".to_string(),
        ]);
    };
    check_header(&header, expect, &mut found);
    check_signature(token, &header, &claims, expect, &mut found);
    let event = check_claims(&claims, expect, now_secs, &mut found);
    match event {
        Some((event_type, event)) if found.errors.is_empty() => Ok(Checked {
            header,
            claims,
            event_type,
            event,
            warnings: found.warnings,
        }),
        _ => Err(found.errors),
    }
}

/// The header and claims of a compact JWS, unverified.
fn decode(token: &str) -> Option<(Value, Value)> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return None;
    };
    let object = |part: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    };
    URL_SAFE_NO_PAD.decode(signature).ok()?;
    Some((object(header)?, object(claims)?))
}

/// `typ` and `alg`.
fn check_header(header: &Value, expect: &Expect, found: &mut Findings) {
    match header.get("typ").and_then(Value::as_str) {
        None => found.error(
            "typ",
            "the JOSE header has no string `typ` (explicit typing)",
        ),
        Some(typ) => {
            let lower = typ.to_ascii_lowercase();
            let media = lower.strip_prefix("application/").unwrap_or(&lower);
            if media != "secevent+jwt" {
                found.error(
                    "typ",
                    format!("`{typ}` is not the media type application/secevent+jwt"),
                );
            } else if typ != "secevent+jwt" {
                found.warn(
                    "typ_form",
                    format!("`{typ}`: RFC 8417 recommends the short form `secevent+jwt`"),
                );
            }
        }
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if expect.caep_interop {
        if alg != "RS256" {
            found.error(
                "alg",
                format!("`{alg}`: the CAEP interoperability profile requires RS256"),
            );
        }
    } else if !matches!(alg, "RS256" | "ES256") {
        found.error("alg", format!("`{alg}` is neither RS256 nor ES256"));
    }
}

/// The signature against the JWK Set, and the size of the RSA key that made it.
fn check_signature(
    token: &str,
    header: &Value,
    claims: &Value,
    expect: &Expect,
    found: &mut Findings,
) {
    match vigil_sinks::caep::verify(token, expect.jwks) {
        Ok(verified) => {
            if &verified != claims {
                found.error("signature", "the verified claims differ from the token's");
            }
        }
        Err(error) => found.error("signature", error),
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if alg != "RS256" {
        return;
    }
    let key = expect
        .jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|keys| {
            keys.iter().find(|key| {
                key.get("kid").and_then(Value::as_str) == Some(kid)
                    && key.get("alg").and_then(Value::as_str) == Some(alg)
            })
        });
    // Without a key the signature check has already failed.
    let Some(key) = key else { return };
    let modulus = key
        .get("n")
        .and_then(Value::as_str)
        .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok());
    match modulus {
        None => found.error("key_size", format!("key `{kid}` has no base64url `n`")),
        Some(bytes) => {
            let bits = modulus_bits(&bytes);
            if bits < 2048 {
                found.error(
                    "key_size",
                    format!("key `{kid}` is a {bits}-bit RSA key: RS256 needs at least 2048"),
                );
            }
        }
    }
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(bytes: &[u8]) -> usize {
    let significant: &[u8] = match bytes.iter().position(|&byte| byte != 0) {
        Some(first) => &bytes[first..],
        None => &[],
    };
    match significant.first() {
        None => 0,
        Some(&top) => (significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// The claims; the one event when `events` holds exactly one object.
fn check_claims(
    claims: &Value,
    expect: &Expect,
    now_secs: i64,
    found: &mut Findings,
) -> Option<(String, Value)> {
    if claims.get("exp").is_some() {
        found.error("exp", "SSF SETs must not carry `exp`");
    }
    if claims.get("sub").is_some() {
        found.error(
            "sub",
            "SSF SETs must not carry `sub` (the subject is `sub_id`)",
        );
    }
    match claims.get("iat") {
        None => found.error("iat", "missing"),
        Some(iat) => match iat.as_i64() {
            None => found.error("iat", format!("{iat} is not an integer")),
            Some(iat) if iat > now_secs + CLOCK_SKEW_SECS => found.error(
                "iat",
                format!("{iat} is in the future (now {now_secs}, {CLOCK_SKEW_SECS} s skew)"),
            ),
            Some(_) => {}
        },
    }
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == expect.issuer => {}
        Some(iss) => found.error(
            "iss",
            format!("`{iss}` is not the stream's issuer `{}`", expect.issuer),
        ),
        None => found.error("iss", "missing or not a string"),
    }
    check_aud(claims.get("aud"), expect.audience, found);
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(|jti| jti.trim().is_empty())
    {
        found.error("jti", "missing or not a non-empty string");
    }
    match claims.get("txn") {
        None => found.warn("txn_missing", "SSF transmitters should set `txn`"),
        Some(Value::String(_)) => {}
        Some(txn) => found.error("txn", format!("{txn} is not a string")),
    }
    match claims.get("sub_id") {
        None => found.error(
            "sub_id",
            "missing (SSF events describe their subject in `sub_id`)",
        ),
        Some(sub_id) => check_subject(sub_id, "sub_id", true, found),
    }

    let Some(events) = claims.get("events").and_then(Value::as_object) else {
        found.error("events", "missing or not a JSON object");
        return None;
    };
    if events.len() != 1 {
        found.error(
            "single_event",
            format!("{} events: a SET carries exactly one", events.len()),
        );
    }
    for (kind, event) in events {
        if !event.is_object() {
            found.error(
                "event_object",
                format!("the value of `{kind}` is not a JSON object"),
            );
        }
    }
    if events.len() != 1 {
        return None;
    }
    let (kind, event) = events.iter().next()?;
    let members = event.as_object()?;
    check_event(kind, members, claims.get("sub_id"), expect, now_secs, found);
    Some((kind.clone(), event.clone()))
}

fn check_aud(aud: Option<&Value>, audience: &str, found: &mut Findings) {
    let names: Vec<&str> = match aud {
        None => {
            found.error("aud", "missing");
            return;
        }
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => {
            let strings: Vec<&str> = names
                .iter()
                .filter_map(|name| non_empty_str(Some(name)))
                .collect();
            if names.is_empty() || strings.len() != names.len() {
                found.error(
                    "aud",
                    "an array that is empty or holds other than non-empty strings",
                );
                return;
            }
            strings
        }
        Some(other) => {
            found.error(
                "aud",
                format!("{other} is neither a string nor an array of strings"),
            );
            return;
        }
    };
    if !names.contains(&audience) {
        found.error(
            "aud",
            format!("{names:?} does not name the stream audience `{audience}`"),
        );
    }
}

/// Simple subject identifier formats and their required string members.
const SIMPLE_FORMATS: [(&str, &[&str]); 9] = [
    ("account", &["uri"]),
    ("email", &["email"]),
    ("iss_sub", &["iss", "sub"]),
    ("opaque", &["id"]),
    ("phone_number", &["phone_number"]),
    ("did", &["url"]),
    ("uri", &["uri"]),
    ("jwt_id", &["iss", "jti"]),
    ("saml_assertion_id", &["issuer", "assertion_id"]),
];

/// A subject identifier (RFC 9493 section 3, SSF 1.0 sections 3.2 to 3.5) at `path`.
/// `nested_allowed`: complex and aliases are allowed (not inside another one).
fn check_subject(subject: &Value, path: &str, nested_allowed: bool, found: &mut Findings) {
    let Some(object) = subject.as_object() else {
        found.error("sub_id", format!("`{path}` is not a JSON object"));
        return;
    };
    let Some(format) = non_empty_str(object.get("format")) else {
        found.error(
            "sub_id",
            format!("`{path}` has no non-empty string `format`"),
        );
        return;
    };
    let unknown = |allowed: &[&str], found: &mut Findings| {
        let extra: Vec<&String> = object
            .keys()
            .filter(|key| key.as_str() != "format" && !allowed.contains(&key.as_str()))
            .collect();
        if !extra.is_empty() {
            found.warn(
                "sub_id_unknown_members",
                format!("`{path}` ({format}) has members its format does not define: {extra:?}"),
            );
        }
    };
    match format {
        "complex" | "aliases" if !nested_allowed => {
            found.error(
                "sub_id",
                format!("`{path}`: a `{format}` subject cannot be nested"),
            );
        }
        "complex" => {
            let members: Vec<(&String, &Value)> = object
                .iter()
                .filter(|(key, _)| key.as_str() != "format")
                .collect();
            if members.is_empty() {
                found.error(
                    "sub_id",
                    format!("`{path}`: a complex subject without members"),
                );
            }
            for (name, member) in members {
                check_subject(member, &format!("{path}.{name}"), false, found);
            }
        }
        "aliases" => {
            match object.get("identifiers").and_then(Value::as_array) {
                Some(identifiers) if !identifiers.is_empty() => {
                    for (index, identifier) in identifiers.iter().enumerate() {
                        check_subject(
                            identifier,
                            &format!("{path}.identifiers[{index}]"),
                            false,
                            found,
                        );
                    }
                }
                _ => found.error(
                    "sub_id",
                    format!("`{path}` (aliases) needs a non-empty `identifiers` array"),
                ),
            }
            unknown(&["identifiers"], found);
        }
        "ip-addresses" => {
            match object.get("ip-addresses").and_then(Value::as_array) {
                Some(addresses) if !addresses.is_empty() => {
                    for address in addresses {
                        let parsed = address
                            .as_str()
                            .and_then(|text| text.parse::<std::net::IpAddr>().ok());
                        if parsed.is_none() {
                            found.error(
                                "sub_id",
                                format!("`{path}`: {address} is not an IP address"),
                            );
                        }
                    }
                }
                _ => found.error(
                    "sub_id",
                    format!("`{path}` (ip-addresses) needs a non-empty `ip-addresses` array"),
                ),
            }
            unknown(&["ip-addresses"], found);
        }
        _ => {
            let Some((_, required)) = SIMPLE_FORMATS.iter().find(|(name, _)| *name == format)
            else {
                found.warn(
                    "sub_id_format",
                    format!("`{path}` uses the proprietary format `{format}`"),
                );
                return;
            };
            let mut complete = true;
            for member in *required {
                if non_empty_str(object.get(*member)).is_none() {
                    complete = false;
                    found.error(
                        "sub_id",
                        format!("`{path}` ({format}) needs a non-empty string `{member}`"),
                    );
                }
            }
            if complete {
                check_simple_syntax(object, format, path, found);
            }
            unknown(required, found);
        }
    }
}

/// The syntax of the members of a complete simple subject.
fn check_simple_syntax(
    object: &Map<String, Value>,
    format: &str,
    path: &str,
    found: &mut Findings,
) {
    let member = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or_default();
    match format {
        "email" => {
            let email = member("email");
            let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }) && !email.chars().any(char::is_whitespace);
            if !well_formed {
                found.error(
                    "sub_id",
                    format!("`{path}`: `{email}` is not an email address"),
                );
            }
        }
        "account" if !member("uri").starts_with("acct:") => {
            found.error(
                "sub_id",
                format!("`{path}` (account): `uri` must be an acct: URI"),
            );
        }
        "did" if !member("url").starts_with("did:") => {
            found.error("sub_id", format!("`{path}` (did): `url` must be a DID URL"));
        }
        "phone_number" => {
            let number = member("phone_number");
            let digits = number.strip_prefix('+').unwrap_or_default();
            let e164 = (2..=15).contains(&digits.len())
                && digits.bytes().all(|byte| byte.is_ascii_digit())
                && !digits.starts_with('0');
            if !number.starts_with('+') {
                found.error(
                    "sub_id",
                    format!("`{path}`: `{number}` lacks the international `+` prefix"),
                );
            } else if !e164 {
                found.warn(
                    "sub_id_format",
                    format!("`{path}`: `{number}` is not a strict E.164 number"),
                );
            }
        }
        _ => {}
    }
}

fn subject_format(subject: Option<&Value>) -> Option<&str> {
    subject
        .and_then(|subject| subject.get("format"))
        .and_then(Value::as_str)
}

/// The one event: subject rules, common CAEP members, its type's members.
fn check_event(
    kind: &str,
    event: &Map<String, Value>,
    sub_id: Option<&Value>,
    expect: &Expect,
    now_secs: i64,
    found: &mut Findings,
) {
    if kind == SSF_VERIFICATION || kind == SSF_STREAM_UPDATED {
        let format = subject_format(sub_id).unwrap_or_default();
        if format != "opaque" {
            found.error(
                "subject_format",
                format!(
                    "an SSF `{kind}` event names its stream as an `opaque` subject, not `{format}`"
                ),
            );
        }
        if kind == SSF_VERIFICATION {
            let check = "verification";
            optional_string(event, "state", check, found);
            unknown_members(kind, event, &["state"], found);
        } else {
            let check = "stream_updated";
            one_of(
                event,
                "status",
                &["enabled", "paused", "disabled"],
                true,
                check,
                found,
            );
            optional_string(event, "reason", check, found);
            unknown_members(kind, event, &["status", "reason"], found);
        }
        return;
    }
    let Some(name) = kind.strip_prefix(CAEP_PREFIX) else {
        // RISC and other SSF event types: nothing beyond the SET checks.
        return;
    };
    if expect.caep_interop {
        check_interop_subject(kind, sub_id, found);
        let present = event
            .get("reason_admin")
            .and_then(Value::as_object)
            .is_some_and(|reason| !reason.is_empty());
        if !present {
            found.error(
                "reason_admin_present",
                "the CAEP interoperability profile requires a non-empty `reason_admin`",
            );
        }
    }
    check_common_members(event, now_secs, found);
    let specific: &[&str] = match name {
        "session-revoked" => &[],
        "token-claims-change" => {
            match event.get("claims") {
                Some(Value::Object(claims)) if !claims.is_empty() => {}
                Some(_) => found.error(
                    "token_claims_change",
                    "`claims` must be a JSON object with one or more claims",
                ),
                None => found.error("token_claims_change", "`claims` is required"),
            }
            &["claims"]
        }
        "credential-change" => {
            let check = "credential_change";
            const STANDARD: [&str; 10] = [
                "password",
                "pin",
                "x509",
                "fido2-platform",
                "fido2-roaming",
                "fido-u2f",
                "verifiable-credential",
                "phone-voice",
                "phone-sms",
                "app",
            ];
            match event.get("credential_type") {
                None => found.error(check, "`credential_type` is required"),
                Some(Value::String(kind)) if STANDARD.contains(&kind.as_str()) => {}
                Some(Value::String(kind)) => found.warn(
                    "credential_type_nonstandard",
                    format!("`credential_type` `{kind}` is not a CAEP 1.0 value (a mutually agreed one?)"),
                ),
                Some(other) => found.error(check, format!("`credential_type` {other} is not a string")),
            }
            one_of(
                event,
                "change_type",
                &["create", "revoke", "update", "delete"],
                true,
                check,
                found,
            );
            for member in [
                "friendly_name",
                "x509_issuer",
                "x509_serial",
                "fido2_aaguid",
            ] {
                optional_string(event, member, check, found);
            }
            &[
                "credential_type",
                "change_type",
                "friendly_name",
                "x509_issuer",
                "x509_serial",
                "fido2_aaguid",
            ]
        }
        "assurance-level-change" => {
            let check = "assurance_level_change";
            for member in ["namespace", "current_level"] {
                if non_empty_str(event.get(member)).is_none() {
                    found.error(check, format!("`{member}` is required, a non-empty string"));
                }
            }
            optional_string(event, "previous_level", check, found);
            one_of(
                event,
                "change_direction",
                &["increase", "decrease"],
                false,
                check,
                found,
            );
            if event.contains_key("previous_level") && !event.contains_key("change_direction") {
                found.warn(
                    "change_direction_missing",
                    "`previous_level` is given: transmitters should give `change_direction` too",
                );
            }
            &[
                "namespace",
                "current_level",
                "previous_level",
                "change_direction",
            ]
        }
        "device-compliance-change" => {
            let check = "device_compliance_change";
            for member in ["current_status", "previous_status"] {
                one_of(
                    event,
                    member,
                    &["compliant", "not-compliant"],
                    true,
                    check,
                    found,
                );
            }
            &["current_status", "previous_status"]
        }
        "session-established" => {
            let check = "session_established";
            for member in ["fp_ua", "acr", "ext_id"] {
                optional_string(event, member, check, found);
            }
            match event.get("amr") {
                None => {}
                Some(Value::Array(methods)) if methods.iter().all(Value::is_string) => {}
                Some(other) => {
                    found.error(check, format!("`amr` {other} is not an array of strings"))
                }
            }
            &["fp_ua", "acr", "amr", "ext_id"]
        }
        "session-presented" => {
            for member in ["fp_ua", "ext_id"] {
                optional_string(event, member, "session_presented", found);
            }
            &["fp_ua", "ext_id"]
        }
        "risk-level-change" => {
            let check = "risk_level_change";
            let levels = ["LOW", "MEDIUM", "HIGH"];
            one_of(event, "current_level", &levels, true, check, found);
            one_of(event, "previous_level", &levels, false, check, found);
            // CAEP 1.0 section 3.8: `principal` is REQUIRED (USER, DEVICE, ... or any other
            // entity), so any non-empty string.
            if non_empty_str(event.get("principal")).is_none() {
                found.error(check, "`principal` is required, a non-empty string");
            }
            match event.get("risk_reason") {
                None => found.warn("risk_reason_missing", "`risk_reason` is RECOMMENDED"),
                Some(Value::String(_)) => {}
                Some(other) => found.error(check, format!("`risk_reason` {other} is not a string")),
            }
            &[
                "risk_reason",
                "principal",
                "current_level",
                "previous_level",
            ]
        }
        _ => {
            found.warn(
                "unknown_event_type",
                format!(
                    "`{kind}` is not a CAEP 1.0 event type; only the common members were checked"
                ),
            );
            return;
        }
    };
    unknown_members(kind, event, specific, found);
}

/// The CAEP interoperability profile's subject formats for a CAEP event.
fn check_interop_subject(kind: &str, sub_id: Option<&Value>, found: &mut Findings) {
    match subject_format(sub_id) {
        Some("email" | "iss_sub") => {}
        Some("complex") => {
            let user = subject_format(sub_id.and_then(|subject| subject.get("user")));
            if matches!(user, Some("email" | "iss_sub")) {
                found.warn(
                    "complex_subject",
                    "a complex subject: the interoperability profile lists only email and iss_sub (complex subjects pending, openid/sharedsignals#351)",
                );
            } else {
                found.error(
                    "subject_format",
                    format!("a complex subject on `{kind}` without an email or iss_sub `user`"),
                );
            }
        }
        format => found.error(
            "subject_format",
            format!(
                "`{}` subject on `{kind}`: CAEP events use email or iss_sub (opaque is for the verification event)",
                format.unwrap_or("no")
            ),
        ),
    }
}

/// `event_timestamp`, `initiating_entity`, `reason_admin`, `reason_user` (CAEP 1.0
/// section 2), when present.
fn check_common_members(event: &Map<String, Value>, now_secs: i64, found: &mut Findings) {
    if let Some(timestamp) = event.get("event_timestamp") {
        match timestamp.as_i64() {
            _ if !timestamp.is_number() => {
                found.error(
                    "event_timestamp",
                    format!("{timestamp} is not a JSON number"),
                );
            }
            None if timestamp.is_u64() => found.error(
                "event_timestamp",
                format!("{timestamp} is milliseconds or worse, not seconds"),
            ),
            None => found.error(
                "event_timestamp",
                format!("{timestamp} is not a whole number of seconds"),
            ),
            Some(seconds) if seconds < 0 => {
                found.error("event_timestamp", format!("{seconds} is negative"));
            }
            Some(seconds) if seconds >= MILLISECONDS_THRESHOLD => found.error(
                "event_timestamp",
                format!("{seconds} is milliseconds, not seconds"),
            ),
            Some(seconds) => {
                if seconds > now_secs + EVENT_TIMESTAMP_SKEW_SECS {
                    found.warn(
                        "event_timestamp_future",
                        format!("{seconds} is after now ({now_secs})"),
                    );
                }
                if seconds < EARLIEST_PLAUSIBLE_EVENT_TIMESTAMP {
                    found.warn(
                        "event_timestamp_implausible",
                        format!("{seconds} is before 2024: a placeholder or a wrong unit?"),
                    );
                }
            }
        }
    }
    one_of(
        event,
        "initiating_entity",
        &["admin", "user", "policy", "system"],
        false,
        "initiating_entity",
        found,
    );
    for member in ["reason_admin", "reason_user"] {
        let Some(reason) = event.get(member) else {
            continue;
        };
        let Some(messages) = reason.as_object().filter(|messages| !messages.is_empty()) else {
            found.error(
                member,
                "must be a non-empty object of language tag -> message",
            );
            continue;
        };
        for (tag, message) in messages {
            if !is_language_tag(tag) {
                found.error(member, format!("`{tag}` is not a BCP 47 language tag"));
            }
            if !message.is_string() {
                found.error(
                    member,
                    format!("the `{tag}` message {message} is not a string"),
                );
            }
        }
    }
}

/// A language tag in the shape of BCP 47 (RFC 5646): a primary language of two or three
/// letters (or `x`/`i` for private use and the grandfathered `i-` tags), then subtags of one
/// to eight letters or digits, separated by `-`. Not the full grammar: enough to refuse
/// words, spaces and underscores.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or_default();
    let rest: Vec<&str> = subtags.collect();
    let primary_ok = if primary.eq_ignore_ascii_case("x") || primary.eq_ignore_ascii_case("i") {
        !rest.is_empty()
    } else {
        (2..=3).contains(&primary.len()) && primary.bytes().all(|byte| byte.is_ascii_alphabetic())
    };
    primary_ok
        && rest.iter().all(|subtag| {
            (1..=8).contains(&subtag.len())
                && subtag.bytes().all(|byte| byte.is_ascii_alphanumeric())
        })
}

/// A member that must (or may) be one of a closed set of strings.
fn one_of(
    event: &Map<String, Value>,
    member: &str,
    allowed: &[&str],
    required: bool,
    check: &str,
    found: &mut Findings,
) {
    match event.get(member) {
        None if required => {
            found.error(check, format!("`{member}` is required, one of {allowed:?}"))
        }
        None => {}
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => {}
        Some(value) => found.error(
            check,
            format!("`{member}` {value} is not one of {allowed:?}"),
        ),
    }
}

fn optional_string(event: &Map<String, Value>, member: &str, check: &str, found: &mut Findings) {
    if let Some(value) = event.get(member).filter(|value| !value.is_string()) {
        found.error(check, format!("`{member}` {value} is not a string"));
    }
}

/// Members neither common to CAEP events nor defined for this type (often misspellings).
fn unknown_members(
    kind: &str,
    event: &Map<String, Value>,
    specific: &[&str],
    found: &mut Findings,
) {
    let caep = kind.starts_with(CAEP_PREFIX);
    let extra: Vec<&String> = event
        .keys()
        .filter(|key| {
            let known = specific.contains(&key.as_str())
                || (caep && CAEP_COMMON_MEMBERS.contains(&key.as_str()));
            !known
        })
        .collect();
    if !extra.is_empty() {
        found.warn(
            "unknown_members",
            format!("`{kind}` has members its definition does not list: {extra:?}"),
        );
    }
}
