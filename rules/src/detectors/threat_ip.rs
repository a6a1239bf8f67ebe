//! `threat_ip`: an event from an address on a configured threat-intelligence or
//! anonymizer list (`[enrich] threat_ranges`, `anonymizer_ranges`).
//!
//! A threat-list address is high risk on its own (known attacker infrastructure). An
//! anonymizer (Tor exit, open proxy, commercial VPN exit) is medium: it hides where the
//! person is, which is what attackers want, but privacy-minded people use them too.
//!
//! Classic false positive: the organisation's own egress or VPN range overlapping a list
//! (shared cloud addresses end up on threat feeds): corporate and VPN addresses are never
//! judged.

use crate::check::{is_score, Invalid};
use serde::Deserialize;
use serde_json::json;
use vigil_schemas::{Detector, Envelope, Signal};

/// Judges one event's address tags.
pub fn detect(envelope: &Envelope, config: &ThreatIpConfig) -> Option<Signal> {
    let tags = envelope.tags;
    if !config.enabled || tags.corporate || tags.vpn || !(tags.threat || tags.anonymizer) {
        return None;
    }
    let ip = envelope.event.ip?;
    let (score, list) = if tags.threat {
        (config.threat_score, "threat-intelligence")
    } else {
        (config.anonymizer_score, "anonymizer")
    };
    Some(Signal {
        detector: Detector::ThreatIp,
        score,
        confidence: if tags.threat { 0.9 } else { 0.8 },
        detail: format!("address {ip} is on the {list} list"),
        evidence: json!({ "ip": ip, "list": list }),
    })
}

/// The threat-IP detector, over the `[enrich]` anonymizer and threat-intelligence lists.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreatIpConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Score of an address on the threat-intelligence list.
    pub threat_score: f64,
    /// Score of an address on the anonymizer list: medium, privacy-minded people use Tor
    /// and commercial VPNs too.
    pub anonymizer_score: f64,
}

impl Default for ThreatIpConfig {
    fn default() -> Self {
        ThreatIpConfig {
            enabled: true,
            threat_score: 85.0,
            anonymizer_score: 45.0,
        }
    }
}

impl ThreatIpConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([(
            is_score(self.threat_score) && is_score(self.anonymizer_score),
            "",
            crate::check::SCORES,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{login_at, BERLIN};
    use vigil_schemas::IpTags;

    fn tagged(tags: IpTags) -> Envelope {
        let mut envelope = login_at("2026-03-02T09:00:00Z", BERLIN, "45.155.205.9");
        envelope.tags = tags;
        envelope
    }

    #[test]
    fn a_threat_list_address_is_high_risk() {
        let signal = detect(
            &tagged(IpTags {
                threat: true,
                anonymizer: true,
                ..IpTags::default()
            }),
            &ThreatIpConfig::default(),
        )
        .unwrap();
        assert_eq!(signal.score, 85.0);
        assert!(
            signal.detail.contains("threat-intelligence"),
            "{}",
            signal.detail
        );
    }

    #[test]
    fn an_anonymizer_is_medium() {
        let signal = detect(
            &tagged(IpTags {
                anonymizer: true,
                ..IpTags::default()
            }),
            &ThreatIpConfig::default(),
        )
        .unwrap();
        assert_eq!(signal.score, 45.0);
    }

    #[test]
    fn false_positive_own_ranges_on_a_feed_are_never_judged() {
        for own in [
            IpTags {
                corporate: true,
                threat: true,
                ..IpTags::default()
            },
            IpTags {
                vpn: true,
                anonymizer: true,
                ..IpTags::default()
            },
        ] {
            assert_eq!(detect(&tagged(own), &ThreatIpConfig::default()), None);
        }
        assert_eq!(
            detect(&tagged(IpTags::default()), &ThreatIpConfig::default()),
            None
        );
    }
}
