//! Builders for tests: located sign-ins at well-known places.

use vigil_schemas::{
    AuthAction, AuthDetail, Detail, Envelope, Event, Geo, IpTags, Origin, Outcome, Timestamp,
};

/// A named place: latitude, longitude, city, country.
pub type Place = (f64, f64, &'static str, &'static str);

/// Berlin, DE.
pub const BERLIN: Place = (52.52, 13.405, "Berlin", "DE");
/// Potsdam, DE: 27 km from Berlin.
pub const POTSDAM: Place = (52.3906, 13.0645, "Potsdam", "DE");
/// New York, US.
pub const NEW_YORK: Place = (40.7128, -74.006, "New York", "US");

/// A sign-in attempt of `alice` at a time and place from an IP.
pub fn attempt(time: &str, place: Place, ip: &str, outcome: Outcome) -> Envelope {
    let mut event = Event::new(
        Timestamp::parse(time).expect("test time"),
        Some("alice@example.com"),
        Detail::Auth(AuthDetail {
            action: AuthAction::Login,
            outcome,
            factor: None,
            reason: None,
        }),
    );
    event.ip = Some(ip.parse().expect("test ip"));
    event.geo = Some(Geo {
        lat: Some(place.0),
        lon: Some(place.1),
        city: Some(place.2.into()),
        country: Some(place.3.into()),
        accuracy_km: None,
    });
    envelope(event)
}

/// An event as read from line 1 of a file `test`, untagged.
pub fn envelope(event: Event) -> Envelope {
    Envelope {
        event: Box::new(event),
        origin: Origin::File {
            file: "test".into(),
            line: 1,
        },
        tags: IpTags::default(),
    }
}

/// A successful sign-in of `alice` at a time and place from an IP.
pub fn login_at(time: &str, place: Place, ip: &str) -> Envelope {
    attempt(time, place, ip, Outcome::Success)
}
