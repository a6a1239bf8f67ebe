//! Tunables of the judgement, with the defaults public practice suggests.
//!
//! Deserialized from the `[rules]` part of `vigil.toml`; every field has a default, and
//! unknown fields are errors so a typo never silently falls back to a default.

use serde::Deserialize;

use crate::check::Invalid;
pub use crate::detectors::access_volume::{AccessVolumeConfig, ResourceClass};
pub use crate::detectors::agent_scope::{AgentScopeConfig, Grant};
pub use crate::detectors::brute_force::BruteForceConfig;
pub use crate::detectors::first_seen::FirstSeenConfig;
pub use crate::detectors::impossible_travel::ImpossibleTravelConfig;
pub use crate::detectors::mfa_fatigue::MfaFatigueConfig;
pub use crate::detectors::password_spray::PasswordSprayConfig;
pub use crate::detectors::posture_degraded::PostureConfig;
pub use crate::detectors::session_hijack::SessionHijackConfig;
pub use crate::detectors::threat_ip::ThreatIpConfig;
pub use crate::detectors::unusual_hour::UnusualHourConfig;
pub use crate::duration::Duration;
pub use crate::profile::BaselineConfig;
pub use crate::risk::RiskConfig;

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
    /// Checks values serde cannot (ranges, finiteness), each section by its own rules and
    /// in this order; the error names the field as it is written under `[rules]`.
    pub fn validate(&self) -> Result<(), String> {
        let sections: [(&str, Result<(), Invalid>); 13] = [
            ("baseline", self.baseline.validate()),
            ("impossible_travel", self.impossible_travel.validate()),
            ("first_seen", self.first_seen.validate()),
            ("brute_force", self.brute_force.validate()),
            ("risk", self.risk.validate()),
            ("unusual_hour", self.unusual_hour.validate()),
            ("mfa_fatigue", self.mfa_fatigue.validate()),
            ("password_spray", self.password_spray.validate()),
            ("session_hijack", self.session_hijack.validate()),
            ("posture", self.posture.validate()),
            ("access_volume", self.access_volume.validate()),
            ("agent_scope", self.agent_scope.validate()),
            ("threat_ip", self.threat_ip.validate()),
        ];
        for (section, checked) in sections {
            if let Err(Invalid { field, problem }) = checked {
                let path = match field {
                    "" => format!("rules.{section}"),
                    field => format!("rules.{section}.{field}"),
                };
                return Err(format!("`{path}` {problem}"));
            }
        }
        Ok(())
    }
}
