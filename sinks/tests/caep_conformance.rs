//! The per-SET checks of the OpenID SSF conformance suite (see
//! `../shared/data/caep-ssf/CONFORMANCE_CHECKLIST.md`), re-implemented over every kind of
//! enforced decision vigil makes, signed with the RS256 test key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use vigil_schemas::caep::{sets_for, CaepIdentity};
use vigil_schemas::{Action, Decision, Detector, Mode, Origin, Reason, Risk, RiskLevel, Timestamp};
use vigil_sinks::caep::Signer;

fn decision(action: Action, assurance_level: Option<&str>) -> Decision {
    Decision {
        id: format!("00000000-0000-5000-8000-{:012}", action as u8),
        time: Timestamp::from_secs(1_772_440_020),
        decided_at: Timestamp::from_secs(1_772_440_020),
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
            detector: Detector::PostureDegraded,
            score: 85.0,
            detail: "EDR stopped".into(),
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
fn every_set_passes_the_per_set_checks() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/test-rs256.pem"
    ))
    .unwrap();
    let signer = Signer::from_pem(&pem, "vigil-test").unwrap();
    let caep = CaepIdentity {
        issuer: "https://vigil.example.com/".into(),
        audience: "https://idp.example.com/caep".into(),
        subject_issuer: "https://idp.example.com/".into(),
        simple_subjects: false,
    };
    let now = 1_772_440_030;
    let decisions = [
        decision(Action::RevokeSession, None),
        decision(Action::RevokeAllSessions, None),
        decision(Action::StepUp, Some("aal2")),
        decision(Action::QuarantineDevice, None),
    ];
    let mut jtis = Vec::new();
    for decision in &decisions {
        let sets = sets_for(decision, &caep, now);
        assert!(!sets.is_empty(), "{:?}", decision.action);
        for set in sets {
            let token = signer.sign(&set);
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3);
            let header: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
            let claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(header["typ"], "secevent+jwt");
            assert_eq!(header["alg"], "RS256");
            let events = claims["events"].as_object().unwrap();
            assert_eq!(events.len(), 1, "exactly one event");
            let (kind, event) = events.iter().next().unwrap();
            assert!(event.is_object());
            assert!(kind.starts_with("https://schemas.openid.net/secevent/caep/event-type/"));
            assert!(claims.get("exp").is_none() && claims.get("sub").is_none());
            assert!(claims["iat"].as_i64().unwrap() <= now);
            assert_eq!(claims["iss"], caep.issuer.as_str());
            assert_eq!(claims["aud"], caep.audience.as_str());
            assert!(claims["txn"].is_string());
            let jti = claims["jti"].as_str().unwrap().to_string();
            assert!(!jtis.contains(&jti), "jti unique");
            jtis.push(jti);
            assert_ne!(
                claims["sub_id"]["format"], "opaque",
                "CAEP interop refuses opaque subjects"
            );
            assert!(event["reason_admin"]["en"]
                .as_str()
                .is_some_and(|text| !text.is_empty()));
            let timestamp = event["event_timestamp"].as_i64().unwrap();
            assert!(
                (0..100_000_000_000).contains(&timestamp),
                "seconds, not milliseconds"
            );
            assert!(["admin", "user", "policy", "system"]
                .contains(&event["initiating_entity"].as_str().unwrap()));
            if kind.ends_with("assurance-level-change") {
                assert!(event["namespace"]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()));
                assert!(event["current_level"]
                    .as_str()
                    .is_some_and(|text| !text.is_empty()));
                assert!(
                    ["increase", "decrease"].contains(&event["change_direction"].as_str().unwrap())
                );
            }
        }
    }
    assert_eq!(jtis.len(), 5);
}
