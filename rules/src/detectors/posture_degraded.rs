//! `posture_degraded`: a device falls out of compliance (EDR stopped, disk not encrypted,
//! jailbroken, firewall off, patches too old).
//!
//! A posture report that says non-compliant raises a signal scored by its worst failing
//! check, and the judge then re-judges every open session established on that device:
//! a session that was fine at sign-in is revoked mid-session when its device is
//! compromised. While the device stays non-compliant, each new session on it is charged
//! once. A compliant report clears the device.
//!
//! Classic false positive: a laptop a few days behind on patches is non-compliant by the
//! letter of the policy but not compromised: patch age alone scores low
//! (`patch_too_old_score`), so it is recorded (monitor-mode alert), never revoked, and not
//! charged to the sessions on the device. A repeated report of the same failing checks
//! raises nothing new.

use crate::check::{is_score, Invalid};
use serde::Deserialize;
use serde_json::json;
use vigil_schemas::{
    CompactString, Detector, Envelope, PostureChecks, RiskLevel, Signal, Timestamp,
};

/// Most devices whose non-compliance is remembered per identity.
pub const MAX_DEVICES: usize = 8;

const EDR: u8 = 1;
const DISK: u8 = 2;
const JAILBROKEN: u8 = 4;
const FIREWALL: u8 = 8;
const PATCH: u8 = 16;
const UNSPECIFIED: u8 = 32;

/// One non-compliant device.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Degraded {
    device: CompactString,
    failing: u8,
    since: Timestamp,
}

/// An identity's devices that are out of compliance.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct DevicePostures {
    degraded: crate::slim::SlimVec<Degraded>,
}

impl DevicePostures {
    /// Whether no device is known to be out of compliance.
    pub fn is_empty(&self) -> bool {
        self.degraded.is_empty()
    }

    /// Whether a device is known to be out of compliance.
    pub fn is_degraded(&self, device: &str) -> bool {
        self.degraded.iter().any(|entry| entry.device == device)
    }
}

fn failing_checks(compliant: bool, checks: &PostureChecks, config: &PostureConfig) -> u8 {
    let mut failing = 0;
    if checks.edr_running == Some(false) {
        failing |= EDR;
    }
    if checks.disk_encrypted == Some(false) {
        failing |= DISK;
    }
    if checks.jailbroken == Some(true) {
        failing |= JAILBROKEN;
    }
    if checks.firewall == Some(false) {
        failing |= FIREWALL;
    }
    if checks
        .os_patch_age_days
        .is_some_and(|days| days > config.max_patch_age_days)
    {
        failing |= PATCH;
    }
    if !compliant && failing == 0 {
        failing = UNSPECIFIED;
    }
    failing
}

fn describe(failing: u8, config: &PostureConfig) -> (f64, Vec<&'static str>) {
    let table = [
        (JAILBROKEN, config.jailbroken_score, "jailbroken"),
        (EDR, config.edr_stopped_score, "EDR stopped"),
        (DISK, config.disk_unencrypted_score, "disk not encrypted"),
        (
            UNSPECIFIED,
            config.noncompliant_score,
            "reported non-compliant",
        ),
        (FIREWALL, config.firewall_off_score, "firewall off"),
        (PATCH, config.patch_too_old_score, "OS patches too old"),
    ];
    let mut score: f64 = 0.0;
    let mut names = Vec::new();
    for (bit, bit_score, name) in table {
        if failing & bit != 0 {
            score = score.max(bit_score);
            names.push(name);
        }
    }
    (score, names)
}

fn signal(
    device: &str,
    failing: u8,
    since: Timestamp,
    fresh: bool,
    config: &PostureConfig,
) -> Signal {
    let (score, names) = describe(failing, config);
    let detail = if fresh {
        format!(
            "device {device} fell out of compliance: {}",
            names.join(", ")
        )
    } else {
        format!(
            "device {device} is out of compliance since {since}: {}",
            names.join(", ")
        )
    };
    Signal {
        detector: Detector::PostureDegraded,
        score,
        confidence: 0.95,
        detail,
        evidence: json!({ "device_id": device, "failing": names, "since": since }),
    }
}

/// Judges one event: a posture report updates the device's record and signals when it
/// gets worse; any other event from a degraded device signals unless its session was
/// already charged (`noted`).
pub fn detect(
    postures: &mut DevicePostures,
    envelope: &Envelope,
    noted: bool,
    config: &PostureConfig,
) -> Option<Signal> {
    if !config.enabled {
        return None;
    }
    let event = &envelope.event;
    let device = event.device_id.as_deref()?;
    let position = postures
        .degraded
        .iter()
        .position(|entry| entry.device == device);
    let Some(report) = event.posture() else {
        // Hygiene drift (old patches alone) is recorded on the report, not charged to
        // every session: only a degradation risky on its own follows the device around.
        let entry = &postures.degraded[position?];
        let lasting = signal(device, entry.failing, entry.since, false, config);
        return (!noted && lasting.score >= RiskLevel::MEDIUM_FROM).then_some(lasting);
    };
    let failing = failing_checks(report.compliant, &report.checks, config);
    match (position, failing) {
        (Some(index), 0) => {
            // A compliant report older than the degradation is late news, not a recovery.
            if event.time >= postures.degraded[index].since {
                postures.degraded.remove(index);
            }
            None
        }
        (None, 0) => None,
        (Some(index), failing) => {
            let entry = &mut postures.degraded[index];
            let worse = failing & !entry.failing != 0;
            entry.failing = failing;
            worse.then(|| signal(device, failing, event.time, true, config))
        }
        (None, failing) => {
            if postures.degraded.len() >= MAX_DEVICES {
                postures.degraded.remove(0);
            }
            postures.degraded.push(Degraded {
                device: CompactString::from(device),
                failing,
                since: event.time,
            });
            Some(signal(device, failing, event.time, true, config))
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

impl PostureConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([(
            is_score(self.edr_stopped_score)
                && is_score(self.disk_unencrypted_score)
                && is_score(self.jailbroken_score)
                && is_score(self.firewall_off_score)
                && is_score(self.patch_too_old_score)
                && is_score(self.noncompliant_score),
            "",
            crate::check::SCORES,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_schemas::{Detail, Event, PostureDetail};

    fn report(compliant: bool, checks: PostureChecks) -> Envelope {
        let mut event = Event::new(
            Timestamp::from_secs(1_772_000_000),
            Some("alice@example.com"),
            Detail::Posture(PostureDetail { compliant, checks }),
        );
        event.device_id = Some("laptop-1".into());
        crate::testing::envelope(event)
    }

    fn healthy() -> PostureChecks {
        PostureChecks {
            edr_running: Some(true),
            disk_encrypted: Some(true),
            os_patch_age_days: Some(3),
            jailbroken: Some(false),
            firewall: Some(true),
        }
    }

    #[test]
    fn edr_stopping_is_high_risk_once() {
        let config = PostureConfig::default();
        let mut postures = DevicePostures::default();
        assert_eq!(
            detect(&mut postures, &report(true, healthy()), false, &config),
            None
        );
        let stopped = PostureChecks {
            edr_running: Some(false),
            ..healthy()
        };
        let signal = detect(
            &mut postures,
            &report(false, stopped.clone()),
            false,
            &config,
        )
        .unwrap();
        assert_eq!(signal.score, 85.0);
        assert!(signal.detail.contains("EDR stopped"), "{}", signal.detail);
        assert!(postures.is_degraded("laptop-1"));
        // The same report again: nothing new.
        assert_eq!(
            detect(&mut postures, &report(false, stopped), false, &config),
            None
        );
        // Recovered.
        assert_eq!(
            detect(&mut postures, &report(true, healthy()), false, &config),
            None
        );
        assert!(!postures.is_degraded("laptop-1"));
    }

    #[test]
    fn other_events_from_a_degraded_device_charge_each_session_once() {
        let config = PostureConfig::default();
        let mut postures = DevicePostures::default();
        let jailbroken = PostureChecks {
            jailbroken: Some(true),
            ..healthy()
        };
        detect(&mut postures, &report(false, jailbroken), false, &config).unwrap();
        let mut access =
            crate::testing::login_at("2026-03-02T09:00:00Z", crate::testing::BERLIN, "85.214.1.1");
        access.event.device_id = Some("laptop-1".into());
        let signal = detect(&mut postures, &access, false, &config).unwrap();
        assert_eq!(signal.score, 90.0);
        assert_eq!(detect(&mut postures, &access, true, &config), None);
    }

    #[test]
    fn false_positive_old_patches_alone_score_low() {
        let config = PostureConfig::default();
        let mut postures = DevicePostures::default();
        let behind = PostureChecks {
            os_patch_age_days: Some(45),
            ..healthy()
        };
        let signal = detect(&mut postures, &report(false, behind), false, &config).unwrap();
        assert_eq!(signal.score, 35.0);
    }

    #[test]
    fn a_bare_non_compliant_report_uses_the_default_score() {
        let mut postures = DevicePostures::default();
        let signal = detect(
            &mut postures,
            &report(false, PostureChecks::default()),
            false,
            &PostureConfig::default(),
        )
        .unwrap();
        assert_eq!(signal.score, 60.0);
    }
}
