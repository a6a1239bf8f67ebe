//! Policy conditions compiled for their common shapes, judged straight from the event's
//! [`View`] without building CEL values.
//!
//! Most rules are a few comparisons joined by `&&` and `||`: `"x" in signal`,
//! `signal.x >= 70.0`, `event.outcome != "failure"`, `risk.score >= 40.0`,
//! `risk.level == "high"`, `size(signals) > 0`. Those shapes compile to a small tree
//! evaluated on the view; a rule with any other shape (macros, arithmetic, `has()`,
//! integer literals against scores) is left whole to the CEL interpreter, which then gets
//! the event's facts built once for every such rule.
//!
//! The tree gives the interpreter's answer, errors included: `signal.x` of a detector
//! that did not fire is an error, and `&&` and `||` are CEL's commutative ones (`false &&
//! error` is false, `error || true` is true, `true && error` an error). When the tree
//! finds an error the interpreter is asked again, so the message is its own. A property
//! test compares the two on random conditions and events.

use cel::common::ast::{operators, Expr, IdedExpr, LiteralValue};
use vigil_schemas::{Detector, Risk, Signal};

/// What a condition reads: one event as the policy sees it, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// `event.kind`.
    pub kind: &'a str,
    /// `event.identity` and `identity.id`.
    pub identity: &'a str,
    /// `event.identity_type` and `identity.type`.
    pub identity_type: &'a str,
    /// `event.action`.
    pub action: &'a str,
    /// `event.outcome`.
    pub outcome: &'a str,
    /// `event.factor`.
    pub factor: &'a str,
    /// `event.ip` (as text when a condition reads it).
    pub ip: Option<std::net::IpAddr>,
    /// `event.country`.
    pub country: &'a str,
    /// `event.city`.
    pub city: &'a str,
    /// `event.asn`.
    pub asn: i64,
    /// `event.device_id`.
    pub device_id: &'a str,
    /// `event.session_id`.
    pub session_id: &'a str,
    /// `event.app`.
    pub app: &'a str,
    /// `event.resource`.
    pub resource: &'a str,
    /// `event.corporate`, `vpn`, `anonymizer`, `threat`.
    pub corporate: bool,
    /// `event.vpn`.
    pub vpn: bool,
    /// `event.anonymizer`.
    pub anonymizer: bool,
    /// `event.threat`.
    pub threat: bool,
    /// `signal` and `signals`.
    pub signals: &'a [Signal],
    /// `risk`.
    pub risk: Risk,
    /// `identity.learning`.
    pub learning: bool,
}

impl View<'_> {
    fn score(&self, detector: Detector) -> Option<f64> {
        self.signals
            .iter()
            .find(|signal| signal.detector == detector)
            .map(|signal| signal.score)
    }

    fn text(&self, field: Text) -> &str {
        match field {
            Text::Kind => self.kind,
            Text::Identity => self.identity,
            Text::IdentityType => self.identity_type,
            Text::Action => self.action,
            Text::Outcome => self.outcome,
            Text::Factor => self.factor,
            Text::Country => self.country,
            Text::City => self.city,
            Text::DeviceId => self.device_id,
            Text::SessionId => self.session_id,
            Text::App => self.app,
            Text::Resource => self.resource,
            Text::RiskLevel => self.risk.level.as_str(),
        }
    }

    fn flag(&self, field: Flag) -> bool {
        match field {
            Flag::Corporate => self.corporate,
            Flag::Vpn => self.vpn,
            Flag::Anonymizer => self.anonymizer,
            Flag::Threat => self.threat,
            Flag::Learning => self.learning,
        }
    }
}

/// A text the view holds without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Text {
    Kind,
    Identity,
    IdentityType,
    Action,
    Outcome,
    Factor,
    Country,
    City,
    DeviceId,
    SessionId,
    App,
    Resource,
    RiskLevel,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Flag {
    Corporate,
    Vpn,
    Anonymizer,
    Threat,
    Learning,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

impl Order {
    fn from_operator(name: &str) -> Option<Order> {
        Some(match name {
            operators::LESS => Order::Less,
            operators::LESS_EQUALS => Order::LessOrEqual,
            operators::GREATER => Order::Greater,
            operators::GREATER_EQUALS => Order::GreaterOrEqual,
            operators::EQUALS => Order::Equal,
            operators::NOT_EQUALS => Order::NotEqual,
            _ => return None,
        })
    }

    /// The same comparison with its operands swapped (`1.0 < x` is `x > 1.0`).
    fn swapped(self) -> Order {
        match self {
            Order::Less => Order::Greater,
            Order::LessOrEqual => Order::GreaterOrEqual,
            Order::Greater => Order::Less,
            Order::GreaterOrEqual => Order::LessOrEqual,
            same => same,
        }
    }

    fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Order::Less => left < right,
            Order::LessOrEqual => left <= right,
            Order::Greater => left > right,
            Order::GreaterOrEqual => left >= right,
            Order::Equal => left == right,
            Order::NotEqual => left != right,
        }
    }
}

/// A number a condition compares.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    /// `signal.x`: an error when `x` did not fire.
    Signal(Detector),
    /// `risk.score`.
    RiskScore,
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled(Node);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Constant(bool),
    /// `"x" in signal`.
    Fired(Detector),
    /// A score against a double literal.
    Score(Number, Order, f64),
    /// A text field against a string literal (`==` or `!=`).
    Text(Text, bool, Box<str>),
    /// `event.asn` against an integer literal.
    Asn(Order, i64),
    /// `size(signals)` against an integer literal.
    Count(Order, i64),
    Flag(Flag),
}

impl Compiled {
    /// The condition's tree, or None when some part of it is a shape left to the
    /// interpreter.
    pub fn compile(expression: &IdedExpr) -> Option<Compiled> {
        node(expression).map(Compiled)
    }

    /// Whether the condition holds; None where the interpreter would give an error.
    pub fn holds(&self, view: &View<'_>) -> Option<bool> {
        self.0.holds(view)
    }
}

/// CEL's commutative `&&` (`decisive` false) and `||` (`decisive` true): the decisive
/// value on either side wins over an error (`None`) on the other.
fn junction(left: &Node, right: &Node, view: &View<'_>, decisive: bool) -> Option<bool> {
    let left = left.holds(view);
    if left == Some(decisive) {
        return Some(decisive);
    }
    match (left, right.holds(view)?) {
        (Some(_), right) => Some(right),
        (None, right) if right == decisive => Some(decisive),
        (None, _) => None,
    }
}

impl Node {
    fn holds(&self, view: &View<'_>) -> Option<bool> {
        match self {
            Node::And(left, right) => junction(left, right, view, false),
            Node::Or(left, right) => junction(left, right, view, true),
            Node::Not(inner) => inner.holds(view).map(|holds| !holds),
            Node::Constant(value) => Some(*value),
            Node::Fired(detector) => Some(view.score(*detector).is_some()),
            Node::Score(number, order, literal) => {
                let value = match number {
                    Number::Signal(detector) => view.score(*detector)?,
                    Number::RiskScore => view.risk.score,
                };
                Some(order.holds(value, *literal))
            }
            Node::Text(field, equal, literal) => Some((view.text(*field) == &**literal) == *equal),
            Node::Asn(order, literal) => Some(order.holds(view.asn, *literal)),
            Node::Count(order, literal) => Some(order.holds(view.signals.len() as i64, *literal)),
            Node::Flag(field) => Some(view.flag(*field)),
        }
    }
}

/// `variable.field`, when the expression is one.
fn select(expression: &IdedExpr) -> Option<(&str, &str)> {
    match &expression.expr {
        Expr::Select(select) if !select.test => match &select.operand.expr {
            Expr::Ident(variable) => Some((variable.as_str(), select.field.as_str())),
            _ => None,
        },
        _ => None,
    }
}

fn text_field(variable: &str, field: &str) -> Option<Text> {
    Some(match (variable, field) {
        ("event", "kind") => Text::Kind,
        ("event", "identity") | ("identity", "id") => Text::Identity,
        ("event", "identity_type") | ("identity", "type") => Text::IdentityType,
        ("event", "action") => Text::Action,
        ("event", "outcome") => Text::Outcome,
        ("event", "factor") => Text::Factor,
        ("event", "country") => Text::Country,
        ("event", "city") => Text::City,
        ("event", "device_id") => Text::DeviceId,
        ("event", "session_id") => Text::SessionId,
        ("event", "app") => Text::App,
        ("event", "resource") => Text::Resource,
        ("risk", "level") => Text::RiskLevel,
        _ => return None,
    })
}

fn flag_field(variable: &str, field: &str) -> Option<Flag> {
    Some(match (variable, field) {
        ("event", "corporate") => Flag::Corporate,
        ("event", "vpn") => Flag::Vpn,
        ("event", "anonymizer") => Flag::Anonymizer,
        ("event", "threat") => Flag::Threat,
        ("identity", "learning") => Flag::Learning,
        _ => return None,
    })
}

fn detector(name: &str) -> Option<Detector> {
    Detector::ALL
        .into_iter()
        .find(|detector| detector.as_str() == name)
}

fn literal(expression: &IdedExpr) -> Option<&LiteralValue> {
    match &expression.expr {
        Expr::Literal(value) => Some(value),
        _ => None,
    }
}

/// `size(signals)` or `signals.size()`.
fn is_signal_count(expression: &IdedExpr) -> bool {
    match &expression.expr {
        Expr::Call(call) if call.func_name == "size" => {
            let operand = match (&call.target, call.args.as_slice()) {
                (None, [operand]) => operand,
                (Some(target), []) => &**target,
                _ => return false,
            };
            matches!(&operand.expr, Expr::Ident(name) if name == "signals")
        }
        _ => false,
    }
}

fn node(expression: &IdedExpr) -> Option<Node> {
    match &expression.expr {
        Expr::Literal(LiteralValue::Boolean(value)) => Some(Node::Constant(*value.inner())),
        Expr::Select(_) => {
            let (variable, field) = select(expression)?;
            flag_field(variable, field).map(Node::Flag)
        }
        Expr::Call(call) if call.target.is_none() => {
            match (call.func_name.as_str(), call.args.as_slice()) {
                (operators::LOGICAL_AND, [left, right]) => {
                    Some(Node::And(Box::new(node(left)?), Box::new(node(right)?)))
                }
                (operators::LOGICAL_OR, [left, right]) => {
                    Some(Node::Or(Box::new(node(left)?), Box::new(node(right)?)))
                }
                (operators::LOGICAL_NOT, [inner]) => Some(Node::Not(Box::new(node(inner)?))),
                (operators::IN, [name, container]) => {
                    let LiteralValue::String(name) = literal(name)? else {
                        return None;
                    };
                    if !matches!(&container.expr, Expr::Ident(variable) if variable == "signal") {
                        return None;
                    }
                    // A name no detector has is never in `signal`.
                    Some(detector(name.inner()).map_or(Node::Constant(false), Node::Fired))
                }
                (name, [left, right]) => {
                    let order = Order::from_operator(name)?;
                    comparison(left, order, right)
                        .or_else(|| comparison(right, order.swapped(), left))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `subject order value` where the subject is a field and the value a literal.
fn comparison(subject: &IdedExpr, order: Order, value: &IdedExpr) -> Option<Node> {
    let value = literal(value)?;
    if is_signal_count(subject) {
        return match value {
            LiteralValue::Int(count) => Some(Node::Count(order, *count.inner())),
            _ => None,
        };
    }
    let (variable, field) = select(subject)?;
    match value {
        LiteralValue::Double(number) => {
            let number_field = match (variable, field) {
                ("signal", name) => Number::Signal(detector(name)?),
                ("risk", "score") => Number::RiskScore,
                _ => return None,
            };
            Some(Node::Score(number_field, order, *number.inner()))
        }
        LiteralValue::String(text) => {
            let equal = match order {
                Order::Equal => true,
                Order::NotEqual => false,
                _ => return None,
            };
            Some(Node::Text(
                text_field(variable, field)?,
                equal,
                text.inner().into(),
            ))
        }
        LiteralValue::Int(number) if (variable, field) == ("event", "asn") => {
            Some(Node::Asn(order, *number.inner()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cel::Program;

    #[test]
    fn other_shapes_are_left_to_the_interpreter() {
        for when in [
            "risk.score >= 40",
            "signals.exists(s, s.score >= 60.0)",
            "has(signal.new_device)",
            "event.ip == \"192.0.2.1\"",
            "risk.score + 10.0 >= 50.0",
        ] {
            let program = Program::compile(when).unwrap();
            assert_eq!(Compiled::compile(program.expression()), None, "{when}");
        }
    }
}
