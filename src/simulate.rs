//! `vigil simulate`: synthetic but realistic traffic in the native v1 format, with attacks
//! woven in, deterministic for a seed.
//!
//! Each person has a home city (and its time zone), one or two devices, a home network
//! and a mobile network; they sign in on work days in their own morning (MFA on most
//! sign-ins), access resources through the day and sign out. Some travel: they fly to
//! another city and sign in there after a plausible flight. Service accounts run batch jobs
//! at fixed hours from a data-centre network.
//!
//! Attacks woven in (about one per 50 identities over the run, by default):
//! - credential theft: minutes after the victim's own sign-in, a sign-in from a far
//!   country, a new device and a new network (impossible travel, new device, new country);
//! - brute force: a burst of failed sign-ins from one address, then a success.

use serde::Serialize;
use std::io::Write;
use vigil_schemas::{
    AccessDetail, AuthAction, AuthDetail, Detail, Event, Geo, IdentityType, Outcome, Timestamp,
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
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            identities: 1000,
            days: 30,
            seed: 7,
            start: Timestamp::from_secs(1_772_409_600),
            attack_rate: 0.02,
        }
    }
}

/// Counts of what was generated.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct SimulateStats {
    /// Events written.
    pub events: u64,
    /// Credential-theft attacks.
    pub credential_theft: u64,
    /// Brute-force attacks.
    pub brute_force: u64,
    /// Legitimate trips.
    pub trips: u64,
}

struct Person {
    id: String,
    kind: IdentityType,
    home: usize,
    devices: Vec<String>,
    host: u16,
    trip: Option<(u32, usize)>,
    theft_day: Option<u32>,
    brute_day: Option<u32>,
}

fn ip(city: &City, host: u16, salt: u8) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(
        city.prefix.0,
        city.prefix.1.wrapping_add(salt),
        (host >> 8) as u8,
        (host & 0xff) as u8 | 1,
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

fn place(event: &mut Event, city: &City, host: u16, mobile: bool, session: &str, device: &str) {
    event.ip = Some(ip(city, host, u8::from(mobile)));
    event.asn = Some(if mobile {
        city.mobile_asn
    } else {
        city.home_asn
    });
    event.geo = Some(geo(city));
    event.session_id = Some(session.into());
    event.device_id = Some(device.into());
    event.user_agent = Some(
        if device.starts_with("phone") {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)"
        } else {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"
        }
        .to_string(),
    );
}

fn people(options: &SimulateOptions, rng: &mut Rng, stats: &mut SimulateStats) -> Vec<Person> {
    (0..options.identities)
        .map(|index| {
            let service = index % 20 == 19;
            let home = rng.below(CITIES.len() as u64) as usize;
            let device_count = if service {
                1
            } else {
                1 + rng.below(2) as usize
            };
            let devices = (0..device_count)
                .map(|device| {
                    if device == 0 {
                        format!("laptop-{index:06}")
                    } else {
                        format!("phone-{index:06}")
                    }
                })
                .collect();
            let days = options.days.max(1);
            let late_day = |rng: &mut Rng| days / 2 + rng.below(u64::from(days - days / 2)) as u32;
            let trip = (!service && rng.chance(0.08) && days > 3).then(|| {
                stats.trips += 1;
                (
                    late_day(rng),
                    (home + 1 + rng.below(CITIES.len() as u64 - 1) as usize) % CITIES.len(),
                )
            });
            let theft_day =
                (!service && rng.chance(options.attack_rate / 2.0)).then(|| late_day(rng));
            let brute_day =
                (!service && rng.chance(options.attack_rate / 2.0)).then(|| late_day(rng));
            Person {
                id: if service {
                    format!("svc-batch-{index:05}@example.com")
                } else {
                    format!("user{index:05}@example.com")
                },
                kind: if service {
                    IdentityType::Service
                } else {
                    IdentityType::User
                },
                home,
                devices,
                host: index as u16,
                trip,
                theft_day,
                brute_day,
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

fn day_of_person(
    person: &Person,
    day: u32,
    day_start: Timestamp,
    rng: &mut Rng,
    events: &mut Vec<Event>,
    stats: &mut SimulateStats,
) {
    if person.kind == IdentityType::Service {
        let run = day_start.plus_secs(2 * 3600 + rng.below(600) as i64);
        let session = format!("batch-{}-{day}", person.host);
        let mut login = auth(
            run,
            person,
            AuthAction::Login,
            Outcome::Success,
            "client_secret",
        );
        place(
            &mut login,
            &DATA_CENTRE,
            person.host,
            false,
            &session,
            &person.devices[0],
        );
        events.push(login);
        for call in 0..6 {
            let mut access = Event::new(
                run.plus_secs(30 + call * 20),
                Some(&person.id),
                Detail::Access(AccessDetail {
                    resource: "https://api.example.com/v1/export".into(),
                    action: Some("GET".into()),
                    bytes: Some(40_000 + rng.below(20_000)),
                    status: Some(200),
                    tool: None,
                    on_behalf_of: None,
                }),
            );
            access.identity_type = IdentityType::Service;
            place(
                &mut access,
                &DATA_CENTRE,
                person.host,
                false,
                &session,
                &person.devices[0],
            );
            events.push(access);
        }
        return;
    }
    let weekday = (day_start.as_secs().div_euclid(86_400) + 3).rem_euclid(7);
    if weekday >= 5 && !rng.chance(0.15) {
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
    let device = &person.devices[rng.below(person.devices.len() as u64) as usize];
    let mobile = device.starts_with("phone") || travelling;
    let session = format!("s-{}-{day}", person.host);
    let mut login = auth(
        login_time,
        person,
        AuthAction::Login,
        Outcome::Success,
        "password",
    );
    login.app = Some(APPS[rng.below(APPS.len() as u64) as usize].into());
    place(&mut login, city, person.host, mobile, &session, device);
    events.push(login);
    if rng.chance(0.7) {
        let mut mfa = auth(
            login_time.plus_secs(8 + rng.below(20) as i64),
            person,
            AuthAction::Mfa,
            Outcome::Success,
            "push",
        );
        place(&mut mfa, city, person.host, mobile, &session, device);
        events.push(mfa);
    }
    let accesses = 8 + rng.below(16) as i64;
    let spacing = 8 * 3600 / accesses;
    for step in 0..accesses {
        let resource = RESOURCES[rng.below(RESOURCES.len() as u64) as usize];
        let mut access = Event::new(
            login_time.plus_secs(60 + step * spacing + rng.below(spacing as u64 / 2) as i64),
            Some(&person.id),
            Detail::Access(AccessDetail {
                resource: resource.to_string(),
                action: Some("GET".into()),
                bytes: Some(2_000 + rng.below(200_000)),
                status: Some(200),
                tool: None,
                on_behalf_of: None,
            }),
        );
        place(&mut access, city, person.host, mobile, &session, device);
        events.push(access);
    }
    let mut logout = auth(
        login_time.plus_secs(9 * 3600),
        person,
        AuthAction::Logout,
        Outcome::Success,
        "session",
    );
    place(&mut logout, city, person.host, mobile, &session, device);
    events.push(logout);
    if person.theft_day == Some(day) {
        stats.credential_theft += 1;
        let attacker = &ATTACKER_CITIES[rng.below(ATTACKER_CITIES.len() as u64) as usize];
        let time = login_time.plus_secs(20 * 60 + rng.below(40 * 60) as i64);
        let session = format!("s-attacker-{}-{day}", person.host);
        let mut stolen = auth(
            time,
            person,
            AuthAction::Login,
            Outcome::Success,
            "password",
        );
        place(
            &mut stolen,
            attacker,
            4000 + person.host,
            false,
            &session,
            &format!("unknown-{:08x}", rng.next_u64() as u32),
        );
        stolen.user_agent = Some("python-requests/2.32".into());
        events.push(stolen);
    }
    if person.brute_day == Some(day) {
        stats.brute_force += 1;
        let attacker = &ATTACKER_CITIES[rng.below(ATTACKER_CITIES.len() as u64) as usize];
        let start = login_time.plus_secs(3 * 3600);
        let tries = 12 + rng.below(20) as i64;
        let device = format!("unknown-{:08x}", rng.next_u64() as u32);
        let session = format!("s-brute-{}-{day}", person.host);
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
                attacker,
                8000 + person.host,
                false,
                &session,
                &device,
            );
            if outcome == Outcome::Failure {
                if let Detail::Auth(detail) = &mut guess.detail {
                    detail.reason = Some("INVALID_CREDENTIALS".into());
                }
            }
            events.push(guess);
        }
    }
}

/// Generates traffic day by day, each day's events in event-time order, and hands them
/// to `emit`.
pub fn simulate<F: FnMut(&Event) -> std::io::Result<()>>(
    options: &SimulateOptions,
    mut emit: F,
) -> std::io::Result<SimulateStats> {
    let mut rng = Rng::new(options.seed);
    let mut stats = SimulateStats::default();
    let people = people(options, &mut rng, &mut stats);
    let mut events = Vec::new();
    for day in 0..options.days {
        let day_start = options.start.plus_secs(i64::from(day) * 86_400);
        events.clear();
        for person in &people {
            day_of_person(person, day, day_start, &mut rng, &mut events, &mut stats);
        }
        events.sort_by_key(|event| event.time);
        for event in &events {
            emit(event)?;
            stats.events += 1;
        }
    }
    Ok(stats)
}

/// Writes simulated traffic as JSON lines.
pub fn simulate_to(
    options: &SimulateOptions,
    writer: &mut dyn Write,
) -> std::io::Result<SimulateStats> {
    let mut line = Vec::with_capacity(512);
    simulate(options, |event| {
        line.clear();
        serde_json::to_writer(&mut line, event).map_err(std::io::Error::other)?;
        line.push(b'\n');
        writer.write_all(&line)
    })
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
}
