//! `new_device`, `new_country`, `new_asn`: a successful sign-in from something this
//! identity has never used, once the identity's learning period is over.
//!
//! Classic false positives and how they are avoided: everything is new during the
//! learning period (quiet until 14 days or 10 sign-ins); corporate and VPN egress says
//! nothing about the person's country (location checks exempt); a long-retired device
//! coming back is new again only after `forget_after`.

use crate::check::{is_score, Invalid};
use crate::profile::BaselineConfig;
use crate::profile::{country_key, country_text, device_key, Kind, Profile};
use serde::Deserialize;
use serde_json::json;
use vigil_schemas::{AuthAction, Detector, Envelope, Outcome, Signal};

/// Whether this event is a successful sign-in that profiles learn from and first-seen
/// detectors judge.
pub fn is_successful_sign_in(envelope: &Envelope) -> bool {
    envelope.event.auth().is_some_and(|auth| {
        auth.outcome == Outcome::Success
            && matches!(auth.action, AuthAction::Login | AuthAction::Mfa)
    })
}

/// Judges one successful sign-in against the profile (before the profile learns it).
pub fn detect(
    profile: &Profile,
    envelope: &Envelope,
    prints: &crate::Prints<'_>,
    baseline: &BaselineConfig,
    config: &FirstSeenConfig,
) -> Vec<Signal> {
    let mut signals = Vec::new();
    let event = &envelope.event;
    if !is_successful_sign_in(envelope) || profile.learning(event.time, baseline) {
        return signals;
    }
    let now = event.time;
    let forget_after = baseline.forget_after.as_micros();
    if let Some((device, print)) = event.device_id.as_deref().zip(prints.device()) {
        let devices = profile.known(Kind::Device);
        if !devices.contains(device_key(print), now, forget_after) {
            signals.push(Signal {
                detector: Detector::NewDevice,
                score: config.new_device_score,
                confidence: 0.9,
                detail: format!(
                    "first sign-in from device `{device}` ({} devices known)",
                    devices.len()
                ),
                evidence: json!({ "device_id": device, "known_devices": devices.len() }),
            });
        }
    } else if let Some((user_agent, family)) = event.user_agent.as_deref().zip(prints.client()) {
        // Without a device id (most IdP logs), the client family stands in for the device:
        // a browser update is the same client, another browser or a script is new. Only
        // once clients were learned: sign-ins that carried a device id and no user agent
        // say nothing about clients.
        let clients = profile.known(Kind::Client);
        if !clients.is_empty() && !clients.contains(family, now, forget_after) {
            signals.push(Signal {
                detector: Detector::NewDevice,
                score: config.new_device_score,
                confidence: 0.8,
                detail: format!(
                    "first sign-in from client `{user_agent}` ({} clients known)",
                    clients.len()
                ),
                evidence: json!({ "user_agent": user_agent, "known_clients": clients.len() }),
            });
        }
    }
    let located = !envelope.tags.location_exempt();
    if let Some((country, key)) = event
        .geo
        .as_ref()
        .and_then(|geo| geo.country.as_deref())
        .filter(|_| located)
        .and_then(|country| Some((country, country_key(country)?)))
    {
        let countries = profile.known(Kind::Country);
        if !countries.contains(key, now, forget_after) {
            let known: Vec<_> = countries
                .iter()
                .map(|seen| country_text(seen.key))
                .collect();
            let place = event
                .geo
                .as_ref()
                .map(|geo| geo.place())
                .unwrap_or_default();
            signals.push(Signal {
                detector: Detector::NewCountry,
                score: config.new_country_score,
                confidence: 0.9,
                detail: format!(
                    "first sign-in from {country} ({place}); usual: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
                evidence: json!({ "country": country, "known_countries": known }),
            });
        }
    }
    if let Some(asn) = event.asn.filter(|_| located) {
        let asns = profile.known(Kind::Asn);
        if !asns.contains(asn, now, forget_after) {
            signals.push(Signal {
                detector: Detector::NewAsn,
                score: config.new_asn_score,
                confidence: 0.6,
                detail: format!(
                    "first sign-in from network AS{asn} ({} networks known)",
                    asns.len()
                ),
                evidence: json!({ "asn": asn, "known_asns": asns.len() }),
            });
        }
    }
    signals
}

/// The first-seen detectors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirstSeenConfig {
    /// Score of a sign-in from a device never seen for the identity.
    pub new_device_score: f64,
    /// Score of a sign-in from a country never seen for the identity.
    pub new_country_score: f64,
    /// Score of a sign-in from an autonomous system never seen for the identity: low,
    /// since people change networks (mobile, hotel, home) all the time.
    pub new_asn_score: f64,
}

impl Default for FirstSeenConfig {
    fn default() -> Self {
        FirstSeenConfig {
            new_device_score: 45.0,
            new_country_score: 50.0,
            new_asn_score: 20.0,
        }
    }
}

impl FirstSeenConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([(
            is_score(self.new_device_score)
                && is_score(self.new_country_score)
                && is_score(self.new_asn_score),
            "",
            crate::check::SCORES,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::SignInContext;
    use crate::testing::{login_at, BERLIN, NEW_YORK};

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0";

    #[test]
    fn without_a_device_id_the_client_family_stands_in() {
        let profile = trained_profile();
        let client = |user_agent: &str| {
            let mut envelope = login_at("2026-02-20T09:00:00Z", BERLIN, "85.214.1.1");
            envelope.event.asn = Some(3320);
            envelope.event.user_agent = Some(user_agent.into());
            detect(
                &profile,
                &envelope,
                &crate::Prints::of(&envelope.event),
                &BaselineConfig::default(),
                &FirstSeenConfig::default(),
            )
            .into_iter()
            .map(|signal| signal.detector)
            .collect::<Vec<_>>()
        };
        // A browser update is the same client.
        assert!(client("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/133.0").is_empty());
        assert_eq!(client("python-requests/2.32"), vec![Detector::NewDevice]);
    }

    fn trained_profile() -> Profile {
        let baseline = BaselineConfig::default();
        let mut profile = Profile::default();
        for day in 1..=12 {
            let time =
                vigil_schemas::Timestamp::parse(&format!("2026-02-{day:02}T09:00:00Z")).unwrap();
            profile.touch(vigil_schemas::IdentityType::User);
            profile.learn_sign_in(
                &SignInContext {
                    time,
                    country: Some("DE"),
                    asn: Some(3320),
                    device: Some(crate::fingerprint("laptop-1")),
                    client: Some(crate::client_family(CHROME)),
                    primary: true,
                },
                &baseline,
            );
        }
        profile
    }

    fn signals_for(
        profile: &Profile,
        mut envelope: Envelope,
        device: &str,
        asn: u32,
    ) -> Vec<Detector> {
        envelope.event.device_id = Some(device.into());
        envelope.event.asn = Some(asn);
        detect(
            profile,
            &envelope,
            &crate::Prints::of(&envelope.event),
            &BaselineConfig::default(),
            &FirstSeenConfig::default(),
        )
        .into_iter()
        .map(|signal| signal.detector)
        .collect()
    }

    #[test]
    fn new_device_country_and_network_fire_after_learning() {
        let profile = trained_profile();
        let detectors = signals_for(
            &profile,
            login_at("2026-02-20T09:00:00Z", NEW_YORK, "23.1.1.1"),
            "phone-9",
            7018,
        );
        assert_eq!(
            detectors,
            vec![Detector::NewDevice, Detector::NewCountry, Detector::NewAsn]
        );
    }

    #[test]
    fn the_usual_context_is_quiet() {
        let profile = trained_profile();
        assert!(signals_for(
            &profile,
            login_at("2026-02-20T09:00:00Z", BERLIN, "85.214.1.1"),
            "laptop-1",
            3320
        )
        .is_empty());
    }

    #[test]
    fn everything_is_new_while_learning_and_nothing_fires() {
        let mut profile = Profile::default();
        profile.touch(vigil_schemas::IdentityType::User);
        assert!(signals_for(
            &profile,
            login_at("2026-02-20T09:00:00Z", NEW_YORK, "23.1.1.1"),
            "phone-9",
            7018
        )
        .is_empty());
    }

    #[test]
    fn vpn_egress_is_not_a_new_country() {
        let profile = trained_profile();
        let mut envelope = login_at("2026-02-20T09:00:00Z", NEW_YORK, "23.1.1.1");
        envelope.tags.vpn = true;
        assert_eq!(
            signals_for(&profile, envelope, "laptop-1", 7018),
            Vec::<Detector>::new()
        );
    }
}
