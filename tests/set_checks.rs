//! Self-tests of the SET checks in `common::set_checks`: a good SET passes, each kind of
//! bad SET fails with the check that names its fault, the CAEP 1.0 spec examples pass the
//! claim checks, and vigil's own SETs pass under the CAEP interoperability profile.
mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::set_checks::{check_set, failed_checks, Checked, Expect};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use vigil_schemas::caep::{event_type, SecurityEventToken, SubjectId};
use vigil_sinks::caep::Signer;

const ISSUER: &str = "https://vigil.example.com/";
const AUDIENCE: &str = "https://idp.example.com/caep";
const IAT: i64 = 1_772_440_021;
const NOW: i64 = IAT + 10;
const KID: &str = "vigil-test";

fn key_signer(file: &str) -> Signer {
    let path = format!("{}/sinks/tests/keys/{file}", env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    Signer::from_pem(&pem, KID).expect("a test key")
}

fn rs256() -> Signer {
    key_signer("test-rs256.pem")
}

/// A session-revoked SET as vigil sends it (email subject, reason_admin, seconds).
fn good_set() -> SecurityEventToken {
    SecurityEventToken {
        iss: ISSUER.into(),
        jti: "6b1d52c1-0000-5000-8000-000000000001".into(),
        iat: IAT,
        aud: AUDIENCE.into(),
        txn: "6b1d52c1-0000-5000-8000-000000000001".into(),
        sub_id: SubjectId::Email {
            email: "alice@example.com".into(),
        },
        events: BTreeMap::from([(
            event_type::SESSION_REVOKED.to_string(),
            json!({
                "event_timestamp": IAT - 1,
                "initiating_entity": "policy",
                "reason_admin": { "en": "vigil revoke-impossible-travel" },
            }),
        )]),
    }
}

/// `good_set` with its one event replaced.
fn with_event(kind: &str, event: Value) -> SecurityEventToken {
    SecurityEventToken {
        events: BTreeMap::from([(kind.to_string(), event)]),
        ..good_set()
    }
}

fn check(token: &str, jwks: &Value, caep_interop: bool) -> Result<Checked, Vec<String>> {
    check_set(
        token,
        &Expect {
            jwks,
            issuer: ISSUER,
            audience: AUDIENCE,
            caep_interop,
        },
        NOW,
    )
}

/// The names of the failed checks (empty when the SET passed).
fn failures(result: &Result<Checked, Vec<String>>) -> BTreeSet<String> {
    match result {
        Ok(_) => BTreeSet::new(),
        Err(errors) => failed_checks(errors),
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| name.to_string()).collect()
}

/// Signs `set` with `signer` and checks it; the names of the failed checks.
fn signed_failures(
    signer: &Signer,
    set: &SecurityEventToken,
    caep_interop: bool,
) -> BTreeSet<String> {
    let result = check(&signer.sign(set), &signer.jwks(), caep_interop);
    if let Err(errors) = &result {
        eprintln!("{errors:#?}");
    }
    failures(&result)
}

/// The token with its header and claims rewritten and its signature kept.
fn tampered(token: &str, edit: impl FnOnce(&mut Value, &mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let (mut header, mut claims) = (decode(parts[0]), decode(parts[1]));
    edit(&mut header, &mut claims);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

#[test]
fn a_good_rs256_session_revoked_set_passes() {
    let signer = rs256();
    let token = signer.sign(&good_set());
    let checked =
        check(&token, &signer.jwks(), true).unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(checked.event_type, event_type::SESSION_REVOKED);
    assert_eq!(checked.header["typ"], "secevent+jwt");
    assert_eq!(checked.claims["sub_id"]["email"], "alice@example.com");
    assert_eq!(checked.event["initiating_entity"], "policy");
    assert!(checked.warnings.is_empty(), "{:?}", checked.warnings);
    // ES256 is fine outside the interoperability profile.
    let es256 = key_signer("test-es256.pem");
    assert!(check(&es256.sign(&good_set()), &es256.jwks(), false).is_ok());
}

#[test]
fn a_wrong_typ_fails_typ_and_the_signature_it_breaks() {
    let signer = rs256();
    let token = signer.sign(&good_set());
    let jwt = tampered(&token, |header, _| header["typ"] = "JWT".into());
    assert_eq!(
        failures(&check(&jwt, &signer.jwks(), true)),
        names(&["typ", "signature"])
    );
    let missing = tampered(&token, |header, _| {
        header.as_object_mut().unwrap().remove("typ");
    });
    assert_eq!(
        failures(&check(&missing, &signer.jwks(), true)),
        names(&["typ", "signature"])
    );
    // The long form in another case names the same media type: only the signature breaks.
    let long = tampered(&token, |header, _| {
        header["typ"] = "Application/SecEvent+JWT".into()
    });
    assert_eq!(
        failures(&check(&long, &signer.jwks(), true)),
        names(&["signature"])
    );
}

#[test]
fn exp_and_sub_claims_fail() {
    let signer = rs256();
    let token = signer.sign(&good_set());
    let exp = tampered(&token, |_, claims| claims["exp"] = (IAT + 3600).into());
    assert_eq!(
        failures(&check(&exp, &signer.jwks(), true)),
        names(&["exp", "signature"])
    );
    let sub = tampered(&token, |_, claims| claims["sub"] = "alice".into());
    assert_eq!(
        failures(&check(&sub, &signer.jwks(), true)),
        names(&["sub", "signature"])
    );
}

#[test]
fn two_events_fail() {
    let mut set = good_set();
    set.events.insert(
        event_type::RISK_LEVEL_CHANGE.to_string(),
        json!({ "current_level": "HIGH", "principal": "USER", "reason_admin": { "en": "x" } }),
    );
    assert_eq!(
        signed_failures(&rs256(), &set, true),
        names(&["single_event"])
    );
    let mut not_an_object = good_set();
    not_an_object
        .events
        .insert(event_type::SESSION_REVOKED.to_string(), json!("revoked"));
    assert_eq!(
        signed_failures(&rs256(), &not_an_object, false),
        names(&["event_object"])
    );
    let none = SecurityEventToken {
        events: BTreeMap::new(),
        ..good_set()
    };
    assert_eq!(
        signed_failures(&rs256(), &none, false),
        names(&["single_event"])
    );
}

#[test]
fn an_iat_in_the_future_fails_beyond_the_skew() {
    let signer = rs256();
    let future = SecurityEventToken {
        iat: NOW + 60,
        ..good_set()
    };
    assert_eq!(signed_failures(&signer, &future, true), names(&["iat"]));
    let skewed = SecurityEventToken {
        iat: NOW + 5,
        ..good_set()
    };
    assert!(signed_failures(&signer, &skewed, true).is_empty());
    let float = tampered(&signer.sign(&good_set()), |_, claims| {
        claims["iat"] = json!(1.5e9)
    });
    assert_eq!(
        failures(&check(&float, &signer.jwks(), true)),
        names(&["iat", "signature"])
    );
}

#[test]
fn a_wrong_iss_or_aud_fails() {
    let signer = rs256();
    let iss = SecurityEventToken {
        iss: "https://evil.example.com/".into(),
        ..good_set()
    };
    assert_eq!(signed_failures(&signer, &iss, true), names(&["iss"]));
    let aud = SecurityEventToken {
        aud: "https://other.example.com/caep".into(),
        ..good_set()
    };
    assert_eq!(signed_failures(&signer, &aud, true), names(&["aud"]));
    // An array naming the audience is fine, one without it is not; no aud at all fails.
    let token = signer.sign(&good_set());
    let array = tampered(&token, |_, claims| {
        claims["aud"] = json!(["https://other.example.com/", AUDIENCE])
    });
    assert_eq!(
        failures(&check(&array, &signer.jwks(), true)),
        names(&["signature"])
    );
    let missing = tampered(&token, |_, claims| {
        claims.as_object_mut().unwrap().remove("aud");
    });
    assert_eq!(
        failures(&check(&missing, &signer.jwks(), true)),
        names(&["aud", "signature"])
    );
}

#[test]
fn an_event_timestamp_in_milliseconds_fails() {
    let millis = with_event(
        event_type::SESSION_REVOKED,
        json!({ "event_timestamp": (IAT - 1) * 1000, "reason_admin": { "en": "x" } }),
    );
    assert_eq!(
        signed_failures(&rs256(), &millis, true),
        names(&["event_timestamp"])
    );
    let negative = with_event(
        event_type::SESSION_REVOKED,
        json!({ "event_timestamp": -1, "reason_admin": { "en": "x" } }),
    );
    assert_eq!(
        signed_failures(&rs256(), &negative, true),
        names(&["event_timestamp"])
    );
}

#[test]
fn an_opaque_subject_fails_under_the_interoperability_profile() {
    let signer = rs256();
    let opaque = SecurityEventToken {
        sub_id: SubjectId::Opaque { id: "alice".into() },
        ..good_set()
    };
    assert_eq!(
        signed_failures(&signer, &opaque, true),
        names(&["subject_format"])
    );
    assert!(
        signed_failures(&signer, &opaque, false).is_empty(),
        "fine in plain CAEP"
    );
    // A complex subject whose user is opaque fails; one whose user is an email address is
    // only warned about.
    let opaque_user = SecurityEventToken {
        sub_id: SubjectId::Complex {
            user: Some(Box::new(SubjectId::Opaque { id: "alice".into() })),
            session: None,
            device: None,
        },
        ..good_set()
    };
    assert_eq!(
        signed_failures(&signer, &opaque_user, true),
        names(&["subject_format"])
    );
    let email_user = SecurityEventToken {
        sub_id: SubjectId::Complex {
            user: Some(Box::new(SubjectId::Email {
                email: "alice@example.com".into(),
            })),
            session: Some(Box::new(SubjectId::Opaque { id: "s-1".into() })),
            device: None,
        },
        ..good_set()
    };
    let checked = check(&signer.sign(&email_user), &signer.jwks(), true).unwrap();
    assert_eq!(
        failed_checks(&checked.warnings),
        names(&["complex_subject"])
    );
    // Malformed subjects fail with or without the profile.
    let not_email = SecurityEventToken {
        sub_id: SubjectId::Email {
            email: "alice".into(),
        },
        ..good_set()
    };
    assert_eq!(
        signed_failures(&signer, &not_email, false),
        names(&["sub_id"])
    );
    let empty_complex = SecurityEventToken {
        sub_id: SubjectId::Complex {
            user: None,
            session: None,
            device: None,
        },
        ..good_set()
    };
    assert_eq!(
        signed_failures(&signer, &empty_complex, true),
        names(&["sub_id", "subject_format"])
    );
}

#[test]
fn a_missing_reason_admin_fails_under_the_interoperability_profile() {
    let bare = with_event(
        event_type::SESSION_REVOKED,
        json!({ "event_timestamp": IAT - 1 }),
    );
    assert_eq!(
        signed_failures(&rs256(), &bare, true),
        names(&["reason_admin_present"])
    );
    assert!(signed_failures(&rs256(), &bare, false).is_empty());
    let empty = with_event(event_type::SESSION_REVOKED, json!({ "reason_admin": {} }));
    assert_eq!(
        signed_failures(&rs256(), &empty, true),
        names(&["reason_admin_present", "reason_admin"])
    );
}

#[test]
fn es256_fails_under_the_interoperability_profile() {
    let es256 = key_signer("test-es256.pem");
    assert_eq!(signed_failures(&es256, &good_set(), true), names(&["alg"]));
    assert!(signed_failures(&es256, &good_set(), false).is_empty());
}

#[test]
fn an_unknown_key_or_a_short_rsa_key_fails() {
    let signer = rs256();
    let token = signer.sign(&good_set());
    let other = Signer::from_pem(
        &std::fs::read_to_string(format!(
            "{}/sinks/tests/keys/test-rs256.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
        "someone-else",
    )
    .unwrap();
    assert_eq!(
        failures(&check(&token, &other.jwks(), true)),
        names(&["signature"])
    );
    // The published modulus cut to 1024 bits: the key is too short (and no longer verifies).
    let mut short = signer.jwks();
    let n = URL_SAFE_NO_PAD
        .decode(short["keys"][0]["n"].as_str().unwrap())
        .unwrap();
    short["keys"][0]["n"] = URL_SAFE_NO_PAD.encode(&n[..128]).into();
    assert_eq!(
        failures(&check(&token, &short, false)),
        names(&["signature", "key_size"])
    );
    assert_eq!(
        failures(&check("not.a-token", &signer.jwks(), false)),
        names(&["compact"])
    );
}

/// Event bodies of each type: the failed checks (signed, plain CAEP) or, when none, the
/// warnings.
#[test]
fn each_event_type_checks_its_own_members() {
    let caep = |name: &str| format!("https://schemas.openid.net/secevent/caep/event-type/{name}");
    let cases: Vec<(String, Value, &[&str], &[&str])> = vec![
        (
            caep("assurance-level-change"),
            json!({ "namespace": "NIST-AAL", "current_level": "nist-aal2", "change_direction": "increase" }),
            &[],
            &[],
        ),
        (
            caep("assurance-level-change"),
            json!({ "current_level": "nist-aal2" }),
            &["assurance_level_change"],
            &[],
        ),
        (
            caep("assurance-level-change"),
            json!({ "namespace": "NIST-AAL", "current_level": "nist-aal2", "change_direction": "up" }),
            &["assurance_level_change"],
            &[],
        ),
        (
            caep("assurance-level-change"),
            json!({ "namespace": "NIST-AAL", "current_level": "nist-aal2", "previous_level": "nist-aal1" }),
            &[],
            &["change_direction_missing"],
        ),
        (
            caep("device-compliance-change"),
            json!({ "current_status": "not-compliant", "previous_status": "compliant" }),
            &[],
            &[],
        ),
        (
            caep("device-compliance-change"),
            json!({ "current_status": "quarantined", "previous_status": "compliant" }),
            &["device_compliance_change"],
            &[],
        ),
        (
            caep("device-compliance-change"),
            json!({ "current_status": "not-compliant" }),
            &["device_compliance_change"],
            &[],
        ),
        (
            caep("risk-level-change"),
            json!({ "current_level": "HIGH", "principal": "USER", "risk_reason": "IMPOSSIBLE_TRAVEL" }),
            &[],
            &[],
        ),
        (
            caep("risk-level-change"),
            json!({ "current_level": "SEVERE", "principal": "USER", "risk_reason": "x" }),
            &["risk_level_change"],
            &[],
        ),
        (
            caep("risk-level-change"),
            json!({ "current_level": "HIGH", "previous_level": "high", "principal": "USER", "risk_reason": "x" }),
            &["risk_level_change"],
            &[],
        ),
        (
            caep("risk-level-change"),
            json!({ "current_level": "HIGH", "risk_reason": "x" }),
            &["risk_level_change"],
            &[],
        ),
        (
            caep("risk-level-change"),
            json!({ "current_level": "LOW", "principal": "DEVICE" }),
            &[],
            &["risk_reason_missing"],
        ),
        (
            caep("credential-change"),
            json!({ "credential_type": "password", "change_type": "update" }),
            &[],
            &[],
        ),
        (
            caep("credential-change"),
            json!({ "credential_type": "password", "change_type": "rotate" }),
            &["credential_change"],
            &[],
        ),
        (
            caep("credential-change"),
            json!({ "change_type": "create" }),
            &["credential_change"],
            &[],
        ),
        (
            caep("credential-change"),
            json!({ "credential_type": "smartcard", "change_type": "create" }),
            &[],
            &["credential_type_nonstandard"],
        ),
        (
            caep("token-claims-change"),
            json!({ "claims": { "role": "ro-admin" } }),
            &[],
            &[],
        ),
        (
            caep("token-claims-change"),
            json!({ "claims": {} }),
            &["token_claims_change"],
            &[],
        ),
        (
            caep("token-claims-change"),
            json!({}),
            &["token_claims_change"],
            &[],
        ),
        (
            caep("session-established"),
            json!({ "acr": "AAL2", "amr": ["otp"] }),
            &[],
            &[],
        ),
        (
            caep("session-established"),
            json!({ "amr": "otp" }),
            &["session_established"],
            &[],
        ),
        (
            caep("session-presented"),
            json!({ "ext_id": 12345 }),
            &["session_presented"],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "initiating_entity": "robot" }),
            &["initiating_entity"],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "reason_user": { "English": "x" } }),
            &["reason_user"],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "reason_admin": { "en": 7 } }),
            &["reason_admin"],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "reason_admin": "Policy violation" }),
            &["reason_admin"],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "reason_user": { "es-419": "x", "zh-Hant-TW": "y" } }),
            &[],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "event_timestmp": IAT }),
            &[],
            &["unknown_members"],
        ),
        (
            caep("session-revoked"),
            json!({ "event_timestamp": 1_600_000_000 }),
            &[],
            &["event_timestamp_implausible"],
        ),
        (
            caep("session-revoked"),
            json!({ "event_timestamp": NOW + 3600 }),
            &[],
            &["event_timestamp_future"],
        ),
        (
            caep("session-revoked"),
            json!({ "event_timestamp": 1.5e9 }),
            &["event_timestamp"],
            &[],
        ),
        (
            caep("session-revoked"),
            json!({ "event_timestamp": "1772440020" }),
            &["event_timestamp"],
            &[],
        ),
        (
            caep("account-locked"),
            json!({}),
            &[],
            &["unknown_event_type"],
        ),
        // SSF events name their stream as an opaque subject: with the email subject of these
        // SETs they fail `subject_format` besides their own members.
        (
            "https://schemas.openid.net/secevent/ssf/event-type/verification".into(),
            json!({ "state": 5 }),
            &["subject_format", "verification"],
            &[],
        ),
        (
            "https://schemas.openid.net/secevent/ssf/event-type/stream-updated".into(),
            json!({ "status": "stopped" }),
            &["subject_format", "stream_updated"],
            &[],
        ),
        (
            "https://schemas.openid.net/secevent/risc/event-type/account-disabled".into(),
            json!({ "reason": "hijacking" }),
            &[],
            &[],
        ),
    ];
    let signer = rs256();
    for (kind, event, errors, warnings) in cases {
        let set = with_event(&kind, event.clone());
        let result = check(&signer.sign(&set), &signer.jwks(), false);
        assert_eq!(failures(&result), names(errors), "{kind} {event}");
        if let Ok(checked) = result {
            assert_eq!(
                failed_checks(&checked.warnings),
                names(warnings),
                "{kind} {event}"
            );
        }
    }
    // The SSF events pass with the opaque stream subject they are defined with, also under
    // the interoperability profile (where opaque is for them only).
    for (kind, event) in [
        (
            "https://schemas.openid.net/secevent/ssf/event-type/verification",
            json!({ "state": "VGhpcw" }),
        ),
        (
            "https://schemas.openid.net/secevent/ssf/event-type/stream-updated",
            json!({ "status": "paused", "reason": "maintenance" }),
        ),
    ] {
        let set = SecurityEventToken {
            sub_id: SubjectId::Opaque {
                id: "f67e39a0a4d34d56b3aa1bc4cff0069f".into(),
            },
            ..with_event(kind, event)
        };
        assert!(signed_failures(&signer, &set, true).is_empty(), "{kind}");
    }
}

#[test]
fn the_caep_spec_examples_pass_the_claim_checks() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/caep-ssf/examples/caep");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the spec examples {} are missing in CI",
            folder.display()
        );
        eprintln!("no spec examples at {}: nothing to check", folder.display());
        return;
    };
    let mut files: Vec<_> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
                && !path.ends_with("caep_INDEX.json")
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 15, "the 15 CAEP 1.0 examples");
    let signer = rs256();
    let jwks = signer.jwks();
    // The failed checks of each claim set under the CAEP interoperability profile (the
    // signature aside): the spec examples predate the profile.
    let interop_expected: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("caep_03", &["subject_format", "reason_admin_present"][..]),
        ("caep_04", &[][..]),
        ("caep_05", &[][..]),
        ("caep_06", &["subject_format", "reason_admin_present"][..]),
        ("caep_07", &["subject_format"][..]),
        ("caep_08", &["subject_format", "reason_admin_present"][..]),
        ("caep_09", &[][..]),
        ("caep_10", &["reason_admin_present"][..]),
        ("caep_11", &["reason_admin_present"][..]),
        ("caep_12", &["subject_format"][..]),
        ("caep_13", &["reason_admin_present"][..]),
        ("caep_14", &["reason_admin_present"][..]),
        ("caep_15", &["reason_admin_present"][..]),
    ]);
    let mut outcomes = BTreeMap::new();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let key = name[..7].to_string();
        let mut example: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if example.get("events").is_none() {
            outcomes.insert(
                name,
                "skipped: a fragment of the optional claims section, not a claim set".to_string(),
            );
            continue;
        }
        // The examples all carry aud and txn; fill them in if one ever does not.
        if example.get("aud").is_none() {
            example["aud"] = AUDIENCE.into();
        }
        if example.get("txn").is_none() {
            example["txn"] = "filled-in".into();
        }
        let issuer = example["iss"].as_str().unwrap().to_string();
        let audience = match &example["aud"] {
            Value::Array(names) => names[0].as_str().unwrap().to_string(),
            one => one.as_str().unwrap().to_string(),
        };
        let expect = |caep_interop| Expect {
            jwks: &jwks,
            issuer: &issuer,
            audience: &audience,
            caep_interop,
        };
        let now = example["iat"].as_i64().unwrap() + 60;
        // Signed when the typed SET carries exactly the example's claims (serde would drop
        // members SubjectId does not know, such as a complex subject's `tenant`).
        let typed = serde_json::from_value::<SecurityEventToken>(example.clone())
            .map_err(|error| error.to_string())
            .and_then(|set| {
                let back = serde_json::to_value(&set).unwrap();
                if back == example {
                    return Ok(set);
                }
                let dropped: Vec<&String> = example["sub_id"]
                    .as_object()
                    .map(|subject| {
                        subject
                            .keys()
                            .filter(|key| back["sub_id"].get(key.as_str()).is_none())
                            .collect()
                    })
                    .unwrap_or_default();
                Err(format!(
                    "SubjectId::Complex has no member {dropped:?}: the typed SET would drop it"
                ))
            });
        let (token, signed) = match &typed {
            Ok(set) => (signer.sign(set), true),
            Err(_) => {
                let header = json!({ "alg": "RS256", "typ": "secevent+jwt", "kid": KID });
                let token = format!(
                    "{}.{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(example.to_string()),
                    URL_SAFE_NO_PAD.encode([0u8; 256])
                );
                (token, false)
            }
        };
        let plain = check_set(&token, &expect(false), now);
        let outcome = if signed {
            let checked = plain.unwrap_or_else(|errors| panic!("{name}: {errors:#?}"));
            assert_eq!(checked.claims, example, "{name}");
            format!(
                "signed RS256, passed; warnings {:?}",
                failed_checks(&checked.warnings)
            )
        } else {
            assert_eq!(
                failures(&plain),
                names(&["signature"]),
                "{name}: {plain:?}",
                plain = plain.as_ref().err()
            );
            format!(
                "checked unsigned, every check but the signature passed ({})",
                typed.err().unwrap()
            )
        };
        let mut interop = failures(&check_set(&token, &expect(true), now));
        if !signed {
            interop.remove("signature");
        }
        assert_eq!(
            interop,
            names(interop_expected[key.as_str()]),
            "{name} under the interoperability profile"
        );
        outcomes.insert(name, outcome);
    }
    for (name, outcome) in &outcomes {
        eprintln!("{name}: {outcome}");
    }
    let signed = outcomes
        .values()
        .filter(|outcome| outcome.starts_with("signed"))
        .count();
    assert_eq!(signed, 7, "03, 09, 10, 11, 13, 14 and 15 are representable");
}

fn decision(
    action: vigil_schemas::Action,
    assurance_level: Option<&str>,
) -> vigil_schemas::Decision {
    use vigil_schemas::{Decision, Detector, Mode, Origin, Reason, Risk, RiskLevel, Timestamp};
    Decision {
        id: format!("00000000-0000-5000-8000-{:012}", action as u8),
        time: Timestamp::from_secs(IAT - 1),
        decided_at: Timestamp::from_secs(IAT - 1),
        identity: "alice@example.com".into(),
        session_id: Some("s-1".into()),
        device_id: Some("laptop-1".into()),
        action,
        mode: Mode::Enforce,
        risk: Risk {
            score: 80.0,
            level: RiskLevel::High,
        },
        reasons: vec![Reason {
            detector: Detector::ImpossibleTravel,
            score: 95.0,
            detail: "6,385 km in 47 min".into(),
        }],
        rule: "rule".into(),
        assurance_level: assurance_level.map(String::from),
        trigger: Origin::File {
            file: "f".into(),
            line: 1,
        },
    }
}

#[test]
fn vigils_own_sets_pass_under_the_interoperability_profile() {
    use vigil_schemas::caep::{sets_for, CaepIdentity};
    use vigil_schemas::Action;
    let signer = rs256();
    let jwks = signer.jwks();
    for simple_subjects in [false, true] {
        let mut jtis = std::collections::BTreeSet::new();
        let mut count = 0;
        let identity = CaepIdentity {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            subject_issuer: "https://idp.example.com/".into(),
            simple_subjects,
        };
        for decision in [
            decision(Action::RevokeSession, None),
            decision(Action::RevokeAllSessions, None),
            decision(Action::StepUp, Some("aal2")),
            vigil_schemas::Decision {
                id: "00000000-0000-5000-8000-0000000000ff".into(),
                ..decision(Action::StepUp, Some("phishing-resistant"))
            },
            decision(Action::QuarantineDevice, None),
        ] {
            let sets = sets_for(&decision, &identity, IAT);
            assert!(!sets.is_empty());
            for set in sets {
                let checked = check(&signer.sign(&set), &jwks, true)
                    .unwrap_or_else(|errors| panic!("{:?}: {errors:#?}", decision.action));
                count += 1;
                jtis.insert(checked.claims["jti"].as_str().unwrap().to_string());
                if checked.event_type.ends_with("assurance-level-change") {
                    // vigil always says which way the level moved.
                    assert!(["increase", "decrease"]
                        .contains(&checked.event["change_direction"].as_str().unwrap_or("")));
                }
                let warnings = failed_checks(&checked.warnings);
                let expected = if simple_subjects {
                    names(&[])
                } else {
                    names(&["complex_subject"])
                };
                assert_eq!(
                    warnings, expected,
                    "{:?} {}",
                    decision.action, checked.event_type
                );
            }
        }
        assert_eq!(count, 7, "one SET per action, two per step-up with a level");
        assert_eq!(jtis.len(), count, "every jti unique");
    }
}
