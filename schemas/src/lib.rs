//! vigil's language: the v1 wire contracts every other crate speaks.
//!
//! - [`Event`]: one normalized authentication, device-posture or access event, whatever
//!   vendor format it was decoded from, with its [`Origin`] once it enters the engine
//!   ([`Envelope`]).
//! - [`Signal`]: one detector's finding on one event; [`SignalRecord`]: one with the
//!   context the archive keeps it in.
//! - [`Reject`]: a record that could not be decoded, with its origin and the reason.
//! - [`Decision`]: what the policy concluded, with its reasons; the record sent to
//!   enforcement points, the SOC and the archive.
//! - [`HealthAlert`]: an alert about vigil itself (an output going on without records).
//! - [`Progress`]: how far an input stream has been judged, as the state store keeps it.
//! - [`Timestamp`]: event time in microseconds, parsed from RFC 3339 without allocation.
//! - [`caep`]: the CAEP Security Event Tokens a decision becomes for enforcement points.
//! - [`metrics`]: Prometheus metric primitives (declared metrics, series, the text
//!   format) for every component that keeps its own metrics.
//!
//! The JSON Schema files of the native input and the decision output live beside this
//! crate in `schemas/json/`; the tests validate the examples in `schemas/examples/` and
//! every decision vigil writes against them.

pub mod archive;
pub mod caep;
mod decision;
mod event;
mod health;
pub mod metrics;
mod progress;
mod reject;
mod time;

pub use compact_str::CompactString;
pub use decision::{
    Action, Decision, Detector, Mode, Reason, Risk, RiskLevel, Signal, SignalRecord,
};
pub use event::{
    canonical_identity, AccessDetail, AuthAction, AuthDetail, Detail, Envelope, Event, EventKind,
    Geo, IdentityType, IpTags, Origin, Outcome, PostureChecks, PostureDetail, MAX_NAME_BYTES,
    MAX_TEXT_BYTES,
};
pub use health::HealthAlert;
pub use progress::Progress;
pub use reject::{truncate, RecordHeader, Reject};
pub use time::{Timestamp, TimestampError, MAX_YEAR, MIN_YEAR};
