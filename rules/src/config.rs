//! Tunables of the judgement, with the defaults public practice suggests.
//!
//! Deserialized from the `[rules]` part of `vigil.toml`; every field has a default, and
//! unknown fields are errors so a typo never silently falls back to a default.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A duration in whole seconds, written in configs as `90s`, `15m`, `2h`, `14d` or a number
/// of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub i64);

impl Duration {
    /// The longest duration a config may give: 100 years, far past any window or
    /// retention, and far from overflowing event-time arithmetic.
    pub const MAX: Duration = Duration(100 * 366 * 86_400);

    /// Seconds.
    pub const fn secs(seconds: i64) -> Duration {
        Duration(seconds)
    }

    /// Minutes.
    pub const fn minutes(minutes: i64) -> Duration {
        Duration(minutes * 60)
    }

    /// Hours.
    pub const fn hours(hours: i64) -> Duration {
        Duration(hours * 3600)
    }

    /// Days.
    pub const fn days(days: i64) -> Duration {
        Duration(days * 86_400)
    }

    /// In microseconds, the unit of event time.
    pub const fn as_micros(self) -> i64 {
        self.0.saturating_mul(1_000_000)
    }

    /// Parses `30s`, `15m`, `2h`, `14d` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: i64 = number.parse().map_err(|_| {
            format!("`{text}` is not a duration such as `30s`, `15m`, `2h` or `14d`")
        })?;
        let scale = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`: use s, m, h or d"
                ))
            }
        };
        value
            .checked_mul(scale)
            .filter(|seconds| *seconds <= Duration::MAX.0)
            .map(Duration)
            .ok_or_else(|| format!("`{text}` is longer than 100 years"))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0;
        if seconds != 0 && seconds % 86_400 == 0 {
            write!(formatter, "{}d", seconds / 86_400)
        } else if seconds != 0 && seconds % 3600 == 0 {
            write!(formatter, "{}h", seconds / 3600)
        } else if seconds != 0 && seconds % 60 == 0 {
            write!(formatter, "{}m", seconds / 60)
        } else {
            write!(formatter, "{seconds}s")
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(seconds) if (0..=Duration::MAX.0).contains(&seconds) => {
                Ok(Duration(seconds))
            }
            Raw::Seconds(seconds) if seconds > Duration::MAX.0 => Err(serde::de::Error::custom(
                format!("duration {seconds} s is longer than 100 years"),
            )),
            Raw::Seconds(seconds) => Err(serde::de::Error::custom(format!(
                "duration {seconds} is negative"
            ))),
            Raw::Text(text) => Duration::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// All tunables of the judgement.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// How identity profiles learn and forget.
    pub baseline: BaselineConfig,
    /// The impossible-travel detector.
    pub impossible_travel: ImpossibleTravelConfig,
    /// The first-seen detectors: new device, country and ASN.
    pub first_seen: FirstSeenConfig,
    /// The brute-force detector.
    pub brute_force: BruteForceConfig,
    /// The unusual-hour detector.
    pub unusual_hour: UnusualHourConfig,
    /// The MFA-fatigue detector.
    pub mfa_fatigue: MfaFatigueConfig,
    /// The password-spray detector.
    pub password_spray: PasswordSprayConfig,
    /// The session-hijack detector.
    pub session_hijack: SessionHijackConfig,
    /// The posture-degraded detector.
    pub posture: PostureConfig,
    /// The access-volume detector and its baselines.
    pub access_volume: AccessVolumeConfig,
    /// The agent-scope detector.
    pub agent_scope: AgentScopeConfig,
    /// The threat-IP detector.
    pub threat_ip: ThreatIpConfig,
    /// How signals combine into session risk.
    pub risk: RiskConfig,
}

impl RulesConfig {
    /// Checks values serde cannot (ranges, finiteness); the error names the field as it
    /// is written under `[rules]`.
    pub fn validate(&self) -> Result<(), String> {
        let score = |value: f64| value.is_finite() && (0.0..=100.0).contains(&value);
        let travel = &self.impossible_travel;
        let spray = &self.password_spray;
        let volume = &self.access_volume;
        let posture = &self.posture;
        let checks: [(bool, &str, &str); 28] = [
            (
                self.baseline.learning_logins > 0,
                "rules.baseline.learning_logins",
                "must be at least 1",
            ),
            (
                self.baseline.max_entries > 0,
                "rules.baseline.max_entries",
                "must be at least 1",
            ),
            (
                travel.max_speed_kmh.is_finite() && travel.max_speed_kmh > 0.0,
                "rules.impossible_travel.max_speed_kmh",
                "must be a positive number",
            ),
            (
                travel.min_distance_km.is_finite() && travel.min_distance_km >= 0.0,
                "rules.impossible_travel.min_distance_km",
                "must be a number, zero or more",
            ),
            (
                travel.default_accuracy_km.is_finite() && travel.default_accuracy_km >= 0.0,
                "rules.impossible_travel.default_accuracy_km",
                "must be a number, zero or more",
            ),
            (
                score(travel.score),
                "rules.impossible_travel.score",
                "must be a number from 0 to 100",
            ),
            (
                score(self.first_seen.new_device_score)
                    && score(self.first_seen.new_country_score)
                    && score(self.first_seen.new_asn_score),
                "rules.first_seen",
                "scores must be numbers from 0 to 100",
            ),
            (
                self.brute_force.failures > 0,
                "rules.brute_force.failures",
                "must be at least 1",
            ),
            (
                self.brute_force.failures as usize
                    <= crate::detectors::brute_force::MAX_REMEMBERED_FAILURES,
                "rules.brute_force.failures",
                "must be at most 256 (failures remembered per identity)",
            ),
            (
                score(self.brute_force.burst_score)
                    && score(self.brute_force.success_after_burst_score),
                "rules.brute_force",
                "scores must be numbers from 0 to 100",
            ),
            (
                self.risk.half_life.0 > 0,
                "rules.risk.half_life",
                "must be longer than zero",
            ),
            (
                self.risk.max_sessions > 0,
                "rules.risk.max_sessions",
                "must be at least 1",
            ),
            (
                self.unusual_hour.rare_share.is_finite()
                    && (0.0..1.0).contains(&self.unusual_hour.rare_share),
                "rules.unusual_hour.rare_share",
                "must be a number from 0 to below 1",
            ),
            (
                self.unusual_hour.certainty.is_finite()
                    && (0.5..1.0).contains(&self.unusual_hour.certainty),
                "rules.unusual_hour.certainty",
                "must be a number from 0.5 to below 1",
            ),
            (
                score(self.unusual_hour.score),
                "rules.unusual_hour.score",
                "must be a number from 0 to 100",
            ),
            (
                self.mfa_fatigue.prompts > 0
                    && self.mfa_fatigue.prompts as usize
                        <= crate::detectors::mfa_fatigue::MAX_REMEMBERED_PROMPTS,
                "rules.mfa_fatigue.prompts",
                "must be from 1 to 64",
            ),
            (
                score(self.mfa_fatigue.burst_score)
                    && score(self.mfa_fatigue.approval_after_burst_score),
                "rules.mfa_fatigue",
                "scores must be numbers from 0 to 100",
            ),
            (
                spray.min_identities >= 2
                    && spray.min_identities as usize
                        <= crate::detectors::password_spray::MAX_REMEMBERED_FAILURES,
                "rules.password_spray.min_identities",
                "must be from 2 to 256",
            ),
            (
                score(spray.spray_score) && score(spray.success_after_spray_score),
                "rules.password_spray",
                "scores must be numbers from 0 to 100",
            ),
            (
                score(self.session_hijack.device_score)
                    && score(self.session_hijack.country_score)
                    && score(self.session_hijack.asn_score)
                    && score(self.session_hijack.client_score),
                "rules.session_hijack",
                "scores must be numbers from 0 to 100",
            ),
            (
                score(posture.edr_stopped_score)
                    && score(posture.disk_unencrypted_score)
                    && score(posture.jailbroken_score)
                    && score(posture.firewall_off_score)
                    && score(posture.patch_too_old_score)
                    && score(posture.noncompliant_score),
                "rules.posture",
                "scores must be numbers from 0 to 100",
            ),
            (
                volume.tail_probability.is_finite()
                    && volume.tail_probability > 0.0
                    && volume.tail_probability < 0.5,
                "rules.access_volume.tail_probability",
                "must be a number above 0 and below 0.5",
            ),
            (
                volume.alpha.is_finite() && volume.alpha > 0.0 && volume.alpha <= 1.0,
                "rules.access_volume.alpha",
                "must be a number above 0, at most 1",
            ),
            (
                volume.classes.len() < crate::detectors::access_volume::MAX_CLASSES,
                "rules.access_volume.classes",
                "must list at most 3 classes (with `other`, 4 baselines per identity)",
            ),
            (
                volume.bucket.0 > 0,
                "rules.access_volume.bucket",
                "must be longer than zero",
            ),
            (
                score(volume.score) && score(volume.max_score) && volume.score <= volume.max_score,
                "rules.access_volume",
                "score and max_score must be numbers from 0 to 100, score <= max_score",
            ),
            (
                score(self.agent_scope.out_of_grant_score)
                    && score(self.agent_scope.new_scope_score)
                    && score(self.agent_scope.new_principal_score),
                "rules.agent_scope",
                "scores must be numbers from 0 to 100",
            ),
            (
                score(self.threat_ip.threat_score) && score(self.threat_ip.anonymizer_score),
                "rules.threat_ip",
                "scores must be numbers from 0 to 100",
            ),
        ];
        match checks.iter().find(|(valid, _, _)| !valid) {
            Some((_, field, problem)) => Err(format!("`{field}` {problem}")),
            None => Ok(()),
        }
    }
}

/// How identity profiles learn and forget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    /// First-seen detectors stay quiet until the identity has been seen this long...
    pub learning_period: Duration,
    /// ...or has this many successful sign-ins, whichever comes first (Entra ID Protection
    /// uses the same pair: 14 days or 10 logins).
    pub learning_logins: u32,
    /// A country, city, ASN or device not seen for this long is forgotten, so a device
    /// retired a year ago counts as new again.
    pub forget_after: Duration,
    /// Most entries kept per kind (countries, ASNs, devices) per identity; the
    /// least recently seen entry leaves first. Bounds memory per identity.
    pub max_entries: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            learning_period: Duration::days(14),
            learning_logins: 10,
            forget_after: Duration::days(90),
            max_entries: 16,
        }
    }
}

/// The impossible-travel detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImpossibleTravelConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// 900 km/h: a long-haul airliner's cruise speed; anything faster is not a person.
    pub max_speed_kmh: f64,
    /// Jumps shorter than this (after subtracting accuracy) are ignored: geolocation of
    /// neighbouring cities and mobile carriers is not better than that.
    pub min_distance_km: f64,
    /// Accuracy radius assumed when neither the vendor nor the database gives one:
    /// city-level IP geolocation is typically right within 50 km.
    pub default_accuracy_km: f64,
    /// Locations kept per identity to compare against, newest kept.
    pub history: usize,
    /// Base score of a hit; faster hits score higher, up to 100.
    pub score: f64,
}

impl Default for ImpossibleTravelConfig {
    fn default() -> Self {
        ImpossibleTravelConfig {
            enabled: true,
            max_speed_kmh: 900.0,
            min_distance_km: 300.0,
            default_accuracy_km: 50.0,
            history: 4,
            score: 80.0,
        }
    }
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

/// The MFA-fatigue (push bombing) detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaFatigueConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Denied or unanswered MFA prompts within `window` that make a burst: 5 is past a
    /// person missing a push or two, and well inside the dozens push-bombing tools send.
    pub prompts: u32,
    /// The sliding window.
    pub window: Duration,
    /// Score of the burst (medium: someone has the password).
    pub burst_score: f64,
    /// Score of an approval right after a burst (high: the prompt the attacker waited for).
    pub approval_after_burst_score: f64,
}

impl Default for MfaFatigueConfig {
    fn default() -> Self {
        MfaFatigueConfig {
            enabled: true,
            prompts: 5,
            window: Duration::minutes(15),
            burst_score: 55.0,
            approval_after_burst_score: 95.0,
        }
    }
}

/// The unusual-hour detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnusualHourConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Learned sign-ins before the detector judges (with the defaults the posterior is
    /// sure of a never-used hour from about 22 sign-ins on).
    pub min_sign_ins: u32,
    /// A slot whose (kernel-smoothed) share of sign-ins is below this is rare: 2.5% is
    /// under one sign-in in forty, about two months of weekday sign-ins.
    pub rare_share: f64,
    /// How sure the posterior must be that the slot is rare: 95%.
    pub certainty: f64,
    /// Score of a hit: low alone (people work late), weighty with other signals.
    pub score: f64,
}

impl Default for UnusualHourConfig {
    fn default() -> Self {
        UnusualHourConfig {
            enabled: true,
            min_sign_ins: 20,
            rare_share: 0.025,
            certainty: 0.95,
            score: 35.0,
        }
    }
}

/// The brute-force detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BruteForceConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Failed sign-ins of one identity within `window` that make a burst: 10 is well past
    /// a person's typos and below most IdP lockout thresholds' combined retries.
    pub failures: u32,
    /// The sliding window.
    pub window: Duration,
    /// Score of the burst itself (medium: the account is under attack, not yet lost).
    pub burst_score: f64,
    /// Score of a success right after a burst (high: the guess may have worked).
    pub success_after_burst_score: f64,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            enabled: true,
            failures: 10,
            window: Duration::minutes(10),
            burst_score: 50.0,
            success_after_burst_score: 90.0,
        }
    }
}

/// The password-spray detector (cross-identity, keyed by source address).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordSprayConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Distinct identities one address must fail for within `window`: 10 is far past a
    /// shared household or a hotel's typos, and sprays try hundreds.
    pub min_identities: u32,
    /// The sliding window: sprays go slow to stay under per-account lockouts, 30 minutes
    /// still catches one password tried across a directory.
    pub window: Duration,
    /// Score of the spray on the failure that reveals it (medium: passwords are being
    /// tried, none known to work).
    pub spray_score: f64,
    /// Score of a success from the spraying address (high: one password worked).
    pub success_after_spray_score: f64,
}

impl Default for PasswordSprayConfig {
    fn default() -> Self {
        PasswordSprayConfig {
            enabled: true,
            min_identities: 10,
            window: Duration::minutes(30),
            spray_score: 50.0,
            success_after_spray_score: 90.0,
        }
    }
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

/// The posture-degraded detector: scores of a device falling out of compliance, by the
/// worst failing check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostureConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// The EDR agent stopped: the classic first move of malware on a device.
    pub edr_stopped_score: f64,
    /// The disk is not encrypted.
    pub disk_unencrypted_score: f64,
    /// The device is jailbroken or rooted.
    pub jailbroken_score: f64,
    /// The firewall is off.
    pub firewall_off_score: f64,
    /// The OS patch level is older than `max_patch_age_days`: hygiene, not compromise.
    pub patch_too_old_score: f64,
    /// Days of patch age past which a device is out of date.
    pub max_patch_age_days: u32,
    /// Score when the posture source says non-compliant without saying why.
    pub noncompliant_score: f64,
}

impl Default for PostureConfig {
    fn default() -> Self {
        PostureConfig {
            enabled: true,
            edr_stopped_score: 85.0,
            disk_unencrypted_score: 70.0,
            jailbroken_score: 90.0,
            firewall_off_score: 45.0,
            patch_too_old_score: 35.0,
            max_patch_age_days: 30,
            noncompliant_score: 60.0,
        }
    }
}

/// Prefixes that make one resource class of the access-volume baselines.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceClass {
    /// The class's name, used in explanations.
    pub name: String,
    /// Resources starting with any of these belong to the class.
    pub prefixes: Vec<String>,
}

/// The access-volume detector: per identity and resource class, requests and bytes per
/// `bucket` learned as exponentially weighted mean and variance; a bucket far in the
/// tail fires.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessVolumeConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// The counting interval.
    pub bucket: Duration,
    /// Weight of the newest bucket in the moving averages (0.05: about the last 20 active
    /// buckets dominate).
    pub alpha: f64,
    /// A bucket this improbable under the identity's baseline fires (1e-4: one hour in
    /// ten thousand, about once in five years of working hours).
    pub tail_probability: f64,
    /// Requests in a bucket below which the count never fires, however unusual.
    pub min_requests: u32,
    /// Bytes in a bucket below which the volume never fires, however unusual.
    pub min_bytes: u64,
    /// Buckets with activity learned before the class is judged: a new identity's first
    /// busy day is its baseline, not an anomaly.
    pub min_buckets: u16,
    /// Score at the tail probability; rarer buckets score higher, up to `max_score`.
    pub score: f64,
    /// Highest score.
    pub max_score: f64,
    /// Resource classes with their own baselines; resources matching none share the
    /// class `other`.
    pub classes: Vec<ResourceClass>,
}

impl Default for AccessVolumeConfig {
    fn default() -> Self {
        AccessVolumeConfig {
            enabled: true,
            bucket: Duration::hours(1),
            alpha: 0.05,
            tail_probability: 1e-4,
            min_requests: 60,
            min_bytes: 200 * 1024 * 1024,
            min_buckets: 8,
            score: 75.0,
            max_score: 95.0,
            classes: Vec::new(),
        }
    }
}

/// Tools and resources an agent or service is granted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The identity, or a prefix ending in `*`.
    pub identity: String,
    /// Tools it may call.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Resource prefixes it may touch.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// The agent-scope detector (AI agents and service identities).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentScopeConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Configured grants; an identity with a grant is judged against it from its first
    /// call, others against what they were seen doing while learning.
    pub grants: Vec<Grant>,
    /// Learning ends after this long from the first call...
    pub learning_period: Duration,
    /// ...or after this many calls, whichever comes first.
    pub learning_calls: u32,
    /// Score of a call outside a configured grant.
    pub out_of_grant_score: f64,
    /// Score of a tool or resource never seen while learning.
    pub new_scope_score: f64,
    /// Score of acting on behalf of a principal never served.
    pub new_principal_score: f64,
}

impl Default for AgentScopeConfig {
    fn default() -> Self {
        AgentScopeConfig {
            enabled: true,
            grants: Vec::new(),
            learning_period: Duration::days(7),
            learning_calls: 200,
            out_of_grant_score: 85.0,
            new_scope_score: 60.0,
            new_principal_score: 60.0,
        }
    }
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

/// How signals combine into session risk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Session risk halves over this much event time without new signals.
    pub half_life: Duration,
    /// Most sessions tracked per identity; the least recently active leaves first.
    pub max_sessions: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            half_life: Duration::hours(1),
            max_sessions: 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(Duration::parse("90s"), Ok(Duration(90)));
        assert_eq!(Duration::parse("15m"), Ok(Duration(900)));
        assert_eq!(Duration::parse("14d"), Ok(Duration::days(14)));
        assert_eq!(Duration::parse("42"), Ok(Duration(42)));
        assert!(Duration::parse("5y").unwrap_err().contains("`y`"));
        assert!(Duration::parse("soon").is_err());
        assert_eq!(Duration::hours(2).to_string(), "2h");
    }
}
