//! `vigil simulate`: synthetic but realistic traffic in the native v1 format, with attacks
//! woven in and their ground truth ([`crate::labels`]), deterministic for a seed.
//!
//! People have a home city (and its time zone), one or two devices, a home network and a
//! mobile carrier; some go through a commercial VPN provider. They sign in on work days in
//! their own morning (MFA on most sign-ins), their laptop reports its posture, they access
//! resources through the day and sign out. Some travel: they fly to another city and sign
//! in there after a plausible flight. Some laptops fall behind on patches for a day.
//! Service accounts run batch jobs at fixed hours from a data centre; AI agents call their
//! tools on behalf of the people they serve (some serve everyone).
//!
//! Attacks woven in (`attack_rate` per identity over the run, spread over the kinds of
//! [`AttackKind`], in the second half of the run, after baselines have been learned):
//! credential theft from abroad, brute force, password spray across many identities, MFA
//! fatigue, a stolen session cookie replayed elsewhere, a compromised laptop whose EDR
//! stops mid-session, data exfiltration from a live session, and an agent out of scope.

use crate::labels::{AttackKind, AttackLabel, Label, SessionLabel};
use serde::Serialize;
use std::io::Write;
use vigil_schemas::{
    AccessDetail, AuthAction, AuthDetail, Detail, Detector, Event, Geo, IdentityType, Outcome,
    PostureChecks, PostureDetail, Timestamp,
};

/// SplitMix64: a tiny, fast, well-distributed deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `probability`.
    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }
}

/// A city traffic comes from.
#[derive(Debug, Clone, Copy)]
pub struct City {
    /// Name.
    pub name: &'static str,
    /// ISO alpha-2.
    pub country: &'static str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Hours ahead of UTC.
    pub utc_offset: i64,
    /// Home broadband ASN.
    pub home_asn: u32,
    /// Mobile carrier ASN.
    pub mobile_asn: u32,
    /// First two octets of its addresses.
    pub prefix: (u8, u8),
}

const fn city(
    name: &'static str,
    country: &'static str,
    (lat, lon): (f64, f64),
    utc_offset: i64,
    (home_asn, mobile_asn): (u32, u32),
    prefix: (u8, u8),
) -> City {
    City {
        name,
        country,
        lat,
        lon,
        utc_offset,
        home_asn,
        mobile_asn,
        prefix,
    }
}

/// Where people live and travel.
pub const CITIES: [City; 16] = [
    city("Berlin", "DE", (52.52, 13.405), 1, (3320, 3209), (85, 214)),
    city("Munich", "DE", (48.137, 11.575), 1, (3320, 6805), (87, 150)),
    city("London", "GB", (51.507, -0.128), 0, (2856, 12576), (81, 2)),
    city("Paris", "FR", (48.857, 2.352), 1, (3215, 15557), (90, 84)),
    city("Madrid", "ES", (40.417, -3.704), 1, (3352, 12430), (83, 44)),
    city(
        "Stockholm",
        "SE",
        (59.329, 18.069),
        1,
        (3301, 1257),
        (89, 160),
    ),
    city(
        "New York",
        "US",
        (40.713, -74.006),
        -5,
        (7922, 21928),
        (24, 90),
    ),
    city(
        "Chicago",
        "US",
        (41.878, -87.63),
        -6,
        (7018, 20057),
        (67, 167),
    ),
    city(
        "San Francisco",
        "US",
        (37.775, -122.419),
        -8,
        (7018, 21928),
        (104, 28),
    ),
    city(
        "Toronto",
        "CA",
        (43.653, -79.383),
        -5,
        (577, 812),
        (142, 116),
    ),
    city(
        "Sao Paulo",
        "BR",
        (-23.55, -46.633),
        -3,
        (28573, 26599),
        (177, 32),
    ),
    city("Tokyo", "JP", (35.676, 139.65), 9, (2516, 9605), (126, 10)),
    city(
        "Singapore",
        "SG",
        (1.352, 103.82),
        8,
        (9506, 4773),
        (175, 156),
    ),
    city(
        "Sydney",
        "AU",
        (-33.869, 151.209),
        10,
        (1221, 4804),
        (1, 128),
    ),
    city(
        "Bangalore",
        "IN",
        (12.972, 77.595),
        5,
        (24560, 45609),
        (49, 36),
    ),
    city("Lagos", "NG", (6.524, 3.379), 1, (29465, 36873), (105, 112)),
];

/// Cities attackers sign in from (far from most homes; hosting and residential proxies).
const ATTACKER_CITIES: [City; 3] = [
    city(
        "Moscow",
        "RU",
        (55.756, 37.617),
        3,
        (8359, 12389),
        (95, 165),
    ),
    city(
        "Hanoi",
        "VN",
        (21.028, 105.854),
        7,
        (7552, 45899),
        (113, 160),
    ),
    city(
        "Bucharest",
        "RO",
        (44.427, 26.103),
        2,
        (8708, 12302),
        (86, 120),
    ),
];

const DATA_CENTRE: City = city(
    "Frankfurt",
    "DE",
    (50.11, 8.682),
    1,
    (16509, 16509),
    (52, 28),
);

const RESOURCES: [&str; 12] = [
    "https://mail.example.com/inbox",
    "https://wiki.example.com/",
    "https://crm.example.com/accounts",
    "https://git.example.com/",
    "https://hr.example.com/payroll",
    "https://drive.example.com/files",
    "https://chat.example.com/",
    "https://jira.example.com/browse",
    "https://ci.example.com/builds",
    "https://docs.example.com/",
    "https://finance.example.com/reports",
    "https://calendar.example.com/",
];

const APPS: [&str; 4] = ["okta", "office365", "salesforce", "github"];

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// Number of identities (about 5% service accounts).
    pub identities: usize,
    /// Days of traffic.
    pub days: u32,
    /// Seed: the same seed gives the same events.
    pub seed: u64,
    /// First day (midnight UTC).
    pub start: Timestamp,
    /// Attacks per identity over the whole run.
    pub attack_rate: f64,
    /// Which attacks are woven in.
    pub mix: Mix,
}

/// Which attacks a simulation weaves in. Benign look-alikes of the subtle attacks (typo
/// bursts, offices sharing one NAT address, admins sharing jump hosts on the data
/// centre's hosting network, analysts' usual download bursts, agents whose tool set
/// grows) are in every mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mix {
    /// The eight textbook kinds (the first of [`AttackKind::ALL`]).
    #[default]
    Classic,
    /// Their subtle variants: failed brute force, slow spray, quiet exfiltration,
    /// confused deputy.
    Subtle,
    /// Both, half and half.
    All,
}

impl Mix {
    /// The mix named `name` (`classic`, `subtle`, `all`).
    pub fn parse(name: &str) -> Option<Mix> {
        match name {
            "classic" => Some(Mix::Classic),
            "subtle" => Some(Mix::Subtle),
            "all" => Some(Mix::All),
            _ => None,
        }
    }

    /// Whether a draw (one chance in two for `All`) gives a subtle variant.
    fn subtle(self, rng: &mut Rng) -> bool {
        match self {
            Mix::Classic => false,
            Mix::Subtle => true,
            Mix::All => rng.chance(0.5),
        }
    }
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            identities: 1000,
            days: 30,
            seed: 7,
            start: Timestamp::from_secs(1_772_409_600),
            attack_rate: 0.05,
            mix: Mix::Classic,
        }
    }
}

/// Counts of what was generated.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SimulateStats {
    /// Events written.
    pub events: u64,
    /// Sessions labelled.
    pub sessions: u64,
    /// Attacks woven in, by kind id.
    pub attacks: std::collections::BTreeMap<&'static str, u64>,
    /// Legitimate trips.
    pub trips: u64,
}

impl SimulateStats {
    /// Attacks of all kinds.
    pub fn attack_total(&self) -> u64 {
        self.attacks.values().sum()
    }
}

impl std::fmt::Display for SimulateStats {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} events, {} sessions, {} legitimate trips, {} attacks woven in",
            self.events,
            self.sessions,
            self.trips,
            self.attack_total()
        )?;
        let kinds: Vec<String> = self
            .attacks
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        if !kinds.is_empty() {
            write!(formatter, " ({})", kinds.join(", "))?;
        }
        Ok(())
    }
}

/// An AI agent's tools.
const AGENT_TOOLS: [&str; 5] = [
    "search_kb",
    "read_ticket",
    "reply_ticket",
    "lookup_order",
    "summarize_thread",
];

/// The tool an agent is given later in the run.
const GROWN_TOOL: &str = "create_refund";

/// Tools an injected agent reaches for.
const ROGUE_TOOLS: [&str; 3] = ["export_all_contacts", "delete_repository", "send_wire"];

/// The first host number of the company's jump hosts in a city's cloud region.
const JUMP_HOSTS: u32 = 30_000;

/// A commercial VPN provider's network: exits in every country.
const VPN_ASN: u32 = 9009;

struct Person {
    index: usize,
    id: String,
    kind: IdentityType,
    home: usize,
    devices: Vec<String>,
    host: u32,
    vpn: bool,
    broad: bool,
    trip: Option<(u32, usize)>,
    attack: Option<(u32, AttackKind)>,
    /// The office address shared with a team, when the person works from one.
    office: Option<u32>,
    /// An analyst: some days bring a burst of downloads, which is usual for them.
    analyst: bool,
    /// An administrator: works through a shared jump host on some days.
    admin: bool,
    /// An agent that is given a new tool from this day on.
    grows: Option<u32>,
}

/// A spray campaign: one address, many identities, one day.
struct Spray {
    day: u32,
    victims: Vec<usize>,
    winner: usize,
    attacker: usize,
    host: u32,
    /// Spread out: an attempt every few minutes from a handful of addresses of one network.
    slow: bool,
}

/// A host's address in a city: the city's first octets, then the host number (distinct for
/// 16 million hosts per city and salt).
fn ip(city: &City, host: u32, salt: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(
        city.prefix.0,
        city.prefix
            .1
            .wrapping_add(salt)
            .wrapping_add((host >> 16) as u8),
        (host >> 8) as u8,
        host as u8,
    ))
}

fn geo(city: &City) -> Geo {
    Geo {
        lat: Some(city.lat),
        lon: Some(city.lon),
        country: Some(city.country.into()),
        city: Some(city.name.into()),
        accuracy_km: Some(20.0),
    }
}

fn auth(
    time: Timestamp,
    person: &Person,
    action: AuthAction,
    outcome: Outcome,
    factor: &str,
) -> Event {
    let mut event = Event::new(
        time,
        Some(&person.id),
        Detail::Auth(AuthDetail {
            action,
            outcome,
            factor: Some(factor.into()),
            reason: None,
        }),
    );
    event.identity_type = person.kind;
    event
}

fn access(time: Timestamp, person: &Person, resource: &str, bytes: u64) -> Event {
    let mut event = Event::new(
        time,
        Some(&person.id),
        Detail::Access(AccessDetail {
            resource: resource.to_string(),
            action: Some("GET".into()),
            bytes: Some(bytes),
            status: Some(200),
            tool: None,
            on_behalf_of: None,
        }),
    );
    event.identity_type = person.kind;
    event
}

/// Where and how an event was made.
#[derive(Clone, Copy)]
struct Place<'a> {
    city: &'a City,
    host: u32,
    asn: u32,
    salt: u8,
    session: &'a str,
    device: &'a str,
}

fn place(event: &mut Event, at: &Place<'_>) {
    event.ip = Some(ip(at.city, at.host, at.salt));
    event.asn = Some(at.asn);
    event.geo = Some(geo(at.city));
    if !at.session.is_empty() {
        event.session_id = Some(at.session.into());
    }
    event.device_id = Some(at.device.into());
    event.user_agent = Some(
        if at.device.starts_with("phone") {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)"
        } else if at.device.starts_with("unknown") {
            "python-requests/2.32"
        } else {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"
        }
        .to_string(),
    );
}

fn people(options: &SimulateOptions, rng: &mut Rng, stats: &mut SimulateStats) -> Vec<Person> {
    let days = options.days.max(1);
    let per_person = [
        AttackKind::CredentialTheft,
        AttackKind::BruteForce,
        AttackKind::MfaFatigue,
        AttackKind::SessionTheft,
        AttackKind::CompromisedDevice,
        AttackKind::DataExfiltration,
    ];
    (0..options.identities)
        .map(|index| {
            let kind = match index % 20 {
                19 => IdentityType::Service,
                18 => IdentityType::Agent,
                _ => IdentityType::User,
            };
            let human = kind == IdentityType::User;
            let home = rng.below(CITIES.len() as u64) as usize;
            let device_count = if human { 1 + rng.below(2) as usize } else { 1 };
            let devices = (0..device_count)
                .map(|device| match (kind, device) {
                    (IdentityType::Agent, _) => format!("agent-runtime-{index:06}"),
                    (_, 0) => format!("laptop-{index:06}"),
                    _ => format!("phone-{index:06}"),
                })
                .collect();
            let late_day = |rng: &mut Rng| days / 2 + rng.below(u64::from(days - days / 2)) as u32;
            let trip = (human && rng.chance(0.08) && days > 3).then(|| {
                stats.trips += 1;
                (
                    late_day(rng),
                    (home + 1 + rng.below(CITIES.len() as u64 - 1) as usize) % CITIES.len(),
                )
            });
            let broad = kind == IdentityType::Agent && rng.chance(0.3);
            // Humans draw one of six kinds (two subtle ones); agents the agent kind, at the
            // same rate (a confused deputy only for a focused agent: a broad one meets new
            // principals every day).
            let attack = if human {
                rng.chance(options.attack_rate * 6.0 / 8.0).then(|| {
                    let kind = if options.mix.subtle(rng) {
                        [AttackKind::FailedBruteForce, AttackKind::QuietExfiltration]
                            [rng.below(2) as usize]
                    } else {
                        per_person[rng.below(per_person.len() as u64) as usize]
                    };
                    (late_day(rng), kind)
                })
            } else if kind == IdentityType::Agent {
                rng.chance((options.attack_rate * 20.0 / 8.0).min(1.0))
                    .then(|| {
                        let kind = if options.mix.subtle(rng) && !broad {
                            AttackKind::ConfusedDeputy
                        } else {
                            AttackKind::AgentOutOfScope
                        };
                        (late_day(rng), kind)
                    })
            } else {
                None
            };
            // A fifth of the people work from offices of ten sharing one address.
            let office = (human && index % 50 < 10).then(|| 20_000 + (index / 50) as u32);
            let analyst = human && rng.chance(0.05);
            // Two people in a hundred administer systems (chosen by index: the draws of
            // everyone else's traffic stay as they were).
            let admin = human && matches!(index % 100, 37 | 73);
            let grows = (kind == IdentityType::Agent && rng.chance(0.3) && days > 10)
                .then(|| days / 3 + rng.below(u64::from(days / 3)) as u32);
            // Attacks need a work day with the victim at home, their laptop, no trip.
            let attack = attack.filter(|(day, _)| {
                trip.is_none_or(|(trip_day, _)| day + 1 < trip_day || *day > trip_day + 3)
            });
            Person {
                index,
                id: match kind {
                    IdentityType::Service => format!("svc-batch-{index:05}@example.com"),
                    IdentityType::Agent => format!("agent-support-{index:05}@example.com"),
                    IdentityType::User => format!("user{index:05}@example.com"),
                },
                kind,
                home,
                devices,
                host: index as u32,
                vpn: human && rng.chance(0.1),
                broad,
                trip,
                attack,
                office,
                analyst,
                admin,
                grows,
            }
        })
        .collect()
}

fn sprays(options: &SimulateOptions, rng: &mut Rng, people: &[Person]) -> Vec<Spray> {
    let humans: Vec<usize> = people
        .iter()
        .filter(|person| person.kind == IdentityType::User && person.attack.is_none())
        .map(|person| person.index)
        .collect();
    let days = options.days.max(1);
    let campaigns = ((options.identities as f64 * options.attack_rate / 8.0).round() as usize)
        .min(humans.len() / 40);
    (0..campaigns)
        .map(|campaign| {
            let count = (30 + rng.below(30) as usize).min(humans.len());
            let mut victims = Vec::with_capacity(count);
            while victims.len() < count {
                let victim = humans[rng.below(humans.len() as u64) as usize];
                if !victims.contains(&victim) {
                    victims.push(victim);
                }
            }
            Spray {
                day: days / 2 + rng.below(u64::from(days - days / 2)) as u32,
                winner: victims[rng.below(victims.len() as u64) as usize],
                victims,
                attacker: rng.below(ATTACKER_CITIES.len() as u64) as usize,
                // Room for a handful of neighbouring addresses in one /24.
                host: 12_000 + 8 * campaign as u32,
                slow: options.mix.subtle(rng),
            }
        })
        .collect()
}

/// The person's city on a day: home, or the trip's destination from the trip day on for
/// three days (the days before and after are flights).
fn city_on(person: &Person, day: u32) -> (usize, bool) {
    match person.trip {
        Some((trip_day, destination)) if day >= trip_day && day < trip_day + 3 => {
            (destination, true)
        }
        _ => (person.home, false),
    }
}

/// What one day of simulation produced.
struct Day<'a> {
    events: Vec<Event>,
    labels: Vec<Label>,
    stats: &'a mut SimulateStats,
    attacks: u64,
}

impl Day<'_> {
    fn session(&mut self, person: &Person, session: &str, start: Timestamp, attack: Option<&str>) {
        self.stats.sessions += 1;
        self.labels.push(Label::Session(SessionLabel {
            identity: person.id.clone(),
            identity_type: person.kind,
            session_id: session.to_string(),
            start,
            attack: attack.map(String::from),
        }));
    }

    fn attack(
        &mut self,
        kind: AttackKind,
        identities: Vec<String>,
        keys: Vec<String>,
        times: (Timestamp, Timestamp, Timestamp),
        detectors: Vec<Detector>,
    ) -> String {
        *self.stats.attacks.entry(kind.as_str()).or_default() += 1;
        self.attacks += 1;
        let id = format!("{}-{:04}", kind.as_str(), self.stats.attacks[kind.as_str()]);
        self.labels.push(Label::Attack(AttackLabel {
            id: id.clone(),
            kind,
            identities,
            keys,
            start: times.0,
            completes: times.1,
            end: times.2,
            detectors,
        }));
        id
    }
}

fn batch_job(person: &Person, day: u32, day_start: Timestamp, rng: &mut Rng, out: &mut Day<'_>) {
    let run = day_start.plus_secs(2 * 3600 + rng.below(600) as i64);
    let session = format!("batch-{}-{day}", person.host);
    let at = Place {
        city: &DATA_CENTRE,
        host: person.host,
        asn: DATA_CENTRE.home_asn,
        salt: 0,
        session: &session,
        device: &person.devices[0],
    };
    let mut login = auth(
        run,
        person,
        AuthAction::Login,
        Outcome::Success,
        "client_secret",
    );
    place(&mut login, &at);
    out.events.push(login);
    for call in 0..6 {
        let mut event = access(
            run.plus_secs(30 + call * 20),
            person,
            "https://api.example.com/v1/export",
            40_000 + rng.below(20_000),
        );
        place(&mut event, &at);
        out.events.push(event);
    }
    out.session(person, &session, run, None);
}

fn tool_call(
    time: Timestamp,
    person: &Person,
    tool: &str,
    principal: &str,
    at: &Place<'_>,
) -> Event {
    let mut event = Event::new(
        time,
        Some(&person.id),
        Detail::Access(AccessDetail {
            resource: format!("mcp://tools/{tool}"),
            action: Some("tool_call".into()),
            bytes: Some(2_000),
            status: Some(200),
            tool: Some(tool.into()),
            on_behalf_of: Some(principal.into()),
        }),
    );
    event.identity_type = IdentityType::Agent;
    place(&mut event, at);
    event
}

fn agent_day(person: &Person, day: u32, day_start: Timestamp, rng: &mut Rng, out: &mut Day<'_>) {
    let start = day_start.plus_secs(6 * 3600 + rng.below(3600) as i64);
    let session = format!("agent-{}-{day}", person.host);
    let at = Place {
        city: &DATA_CENTRE,
        host: person.host,
        asn: DATA_CENTRE.home_asn,
        salt: 1,
        session: &session,
        device: &person.devices[0],
    };
    let mut login = auth(
        start,
        person,
        AuthAction::Login,
        Outcome::Success,
        "client_credentials",
    );
    login.identity_type = IdentityType::Agent;
    place(&mut login, &at);
    out.events.push(login);
    // A focused agent serves the few people of its team; a broad one, anyone.
    // An agent given a new tool uses it from then on, as much as the others.
    let grown = person.grows.is_some_and(|from| day >= from);
    let tools = 3 + person.index % 3;
    let calls = 25 + rng.below(15) as i64;
    for call in 0..calls {
        let tool = if grown && rng.below(tools as u64 + 1) == 0 {
            GROWN_TOOL
        } else {
            AGENT_TOOLS[(person.index + rng.below(tools as u64) as usize) % AGENT_TOOLS.len()]
        };
        let principal = if person.broad {
            format!("user{:05}@example.com", rng.below(5000))
        } else {
            format!(
                "user{:05}@example.com",
                (person.index + rng.below(4) as usize) % 100_000
            )
        };
        out.events.push(tool_call(
            start.plus_secs(60 + call * 600),
            person,
            tool,
            &principal,
            &at,
        ));
    }
    let mut attack_id = None;
    if person.attack == Some((day, AttackKind::ConfusedDeputy)) {
        // A request smuggled in for someone the agent never served, through its usual
        // tools: it reads another team's tickets and orders.
        let time = start.plus_secs(60 + calls / 2 * 600 + 30);
        let stranger = format!("user{:05}@example.com", (person.index + 500) % 100_000);
        let tool = AGENT_TOOLS[person.index % AGENT_TOOLS.len()];
        out.events
            .push(tool_call(time, person, tool, &stranger, &at));
        out.events
            .push(tool_call(time.plus_secs(30), person, tool, &stranger, &at));
        attack_id = Some(out.attack(
            AttackKind::ConfusedDeputy,
            vec![person.id.clone()],
            vec![session.clone()],
            (time, time, time.plus_secs(30)),
            vec![Detector::AgentScope],
        ));
    }
    if person.attack == Some((day, AttackKind::AgentOutOfScope)) {
        let time = start.plus_secs(60 + calls / 2 * 600 + 30);
        let rogue = ROGUE_TOOLS[rng.below(ROGUE_TOOLS.len() as u64) as usize];
        let injected = tool_call(time, person, rogue, "external@attacker.example", &at);
        let follow = tool_call(
            time.plus_secs(20),
            person,
            rogue,
            "external@attacker.example",
            &at,
        );
        out.events.push(injected);
        out.events.push(follow);
        attack_id = Some(out.attack(
            AttackKind::AgentOutOfScope,
            vec![person.id.clone()],
            vec![session.clone()],
            (time, time, time.plus_secs(20)),
            vec![Detector::AgentScope],
        ));
    }
    out.session(person, &session, start, attack_id.as_deref());
}

fn posture(time: Timestamp, device: &str, checks: PostureChecks) -> Event {
    let compliant = checks.edr_running != Some(false)
        && checks.disk_encrypted != Some(false)
        && checks.os_patch_age_days.is_none_or(|days| days <= 30);
    let mut event = Event::new(
        time,
        None,
        Detail::Posture(PostureDetail { compliant, checks }),
    );
    event.device_id = Some(device.into());
    event
}

fn healthy(patch_age: u32) -> PostureChecks {
    PostureChecks {
        edr_running: Some(true),
        disk_encrypted: Some(true),
        os_patch_age_days: Some(patch_age),
        jailbroken: Some(false),
        firewall: Some(true),
    }
}

fn attacker_city(rng: &mut Rng) -> &'static City {
    &ATTACKER_CITIES[rng.below(ATTACKER_CITIES.len() as u64) as usize]
}

fn unknown_device(rng: &mut Rng) -> String {
    format!("unknown-{:08x}", rng.next_u64() as u32)
}

fn work_day(person: &Person, day: u32, day_start: Timestamp, rng: &mut Rng, out: &mut Day<'_>) {
    let weekday = (day_start.as_secs().div_euclid(86_400) + 3).rem_euclid(7);
    let attack = person
        .attack
        .filter(|(attack_day, _)| *attack_day == day)
        .map(|(_, kind)| kind);
    if weekday >= 5 && attack.is_none() && !rng.chance(0.15) {
        return;
    }
    // The days before and after a trip are spent flying: no sign-ins.
    if person
        .trip
        .is_some_and(|(trip_day, _)| day + 1 == trip_day || day == trip_day + 3)
    {
        return;
    }
    let (city_index, travelling) = city_on(person, day);
    let city = &CITIES[city_index];
    // Local 07:30-09:30 sign-in; a trip's first day starts at local 18:00 after the flight.
    let local_start = if person.trip.is_some_and(|(trip_day, _)| trip_day == day) {
        18 * 3600
    } else {
        7 * 3600 + 1800 + rng.below(7200) as i64
    };
    let login_time = day_start.plus_secs(local_start - city.utc_offset * 3600);
    let device = if attack.is_some() {
        person.devices[0].clone()
    } else {
        person.devices[rng.below(person.devices.len() as u64) as usize].clone()
    };
    let mobile = device.starts_with("phone") || travelling;
    let via_vpn = person.vpn && !mobile && rng.chance(0.5);
    let session = format!("s-{}-{day}", person.host);
    // At the office (home city, laptop, no VPN) the team shares one address.
    let office = person
        .office
        .filter(|_| !travelling && !mobile && !via_vpn && city_index == person.home);
    // On two days in five an admin at home on the laptop works through one of the two
    // jump hosts of the company's cloud region in that city: machines every admin there
    // uses, on the hosting network failed brute force comes from, two addresses of one
    // /24. (A jump host in a far region would be travel to vigil: its range belongs in
    // `corporate_ranges`.)
    let jump = (person.admin
        && attack.is_none()
        && !travelling
        && !mobile
        && !via_vpn
        && city_index == person.home
        && (person.index as u32 + day) % 5 < 2)
        .then_some(person.index as u32 % 2);
    let jump_device = jump.map(|host| {
        format!(
            "jumphost-{}-{host}",
            city.name.to_lowercase().replace(' ', "-")
        )
    });
    let at = Place {
        city,
        host: office.unwrap_or(person.host),
        asn: if via_vpn {
            VPN_ASN
        } else if mobile {
            city.mobile_asn
        } else {
            city.home_asn
        },
        salt: if via_vpn {
            40
        } else if office.is_some() {
            9
        } else {
            u8::from(mobile)
        },
        session: &session,
        device: &device,
    };
    let at = match (jump, &jump_device) {
        (Some(host), Some(jump_device)) => Place {
            city,
            host: JUMP_HOSTS + host,
            asn: DATA_CENTRE.home_asn,
            salt: 60,
            session: &session,
            device: jump_device,
        },
        _ => at,
    };
    // Now and then the password is mistyped a few times first (never ten: that is the
    // brute-force line).
    if attack.is_none() && rng.chance(0.03) {
        let typos = 1 + rng.below(8) as i64;
        for typo in 0..typos {
            let mut failed = auth(
                login_time.plus_secs(-(typos - typo) * (8 + rng.below(30) as i64)),
                person,
                AuthAction::Login,
                Outcome::Failure,
                "password",
            );
            place(&mut failed, &Place { session: "", ..at });
            if let Detail::Auth(detail) = &mut failed.detail {
                detail.reason = Some("INVALID_CREDENTIALS".into());
            }
            out.events.push(failed);
        }
    }
    let mut login = auth(
        login_time,
        person,
        AuthAction::Login,
        Outcome::Success,
        "password",
    );
    login.app = Some(APPS[rng.below(APPS.len() as u64) as usize].into());
    place(&mut login, &at);
    out.events.push(login);
    if rng.chance(0.7) {
        let mut mfa = auth(
            login_time.plus_secs(8 + rng.below(20) as i64),
            person,
            AuthAction::Mfa,
            Outcome::Success,
            "push",
        );
        place(&mut mfa, &at);
        out.events.push(mfa);
    }
    if device.starts_with("laptop") {
        // The laptop's agent reports at sign-in; now and then it is behind on patches.
        let behind = attack.is_none() && rng.chance(0.03);
        let patch_age = if behind {
            35 + rng.below(20) as u32
        } else {
            rng.below(20) as u32
        };
        out.events.push(posture(
            login_time.plus_secs(60),
            &device,
            healthy(patch_age),
        ));
    }
    let accesses = 8 + rng.below(16) as i64;
    let spacing = 8 * 3600 / accesses;
    for step in 0..accesses {
        let resource = RESOURCES[rng.below(RESOURCES.len() as u64) as usize];
        let mut event = access(
            login_time.plus_secs(60 + step * spacing + rng.below(spacing as u64 / 2) as i64),
            person,
            resource,
            2_000 + rng.below(200_000),
        );
        place(&mut event, &at);
        out.events.push(event);
    }
    // An analyst's usual busy hour: dozens of reports pulled in a row, a few times a week.
    if person.analyst && attack.is_none() && rng.chance(0.4) {
        let burst_start = login_time.plus_secs(3600 + rng.below(5 * 3600) as i64);
        let downloads = 25 + rng.below(25) as i64;
        for download in 0..downloads {
            let mut event = access(
                burst_start.plus_secs(download * (40 + rng.below(60) as i64)),
                person,
                "https://finance.example.com/reports",
                1_000_000 + rng.below(4_000_000),
            );
            place(&mut event, &at);
            out.events.push(event);
        }
    }
    let logout_time = login_time.plus_secs(9 * 3600);
    let mut logout = auth(
        logout_time,
        person,
        AuthAction::Logout,
        Outcome::Success,
        "session",
    );
    place(&mut logout, &at);
    out.events.push(logout);
    let mut own_session_attack = None;
    match attack {
        None => {}
        Some(AttackKind::CredentialTheft) => {
            let time = login_time.plus_secs(20 * 60 + rng.below(40 * 60) as i64);
            let stolen_session = format!("s-attacker-{}-{day}", person.host);
            let attacker_device = unknown_device(rng);
            let attacker = attacker_city(rng);
            let mut stolen = auth(
                time,
                person,
                AuthAction::Login,
                Outcome::Success,
                "password",
            );
            place(
                &mut stolen,
                &Place {
                    city: attacker,
                    host: 4000 + person.host,
                    asn: attacker.home_asn,
                    salt: 0,
                    session: &stolen_session,
                    device: &attacker_device,
                },
            );
            out.events.push(stolen);
            let id = out.attack(
                AttackKind::CredentialTheft,
                vec![person.id.clone()],
                vec![stolen_session.clone(), attacker_device],
                (time, time, time),
                vec![
                    Detector::ImpossibleTravel,
                    Detector::NewDevice,
                    Detector::NewCountry,
                ],
            );
            out.session(person, &stolen_session, time, Some(&id));
        }
        Some(AttackKind::BruteForce) => {
            let attacker = attacker_city(rng);
            let start = login_time.plus_secs(3 * 3600);
            let tries = 12 + rng.below(20) as i64;
            let attacker_device = unknown_device(rng);
            let brute_session = format!("s-brute-{}-{day}", person.host);
            for attempt in 0..=tries {
                let outcome = if attempt == tries {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                let mut guess = auth(
                    start.plus_secs(attempt * 7),
                    person,
                    AuthAction::Login,
                    outcome,
                    "password",
                );
                place(
                    &mut guess,
                    &Place {
                        city: attacker,
                        host: 8000 + person.host,
                        asn: attacker.home_asn,
                        salt: 0,
                        session: &brute_session,
                        device: &attacker_device,
                    },
                );
                if let Detail::Auth(detail) = &mut guess.detail {
                    if outcome == Outcome::Failure {
                        detail.reason = Some("INVALID_CREDENTIALS".into());
                    }
                }
                out.events.push(guess);
            }
            let success = start.plus_secs(tries * 7);
            let id = out.attack(
                AttackKind::BruteForce,
                vec![person.id.clone()],
                vec![brute_session.clone(), attacker_device],
                (start, success, success),
                vec![Detector::BruteForce],
            );
            out.session(person, &brute_session, start, Some(&id));
        }
        Some(AttackKind::MfaFatigue) => {
            // A residential proxy in the victim's city, the password known: push after push.
            let start = login_time.plus_secs(4 * 3600 + rng.below(3600) as i64);
            let bomb_session = format!("s-bomb-{}-{day}", person.host);
            let attacker_device = unknown_device(rng);
            let proxy = Place {
                city,
                host: 6000 + person.host,
                asn: city.mobile_asn,
                salt: 7,
                session: &bomb_session,
                device: &attacker_device,
            };
            let mut primary = auth(
                start,
                person,
                AuthAction::Login,
                Outcome::Success,
                "password",
            );
            place(&mut primary, &proxy);
            out.events.push(primary);
            let pushes = 6 + rng.below(6) as i64;
            for push in 0..pushes {
                let outcome = if push % 3 == 2 {
                    Outcome::Timeout
                } else {
                    Outcome::Denied
                };
                let mut prompt = auth(
                    start.plus_secs(30 + push * 50),
                    person,
                    AuthAction::Mfa,
                    outcome,
                    "push",
                );
                place(&mut prompt, &proxy);
                out.events.push(prompt);
            }
            let approved = start.plus_secs(30 + pushes * 50);
            let mut approval = auth(approved, person, AuthAction::Mfa, Outcome::Success, "push");
            place(&mut approval, &proxy);
            out.events.push(approval);
            let id = out.attack(
                AttackKind::MfaFatigue,
                vec![person.id.clone()],
                vec![bomb_session.clone(), attacker_device],
                (start, approved, approved),
                vec![Detector::MfaFatigue],
            );
            out.session(person, &bomb_session, start, Some(&id));
        }
        Some(AttackKind::SessionTheft) => {
            // The victim's session cookie, stolen by an infostealer, replayed from abroad.
            let attacker = attacker_city(rng);
            let start = login_time.plus_secs(30 * 60 + rng.below(60 * 60) as i64);
            let attacker_device = unknown_device(rng);
            let replay = Place {
                city: attacker,
                host: 5000 + person.host,
                asn: attacker.home_asn,
                salt: 0,
                session: &session,
                device: &attacker_device,
            };
            let requests = 5 + rng.below(10) as i64;
            for request in 0..requests {
                let mut event = access(
                    start.plus_secs(request * 40),
                    person,
                    RESOURCES[rng.below(RESOURCES.len() as u64) as usize],
                    50_000 + rng.below(500_000),
                );
                place(&mut event, &replay);
                out.events.push(event);
            }
            own_session_attack = Some(out.attack(
                AttackKind::SessionTheft,
                vec![person.id.clone()],
                vec![session.clone(), attacker_device],
                (start, start, start.plus_secs((requests - 1) * 40)),
                vec![Detector::SessionHijack, Detector::ImpossibleTravel],
            ));
        }
        Some(AttackKind::CompromisedDevice) => {
            // Malware on the laptop stops the EDR agent; the user works on.
            let time = login_time.plus_secs(2 * 3600 + rng.below(3600) as i64);
            let checks = PostureChecks {
                edr_running: Some(false),
                ..healthy(5)
            };
            out.events.push(posture(time, &device, checks));
            own_session_attack = Some(out.attack(
                AttackKind::CompromisedDevice,
                vec![person.id.clone()],
                vec![session.clone(), device.clone()],
                (time, time, time),
                vec![Detector::PostureDegraded],
            ));
        }
        Some(AttackKind::DataExfiltration) => {
            // The live session pulls the drive and the finance reports down in minutes.
            let start = login_time.plus_secs(3 * 3600 + rng.below(3600) as i64);
            let downloads = 150 + rng.below(150) as i64;
            // The attack completes when a material amount has left: 200 MiB.
            let mut taken = 0u64;
            let mut material = None;
            for download in 0..downloads {
                let resource = if download % 2 == 0 {
                    "https://drive.example.com/files"
                } else {
                    "https://finance.example.com/reports"
                };
                let bytes = 2_000_000 + rng.below(6_000_000);
                let time = start.plus_secs(download * 8);
                taken += bytes;
                if taken >= 200 * 1024 * 1024 {
                    material.get_or_insert(time);
                }
                let mut event = access(time, person, resource, bytes);
                place(&mut event, &at);
                out.events.push(event);
            }
            own_session_attack = Some(out.attack(
                AttackKind::DataExfiltration,
                vec![person.id.clone()],
                vec![session.clone()],
                (
                    start,
                    material.unwrap_or(start),
                    start.plus_secs((downloads - 1) * 8),
                ),
                vec![Detector::AccessVolume],
            ));
        }
        Some(AttackKind::FailedBruteForce) => {
            // Guesses that never work: tens in a few minutes from one foreign hosting
            // address, or a dozen spread over about ten minutes.
            let attacker = attacker_city(rng);
            let start = login_time.plus_secs(3 * 3600 + rng.below(3600) as i64);
            let fast = rng.chance(0.5);
            let (tries, spacing) = if fast {
                (30 + rng.below(30) as i64, 3 + rng.below(5) as i64)
            } else {
                (12 + rng.below(3) as i64, 45 + rng.below(10) as i64)
            };
            let attacker_device = unknown_device(rng);
            let brute_session = format!("s-guess-{}-{day}", person.host);
            let hosting = Place {
                city: attacker,
                host: 9000 + person.host,
                asn: DATA_CENTRE.home_asn,
                salt: 0,
                session: &brute_session,
                device: &attacker_device,
            };
            for attempt in 0..tries {
                let mut guess = auth(
                    start.plus_secs(attempt * spacing),
                    person,
                    AuthAction::Login,
                    Outcome::Failure,
                    "password",
                );
                place(&mut guess, &hosting);
                if let Detail::Auth(detail) = &mut guess.detail {
                    detail.reason = Some("INVALID_CREDENTIALS".into());
                }
                out.events.push(guess);
            }
            // The tenth guess makes it a burst no person types.
            let id = out.attack(
                AttackKind::FailedBruteForce,
                vec![person.id.clone()],
                vec![brute_session.clone(), attacker_device],
                (
                    start,
                    start.plus_secs(9 * spacing),
                    start.plus_secs((tries - 1) * spacing),
                ),
                vec![Detector::BruteForce],
            );
            out.session(person, &brute_session, start, Some(&id));
        }
        Some(AttackKind::QuietExfiltration) => {
            // The person's own session, a few requests an hour as always, then dozens of
            // documents within the hour, or several times the usual rate for two hours.
            let start = login_time.plus_secs(3 * 3600 + rng.below(3600) as i64);
            let sustained = rng.chance(0.5);
            let (downloads, spacing) = if sustained {
                (30 + rng.below(10) as i64, 200 + rng.below(40) as i64)
            } else {
                (30 + rng.below(20) as i64, 50 + rng.below(30) as i64)
            };
            let mut completes = start;
            for download in 0..downloads {
                let time = start.plus_secs(download * spacing);
                if download == 19 {
                    completes = time;
                }
                let resource = if download % 2 == 0 {
                    "https://drive.example.com/files"
                } else {
                    "https://hr.example.com/payroll"
                };
                let mut event = access(time, person, resource, 500_000 + rng.below(3_000_000));
                place(&mut event, &at);
                out.events.push(event);
            }
            own_session_attack = Some(out.attack(
                AttackKind::QuietExfiltration,
                vec![person.id.clone()],
                vec![session.clone()],
                (start, completes, start.plus_secs((downloads - 1) * spacing)),
                vec![Detector::AccessVolume],
            ));
        }
        Some(
            AttackKind::PasswordSpray
            | AttackKind::AgentOutOfScope
            | AttackKind::SlowSpray
            | AttackKind::ConfusedDeputy,
        ) => {}
    }
    out.session(person, &session, login_time, own_session_attack.as_deref());
}

fn spray_day(
    spray: &Spray,
    people: &[Person],
    day_start: Timestamp,
    rng: &mut Rng,
    out: &mut Day<'_>,
) {
    let attacker = &ATTACKER_CITIES[spray.attacker];
    let device = unknown_device(rng);
    let mut time = day_start.plus_secs(1800 + rng.below(4 * 3600) as i64);
    let mut start = None;
    let winner_session = format!("s-spray-{}", spray.host);
    let at = Place {
        city: attacker,
        host: spray.host,
        asn: if spray.slow {
            DATA_CENTRE.home_asn
        } else {
            attacker.home_asn
        },
        salt: 3,
        session: "",
        device: &device,
    };
    // A slow spray takes turns over a handful of neighbouring addresses.
    let addresses = if spray.slow {
        4 + rng.below(3) as u32
    } else {
        1
    };
    for (attempt, victim) in spray.victims.iter().enumerate() {
        let person = &people[*victim];
        time = time.plus_secs(if spray.slow {
            120 + rng.below(180) as i64
        } else {
            15 + rng.below(30) as i64
        });
        if *victim == spray.winner {
            continue;
        }
        start.get_or_insert(time);
        let mut guess = auth(
            time,
            person,
            AuthAction::Login,
            Outcome::Failure,
            "password",
        );
        place(
            &mut guess,
            &Place {
                host: at.host + attempt as u32 % addresses,
                ..at
            },
        );
        if let Detail::Auth(detail) = &mut guess.detail {
            detail.reason = Some("INVALID_CREDENTIALS".into());
        }
        out.events.push(guess);
    }
    let winner = &people[spray.winner];
    let success_time = time.plus_secs(20);
    let mut success = auth(
        success_time,
        winner,
        AuthAction::Login,
        Outcome::Success,
        "password",
    );
    place(
        &mut success,
        &Place {
            session: &winner_session,
            ..at
        },
    );
    out.events.push(success);
    let id = out.attack(
        if spray.slow {
            AttackKind::SlowSpray
        } else {
            AttackKind::PasswordSpray
        },
        spray
            .victims
            .iter()
            .map(|victim| people[*victim].id.clone())
            .collect(),
        vec![device.clone(), winner_session.clone()],
        (start.unwrap_or(success_time), success_time, success_time),
        vec![Detector::PasswordSpray],
    );
    out.session(winner, &winner_session, success_time, Some(&id));
}

/// What [`simulate`] returns: counts and the ground truth.
#[derive(Debug, Default)]
pub struct Simulation {
    /// Counts.
    pub stats: SimulateStats,
    /// Attacks and sessions, in event-time order of their start.
    pub labels: Vec<Label>,
}

/// Generates traffic day by day, each day's events in event-time order, and hands them
/// to `emit`; returns the counts and the labels.
pub fn simulate<F: FnMut(&Event) -> std::io::Result<()>>(
    options: &SimulateOptions,
    mut emit: F,
) -> std::io::Result<Simulation> {
    let mut rng = Rng::new(options.seed);
    let mut stats = SimulateStats::default();
    let people = people(options, &mut rng, &mut stats);
    let sprays = sprays(options, &mut rng, &people);
    let mut labels = Vec::new();
    let mut events = Vec::new();
    for day in 0..options.days {
        let day_start = options.start.plus_secs(i64::from(day) * 86_400);
        let mut out = Day {
            events: std::mem::take(&mut events),
            labels: Vec::new(),
            stats: &mut stats,
            attacks: 0,
        };
        out.events.clear();
        for person in &people {
            match person.kind {
                IdentityType::Service => batch_job(person, day, day_start, &mut rng, &mut out),
                IdentityType::Agent => agent_day(person, day, day_start, &mut rng, &mut out),
                IdentityType::User => work_day(person, day, day_start, &mut rng, &mut out),
            }
        }
        for spray in sprays.iter().filter(|spray| spray.day == day) {
            spray_day(spray, &people, day_start, &mut rng, &mut out);
        }
        let Day {
            events: mut day_events,
            labels: mut day_labels,
            ..
        } = out;
        day_events.sort_by_key(|event| event.time);
        for event in &day_events {
            emit(event)?;
            stats.events += 1;
        }
        day_labels.sort_by_key(|label| match label {
            Label::Attack(attack) => attack.start,
            Label::Session(session) => session.start,
        });
        labels.append(&mut day_labels);
        events = day_events;
    }
    Ok(Simulation { stats, labels })
}

/// Writes simulated traffic as JSON lines; returns counts and labels.
pub fn simulate_to(
    options: &SimulateOptions,
    writer: &mut dyn Write,
) -> std::io::Result<Simulation> {
    let mut line = Vec::with_capacity(512);
    simulate(options, |event| {
        line.clear();
        serde_json::to_writer(&mut line, event).map_err(std::io::Error::other)?;
        line.push(b'\n');
        writer.write_all(&line)
    })
}

/// Writes labels as JSON lines.
pub fn write_labels(labels: &[Label], writer: &mut dyn Write) -> std::io::Result<()> {
    for label in labels {
        serde_json::to_writer(&mut *writer, label).map_err(std::io::Error::other)?;
        writer.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_traffic() {
        let options = SimulateOptions {
            identities: 50,
            days: 3,
            ..SimulateOptions::default()
        };
        let mut first = Vec::new();
        let mut second = Vec::new();
        simulate_to(&options, &mut first).unwrap();
        simulate_to(&options, &mut second).unwrap();
        assert!(!first.is_empty());
        assert_eq!(first, second);
        let other = SimulateOptions { seed: 8, ..options };
        let mut third = Vec::new();
        simulate_to(&other, &mut third).unwrap();
        assert_ne!(first, third);
    }

    #[test]
    fn admins_share_jump_hosts_on_a_hosting_network() {
        let options = SimulateOptions {
            identities: 400,
            days: 10,
            ..SimulateOptions::default()
        };
        let mut users: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
            Default::default();
        simulate(&options, |event| {
            if let Some(device) = event
                .device_id
                .as_deref()
                .filter(|device| device.starts_with("jumphost-"))
            {
                assert_eq!(event.asn, Some(DATA_CENTRE.home_asn), "{event:?}");
                let ip = event.ip.unwrap().to_string();
                let network = ip.rsplit_once('.').unwrap().0.to_string();
                users
                    .entry(format!("{device} {network}"))
                    .or_default()
                    .insert(event.identity.clone().unwrap_or_default().to_string());
            }
            Ok(())
        })
        .unwrap();
        // Eight admins in 400 people; each city's jump host serves whoever lives there.
        assert!(!users.is_empty());
        let admins: std::collections::BTreeSet<&String> = users.values().flatten().collect();
        assert!(admins.len() >= 4, "{users:?}");
        assert!(
            users.values().any(|identities| identities.len() >= 2),
            "{users:?}"
        );
    }

    #[test]
    fn every_event_decodes_as_native() {
        let options = SimulateOptions {
            identities: 40,
            days: 2,
            ..SimulateOptions::default()
        };
        let mut output = Vec::new();
        simulate_to(&options, &mut output).unwrap();
        for line in output
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
        {
            assert!(
                matches!(
                    vigil_ingest::decode(vigil_ingest::Format::Native, line),
                    Ok(vigil_ingest::Decoded::Event(_))
                ),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn labels_match_the_traffic() {
        let options = SimulateOptions {
            identities: 400,
            days: 20,
            attack_rate: 0.4,
            mix: Mix::All,
            ..SimulateOptions::default()
        };
        let mut events = Vec::new();
        let simulation = simulate(&options, |event| {
            events.push(event.clone());
            Ok(())
        })
        .unwrap();
        let attacks: Vec<&AttackLabel> = simulation
            .labels
            .iter()
            .filter_map(|label| match label {
                Label::Attack(attack) => Some(attack),
                Label::Session(_) => None,
            })
            .collect();
        let kinds: std::collections::BTreeSet<AttackKind> =
            attacks.iter().map(|attack| attack.kind).collect();
        assert_eq!(kinds.len(), AttackKind::ALL.len(), "{kinds:?}");
        for attack in attacks {
            assert!(
                attack.start <= attack.completes && attack.completes <= attack.end,
                "{attack:?}"
            );
            // The completing event is in the traffic, of a targeted identity, carrying a key.
            let completing = events.iter().any(|event| {
                event.time == attack.completes
                    && event.identity.as_deref().is_some_and(|identity| {
                        attack.identities.iter().any(|victim| victim == identity)
                    })
                    && [event.session_id.as_deref(), event.device_id.as_deref()]
                        .into_iter()
                        .flatten()
                        .any(|key| attack.keys.iter().any(|wanted| wanted == key))
            }) || attack.kind == AttackKind::CompromisedDevice;
            assert!(completing, "{attack:?}");
        }
    }

    #[test]
    fn a_small_population_with_many_attacks_terminates() {
        let options = SimulateOptions {
            identities: 60,
            days: 10,
            attack_rate: 0.5,
            ..SimulateOptions::default()
        };
        for seed in 0..8 {
            simulate_to(
                &SimulateOptions {
                    seed,
                    ..options.clone()
                },
                &mut std::io::sink(),
            )
            .unwrap();
        }
    }
}
