//! Decisions as a SOC analyst reads them.

use std::fmt::Write as _;
use vigil_schemas::{Decision, Mode};

/// Two lines or more per decision: when, what, who, how risky, which rule; then one line
/// per reason.
pub fn render(decision: &Decision) -> String {
    let mut text = String::with_capacity(256);
    let mode = if decision.mode == Mode::Monitor {
        " (monitor)"
    } else {
        ""
    };
    let _ = writeln!(
        text,
        "{}  {:<19} {:<28} risk {:>5.1} {:<6} rule {}{}",
        decision.time,
        decision.action.as_str().to_uppercase(),
        decision.identity,
        decision.risk.score,
        decision.risk.level.as_str(),
        decision.rule,
        mode
    );
    for reason in &decision.reasons {
        let _ = writeln!(
            text,
            "    {:<18} {:>5.1}  {}",
            reason.detector.as_str(),
            reason.score,
            reason.detail
        );
    }
    if let Some(session) = &decision.session_id {
        let _ = writeln!(
            text,
            "    session {session}{}",
            decision
                .device_id
                .as_deref()
                .map(|device| format!(", device {device}"))
                .unwrap_or_default()
        );
    }
    text
}
