//! Decoder for the Okta System Log (`/api/v1/logs` records as the API, event hooks,
//! Elastic's integration and Panther write them).
//!
//! Sign-ins, MFA challenges and sign-outs become auth events; every other event type
//! (group changes, policy evaluations, admin actions) is [`Decoded::Skipped`] with a reason.
//!
//! Okta's records are wide and their exporters disagree on details, so the record is read
//! leniently: only the fields vigil keeps are parsed (borrowed when unescaped), a field of
//! an unexpected JSON type reads as absent instead of failing the record, Panther's
//! lower-cased keys (`eventtype`, `authenticationcontext`) and space-separated timestamps
//! are accepted, and unusable client addresses (`"null"`, `"redacted"`) are dropped. Only a
//! missing or unreadable event type, time or actor rejects a record of interest.
//!
//! The lenient readers ([`LooseText`], [`LooseNumber`], [`LooseObject`], [`LooseList`]) and
//! the vendor-geo and factor helpers are shared with the OCSF decoder.

use crate::decode::{parse_ip, DecodeError, Decoded, Format};
use crate::native::MAX_ID_BYTES;
use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use vigil_schemas::{AuthAction, AuthDetail, Detail, Event, Geo, IdentityType, Outcome, Timestamp};

const FORMAT: Format = Format::Okta;

// ---------------------------------------------------------------------------------------
// Lenient readers, shared with the OCSF decoder.
// ---------------------------------------------------------------------------------------

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

/// The trimmed text, unless absent or a placeholder (`""`, `"null"`, `"-"`, `"unknown"`);
/// the borrowing twin of [`crate::present`].
pub(crate) fn meaningful(text: Option<&str>) -> Option<&str> {
    let text = text?.trim();
    let placeholder = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text == "-"
        || text.eq_ignore_ascii_case("unknown");
    (!placeholder).then_some(text)
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
    /// The value when it is a whole number that fits an `i64`.
    pub(crate) fn integer(self) -> Option<i64> {
        let value = self.0?;
        let whole = value.fract() == 0.0 && value.abs() < 9.0e18;
        whole.then_some(value as i64)
    }

    /// The value as an autonomous system number: a whole number in `1..=u32::MAX`.
    pub(crate) fn asn(self) -> Option<u32> {
        let value = self.integer()?;
        u32::try_from(value).ok().filter(|number| *number > 0)
    }
}

impl<'de> Deserialize<'de> for LooseNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseNumberVisitor)
    }
}

/// Reads any JSON value into a [`LooseNumber`].
struct LooseNumberVisitor;

impl LooseNumberVisitor {
    /// A finite number, or absent.
    fn finite(value: f64) -> LooseNumber {
        LooseNumber(value.is_finite().then_some(value))
    }
}

impl<'de> Visitor<'de> for LooseNumberVisitor {
    type Value = LooseNumber;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_i64<E>(self, number: i64) -> Result<Self::Value, E> {
        Ok(Self::finite(number as f64))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Self::Value, E> {
        Ok(Self::finite(number as f64))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Self::Value, E> {
        Ok(Self::finite(number))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(text
            .trim()
            .parse::<f64>()
            .map_or(LooseNumber(None), Self::finite))
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

// ---------------------------------------------------------------------------------------
// Field helpers, shared with the OCSF decoder.
// ---------------------------------------------------------------------------------------

/// An identifier the event keeps (identity, session, device), refused when longer than
/// [`MAX_ID_BYTES`] as the native decoder does.
pub(crate) fn bounded_id(
    format: Format,
    value: Option<&str>,
    field: &str,
) -> Result<Option<String>, DecodeError> {
    let Some(text) = value else { return Ok(None) };
    if text.len() > MAX_ID_BYTES {
        return Err(DecodeError::invalid(
            format,
            field,
            format!(
                "{} bytes, more than the limit of {MAX_ID_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(Some(text.to_string()))
}

/// Vendor-supplied location: coordinates are kept only when both are present, on the globe
/// and not exactly (0, 0), the "null island" that redacted or failed lookups write; the
/// country name goes through [`crate::country::to_alpha2`] and is dropped when unknown.
pub(crate) fn vendor_geo(
    lat: Option<f64>,
    lon: Option<f64>,
    city: Option<&str>,
    country: Option<&str>,
) -> Option<Geo> {
    let mut geo = Geo {
        lat,
        lon,
        ..Geo::default()
    };
    let null_island = lat == Some(0.0) && lon == Some(0.0);
    if geo.coordinates().is_none() || null_island {
        geo.lat = None;
        geo.lon = None;
    }
    geo.city = meaningful(city).map(str::to_string);
    geo.country = meaningful(country)
        .and_then(crate::country::to_alpha2)
        .map(str::to_string);
    let empty = geo.lat.is_none() && geo.city.is_none() && geo.country.is_none();
    (!empty).then_some(geo)
}

/// Factor names longer than this are not labels but garbage, and are dropped.
const MAX_FACTOR_BYTES: usize = 64;

/// A vendor's factor name in vigil's vocabulary: `password`, `push`, `otp`, `sms`,
/// `voice`, `email`, `webauthn`, `certificate`; any other name lowercased as it is
/// (`signed_nonce` for Okta FastPass, `security_question`).
pub(crate) fn normalize_factor(vendor: &str) -> Option<String> {
    let vendor = meaningful(Some(vendor))?;
    if vendor.len() > MAX_FACTOR_BYTES {
        return None;
    }
    let lower = vendor.to_ascii_lowercase();
    let canonical = match lower.as_str() {
        "password" | "password_as_factor" | "okta_password" => "password",
        "push" | "okta_verify_push" | "push notification" | "push_notification" => "push",
        "otp"
        | "totp"
        | "hotp"
        | "google_otp"
        | "okta_soft_token"
        | "token"
        | "token:software:totp"
        | "token:hotp"
        | "token:hardware"
        | "hardware token"
        | "hardware_token"
        | "rsa_securid"
        | "symantec_vip"
        | "yubikey_token"
        | "custom_hotp" => "otp",
        "sms" | "sms_factor" => "sms",
        "voice" | "call" | "call_factor" | "phone call" | "phone_call" => "voice",
        "email" | "email_factor" => "email",
        "webauthn" | "fido_webauthn" | "u2f" | "fido_u2f" => "webauthn",
        "certificate" | "x509" | "smart_card" | "piv" => "certificate",
        "security question" | "security_question" | "question" => "security_question",
        _ => return Some(lower),
    };
    Some(canonical.to_string())
}

// ---------------------------------------------------------------------------------------
// The Okta record.
// ---------------------------------------------------------------------------------------

/// The fields of an Okta System Log record that vigil reads. Aliases accept the
/// lower-cased keys some Panther exports write.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OktaRecord<'a> {
    /// `user.session.start`, `user.authentication.auth_via_mfa`, ...
    #[serde(borrow, rename = "eventType", alias = "eventtype")]
    event_type: LooseText<'a>,
    /// Event time, RFC 3339 (`2024-08-13T15:58:20.353Z`) or Panther's `2022-03-22 14:21:53.225`.
    #[serde(borrow)]
    published: LooseText<'a>,
    /// Panther's normalized event time, used only when `published` is absent.
    #[serde(borrow)]
    p_event_time: LooseText<'a>,
    /// Okta's id of the record.
    #[serde(borrow)]
    uuid: LooseText<'a>,
    /// Who acted.
    #[serde(borrow)]
    actor: LooseObject<Actor<'a>>,
    /// The client the request came from.
    #[serde(borrow)]
    client: LooseObject<Client<'a>>,
    /// The device Okta (Identity Engine, Okta Verify) knows.
    #[serde(borrow)]
    device: LooseObject<Device<'a>>,
    /// Session and credential.
    #[serde(
        borrow,
        rename = "authenticationContext",
        alias = "authenticationcontext"
    )]
    authentication_context: LooseObject<AuthenticationContext<'a>>,
    /// Event-type specific details (the MFA factor).
    #[serde(borrow, rename = "debugContext", alias = "debugcontext")]
    debug_context: LooseObject<DebugContext<'a>>,
    /// Result and reason.
    #[serde(borrow)]
    outcome: LooseObject<OktaOutcome<'a>>,
    /// Network owner of the client address.
    #[serde(rename = "securityContext", alias = "securitycontext")]
    security_context: LooseObject<SecurityContext>,
    /// The chain of addresses the request passed.
    #[serde(borrow)]
    request: LooseObject<Request<'a>>,
    /// What the event was about (the app signed in to, the user, the authenticator).
    #[serde(borrow)]
    target: LooseList<Target<'a>>,
}

/// `actor`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Actor<'a> {
    /// Okta's user id (`00u...`).
    #[serde(borrow)]
    id: LooseText<'a>,
    /// `User`, `SystemPrincipal`, `PublicClientApp`, ...
    #[serde(borrow, rename = "type")]
    actor_type: LooseText<'a>,
    /// The login, usually an email address.
    #[serde(borrow, rename = "alternateId", alias = "alternateid")]
    alternate_id: LooseText<'a>,
}

/// `client`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Client<'a> {
    /// The client's address.
    #[serde(borrow, rename = "ipAddress", alias = "ipaddress")]
    ip_address: LooseText<'a>,
    /// The browser or app.
    #[serde(borrow, rename = "userAgent", alias = "useragent")]
    user_agent: LooseObject<UserAgent<'a>>,
    /// Okta's location of the address.
    #[serde(borrow, rename = "geographicalContext", alias = "geographicalcontext")]
    geographical_context: LooseObject<GeographicalContext<'a>>,
}

/// `client.userAgent`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct UserAgent<'a> {
    /// The header as sent.
    #[serde(borrow, rename = "rawUserAgent", alias = "rawuseragent")]
    raw_user_agent: LooseText<'a>,
}

/// `client.geographicalContext` and `request.ipChain[].geographicalContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct GeographicalContext<'a> {
    /// City name.
    #[serde(borrow)]
    city: LooseText<'a>,
    /// Country name ("United States").
    #[serde(borrow)]
    country: LooseText<'a>,
    /// Coordinates.
    geolocation: LooseObject<Geolocation>,
}

impl GeographicalContext<'_> {
    /// The location in vigil's form, when anything usable is known.
    fn geo(&self) -> Option<Geo> {
        let (lat, lon) = self
            .geolocation
            .get()
            .map_or((None, None), |point| (point.lat.0, point.lon.0));
        vendor_geo(lat, lon, self.city.get(), self.country.get())
    }
}

/// `geographicalContext.geolocation`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Geolocation {
    /// Latitude.
    lat: LooseNumber,
    /// Longitude.
    lon: LooseNumber,
}

/// `device` (Okta Identity Engine).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Device<'a> {
    /// Okta's device id (`guo...`).
    #[serde(borrow)]
    id: LooseText<'a>,
}

/// `authenticationContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthenticationContext<'a> {
    /// The Okta session (`102...`, `idx...`).
    #[serde(borrow, rename = "externalSessionId", alias = "externalsessionid")]
    external_session_id: LooseText<'a>,
    /// `PASSWORD`, `OTP`, `SMS`, `EMAIL`, `ASSERTION`, ...
    #[serde(borrow, rename = "credentialType", alias = "credentialtype")]
    credential_type: LooseText<'a>,
}

/// `debugContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DebugContext<'a> {
    /// The details.
    #[serde(borrow, rename = "debugData", alias = "debugdata")]
    debug_data: LooseObject<DebugData<'a>>,
}

/// `debugContext.debugData`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DebugData<'a> {
    /// The MFA factor (`OKTA_VERIFY_PUSH`, `FIDO_WEBAUTHN`, `SMS_FACTOR`, ...).
    #[serde(borrow)]
    factor: LooseText<'a>,
    /// Okta's fingerprint of the browser or device (Classic engine).
    #[serde(borrow, rename = "deviceFingerprint", alias = "devicefingerprint")]
    device_fingerprint: LooseText<'a>,
}

/// `outcome`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OktaOutcome<'a> {
    /// `SUCCESS`, `FAILURE`, `DENY`, `ALLOW`, `CHALLENGE`, `SKIPPED`, `UNKNOWN`.
    #[serde(borrow)]
    result: LooseText<'a>,
    /// Why (`INVALID_CREDENTIALS`, `VERIFICATION_ERROR`, `LOCKED_OUT`, free text).
    #[serde(borrow)]
    reason: LooseText<'a>,
}

/// `securityContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SecurityContext {
    /// The client's autonomous system.
    #[serde(rename = "asNumber", alias = "asnumber")]
    as_number: LooseNumber,
}

/// `request`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Request<'a> {
    /// The addresses the request passed, client first.
    #[serde(borrow, rename = "ipChain", alias = "ipchain")]
    ip_chain: LooseList<IpChainEntry<'a>>,
}

/// `request.ipChain[]`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct IpChainEntry<'a> {
    /// The address.
    #[serde(borrow)]
    ip: LooseText<'a>,
    /// Okta's location of it.
    #[serde(borrow, rename = "geographicalContext", alias = "geographicalcontext")]
    geographical_context: LooseObject<GeographicalContext<'a>>,
}

/// `target[]`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Target<'a> {
    /// `AppInstance`, `User`, `AuthenticatorEnrollment`, ...
    #[serde(borrow, rename = "type")]
    target_type: LooseText<'a>,
    /// Human name ("Okta Admin Console").
    #[serde(borrow, rename = "displayName", alias = "displayname")]
    display_name: LooseText<'a>,
    /// Login or app label.
    #[serde(borrow, rename = "alternateId", alias = "alternateid")]
    alternate_id: LooseText<'a>,
}

// ---------------------------------------------------------------------------------------
// Mapping.
// ---------------------------------------------------------------------------------------

/// What an event type of interest becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interest {
    /// The action.
    action: AuthAction,
    /// The factor when the record names none (`push` for push events).
    factor_hint: Option<&'static str>,
    /// The outcome whatever `outcome.result` says (a `deny_push` is a refusal even though
    /// Okta logs it with `SUCCESS`).
    forced_outcome: Option<Outcome>,
    /// A verification with a password is a primary sign-in step, not a second factor.
    password_means_login: bool,
}

impl Interest {
    /// An action with nothing special.
    const fn plain(action: AuthAction) -> Interest {
        Interest {
            action,
            factor_hint: None,
            forced_outcome: None,
            password_means_login: false,
        }
    }
}

/// Why a record that is JSON but not an object (an array, a number) is rejected; a derived
/// struct would otherwise read an array as its fields in order.
pub(crate) const NOT_AN_OBJECT: &str = "malformed record: not a JSON object";
/// Why a `policy.evaluate_sign_on` is skipped.
const SKIP_POLICY: &str = "okta `policy.evaluate_sign_on` is a policy decision, not a sign-in";
/// Why any other event type is skipped.
const SKIP_OTHER: &str = "okta event type is not a sign-in, mfa or sign-out";
/// Why an event whose result is not final is skipped.
const SKIP_OUTCOME: &str = "okta `outcome.result` is not final (challenge, skipped, unknown)";

/// The event types vigil judges, and what they become.
fn classify(event_type: &str) -> Result<Interest, &'static str> {
    let is = |name: &str| event_type.eq_ignore_ascii_case(name);
    if is("user.session.start") || is("user.authentication.sso") {
        return Ok(Interest::plain(AuthAction::Login));
    }
    if is("user.session.end") {
        return Ok(Interest::plain(AuthAction::Logout));
    }
    if is("user.authentication.auth_via_mfa") {
        return Ok(Interest::plain(AuthAction::Mfa));
    }
    if is("user.authentication.verify") {
        return Ok(Interest {
            password_means_login: true,
            ..Interest::plain(AuthAction::Mfa)
        });
    }
    if is("system.push.send_factor_verify_push") {
        return Ok(Interest {
            factor_hint: Some("push"),
            ..Interest::plain(AuthAction::Mfa)
        });
    }
    if is("user.mfa.okta_verify.deny_push") {
        return Ok(Interest {
            factor_hint: Some("push"),
            forced_outcome: Some(Outcome::Denied),
            ..Interest::plain(AuthAction::Mfa)
        });
    }
    let via_prefix = "user.authentication.auth_via_";
    let is_via = event_type
        .get(..via_prefix.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(via_prefix));
    if is_via {
        return Ok(Interest::plain(AuthAction::Login));
    }
    if is("policy.evaluate_sign_on") {
        return Err(SKIP_POLICY);
    }
    Err(SKIP_OTHER)
}

/// Whether a lowercase reason says a challenge went unanswered.
fn says_timeout(reason: &str) -> bool {
    ["timeout", "timed out", "time out"]
        .iter()
        .any(|needle| reason.contains(needle))
}

/// Whether a lowercase reason says the user refused an MFA challenge.
fn says_refused(reason: &str) -> bool {
    ["reject", "denied by user", "user denied"]
        .iter()
        .any(|needle| reason.contains(needle))
}

/// The outcome of an event of interest; `Ok(None)` when Okta's result is not final.
fn outcome(
    raw: Option<&OktaOutcome<'_>>,
    interest: Interest,
    action: AuthAction,
) -> Result<Option<Outcome>, DecodeError> {
    if let Some(forced) = interest.forced_outcome {
        return Ok(Some(forced));
    }
    // Not `get()`: `UNKNOWN` is one of Okta's results here, not a placeholder.
    let result = raw
        .and_then(|outcome| outcome.result.0.as_deref())
        .map(str::trim)
        .filter(|result| !result.is_empty())
        .ok_or_else(|| DecodeError::missing(FORMAT, "outcome.result"))?;
    let is = |name: &str| result.eq_ignore_ascii_case(name);
    if is("SUCCESS") || is("ALLOW") {
        return Ok(Some(Outcome::Success));
    }
    if is("DENY") {
        return Ok(Some(Outcome::Denied));
    }
    if !is("FAILURE") {
        return Ok(None);
    }
    // A failure's reason tells an unanswered or refused challenge from a wrong answer.
    let reason = raw
        .and_then(|outcome| outcome.reason.get())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if says_timeout(&reason) {
        return Ok(Some(Outcome::Timeout));
    }
    if action == AuthAction::Mfa && says_refused(&reason) {
        return Ok(Some(Outcome::Denied));
    }
    Ok(Some(Outcome::Failure))
}

/// The event time: `published`, else Panther's `p_event_time`.
fn event_time(raw: &OktaRecord<'_>) -> Result<Timestamp, DecodeError> {
    let (field, text) = match (raw.published.get(), raw.p_event_time.get()) {
        (Some(text), _) => ("published", text),
        (None, Some(text)) => ("p_event_time", text),
        (None, None) => return Err(DecodeError::missing(FORMAT, "published")),
    };
    Timestamp::parse(text).map_err(|error| DecodeError::invalid(FORMAT, field, error))
}

/// Human or service, from `actor.type`.
fn identity_type(actor_type: Option<&str>) -> IdentityType {
    let Some(actor_type) = actor_type else {
        return IdentityType::User;
    };
    let service = ["SystemPrincipal", "PublicClientApp", "AppInstance"]
        .iter()
        .any(|name| actor_type.eq_ignore_ascii_case(name));
    if service {
        IdentityType::Service
    } else {
        IdentityType::User
    }
}

/// The client's address and its vendor location: `client`, else the first usable entry of
/// `request.ipChain`.
fn client_address(raw: &OktaRecord<'_>) -> (Option<std::net::IpAddr>, Option<Geo>) {
    let client = raw.client.get();
    let chain = raw
        .request
        .get()
        .map_or(&[][..], |request| request.ip_chain.0.as_slice());
    let client_ip = client
        .and_then(|client| client.ip_address.get())
        .and_then(parse_ip);
    let chain_ip = || {
        chain
            .iter()
            .find_map(|entry| entry.ip.get().and_then(parse_ip))
    };
    let client_geo = client
        .and_then(|client| client.geographical_context.get())
        .and_then(GeographicalContext::geo);
    let chain_geo = || {
        chain.iter().find_map(|entry| {
            entry
                .geographical_context
                .get()
                .and_then(GeographicalContext::geo)
        })
    };
    (client_ip.or_else(chain_ip), client_geo.or_else(chain_geo))
}

/// The app signed in to: the first `AppInstance` target.
fn app(targets: &[Target<'_>]) -> Option<String> {
    let instance = targets.iter().find(|target| {
        target
            .target_type
            .get()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("AppInstance"))
    })?;
    instance
        .display_name
        .get()
        .or_else(|| instance.alternate_id.get())
        .map(str::to_string)
}

/// Decodes one Okta System Log record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let parsed: LooseObject<OktaRecord<'_>> =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    let Some(raw) = parsed.0 else {
        return Err(DecodeError::new(FORMAT, NOT_AN_OBJECT));
    };
    let event_type = raw
        .event_type
        .get()
        .ok_or_else(|| DecodeError::missing(FORMAT, "eventType"))?;
    let interest = match classify(event_type) {
        Ok(interest) => interest,
        Err(reason) => return Ok(Decoded::Skipped(reason)),
    };
    let time = event_time(&raw)?;
    let actor = raw.actor.get();
    let login = actor.and_then(|actor| actor.alternate_id.get().or_else(|| actor.id.get()));
    let identity = bounded_id(FORMAT, login, "actor.alternateId")?
        .ok_or_else(|| DecodeError::missing(FORMAT, "actor.alternateId"))?;

    let authentication = raw.authentication_context.get();
    let debug_data = raw
        .debug_context
        .get()
        .and_then(|context| context.debug_data.get());
    let vendor_factor = debug_data
        .and_then(|data| data.factor.get())
        .or_else(|| authentication.and_then(|context| context.credential_type.get()));
    let factor = vendor_factor
        .and_then(normalize_factor)
        .or_else(|| interest.factor_hint.map(str::to_string));
    let action = if interest.password_means_login && factor.as_deref() == Some("password") {
        AuthAction::Login
    } else {
        interest.action
    };
    let Some(outcome) = outcome(raw.outcome.get(), interest, action)? else {
        return Ok(Decoded::Skipped(SKIP_OUTCOME));
    };
    let reason = match outcome {
        Outcome::Success => None,
        _ => raw
            .outcome
            .get()
            .and_then(|outcome| outcome.reason.get())
            .map(str::to_string),
    };

    let session = authentication.and_then(|context| context.external_session_id.get());
    let device = raw
        .device
        .get()
        .and_then(|device| device.id.get())
        .or_else(|| debug_data.and_then(|data| data.device_fingerprint.get()));
    let (ip, geo) = client_address(&raw);
    let client = raw.client.get();
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type: identity_type(actor.and_then(|actor| actor.actor_type.get())),
        session_id: bounded_id(FORMAT, session, "authenticationContext.externalSessionId")?,
        device_id: bounded_id(FORMAT, device, "device.id")?,
        ip,
        geo,
        asn: raw
            .security_context
            .get()
            .and_then(|context| context.as_number.asn()),
        user_agent: client
            .and_then(|client| client.user_agent.get())
            .and_then(|agent| agent.raw_user_agent.get())
            .map(str::to_string),
        app: app(&raw.target.0),
        event_id: raw.uuid.get().map(str::to_string),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor,
            reason,
        }),
    })))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testdata;
    use proptest::prelude::*;

    /// The Elastic integration's 20 pipeline-test events, one per line.
    const ELASTIC: &str = "elastic-integrations/okta/test-okta-system-events.log";
    /// Panther's rule-test records: one `{rule_id, test_name, expected_result, log}` per line.
    const PANTHER: &str = "panther-analysis/okta_systemlog.labeled.jsonl";
    /// The OCSF project's raw Okta `user.session.start` (one pretty-printed record).
    const OCSF_RAW: &str = "ocsf/examples/mappings/markdown/Okta/v1.3.0/System Logs/Authentication/samples/authentication.raw";

    /// A timestamp from RFC 3339 text.
    fn time(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// The auth fields of an event that must have them.
    fn auth(event: &Event) -> &AuthDetail {
        event.auth().unwrap()
    }

    /// Decodes through the crate's entry point, as replay does.
    fn decode_json(json: &str) -> Result<Decoded, DecodeError> {
        crate::decode(Format::Okta, json.as_bytes())
    }

    /// A minimal record of an event type with an outcome, for synthetic cases.
    fn record(event_type: &str, result: &str, reason: &str, extra: &str) -> String {
        format!(
            r#"{{"eventType":"{event_type}","published":"2024-05-01T10:00:00.000Z","uuid":"u1","actor":{{"id":"00u1","type":"User","alternateId":"alice@example.com"}},"outcome":{{"result":"{result}","reason":"{reason}"}}{extra}}}"#
        )
    }

    /// The `log` objects of the Panther file, with their test names.
    fn panther_logs() -> Option<Vec<(String, String)>> {
        let lines = testdata::lines(PANTHER)?;
        let logs = lines
            .iter()
            .map(|line| {
                let labeled: serde_json::Value =
                    serde_json::from_str(line).expect("panther line is JSON");
                (
                    labeled["test_name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    labeled["log"].to_string(),
                )
            })
            .collect();
        Some(logs)
    }

    #[test]
    fn elastic_login_decodes_field_by_field() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        let event = testdata::event(Format::Okta, &lines[1]);
        assert_eq!(event.time, time("2020-02-14T20:18:57.718Z"));
        assert_eq!(event.identity.as_deref(), Some("xxxxxx@elastic.co"));
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(
            event.session_id.as_deref(),
            Some("102bZDNFfWaQSyEZQuDgWt-uQ")
        );
        assert_eq!(
            event.device_id.as_deref(),
            Some("541daf91d15bef64a7e08c946fd9a9d0"),
            "debugData.deviceFingerprint"
        );
        assert_eq!(event.ip, Some("175.16.199.1".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        // Vendor geo as recorded (the address was swapped for a test address, the place was not).
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(37.7201), Some(-121.919), Some("Dublin"), Some("US"))
        );
        assert_eq!(event.asn, None, "securityContext.asNumber is null");
        assert_eq!(event.user_agent.as_deref(), Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:72.0) Gecko/20100101 Firefox/72.0"));
        assert_eq!(event.app, None, "no AppInstance target");
        assert_eq!(
            event.event_id.as_deref(),
            Some("3aeede38-4f67-11ea-abd3-1f5d113f2546")
        );
        let detail = auth(&event);
        assert_eq!(
            (
                detail.action,
                detail.outcome,
                detail.factor.as_deref(),
                detail.reason.as_deref()
            ),
            (AuthAction::Login, Outcome::Success, None, None)
        );
    }

    #[test]
    fn elastic_logout_without_client_address_uses_ip_chain() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        // Line 10: `client.ipAddress` is the string "null".
        let event = testdata::event(Format::Okta, &lines[9]);
        assert_eq!(event.time, time("2020-02-14T22:18:51.843Z"));
        assert_eq!(event.identity.as_deref(), Some("xxxxxx@elastic.co"));
        assert_eq!(
            event.session_id.as_deref(),
            Some("102nZHzd6OHSfGG51vsoc22gw")
        );
        assert_eq!(event.ip, Some("175.16.199.1".parse().unwrap()));
        assert_eq!(event.device_id, None);
        assert_eq!(
            event.event_id.as_deref(),
            Some("faf7398a-4f77-11ea-97fb-5925e98228bd")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Logout, Outcome::Success)
        );
    }

    #[test]
    fn elastic_login_with_asn_and_test_address() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        let event = testdata::event(Format::Okta, &lines[12]);
        assert_eq!(event.time, time("2022-05-11T09:25:18.716Z"));
        assert_eq!(event.identity.as_deref(), Some("test@test.com"));
        assert_eq!(event.session_id.as_deref(), Some("xxxxxx"));
        assert_eq!(event.ip, Some("81.2.69.144".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(39.1469), Some(-77.5903), Some("Ashburn"), Some("US"))
        );
        assert_eq!(event.asn, Some(14618));
        assert_eq!(event.user_agent.as_deref(), Some("blah"));
        assert_eq!(
            event.device_id, None,
            "`device` is null and there is no fingerprint"
        );
        assert_eq!(auth(&event).action, AuthAction::Login);
    }

    #[test]
    fn elastic_verify_events_are_mfa() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        let event = testdata::event(Format::Okta, &lines[13]);
        assert_eq!(event.time, time("2022-05-11T09:27:08.708Z"));
        assert_eq!(event.identity.as_deref(), Some("test1@test.com"));
        assert_eq!(event.ip, Some("67.43.156.14".parse().unwrap()));
        assert_eq!(event.asn, Some(7922));
        assert_eq!(
            event.geo.as_ref().and_then(|geo| geo.city.as_deref()),
            Some("Purcellville")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Success, None)
        );
        // Line 15: a redacted place, "City" / "Country" at (0, 0): the coordinates and the
        // unknown country are dropped, the city is kept verbatim.
        let redacted = testdata::event(Format::Okta, &lines[14]);
        assert_eq!(
            redacted.geo,
            Some(Geo {
                city: Some("City".to_string()),
                ..Geo::default()
            })
        );
        assert_eq!(redacted.user_agent, None, "rawUserAgent \"unknown\"");
        assert_eq!(redacted.asn, Some(1828));
        assert_eq!(
            redacted.session_id.as_deref(),
            Some("102qmxOh1EdTHqn1_86CB9fzA")
        );
    }

    #[test]
    fn elastic_mfa_factors_are_normalised() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        let push = testdata::event(Format::Okta, &lines[15]);
        assert_eq!(push.time, time("2023-02-06T08:56:36.909Z"));
        assert_eq!(push.identity.as_deref(), Some("user@domain.com"));
        assert_eq!(push.ip, Some("127.0.0.1".parse().unwrap()));
        let geo = push.geo.clone().unwrap();
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(47.0511), Some(8.3056), Some("Lucerne"), Some("CH"))
        );
        assert_eq!(push.asn, Some(3303));
        assert!(push
            .user_agent
            .as_deref()
            .unwrap()
            .contains("OktaVerify/7.12.0"));
        let detail = auth(&push);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Success, Some("push"))
        );
        let webauthn = testdata::event(Format::Okta, &lines[16]);
        assert_eq!(webauthn.identity.as_deref(), Some("name@domain.com"));
        assert_eq!(
            webauthn.geo.as_ref().and_then(|geo| geo.country.as_deref()),
            Some("DE")
        );
        assert_eq!(webauthn.asn, Some(62336));
        assert_eq!(auth(&webauthn).factor.as_deref(), Some("webauthn"));
    }

    #[test]
    fn elastic_samples_all_decode_or_skip() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        assert_eq!(lines.len(), 20);
        let (mut events, mut policy, mut other) = (0, 0, 0);
        for (index, line) in lines.iter().enumerate() {
            match decode_json(line) {
                Ok(Decoded::Event(_)) => events += 1,
                Ok(Decoded::Skipped(SKIP_POLICY)) => policy += 1,
                Ok(Decoded::Skipped(SKIP_OTHER)) => other += 1,
                unexpected => panic!("line {}: {unexpected:?}", index + 1),
            }
        }
        // 4 policy.evaluate_sign_on; group.user_membership.add and app.user_management.
        assert_eq!((events, policy, other), (14, 4, 2));
    }

    #[test]
    fn auto_detection_routes_elastic_samples_here() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        for line in &lines {
            assert_eq!(crate::detect(line.as_bytes()), Ok(Format::Okta));
            assert_eq!(
                crate::decode(Format::Auto, line.as_bytes()),
                decode_json(line)
            );
        }
    }

    #[test]
    fn panther_samples_decode_skip_or_name_the_broken_field() {
        let Some(logs) = panther_logs() else { return };
        assert_eq!(logs.len(), 88);
        // Rule fixtures that are genuinely unusable as events, by 1-based line.
        let broken = [
            (2, "missing field `outcome.result`"),
            (4, "missing field `outcome.result`"),
            (41, "invalid field `published`"),
            (42, "invalid field `published`"),
            (43, "invalid field `published`"),
            (44, "invalid field `published`"),
            (50, "missing field `published`"),
            (51, "missing field `published`"),
            (71, "missing field `eventType`"),
            (83, "missing field `eventType`"),
            (84, "missing field `published`"),
        ];
        let (mut events, mut skipped) = (0, 0);
        for (index, (test_name, log)) in logs.iter().enumerate() {
            let line = index + 1;
            let expected_error = broken
                .iter()
                .find(|(broken_line, _)| *broken_line == line)
                .map(|(_, reason)| *reason);
            match (decode_json(log), expected_error) {
                (Ok(Decoded::Event(_)), None) => events += 1,
                (Ok(Decoded::Skipped(_)), None) => skipped += 1,
                (Err(error), Some(reason)) => assert!(
                    error.reason.contains(reason),
                    "line {line} ({test_name}): {error}"
                ),
                (other, expected) => {
                    panic!("line {line} ({test_name}): got {other:?}, expected error {expected:?}")
                }
            }
        }
        assert_eq!((events, skipped), (26, 51));
    }

    #[test]
    fn panther_lowercase_keys_and_space_separated_time() {
        let Some(logs) = panther_logs() else { return };
        // Line 7: `eventtype`, `authenticationcontext`, `securitycontext`; "2022-06-22 18:18:29.015".
        let event = testdata::event(Format::Okta, &logs[6].1);
        assert_eq!(event.time, time("2022-06-22T18:18:29.015Z"));
        assert_eq!(event.identity.as_deref(), Some("homer.simpson@duff.com"));
        assert_eq!(event.session_id.as_deref(), Some("100-abc-9999"));
        assert_eq!(event.asn, Some(701));
        assert_eq!(event.ip, Some("1.3.2.4".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(20.0), Some(-25.0), Some("Springfield"), Some("US"))
        );
        assert_eq!(event.event_id.as_deref(), Some("AbC-123-XyZ"));
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.reason.as_deref()),
            (
                AuthAction::Login,
                Outcome::Failure,
                Some("INVALID_CREDENTIALS")
            )
        );
        // Line 21: `user.authentication.auth_via_IDP` is a sign-in.
        assert_eq!(
            auth(&testdata::event(Format::Okta, &logs[20].1)).action,
            AuthAction::Login
        );
        // Line 40: a FastPass phishing block is a failed MFA with Okta's reason verbatim.
        let blocked = testdata::event(Format::Okta, &logs[39].1);
        let detail = auth(&blocked);
        assert_eq!(
            (detail.action, detail.outcome, detail.reason.as_deref()),
            (
                AuthAction::Mfa,
                Outcome::Failure,
                Some("FastPass declined phishing attempt")
            )
        );
    }

    #[test]
    fn panther_nanosecond_time_app_target_and_p_event_time() {
        let Some(logs) = panther_logs() else { return };
        // Line 23: "2024-04-02 19:17:37.621000000" and an `AppInstance` target.
        let event = testdata::event(Format::Okta, &logs[22].1);
        assert_eq!(event.time, time("2024-04-02T19:17:37.621Z"));
        assert_eq!(event.app.as_deref(), Some("Okta Dashboard"));
        assert_eq!(
            event.session_id.as_deref(),
            Some("idxvF50v_5sT2-GOA7_K0Amyw")
        );
        assert_eq!(event.asn, Some(7018));
        assert_eq!(
            event.event_id.as_deref(),
            Some("aac560bd-f125-11ee-9caa-cd5d09945def")
        );
        assert_eq!(
            auth(&testdata::event(Format::Okta, &logs[23].1)).outcome,
            Outcome::Failure
        );
        // Line 68: no `published`, Panther's `p_event_time` stands in; `alternateId` "admin".
        let failed = testdata::event(Format::Okta, &logs[67].1);
        assert_eq!(failed.time, time("2021-06-04T09:59:53.650807Z"));
        assert_eq!(failed.identity.as_deref(), Some("admin"));
        assert_eq!(failed.ip, Some("111.111.111.111".parse().unwrap()));
        assert_eq!(
            (
                failed.geo.clone(),
                failed.session_id.clone(),
                failed.event_id.clone()
            ),
            (None, None, None)
        );
        let detail = auth(&failed);
        assert_eq!(
            (detail.outcome, detail.reason.as_deref()),
            (Outcome::Failure, Some("VERIFICATION_ERROR"))
        );
        // Line 88: Okta's own place wins, Panther's `p_enrichment` is ignored.
        let rogue = testdata::event(Format::Okta, &logs[87].1);
        assert_eq!(
            rogue.geo.as_ref().and_then(|geo| geo.country.as_deref()),
            Some("RU")
        );
        assert_eq!(rogue.app.as_deref(), Some("My Okta App"));
    }

    #[test]
    fn ocsf_example_raw_okta_login() {
        let Some(path) = testdata::shared(OCSF_RAW) else {
            return;
        };
        let text = std::fs::read_to_string(path).expect("sample readable");
        let event = testdata::event(Format::Okta, &text);
        assert_eq!(event.time, time("2024-08-13T15:58:20.353Z"));
        assert_eq!(event.identity.as_deref(), Some("john.doe@example.com"));
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(
            event.session_id.as_deref(),
            Some("idxBager62CSveUkTxvgRtonA")
        );
        assert_eq!(
            event.device_id.as_deref(),
            Some("guofdhyjex1feOgbN1d9"),
            "top-level `device.id`"
        );
        assert_eq!(event.ip, Some("10.0.0.1".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(40.3157), Some(-74.01), Some("New York"), Some("US"))
        );
        assert_eq!(event.asn, Some(394089));
        assert!(event
            .user_agent
            .as_deref()
            .unwrap()
            .contains("Chrome/127.0.0.0"));
        assert_eq!(
            event.app.as_deref(),
            Some("Okta Admin Console"),
            "the AppInstance, not the AuthenticatorEnrollment"
        );
        assert_eq!(
            event.event_id.as_deref(),
            Some("dc9fd3c0-598c-11ef-8478-2b7584bf8d5a")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Success, None)
        );
    }

    #[test]
    fn push_challenges_refusals_and_timeouts() {
        let deny = testdata::event(
            Format::Okta,
            &record("user.mfa.okta_verify.deny_push", "SUCCESS", "", ""),
        );
        let detail = auth(&deny);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Denied, Some("push"))
        );
        assert_eq!(
            detail.reason, None,
            "Okta gives no reason, and `SUCCESS` is the logging's"
        );
        let sent = testdata::event(
            Format::Okta,
            &record("system.push.send_factor_verify_push", "SUCCESS", "", ""),
        );
        let detail = auth(&sent);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Success, Some("push"))
        );
        let factor = r#","debugContext":{"debugData":{"factor":"OKTA_VERIFY_PUSH"}}"#;
        let rejected = testdata::event(
            Format::Okta,
            &record(
                "user.authentication.auth_via_mfa",
                "FAILURE",
                "User rejected Okta push verify",
                factor,
            ),
        );
        let detail = auth(&rejected);
        assert_eq!(
            (detail.outcome, detail.reason.as_deref()),
            (Outcome::Denied, Some("User rejected Okta push verify"))
        );
        let unanswered = testdata::event(
            Format::Okta,
            &record(
                "user.authentication.auth_via_mfa",
                "FAILURE",
                "Okta Verify push timeout",
                factor,
            ),
        );
        assert_eq!(auth(&unanswered).outcome, Outcome::Timeout);
        let refused = testdata::event(
            Format::Okta,
            &record("user.session.start", "DENY", "Denied by policy", ""),
        );
        assert_eq!(auth(&refused).outcome, Outcome::Denied);
        let password_expired = testdata::event(
            Format::Okta,
            &record("user.session.start", "FAILURE", "PASSWORD_EXPIRED", ""),
        );
        assert_eq!(auth(&password_expired).outcome, Outcome::Failure);
    }

    #[test]
    fn verification_with_a_password_is_a_login() {
        let password =
            r#","authenticationContext":{"credentialType":"PASSWORD","externalSessionId":"idx1"}"#;
        let event = testdata::event(
            Format::Okta,
            &record(
                "user.authentication.verify",
                "FAILURE",
                "INVALID_CREDENTIALS",
                password,
            ),
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Failure, Some("password"))
        );
        assert_eq!(event.session_id.as_deref(), Some("idx1"));
        let sms = r#","authenticationContext":{"credentialType":"SMS"}"#;
        let event = testdata::event(
            Format::Okta,
            &record("user.authentication.verify", "SUCCESS", "", sms),
        );
        assert_eq!(
            (auth(&event).action, auth(&event).factor.as_deref()),
            (AuthAction::Mfa, Some("sms"))
        );
        let sso = r#","target":[{"type":"AppInstance","alternateId":"Salesforce"}]"#;
        let event = testdata::event(
            Format::Okta,
            &record("user.authentication.sso", "SUCCESS", "", sso),
        );
        assert_eq!(
            (auth(&event).action, event.app.as_deref()),
            (AuthAction::Login, Some("Salesforce"))
        );
    }

    #[test]
    fn actor_type_and_identity_fallback() {
        let json = r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","actor":{"id":"spr1","type":"SystemPrincipal","alternateId":"unknown"},"outcome":{"result":"SUCCESS"}}"#;
        let event = testdata::event(Format::Okta, json);
        assert_eq!(
            (event.identity.as_deref(), event.identity_type),
            (Some("spr1"), IdentityType::Service)
        );
        let client = json.replace("SystemPrincipal", "PublicClientApp");
        assert_eq!(
            testdata::event(Format::Okta, &client).identity_type,
            IdentityType::Service
        );
    }

    #[test]
    fn skips_policy_other_types_and_unfinished_outcomes() {
        let skip = |json: String| match decode_json(&json) {
            Ok(Decoded::Skipped(reason)) => reason,
            other => panic!("expected a skip from {json}, got {other:?}"),
        };
        assert_eq!(
            skip(record("policy.evaluate_sign_on", "ALLOW", "", "")),
            SKIP_POLICY
        );
        assert_eq!(
            skip(record("group.user_membership.add", "SUCCESS", "", "")),
            SKIP_OTHER
        );
        assert_eq!(
            skip(record("user.account.lock", "SUCCESS", "", "")),
            SKIP_OTHER
        );
        assert_eq!(
            skip(record("user.session.start", "CHALLENGE", "", "")),
            SKIP_OUTCOME
        );
        assert_eq!(
            skip(record(
                "user.authentication.auth_via_mfa",
                "UNKNOWN",
                "",
                ""
            )),
            SKIP_OUTCOME
        );
        // A skip needs no time, actor or outcome.
        assert_eq!(
            skip(r#"{"eventType":"app.user_management"}"#.to_string()),
            SKIP_OTHER
        );
    }

    #[test]
    fn errors_name_the_field() {
        let huge = "x".repeat(MAX_ID_BYTES + 1);
        let cases = [
            (r#"{"published":"2024-05-01T10:00:00Z"}"#.to_string(), "`eventType`"),
            (r#"{"eventType":"user.session.start","outcome":{"result":"SUCCESS"},"actor":{"alternateId":"a"}}"#.to_string(), "`published`"),
            (r#"{"eventType":"user.session.start","published":"yesterday","actor":{"alternateId":"a"}}"#.to_string(), "`published`"),
            (r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","outcome":{"result":"SUCCESS"}}"#.to_string(), "`actor.alternateId`"),
            (r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","actor":{"alternateId":"a"}}"#.to_string(), "`outcome.result`"),
            (record("user.session.start", "SUCCESS", "", &format!(r#","authenticationContext":{{"externalSessionId":"{huge}"}}"#)), "`authenticationContext.externalSessionId`"),
            ("[1, 2]".to_string(), "not a JSON object"),
            ("42".to_string(), "not a JSON object"),
            ("{\"eventType\": ".to_string(), "malformed JSON"),
        ];
        for (json, field) in cases {
            let error = decode_json(&json).unwrap_err();
            assert_eq!(error.format, Format::Okta);
            assert!(error.to_string().contains(field), "{json} -> {error}");
        }
    }

    #[test]
    fn wrong_json_types_read_as_absent() {
        let json = r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","actor":{"alternateId":"alice","id":7},
            "client":{"ipAddress":"redacted","userAgent":"not an object","geographicalContext":{"country":"Germany","geolocation":{"lat":"52.5","lon":"13.4"}}},
            "request":{"ipChain":["junk",{"ip":"89.160.20.128:443"}]},"securityContext":{"asNumber":"3301"},"target":{"type":"AppInstance"},
            "device":[],"debugContext":{"debugData":"text"},"outcome":{"result":"success","reason":{"nested":true}}}"#;
        let event = testdata::event(Format::Okta, json);
        assert_eq!(
            event.ip,
            Some("89.160.20.128".parse().unwrap()),
            "`redacted` dropped, chain entry with a port used"
        );
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (geo.lat, geo.lon, geo.country.as_deref()),
            (Some(52.5), Some(13.4), Some("DE"))
        );
        assert_eq!(event.asn, Some(3301));
        assert_eq!(
            (
                event.user_agent.clone(),
                event.app.clone(),
                event.device_id.clone()
            ),
            (None, None, None)
        );
        assert_eq!(auth(&event).outcome, Outcome::Success);
    }

    #[test]
    fn factor_vocabulary() {
        let cases = [
            ("PASSWORD", "password"),
            ("OKTA_VERIFY_PUSH", "push"),
            ("GOOGLE_OTP", "otp"),
            ("OKTA_SOFT_TOKEN", "otp"),
            ("token:software:totp", "otp"),
            ("SMS_FACTOR", "sms"),
            ("CALL_FACTOR", "voice"),
            ("EMAIL_FACTOR", "email"),
            ("FIDO_WEBAUTHN", "webauthn"),
            ("FIDO_U2F", "webauthn"),
            ("CERTIFICATE", "certificate"),
            ("SIGNED_NONCE", "signed_nonce"),
            ("Push Notification", "push"),
        ];
        for (vendor, expected) in cases {
            assert_eq!(
                normalize_factor(vendor).as_deref(),
                Some(expected),
                "{vendor}"
            );
        }
        assert_eq!(normalize_factor("null"), None);
        assert_eq!(normalize_factor(&"F".repeat(MAX_FACTOR_BYTES + 1)), None);
    }

    #[test]
    fn vendor_geo_rules() {
        assert_eq!(
            vendor_geo(Some(0.0), Some(0.0), None, None),
            None,
            "null island alone is no location"
        );
        assert_eq!(
            vendor_geo(Some(91.0), Some(0.0), None, Some("France")),
            Some(Geo {
                country: Some("FR".to_string()),
                ..Geo::default()
            })
        );
        assert_eq!(
            vendor_geo(Some(48.8), None, Some("Paris"), None),
            Some(Geo {
                city: Some("Paris".to_string()),
                ..Geo::default()
            })
        );
        assert_eq!(
            vendor_geo(Some(48.8), Some(2.3), Some("unknown"), Some("Atlantis")),
            Some(Geo {
                lat: Some(48.8),
                lon: Some(2.3),
                ..Geo::default()
            })
        );
    }

    /// Field names of the Okta and OCSF records, for generated records that reach deep.
    pub(crate) const FIELD_NAMES: &[&str] = &[
        "eventType",
        "eventtype",
        "published",
        "p_event_time",
        "uuid",
        "actor",
        "id",
        "type",
        "alternateId",
        "client",
        "ipAddress",
        "userAgent",
        "rawUserAgent",
        "geographicalContext",
        "city",
        "country",
        "geolocation",
        "lat",
        "lon",
        "device",
        "authenticationContext",
        "externalSessionId",
        "credentialType",
        "debugContext",
        "debugData",
        "factor",
        "deviceFingerprint",
        "outcome",
        "result",
        "reason",
        "securityContext",
        "asNumber",
        "request",
        "ipChain",
        "ip",
        "target",
        "displayName",
        "class_uid",
        "activity_id",
        "status_id",
        "status",
        "status_detail",
        "status_code",
        "time",
        "time_dt",
        "user",
        "email_addr",
        "name",
        "uid",
        "uid_alt",
        "domain",
        "type_id",
        "session",
        "hostname",
        "src_endpoint",
        "location",
        "long",
        "coordinates",
        "autonomous_system",
        "number",
        "http_request",
        "user_agent",
        "service",
        "metadata",
        "is_mfa",
        "mfa",
        "auth_factors",
        "factor_type",
        "factor_type_id",
        "logon_type_id",
    ];

    /// Values that steer generated records down the decoders' interesting paths.
    pub(crate) const TELLING_STRINGS: &[&str] = &[
        "user.session.start",
        "user.session.end",
        "user.authentication.auth_via_mfa",
        "user.authentication.verify",
        "user.mfa.okta_verify.deny_push",
        "system.push.send_factor_verify_push",
        "user.authentication.auth_via_IDP",
        "policy.evaluate_sign_on",
        "2024-05-01T10:00:00Z",
        "2022-03-22 14:21:53.225",
        "9999-12-31T23:59:59.999999999Z",
        "SUCCESS",
        "FAILURE",
        "DENY",
        "CHALLENGE",
        "Success",
        "Failure",
        "User",
        "SystemPrincipal",
        "AppInstance",
        "OKTA_VERIFY_PUSH",
        "PASSWORD",
        "United States",
        "US",
        "1.2.3.4",
        "::1",
        "[::1]:443",
        "null",
        "unknown",
        "-",
        "",
        "alice@example.com",
        "timeout",
        "3002",
        "1699633474000",
    ];

    /// Generated JSON records whose keys are real field names, nested up to four deep.
    pub(crate) fn shaped_records() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            prop::sample::select(vec![
                0_i64,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                11,
                99,
                3002,
                1_723_564_700,
                1_699_633_474_000,
                -1,
                i64::MAX
            ])
            .prop_map(serde_json::Value::from),
            prop::sample::select(TELLING_STRINGS).prop_map(serde_json::Value::from),
            "\\PC{0,16}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(FIELD_NAMES).prop_map(str::to_string),
                    inner,
                    0..8
                )
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        });
        prop::collection::btree_map(
            prop::sample::select(FIELD_NAMES).prop_map(str::to_string),
            value,
            0..16,
        )
        .prop_map(|map| serde_json::Value::Object(map.into_iter().collect()).to_string())
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn never_panics_on_json_like_text(text in "[{}\\[\\]\":,. a-zA-Z0-9_@-]{0,200}") {
            let _ = decode(text.as_bytes());
        }

        #[test]
        fn never_panics_on_okta_shaped_records(json in shaped_records()) {
            let _ = decode(json.as_bytes());
        }
    }
}
