//! `agent_scope`: an AI agent or service identity calls a tool or resource outside its
//! granted or learned scope, or acts on behalf of a principal it never served.
//!
//! Non-human identities are narrow and repetitive: a support agent calls the same handful
//! of tools for the same users, a batch job the same API. So their baseline is tight:
//! during learning (`learning_period` from the first call or `learning_calls` calls,
//! whichever comes first) every tool (or resource, by its first two path segments) and
//! every `on_behalf_of` principal is learned; afterwards a new one is a signal, and two
//! at once (a new tool for a new principal: the shape of a prompt injection) score high.
//!
//! A principal never served is worth containment by itself (80, the default policy's
//! revocation line): an agent acting for someone outside the people it serves is a
//! confused deputy, lending its access to whoever smuggled the request in, through tools
//! it uses every day. A tool never used (60) is worth a look but not a revocation: agents
//! are given new tools; a tool outside a configured grant (85) is not.
//! An identity with a configured grant is judged against the grant from its first call.
//! Calls that raised a signal or come from a tainted session are not learned; the judge
//! charges a session with a finding once, and again only with a worse one, so a
//! legitimate new colleague's third call does not compound into a revocation.
//!
//! Classic false positive: a shared assistant that serves the whole company meets new
//! principals every day; once it has served more principals than are remembered
//! (`MAX_PRINCIPALS`) new ones are no longer news, unless their domain (after `@`) is
//! one it never served: someone outside the organisations it works for. And a tool the agent used once in its
//! first week is still in scope when it comes back weeks later.

use crate::check::{is_score, Invalid};
use crate::duration::Duration;
use crate::fingerprint;
use serde::Deserialize;
use serde_json::json;
use vigil_schemas::{Detector, Envelope, IdentityType, Signal, Timestamp};

/// Most tools and resources remembered per identity.
pub const MAX_SCOPES: usize = 32;
/// Most principals remembered per identity; an identity serving more is broad.
pub const MAX_PRINCIPALS: usize = 16;
/// Most principal domains remembered per identity.
pub const MAX_DOMAINS: usize = 8;

/// What one agent or service identity was seen doing.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct AgentScope {
    first_call: Option<Timestamp>,
    calls: u32,
    scopes: Vec<(u64, Timestamp)>,
    principals: Vec<(u64, Timestamp)>,
    /// Domains of the principals served (after `@`): a broad assistant meets new people
    /// every day, but not new organisations. Added in state format 4; empty for a scope
    /// of format 3, whose next principal's domain is then learned, not judged.
    domains: Vec<(u64, Timestamp)>,
}

/// An agent's scope as formats 1 to 3 stored it: without domains.
#[derive(Debug, serde::Deserialize)]
pub struct AgentScopeV3 {
    first_call: Option<Timestamp>,
    calls: u32,
    scopes: Vec<(u64, Timestamp)>,
    principals: Vec<(u64, Timestamp)>,
}

impl From<AgentScopeV3> for AgentScope {
    fn from(old: AgentScopeV3) -> AgentScope {
        AgentScope {
            first_call: old.first_call,
            calls: old.calls,
            scopes: old.scopes,
            principals: old.principals,
            domains: Vec::new(),
        }
    }
}

/// The domain of a principal (after its last `@`), lower-cased; None without one.
fn domain_of(principal: &str) -> Option<u64> {
    let (_, domain) = principal.rsplit_once('@')?;
    Some(fingerprint(&domain.to_ascii_lowercase()))
}

impl AgentScope {
    /// Forgets the principal with `fingerprint` (a privacy request); whether it was held.
    pub fn forget_principal(&mut self, fingerprint: u64) -> bool {
        let before = self.principals.len();
        self.principals
            .retain(|(principal, _)| *principal != fingerprint);
        self.principals.len() != before
    }
}

/// A resource's scope: scheme and host and the first two path segments, no query.
fn resource_scope(resource: &str) -> &str {
    let resource = resource.split(['?', '#']).next().unwrap_or(resource);
    let path_start = resource.find("://").map_or(0, |scheme| {
        scheme
            + 3
            + resource[scheme + 3..]
                .find('/')
                .unwrap_or(resource.len() - scheme - 3)
    });
    let mut end = resource.len();
    let mut slashes = 0;
    for (offset, byte) in resource.bytes().enumerate().skip(path_start + 1) {
        if byte == b'/' {
            slashes += 1;
            if slashes == 2 {
                end = offset;
                break;
            }
        }
    }
    &resource[..end]
}

fn remember(list: &mut Vec<(u64, Timestamp)>, key: u64, time: Timestamp, max: usize) {
    if let Some(entry) = list.iter_mut().find(|entry| entry.0 == key) {
        entry.1 = entry.1.max(time);
        return;
    }
    if list.len() >= max {
        let oldest = (0..list.len())
            .min_by_key(|&index| list[index].1)
            .unwrap_or(0);
        list.swap_remove(oldest);
    }
    list.reserve_exact(1);
    list.push((key, time));
}

fn grant_for<'a>(identity: &str, grants: &'a [Grant]) -> Option<&'a Grant> {
    grants
        .iter()
        .find(|grant| match grant.identity.strip_suffix('*') {
            Some(prefix) => identity.starts_with(prefix),
            None => grant.identity == identity,
        })
}

/// Judges one access event of a service or agent identity and learns from it when it
/// raised nothing and its session is not tainted.
pub fn detect(
    scope: &mut AgentScope,
    envelope: &Envelope,
    session_tainted: bool,
    config: &AgentScopeConfig,
) -> Option<Signal> {
    let event = &envelope.event;
    if !config.enabled || event.identity_type == IdentityType::User {
        return None;
    }
    let access = event.access()?;
    let identity = event.identity.as_deref().unwrap_or_default();
    let item = match access.tool.as_deref() {
        Some(tool) => tool,
        None => resource_scope(&access.resource),
    };
    let item_key = fingerprint(item);
    let principal = access.on_behalf_of.as_deref();
    let first_call = *scope.first_call.get_or_insert(event.time);
    let learning = scope.calls < config.learning_calls
        && event.time.0.saturating_sub(first_call.0) < config.learning_period.as_micros();
    let mut findings: Vec<(f64, String)> = Vec::new();
    if let Some(grant) = grant_for(identity, &config.grants) {
        let allowed = match access.tool.as_deref() {
            Some(tool) => grant.tools.iter().any(|granted| granted == tool),
            None => grant
                .resources
                .iter()
                .any(|prefix| access.resource.starts_with(prefix.as_str())),
        };
        if !allowed {
            findings.push((
                config.out_of_grant_score,
                format!("{item} is outside the grant of {}", grant.identity),
            ));
        }
    } else if !learning && !scope.scopes.iter().any(|entry| entry.0 == item_key) {
        findings.push((
            config.new_scope_score,
            format!("{item} was never used while learning"),
        ));
    }
    if let Some(principal) = principal {
        let known = scope
            .principals
            .iter()
            .any(|entry| entry.0 == fingerprint(principal));
        let domain = domain_of(principal);
        let foreign = domain.is_some_and(|domain| {
            !scope.domains.is_empty() && !scope.domains.iter().any(|entry| entry.0 == domain)
        });
        if !learning && !known && (scope.principals.len() < MAX_PRINCIPALS || foreign) {
            findings.push((
                config.new_principal_score,
                if foreign {
                    format!("acting on behalf of {principal}, of a domain never served")
                } else {
                    format!("acting on behalf of {principal}, never served before")
                },
            ));
        }
    }
    scope.calls = scope.calls.saturating_add(1);
    if findings.is_empty() {
        if !session_tainted {
            remember(&mut scope.scopes, item_key, event.time, MAX_SCOPES);
            if let Some(principal) = principal {
                remember(
                    &mut scope.principals,
                    fingerprint(principal),
                    event.time,
                    MAX_PRINCIPALS + 1,
                );
                if let Some(domain) = domain_of(principal) {
                    remember(&mut scope.domains, domain, event.time, MAX_DOMAINS);
                }
            }
        }
        return None;
    }
    let remaining: f64 = findings
        .iter()
        .map(|(score, _)| 1.0 - (score / 100.0).clamp(0.0, 1.0))
        .product();
    let details: Vec<String> = findings.into_iter().map(|(_, detail)| detail).collect();
    Some(Signal {
        detector: Detector::AgentScope,
        score: (100.0 * (1.0 - remaining)).clamp(0.0, 100.0),
        confidence: 0.9,
        detail: format!(
            "{} {identity}: {}",
            event.identity_type.as_str(),
            details.join("; ")
        ),
        evidence: json!({ "scope": item, "on_behalf_of": principal, "findings": details }),
    })
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
    /// Score of acting on behalf of a principal never served (a confused deputy: at the
    /// default policy's revocation line by itself).
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
            new_principal_score: 80.0,
        }
    }
}

impl AgentScopeConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([(
            is_score(self.out_of_grant_score)
                && is_score(self.new_scope_score)
                && is_score(self.new_principal_score),
            "",
            crate::check::SCORES,
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_schemas::{AccessDetail, Detail, Event};

    const DAY0: i64 = 1_772_409_600;

    fn call(day: i64, minute: i64, tool: &str, principal: &str) -> Envelope {
        let mut event = Event::new(
            Timestamp::from_secs(DAY0 + day * 86_400 + minute * 60),
            Some("agent-support@example.com"),
            Detail::Access(AccessDetail {
                resource: "mcp://tools".into(),
                action: Some("tool_call".into()),
                bytes: None,
                status: Some(200),
                tool: Some(tool.into()),
                on_behalf_of: Some(principal.into()),
            }),
        );
        event.identity_type = IdentityType::Agent;
        crate::testing::envelope(event)
    }

    fn trained(config: &AgentScopeConfig) -> AgentScope {
        let mut scope = AgentScope::default();
        for day in 0..8 {
            for minute in 0..20 {
                let tool = ["search_kb", "read_ticket", "reply_ticket"][minute as usize % 3];
                let principal = format!("user{}@example.com", minute % 4);
                assert_eq!(
                    detect(
                        &mut scope,
                        &call(day, minute, tool, &principal),
                        false,
                        config
                    ),
                    None
                );
            }
        }
        scope
    }

    #[test]
    fn a_usual_tool_for_a_principal_never_served_is_a_confused_deputy() {
        let config = AgentScopeConfig::default();
        let mut scope = trained(&config);
        let usual = detect(
            &mut scope,
            &call(9, 0, "search_kb", "user1@example.com"),
            false,
            &config,
        );
        assert!(usual.is_none(), "{usual:?}");
        let deputy = detect(
            &mut scope,
            &call(9, 1, "search_kb", "cfo@example.com"),
            false,
            &config,
        )
        .unwrap();
        assert_eq!(deputy.score, 80.0, "at the revocation line by itself");
        assert!(deputy.detail.contains("never served"), "{}", deputy.detail);
    }

    #[test]
    fn a_new_tool_for_a_new_principal_scores_high() {
        let config = AgentScopeConfig::default();
        let mut scope = trained(&config);
        let signal = detect(
            &mut scope,
            &call(9, 0, "export_all_contacts", "ceo@example.com"),
            false,
            &config,
        )
        .unwrap();
        assert_eq!(signal.score, 92.0);
        assert!(
            signal.detail.contains("export_all_contacts"),
            "{}",
            signal.detail
        );
        // Not learned: the next call is judged again.
        assert!(detect(
            &mut scope,
            &call(9, 1, "export_all_contacts", "user1@example.com"),
            false,
            &config
        )
        .is_some());
    }

    #[test]
    fn a_call_outside_a_grant_fires_from_the_first_call() {
        let config = AgentScopeConfig {
            grants: vec![Grant {
                identity: "agent-support*".into(),
                tools: vec!["search_kb".into()],
                resources: Vec::new(),
            }],
            ..AgentScopeConfig::default()
        };
        let mut scope = AgentScope::default();
        assert_eq!(
            detect(
                &mut scope,
                &call(0, 0, "search_kb", "user1@example.com"),
                false,
                &config
            ),
            None
        );
        let signal = detect(
            &mut scope,
            &call(0, 1, "delete_user", "user1@example.com"),
            false,
            &config,
        )
        .unwrap();
        assert_eq!(signal.score, 85.0);
    }

    #[test]
    fn false_positive_a_tool_used_while_learning_is_in_scope_weeks_later() {
        let config = AgentScopeConfig::default();
        let mut scope = AgentScope::default();
        detect(
            &mut scope,
            &call(0, 0, "monthly_report", "user0@example.com"),
            false,
            &config,
        );
        let mut trained_scope = scope;
        for day in 0..8 {
            detect(
                &mut trained_scope,
                &call(day, 5, "search_kb", "user0@example.com"),
                false,
                &config,
            );
        }
        assert_eq!(
            detect(
                &mut trained_scope,
                &call(30, 0, "monthly_report", "user0@example.com"),
                false,
                &config
            ),
            None
        );
    }

    #[test]
    fn false_positive_a_broad_assistant_meets_new_people_every_day() {
        let config = AgentScopeConfig::default();
        let mut scope = AgentScope::default();
        for person in 0..40 {
            detect(
                &mut scope,
                &call(0, person, "search_kb", &format!("p{person}@example.com")),
                false,
                &config,
            );
        }
        for day in 1..8 {
            detect(
                &mut scope,
                &call(day, 0, "search_kb", "p1@example.com"),
                false,
                &config,
            );
        }
        assert_eq!(
            detect(
                &mut scope,
                &call(9, 0, "search_kb", "newcomer@example.com"),
                false,
                &config
            ),
            None
        );
        // Someone of an organisation it never served is news even to a broad assistant.
        let outsider = detect(
            &mut scope,
            &call(9, 1, "search_kb", "someone@attacker.example"),
            false,
            &config,
        )
        .unwrap();
        assert_eq!(outsider.score, 80.0);
        assert!(
            outsider.detail.contains("domain never served"),
            "{}",
            outsider.detail
        );
    }

    #[test]
    fn a_scope_of_format_3_learns_its_next_domain_instead_of_judging_it() {
        let config = AgentScopeConfig::default();
        let mut scope = trained(&config);
        scope.domains.clear();
        scope
            .principals
            .resize(MAX_PRINCIPALS, (0, Timestamp::from_secs(0)));
        assert_eq!(
            detect(
                &mut scope,
                &call(9, 0, "search_kb", "user1@example.com"),
                false,
                &config
            ),
            None
        );
        assert_eq!(scope.domains.len(), 1);
    }

    #[test]
    fn resources_are_scoped_by_two_path_segments() {
        assert_eq!(
            resource_scope("https://api.example.com/v1/export?x=1"),
            "https://api.example.com/v1/export"
        );
        assert_eq!(
            resource_scope("https://api.example.com/v1/export/all"),
            "https://api.example.com/v1/export"
        );
        assert_eq!(
            resource_scope("https://api.example.com"),
            "https://api.example.com"
        );
        assert_eq!(resource_scope("crm/contacts/42"), "crm/contacts");
        assert_eq!(resource_scope(""), "");
    }

    #[test]
    fn users_are_not_judged() {
        let mut envelope = call(9, 0, "anything", "x");
        envelope.event.identity_type = IdentityType::User;
        assert_eq!(
            detect(
                &mut AgentScope::default(),
                &envelope,
                false,
                &AgentScopeConfig::default()
            ),
            None
        );
    }
}
