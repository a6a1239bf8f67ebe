//! `session_hijack`: a session used from a device, country or network other than the one
//! it was established on.
//!
//! A session is bound to where it began: its first events fix its device, client (the
//! user agent's family), autonomous system and country (each from the first event that
//! carries it). A later event of the
//! same session id from another device means a copied session token (cookie theft,
//! adversary-in-the-middle phishing kits); from another country, the same unless the
//! person flew, which a live session rarely survives; from another client (a browser's
//! cookie replayed by a script), suspicious on its own and decisive with another network,
//! device or country: independent changes add up (60 and 25 make 70, the default policy's
//! revocation line). The decision comes on the very event
//! that uses the stolen session. A session is charged again only when the change gets
//! worse (a network change, then another device): the attacker's further requests add no
//! new signal.
//!
//! Classic false positive: a laptop moving from office Wi-Fi to a phone's hotspot
//! mid-session changes the network, not the device or country: that alone scores low
//! (`asn_score`) and no default rule acts on it. Corporate, VPN and private addresses
//! say nothing about place and are never compared.

use crate::check::{is_score, Invalid};
use crate::duration::Duration;
use crate::fingerprint;
use crate::risk::{device_of, known32, SessionRisk};
use serde::Deserialize;
use serde_json::json;
use vigil_schemas::{Detector, Envelope, Signal};

/// Fixes the session's context from the event where unknown, and judges the event
/// against what was fixed before.
pub fn detect(
    session: &mut SessionRisk,
    envelope: &Envelope,
    prints: &crate::Prints<'_>,
    config: &SessionHijackConfig,
) -> Option<Signal> {
    let event = &envelope.event;
    let located = !envelope.tags.location_exempt();
    let device = event
        .device_id
        .as_deref()
        .zip(prints.device())
        .map(|(id, print)| (id, device_of(print)));
    let client = event
        .user_agent
        .as_deref()
        .zip(prints.client())
        .map(|(agent, family)| (agent, known32(family)));
    let asn = event.asn.filter(|_| located);
    let country = event
        .geo
        .as_ref()
        .and_then(|geo| geo.country.as_deref())
        .filter(|_| located);
    let context = &mut session.context;
    let mut changes: Vec<String> = Vec::new();
    let mut scores: Vec<f64> = Vec::new();
    match (context.device, device) {
        (Some(established), Some((id, now))) if established != now => {
            changes.push(format!("another device ({id})"));
            scores.push(config.device_score);
        }
        (None, Some((_, now))) => context.device = Some(now),
        _ => {}
    }
    match (context.country, country) {
        (Some(established), Some(now)) if established != known32(fingerprint(now) as u32) => {
            changes.push(format!("another country ({now})"));
            scores.push(config.country_score);
        }
        (None, Some(now)) => context.country = Some(known32(fingerprint(now) as u32)),
        _ => {}
    }
    match (context.client, client) {
        (Some(established), Some((agent, now))) if established != now => {
            changes.push(format!("another client ({agent})"));
            scores.push(config.client_score);
        }
        (None, Some((_, now))) => context.client = Some(now),
        _ => {}
    }
    match (context.asn, asn.and_then(std::num::NonZeroU32::new)) {
        (Some(established), Some(now)) if established != now => {
            changes.push(format!("network AS{established} -> AS{now}"));
            scores.push(config.asn_score);
        }
        (None, Some(now)) => context.asn = Some(now),
        _ => {}
    }
    // Independent changes add up (a copied cookie replayed by another browser on another
    // network is more than either): 1 - the product of what each leaves.
    let score = 100.0
        * (1.0
            - scores
                .iter()
                .map(|score| 1.0 - (score / 100.0).clamp(0.0, 1.0))
                .product::<f64>());
    if !config.enabled
        || changes.is_empty()
        || event.session_id.is_none()
        || score <= session.charged(Detector::SessionHijack)
    {
        return None;
    }
    let session_id = event.session_id.as_deref().unwrap_or_default();
    Some(Signal {
        detector: Detector::SessionHijack,
        score,
        confidence: 0.9,
        detail: format!(
            "session {session_id} used from another context than it was established on: {}",
            changes.join(", ")
        ),
        evidence: json!({ "session_id": session_id, "changes": changes }),
    })
}

/// The session-hijack detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionHijackConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Score of a session used from a device other than the one it was established on:
    /// session cookies are bound to a browser, a second device means a copied token.
    pub device_score: f64,
    /// Score of a session used from another country than it was established in.
    pub country_score: f64,
    /// Score of a session used from another network only: low, laptops move from Wi-Fi to
    /// a phone's hotspot mid-session all the time.
    pub asn_score: f64,
    /// Score of a session used from another client family (user agent without versions):
    /// medium, since one sign-in can serve a browser and a native app; with another
    /// device or country it is decisive.
    pub client_score: f64,
    /// A session idle this long is over: its context is forgotten.
    pub idle_timeout: Duration,
}

impl Default for SessionHijackConfig {
    fn default() -> Self {
        SessionHijackConfig {
            enabled: true,
            device_score: 85.0,
            country_score: 75.0,
            asn_score: 25.0,
            client_score: 60.0,
            idle_timeout: Duration::hours(12),
        }
    }
}

impl SessionHijackConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([(
            is_score(self.device_score)
                && is_score(self.country_score)
                && is_score(self.asn_score)
                && is_score(self.client_score),
            "",
            crate::check::SCORES,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::RiskConfig;
    use crate::risk::SessionRisks;
    use crate::testing::{login_at, Place, BERLIN, NEW_YORK, POTSDAM};
    use vigil_schemas::{IpTags, Timestamp};

    fn event(place: Place, device: &str, asn: u32) -> Envelope {
        let mut envelope = login_at("2026-03-02T09:00:00Z", place, "85.214.1.1");
        envelope.event.session_id = Some("s-1".into());
        envelope.event.device_id = Some(device.into());
        envelope.event.asn = Some(asn);
        envelope
    }

    fn run(events: &[Envelope]) -> Vec<Signal> {
        let mut risks = SessionRisks::default();
        let config = RiskConfig::default();
        events
            .iter()
            .filter_map(|envelope| {
                let session = risks.entry("s-1", Timestamp(0), &config);
                let prints = crate::Prints::of(&envelope.event);
                let signal = detect(session, envelope, &prints, &SessionHijackConfig::default());
                risks.update("s-1", Timestamp(0), signal.as_slice(), &config);
                signal
            })
            .collect()
    }

    #[test]
    fn a_stolen_cookie_from_another_device_and_country_fires_once() {
        let signals = run(&[
            event(BERLIN, "laptop-1", 3320),
            event(BERLIN, "laptop-1", 3320),
            event(NEW_YORK, "unknown-9", 7922),
            event(NEW_YORK, "unknown-9", 7922),
        ]);
        assert_eq!(signals.len(), 1, "{signals:?}");
        // Device 85, country 75, network 25 together: 1 - 0.15 x 0.25 x 0.75.
        assert!(
            (signals[0].score - 97.1875).abs() < 1e-9,
            "{}",
            signals[0].score
        );
        assert!(
            signals[0].detail.contains("another device (unknown-9)"),
            "{}",
            signals[0].detail
        );
        assert!(
            signals[0].detail.contains("another country (US)"),
            "{}",
            signals[0].detail
        );
    }

    #[test]
    fn another_country_on_the_same_device_fires() {
        let signals = run(&[
            event(BERLIN, "laptop-1", 3320),
            event(NEW_YORK, "laptop-1", 3320),
        ]);
        assert_eq!(signals.len(), 1);
        assert_eq!(signals[0].score, 75.0);
    }

    #[test]
    fn false_positive_wifi_to_hotspot_is_only_a_weak_signal() {
        let signals = run(&[
            event(BERLIN, "laptop-1", 3320),
            event(POTSDAM, "laptop-1", 3209),
        ]);
        assert_eq!(signals.len(), 1);
        assert_eq!(signals[0].score, 25.0);
    }

    #[test]
    fn a_worse_change_after_a_network_change_still_fires() {
        let signals = run(&[
            event(BERLIN, "laptop-1", 3320),
            event(POTSDAM, "laptop-1", 3209),
            event(NEW_YORK, "unknown-9", 7922),
        ]);
        let scores: Vec<f64> = signals.iter().map(|signal| signal.score).collect();
        assert_eq!(scores, vec![25.0, 97.1875]);
    }

    #[test]
    fn a_cookie_replayed_by_another_browser_on_another_network_is_decisive() {
        let mut own = event(BERLIN, "", 3320);
        own.event.device_id = None;
        own.event.user_agent =
            Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/84.0.4147.135 Safari/537.36".into());
        let mut replayed = event(BERLIN, "", 3209);
        replayed.event.device_id = None;
        replayed.event.user_agent = Some(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/105.0 Safari/537.36".into(),
        );
        let signals = run(&[own, replayed]);
        assert_eq!(signals.len(), 1, "{signals:?}");
        assert!(
            (signals[0].score - 70.0).abs() < 1e-9,
            "{}",
            signals[0].score
        );
    }

    #[test]
    fn a_cookie_replayed_by_a_script_is_another_client() {
        let mut browser = event(BERLIN, "laptop-1", 3320);
        browser.event.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into());
        let mut updated = event(BERLIN, "laptop-1", 3320);
        updated.event.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/134.0".into());
        let mut script = event(BERLIN, "laptop-1", 3320);
        script.event.user_agent = Some("python-requests/2.32".into());
        let signals = run(&[browser, updated, script]);
        assert_eq!(signals.len(), 1, "{signals:?}");
        assert_eq!(signals[0].score, 60.0);
        assert!(signals[0]
            .detail
            .contains("another client (python-requests/2.32)"));
    }

    #[test]
    fn false_positive_vpn_addresses_are_not_compared() {
        let mut vpn = event(NEW_YORK, "laptop-1", 9009);
        vpn.tags = IpTags {
            vpn: true,
            ..IpTags::default()
        };
        assert!(run(&[event(BERLIN, "laptop-1", 3320), vpn]).is_empty());
    }

    #[test]
    fn events_without_a_session_id_are_not_judged() {
        let mut first = event(BERLIN, "laptop-1", 3320);
        let mut second = event(BERLIN, "laptop-2", 3320);
        first.event.session_id = None;
        second.event.session_id = None;
        assert!(run(&[first, second]).is_empty());
    }
}
