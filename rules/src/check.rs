//! Config checks serde cannot make (ranges, finiteness), shared by every section: each
//! section validates itself, and `RulesConfig::validate` names the field as written under
//! `[rules]`.

/// What is wrong with a score.
pub const SCORE: &str = "must be a number from 0 to 100";

/// What is wrong with a section's scores.
pub const SCORES: &str = "scores must be numbers from 0 to 100";

/// A value out of range: its field within the section (empty: the section as a whole),
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// The field, as written in the section.
    pub field: &'static str,
    /// What is wrong, in words a config's author reads.
    pub problem: String,
}

/// Whether `value` is a score: a number from 0 to 100.
pub fn is_score(value: f64) -> bool {
    value.is_finite() && (0.0..=100.0).contains(&value)
}

/// The first check that fails: `(holds, field, problem)`.
pub fn first<P: Into<String>>(
    checks: impl IntoIterator<Item = (bool, &'static str, P)>,
) -> Result<(), Invalid> {
    match checks.into_iter().find(|(holds, _, _)| !holds) {
        Some((_, field, problem)) => Err(Invalid {
            field,
            problem: problem.into(),
        }),
        None => Ok(()),
    }
}
