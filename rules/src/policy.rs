//! The policy: ordered rules whose conditions are CEL expressions, mapped to actions.
//!
//! ```yaml
//! version: 1
//! rules:
//!   - name: revoke-impossible-travel
//!     when: '"impossible_travel" in signal && risk.score >= 60'
//!     action: revoke_session
//!     mode: enforce        # or monitor: recorded and alerted, never enforced
//!     cooldown: 1h         # one incident, one decision
//! ```
//!
//! Evaluation: rules are tried in order on every event that raised a signal or whose
//! session carries risk. The first matching `enforce` rule yields the decision sent to
//! enforcement points and the enforce rules after it are skipped; every matching
//! `monitor` rule, wherever it stands, yields a recorded decision (what enforcing it
//! would have done). A rule that matched for a session stays quiet for that session
//! during its cooldown and still holds its place: the rules below it do not fire instead.
//!
//! Variables in conditions:
//! - `event`: `kind`, `identity`, `identity_type`, `action`, `outcome`, `factor`, `ip`,
//!   `country`, `city`, `asn`, `device_id`, `session_id`, `app`, `resource`, `corporate`,
//!   `vpn`, `anonymizer`, `threat` (absent fields are empty strings, 0 or false); when a
//!   posture report re-judges an open session of its device, `session_id` is that
//!   session's id (the report itself has none);
//! - `signal`: a map from detector id to its score on this event (`"new_device" in signal`);
//! - `signals`: the list of this event's signals as maps with `detector`, `score`,
//!   `confidence`;
//! - `risk`: `score` (0-100) and `level` (`low`, `medium`, `high`) of the session;
//! - `identity`: `id`, `type`, `learning` (still in its learning period).

use crate::condition::{Compiled, View};
use crate::config::Duration;
use cel::common::ast::{EntryExpr, Expr, IdedExpr, MapExpr, StructExpr};
use cel::{Context, Program, Value};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use vigil_schemas::{Action, Mode};

/// The default policy, shipped with vigil and documented line by line.
pub const DEFAULT_POLICY: &str = include_str!("../policy/default.yaml");

/// Variables a condition may use.
pub const VARIABLES: [&str; 5] = ["event", "signal", "signals", "risk", "identity"];

/// Why a policy could not be loaded: the file, the field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy `{file}`: {field}: {message}")]
pub struct PolicyError {
    /// The policy file (or `<default>`).
    pub file: String,
    /// The field, such as `rules[2].when`.
    pub field: String,
    /// What was wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    #[serde(default)]
    defaults: Defaults,
    rules: Vec<RuleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default = "default_cooldown")]
    cooldown: Duration,
    #[serde(default)]
    mode: Mode,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            cooldown: default_cooldown(),
            mode: Mode::Enforce,
        }
    }
}

/// 15 minutes: long enough that one incident's follow-up events (retries, token
/// refreshes) fold into one decision, short enough that a new incident is seen.
fn default_cooldown() -> Duration {
    Duration::minutes(15)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    #[serde(default)]
    description: Option<String>,
    when: String,
    action: Action,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    cooldown: Option<Duration>,
    #[serde(default)]
    assurance_level: Option<String>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Unique name, carried in decisions.
    pub name: String,
    /// What the rule is for.
    pub description: Option<String>,
    /// The condition as written.
    pub when: String,
    /// The compiled condition.
    program: Program,
    /// The condition as a tree judged on the event's view, when its shape allows.
    compiled: Option<Compiled>,
    /// What to do when it matches.
    pub action: Action,
    /// Enforce or only record.
    pub mode: Mode,
    /// Quiet period per identity and session after a match.
    pub cooldown: Duration,
    /// For `step_up`: the assurance level the receiver should require.
    pub assurance_level: Option<String>,
}

/// A loaded, compiled policy.
#[derive(Debug)]
pub struct Policy {
    rules: Vec<Rule>,
}

impl Policy {
    /// The default policy.
    pub fn default_policy() -> Policy {
        Policy::from_yaml(DEFAULT_POLICY, "<default>")
            .expect("the default policy is valid (tested)")
    }

    /// Parses and compiles a policy; errors name `file` and the field.
    pub fn from_yaml(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let error = |field: String, message: String| PolicyError {
            file: file.to_string(),
            field,
            message,
        };
        let parsed: PolicyFile = serde_norway::from_str(text).map_err(|problem| {
            let location = problem
                .location()
                .map(|at| format!("line {} column {}", at.line(), at.column()))
                .unwrap_or_else(|| "document".to_string());
            error(location, problem.to_string())
        })?;
        if parsed.version != 1 {
            return Err(error(
                "version".into(),
                format!(
                    "unsupported version {}; this vigil reads version 1",
                    parsed.version
                ),
            ));
        }
        if parsed.rules.is_empty() {
            return Err(error(
                "rules".into(),
                "a policy needs at least one rule".into(),
            ));
        }
        let mut rules = Vec::with_capacity(parsed.rules.len());
        for (index, spec) in parsed.rules.into_iter().enumerate() {
            let field = |name: &str| format!("rules[{index}].{name}");
            if spec.name.trim().is_empty() {
                return Err(error(field("name"), "must not be empty".into()));
            }
            if rules.iter().any(|rule: &Rule| rule.name == spec.name) {
                return Err(error(
                    field("name"),
                    format!("`{}` is used by an earlier rule", spec.name),
                ));
            }
            let program = Program::compile(&spec.when)
                .map_err(|problem| error(field("when"), format!("`{}`: {problem}", spec.when)))?;
            let mut bound = Vec::new();
            bound_names(program.expression(), &mut bound);
            let references = program.references();
            if let Some(unknown) = references.variables().into_iter().find(|variable| {
                !VARIABLES.contains(variable) && !bound.iter().any(|name| name == variable)
            }) {
                return Err(error(
                    field("when"),
                    format!(
                        "unknown variable `{unknown}` in `{}`; known: {}",
                        spec.when,
                        VARIABLES.join(", ")
                    ),
                ));
            }
            if let Some(variable) = ordered_over_map(program.expression()) {
                return Err(error(
                    field("when"),
                    format!("`{}`: `map` or `filter` over `{variable}` lists its keys in no fixed order; use the ordered `signals` list", spec.when),
                ));
            }
            if spec.assurance_level.is_some() && spec.action != Action::StepUp {
                return Err(error(
                    field("assurance_level"),
                    "only a `step_up` rule names an assurance level".into(),
                ));
            }
            let compiled = Compiled::compile(program.expression());
            rules.push(Rule {
                name: spec.name,
                description: spec.description,
                when: spec.when,
                program,
                compiled,
                action: spec.action,
                mode: spec.mode.unwrap_or(parsed.defaults.mode),
                cooldown: spec.cooldown.unwrap_or(parsed.defaults.cooldown),
                assurance_level: spec.assurance_level,
            });
        }
        let policy = Policy { rules };
        policy
            .check_against_sample()
            .map_err(|(index, message)| error(format!("rules[{index}].when"), message))?;
        Ok(policy)
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs every condition once on a sample input so that type errors (`risk.score ==
    /// "high"`, a misspelled field) are found when the policy loads, not on live traffic.
    fn check_against_sample(&self) -> Result<(), (usize, String)> {
        let evaluator = Evaluator::new();
        // One event with a signal and one without: `signal.impossible_travel` without a
        // `has()` or `in` guard fails on the second, and must fail here, not live.
        let samples = [Facts::sample(), Facts::quiet_sample()];
        for (index, rule) in self.rules.iter().enumerate() {
            for sample in &samples {
                evaluator
                    .matches(rule, sample)
                    .map_err(|message| (index, format!("`{}`: {message}", rule.when)))?;
            }
        }
        Ok(())
    }
}

/// The variables that are CEL maps: iterating one visits its keys in hash order.
const MAP_VARIABLES: [&str; 4] = ["event", "signal", "risk", "identity"];

/// The direct subexpressions of an expression.
fn children(expression: &IdedExpr) -> Vec<&IdedExpr> {
    match &expression.expr {
        Expr::Comprehension(comprehension) => vec![
            &comprehension.iter_range,
            &comprehension.accu_init,
            &comprehension.loop_cond,
            &comprehension.loop_step,
            &comprehension.result,
        ],
        Expr::Call(call) => call
            .target
            .iter()
            .map(|target| &**target)
            .chain(call.args.iter())
            .collect(),
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Select(select) => vec![&*select.operand],
        Expr::Map(MapExpr { entries }) | Expr::Struct(StructExpr { entries, .. }) => entries
            .iter()
            .flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(pair) => vec![&pair.key, &pair.value],
                EntryExpr::StructField(field) => vec![&field.value],
            })
            .collect(),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => Vec::new(),
    }
}

/// The map variable a `map` or `filter` macro iterates, if any: their results are lists
/// whose order would differ from one process to the next. (`all`, `exists` and
/// `exists_one` do not depend on the order; their accumulators are not lists.)
fn ordered_over_map(expression: &IdedExpr) -> Option<&'static str> {
    if let Expr::Comprehension(comprehension) = &expression.expr {
        if let (Expr::Ident(name), Expr::List(_)) = (
            &comprehension.iter_range.expr,
            &comprehension.accu_init.expr,
        ) {
            if let Some(variable) = MAP_VARIABLES.iter().find(|variable| *variable == name) {
                return Some(variable);
            }
        }
    }
    children(expression).into_iter().find_map(ordered_over_map)
}

/// The names macros bind (`s` in `signals.exists(s, ...)`, and their accumulators): not
/// variables the policy must provide.
fn bound_names(expression: &IdedExpr, names: &mut Vec<String>) {
    if let Expr::Comprehension(comprehension) = &expression.expr {
        names.push(comprehension.iter_var.clone());
        names.extend(comprehension.iter_var2.clone());
        names.push(comprehension.accu_var.clone());
    }
    for child in children(expression) {
        bound_names(child, names);
    }
}

/// What a condition sees, already in CEL values.
#[derive(Clone)]
pub struct Facts {
    /// `event`.
    pub event: Value,
    /// `signal`.
    pub signal: Value,
    /// `signals`.
    pub signals: Value,
    /// `risk`.
    pub risk: Value,
    /// `identity`.
    pub identity: Value,
}

/// Builds a CEL map from string keys.
pub fn map(entries: Vec<(&str, Value)>) -> Value {
    let map: HashMap<String, Value> = entries
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    Value::from(map)
}

impl Facts {
    /// The facts of one event's view as CEL values, for the interpreter.
    pub fn of(view: &View<'_>) -> Facts {
        let event = map(vec![
            ("kind", view.kind.into()),
            ("identity", view.identity.into()),
            ("identity_type", view.identity_type.into()),
            ("action", view.action.into()),
            ("outcome", view.outcome.into()),
            ("factor", view.factor.into()),
            (
                "ip",
                view.ip.map(|ip| ip.to_string()).unwrap_or_default().into(),
            ),
            ("country", view.country.into()),
            ("city", view.city.into()),
            ("asn", Value::Int(view.asn)),
            ("device_id", view.device_id.into()),
            ("session_id", view.session_id.into()),
            ("app", view.app.into()),
            ("resource", view.resource.into()),
            ("corporate", view.corporate.into()),
            ("vpn", view.vpn.into()),
            ("anonymizer", view.anonymizer.into()),
            ("threat", view.threat.into()),
        ]);
        let signal = map(view
            .signals
            .iter()
            .map(|signal| (signal.detector.as_str(), Value::Float(signal.score)))
            .collect());
        let list = view
            .signals
            .iter()
            .map(|signal| {
                map(vec![
                    ("detector", signal.detector.as_str().into()),
                    ("score", Value::Float(signal.score)),
                    ("confidence", Value::Float(signal.confidence)),
                ])
            })
            .collect();
        Facts {
            event,
            signal,
            signals: Value::List(Arc::new(list)),
            risk: map(vec![
                ("score", Value::Float(view.risk.score)),
                ("level", view.risk.level.as_str().into()),
            ]),
            identity: map(vec![
                ("id", view.identity.into()),
                ("type", view.identity_type.into()),
                ("learning", view.learning.into()),
            ]),
        }
    }

    /// An event that raised no signal, on a session with a little risk.
    fn quiet_sample() -> Facts {
        let loud = Facts::sample();
        Facts {
            signal: map(vec![]),
            signals: Value::List(Arc::new(vec![])),
            risk: map(vec![("score", Value::Float(12.0)), ("level", "low".into())]),
            ..loud
        }
    }

    fn sample() -> Facts {
        let event = map(vec![
            ("kind", "auth".into()),
            ("identity", "sample@example.com".into()),
            ("identity_type", "user".into()),
            ("action", "login".into()),
            ("outcome", "success".into()),
            ("factor", "".into()),
            ("ip", "192.0.2.1".into()),
            ("country", "DE".into()),
            ("city", "Berlin, DE".into()),
            ("asn", Value::Int(3320)),
            ("device_id", "".into()),
            ("session_id", "".into()),
            ("app", "".into()),
            ("resource", "".into()),
            ("corporate", false.into()),
            ("vpn", false.into()),
            ("anonymizer", false.into()),
            ("threat", false.into()),
        ]);
        let signal = map(vec![("impossible_travel", Value::Float(80.0))]);
        let signals = Value::List(Arc::new(vec![map(vec![
            ("detector", "impossible_travel".into()),
            ("score", Value::Float(80.0)),
            ("confidence", Value::Float(1.0)),
        ])]));
        Facts {
            event,
            signal,
            signals,
            risk: map(vec![
                ("score", Value::Float(80.0)),
                ("level", "high".into()),
            ]),
            identity: map(vec![
                ("id", "sample@example.com".into()),
                ("type", "user".into()),
                ("learning", false.into()),
            ]),
        }
    }
}

/// Evaluates conditions; holds the CEL standard library, built once per thread.
pub struct Evaluator {
    root: Context<'static, 'static>,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new()
    }
}

impl Evaluator {
    /// A new evaluator with CEL's standard functions.
    pub fn new() -> Evaluator {
        Evaluator {
            root: Context::default(),
        }
    }

    /// Whether `rule` matches `facts`; a condition that does not give a bool is an error.
    pub fn matches(&self, rule: &Rule, facts: &Facts) -> Result<bool, String> {
        self.bind(facts.clone()).matches(rule)
    }

    /// One event's facts bound as the conditions' variables, once for every rule.
    pub fn bind(&self, facts: Facts) -> Bound<'_> {
        let mut scope = self.root.new_inner_scope();
        scope.add_variable_from_value("event", facts.event);
        scope.add_variable_from_value("signal", facts.signal);
        scope.add_variable_from_value("signals", facts.signals);
        scope.add_variable_from_value("risk", facts.risk);
        scope.add_variable_from_value("identity", facts.identity);
        Bound { scope }
    }
}

impl Rule {
    /// Whether the condition is judged by its compiled tree (else by the interpreter).
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }
}

impl Evaluator {
    /// The policy's evaluation for one event: compiled conditions on `view`, the
    /// interpreter for the others (with the event's facts built once, when first needed).
    pub fn judging<'e, 'v>(&'e self, view: &'v View<'v>) -> Judging<'e, 'v> {
        Judging {
            evaluator: self,
            view,
            bound: None,
        }
    }
}

/// One event's policy evaluation ([`Evaluator::judging`]).
pub struct Judging<'e, 'v> {
    evaluator: &'e Evaluator,
    view: &'v View<'v>,
    bound: Option<Bound<'e>>,
}

impl Judging<'_, '_> {
    /// Whether `rule` matches; a condition that does not give a bool is an error.
    pub fn matches(&mut self, rule: &Rule) -> Result<bool, String> {
        if let Some(holds) = rule
            .compiled
            .as_ref()
            .and_then(|compiled| compiled.holds(self.view))
        {
            return Ok(holds);
        }
        let (evaluator, view) = (self.evaluator, self.view);
        self.bound
            .get_or_insert_with(|| evaluator.bind(Facts::of(view)))
            .matches(rule)
    }
}

/// One event's facts bound as CEL variables ([`Evaluator::bind`]).
pub struct Bound<'e> {
    scope: Context<'e, 'static>,
}

impl Bound<'_> {
    /// Whether `rule` matches; a condition that does not give a bool is an error.
    pub fn matches(&self, rule: &Rule) -> Result<bool, String> {
        self.matches_program(&rule.program)
    }

    /// Whether a compiled CEL program gives true; one that does not give a bool is an
    /// error.
    pub fn matches_program(&self, program: &Program) -> Result<bool, String> {
        match program.execute(&self.scope) {
            Ok(Value::Bool(matched)) => Ok(matched),
            Ok(other) => Err(format!("gives {other:?}, not a bool")),
            Err(problem) => Err(problem.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vigil_schemas::{Detector, Risk, RiskLevel, Signal};

    const DETECTORS: [&str; 5] = [
        "impossible_travel",
        "brute_force",
        "new_device",
        "session_hijack",
        "no_such_detector",
    ];
    const OUTCOMES: [&str; 4] = ["success", "failure", "denied", ""];

    fn view<'a>(signals: &'a [Signal], risk: f64, outcome: &'a str, corporate: bool) -> View<'a> {
        let level = if risk >= RiskLevel::HIGH_FROM {
            RiskLevel::High
        } else if risk >= RiskLevel::MEDIUM_FROM {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        };
        View {
            kind: "auth",
            identity: "alice@example.com",
            identity_type: "user",
            action: "login",
            outcome,
            factor: "",
            ip: Some([192, 0, 2, 1].into()),
            country: "DE",
            city: "Berlin",
            asn: 3320,
            device_id: "laptop-1",
            session_id: "s-1",
            app: "",
            resource: "",
            corporate,
            vpn: false,
            anonymizer: false,
            threat: false,
            signals,
            risk: Risk { score: risk, level },
            learning: false,
        }
    }

    /// A condition of the shapes policies use, some compiled and some not.
    fn condition() -> impl Strategy<Value = String> {
        let detector = proptest::sample::select(DETECTORS.to_vec());
        let threshold = proptest::sample::select(vec![0.0, 40.0, 50.0, 60.0, 70.0, 100.0]);
        let atom = prop_oneof![
            detector
                .clone()
                .prop_map(|name| format!("\"{name}\" in signal")),
            (
                detector.clone(),
                proptest::sample::select(vec![">=", ">", "<", "<=", "==", "!="]),
                threshold.clone()
            )
                .prop_map(|(name, order, value)| format!("signal.{name} {order} {value:.1}")),
            (detector, threshold.clone())
                .prop_map(|(name, value)| format!("{value:.1} <= signal.{name}")),
            threshold
                .clone()
                .prop_map(|value| format!("risk.score >= {value:.1}")),
            // An integer against a score: left to the interpreter.
            threshold.prop_map(|value| format!("risk.score >= {}", value as i64)),
            proptest::sample::select(OUTCOMES.to_vec())
                .prop_map(|outcome| format!("event.outcome != \"{outcome}\"")),
            proptest::sample::select(vec!["low", "medium", "high"])
                .prop_map(|level| format!("risk.level == \"{level}\"")),
            (0i64..3).prop_map(|count| format!("size(signals) > {count}")),
            Just("event.corporate".to_string()),
            Just("event.asn == 3320".to_string()),
            Just("signals.exists(s, s.score >= 60.0)".to_string()),
            Just("true".to_string()),
        ];
        atom.prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
                inner.prop_map(|a| format!("!({a})")),
            ]
        })
    }

    fn signals() -> impl Strategy<Value = Vec<Signal>> {
        proptest::sample::subsequence(vec![0usize, 1, 2, 3], 0..=4).prop_flat_map(|picked| {
            proptest::collection::vec(
                proptest::sample::select(vec![30.0, 50.0, 60.0, 70.0, 90.0]),
                picked.len(),
            )
            .prop_map(move |scores| {
                picked
                    .iter()
                    .zip(scores)
                    .map(|(index, score)| Signal {
                        detector: Detector::ALL
                            .into_iter()
                            .find(|detector| detector.as_str() == DETECTORS[*index])
                            .unwrap(),
                        score,
                        confidence: 0.9,
                        detail: String::new(),
                        evidence: serde_json::Value::Null,
                    })
                    .collect()
            })
        })
    }

    proptest! {
        #[test]
        fn the_compiled_tree_gives_the_interpreters_answer(
            when in condition(),
            signals in signals(),
            risk in proptest::sample::select(vec![10.0, 40.0, 55.0, 70.0, 90.0]),
            outcome in proptest::sample::select(OUTCOMES.to_vec()),
            corporate in any::<bool>(),
        ) {
            let program = Program::compile(&when).unwrap();
            let view = view(&signals, risk, outcome, corporate);
            let evaluator = Evaluator::new();
            let interpreted = evaluator.bind(Facts::of(&view)).matches_program(&program);
            if let Some(compiled) = Compiled::compile(program.expression()) {
                prop_assert_eq!(compiled.holds(&view), interpreted.ok(), "{}", when);
            }
        }
    }

    #[test]
    fn every_rule_of_the_default_policy_is_compiled() {
        let policy = Policy::default_policy();
        for rule in policy.rules() {
            assert!(rule.is_compiled(), "{}", rule.when);
        }
    }

    #[test]
    fn the_default_policy_loads() {
        let policy = Policy::default_policy();
        assert!(policy.rules().len() >= 4);
    }

    #[test]
    fn errors_name_file_and_field() {
        let cases = [
            ("version: 1\nrules:\n  - name: a\n    when: 'risk.score >'\n    action: alert\n", "rules[0].when"),
            ("version: 1\nrules:\n  - name: a\n    when: 'rsk.score > 1'\n    action: alert\n", "unknown variable `rsk`"),
            ("version: 1\nrules:\n  - name: a\n    when: 'risk.score'\n    action: alert\n", "not a bool"),
            ("version: 1\nrules:\n  - name: a\n    when: 'true'\n    action: explode\n", "line 5"),
            ("version: 1\nrules:\n  - name: a\n    when: 'true'\n    acton: alert\n", "acton"),
            ("version: 2\nrules: []\n", "version"),
            ("version: 1\nrules:\n  - name: a\n    when: 'true'\n    action: alert\n  - name: a\n    when: 'true'\n    action: alert\n", "rules[1].name"),
            ("version: 1\nrules:\n  - name: a\n    when: 'true'\n    action: alert\n    cooldown: 5y\n", "unknown unit"),
            ("version: 1\nrules:\n  - name: a\n    when: 'signal.impossible_travel >= 60.0'\n    action: alert\n", "rules[0].when"),
            ("version: 1\nrules:\n  - name: a\n    when: 'size(signal.filter(d, d != \"x\")) > 0 || true'\n    action: alert\n", "no fixed order"),
            ("version: 1\nrules:\n  - name: a\n    when: 'signals.exists(s, s.detector == \"x\") && ghost'\n    action: alert\n", "unknown variable `ghost`"),
        ];
        for (text, expected) in cases {
            let error = Policy::from_yaml(text, "policy.yaml").unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with("invalid policy `policy.yaml`"),
                "{message}"
            );
            assert!(message.contains(expected), "{text} -> {message}");
        }
    }

    #[test]
    fn macros_over_the_signals_list_are_allowed() {
        let text = "version: 1\nrules:\n  - name: a\n    when: 'signals.exists(s, s.detector == \"impossible_travel\" && s.score >= 60.0) && signal.all(d, d != \"x\")'\n    action: revoke_session\n";
        let policy = Policy::from_yaml(text, "p").unwrap();
        assert!(Evaluator::new()
            .matches(&policy.rules()[0], &Facts::sample())
            .unwrap());
    }

    #[test]
    fn conditions_see_signals_and_risk() {
        let policy = Policy::from_yaml("version: 1\nrules:\n  - name: a\n    when: '\"impossible_travel\" in signal && signal.impossible_travel >= 60.0 && risk.level == \"high\" && event.country == \"DE\"'\n    action: revoke_session\n", "p").unwrap();
        assert!(Evaluator::new()
            .matches(&policy.rules()[0], &Facts::sample())
            .unwrap());
    }
}
