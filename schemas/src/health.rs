use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// An alert about vigil itself, for the SOC: an output went on without some of what it
/// was given (archive rows it could not write, records the broker refused). It travels
/// with the decision alerts (on Kafka with the header `vigil.kind: health`) and is told
/// apart from them by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthAlert {
    /// Always [`HealthAlert::KIND`].
    pub kind: String,
    /// When it was raised (wall clock).
    pub time: Timestamp,
    /// The output that went on without records (`archive`, `kafka`).
    pub output: String,
    /// Why (`write_failed`, `too_large`, ...), as `vigil_output_dropped_total` labels it.
    pub reason: String,
    /// Records gone since the last alert of this output and reason.
    pub dropped: u64,
    /// Records gone since the start of the run.
    pub total: u64,
    /// One line for a person.
    pub headline: String,
}

impl HealthAlert {
    /// The `kind` of every health alert.
    pub const KIND: &'static str = "health";

    /// An alert that `output` has gone on without `dropped` more records for `reason`
    /// (`total` in all), raised at `time`.
    pub fn output_dropped(
        output: &str,
        reason: &str,
        dropped: u64,
        total: u64,
        time: Timestamp,
    ) -> HealthAlert {
        let what = match output {
            "archive" => "archive rows not written",
            _ => "records not delivered",
        };
        HealthAlert {
            kind: HealthAlert::KIND.into(),
            time,
            output: output.into(),
            reason: reason.into(),
            dropped,
            total,
            headline: format!(
                "vigil {output}: {dropped} {what} ({reason}; {total} since start) — \
                 enforcement goes on; see the vigil log"
            ),
        }
    }
}
