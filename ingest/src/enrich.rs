//! Enrichment: geo and ASN from MMDB databases (MaxMind GeoIP2/GeoLite2 City and ASN
//! layouts, DB-IP lite in the same layout), and tags from configured IP lists.
//!
//! Rules, in order:
//! 1. private, loopback, link-local, documentation and other reserved addresses are tagged
//!    `non_public` and never get a location from a database;
//! 2. corporate egress and VPN ranges are tagged, so location detectors ignore them;
//! 3. geo the vendor supplied (Okta, Entra, a proxy) wins over a lookup; a lookup fills
//!    only what is missing (coordinates, city), and only when it agrees on the country;
//! 4. an ASN the vendor supplied wins over a lookup.

use ipnet::IpNet;
use maxminddb::Reader;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use vigil_schemas::{CompactString, Event, Geo, IpTags};

/// Why enrichment could not be set up; names the database file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrichError {
    /// A database could not be opened or is not an MMDB file.
    #[error("failed to open {kind} database `{path}`: {message}")]
    Database {
        /// `city` or `asn`.
        kind: &'static str,
        /// The path as configured.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A set of IP networks, checked by linear scan over a handful of ranges (corporate and
/// VPN lists have tens of entries, not millions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpSet {
    networks: Vec<IpNet>,
}

impl IpSet {
    /// A set of the given networks.
    pub fn new(networks: Vec<IpNet>) -> IpSet {
        IpSet {
            networks: IpNet::aggregate(&networks),
        }
    }

    /// Whether any network contains `ip` (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|network| network.contains(&ip))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn non_public_v4(ip: Ipv4Addr) -> bool {
    let [first, second, third, _] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || first == 0
        || (first == 100 && (64..128).contains(&second)) // carrier-grade NAT, RFC 6598
        || (first == 192 && second == 0 && third == 0) // IETF protocol assignments
        || (first == 198 && (18..20).contains(&second)) // benchmarking, RFC 2544
        || first >= 240 // reserved, RFC 1112
}

fn non_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, RFC 4193
        || (segments[0] & 0xffc0) == 0xfe80 // link local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation, RFC 3849
}

/// Whether an address is private, loopback or otherwise not on the public internet.
pub fn is_non_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

/// Where enrichment reads from: `[enrich]` in `vigil.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrichConfig {
    /// A GeoIP2/GeoLite2 City or DB-IP City Lite `.mmdb` file.
    pub city_db: Option<PathBuf>,
    /// A GeoLite2 ASN `.mmdb` file.
    pub asn_db: Option<PathBuf>,
    /// The organisation's egress ranges (CIDR): exempt from location detectors.
    pub corporate_ranges: Vec<IpNet>,
    /// VPN egress ranges (CIDR): exempt from location detectors.
    pub vpn_ranges: Vec<IpNet>,
    /// Anonymizer ranges (CIDR: Tor exits, open proxies, commercial VPN exits): the
    /// `threat_ip` detector's weaker list.
    pub anonymizer_ranges: Vec<IpNet>,
    /// Threat-intelligence ranges (CIDR: known attacker infrastructure): the `threat_ip`
    /// detector's stronger list.
    pub threat_ranges: Vec<IpNet>,
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct NamedPlace<'a> {
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct LocationRecord {
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<u16>,
}

#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow)]
    city: Option<NamedPlace<'a>>,
    #[serde(borrow)]
    country: Option<CountryRecord<'a>>,
    location: Option<LocationRecord>,
}

#[derive(Deserialize)]
struct AsnRecord {
    autonomous_system_number: Option<u32>,
}

/// The vendor's geo completed from a lookup: with no vendor geo, the lookup; with a
/// vendor country only, the lookup's coordinates and city when the lookup agrees on the
/// country (the vendor's word wins, and coordinates from another country would be worse
/// than none).
fn fill_missing(vendor: Option<Geo>, found: Geo) -> Geo {
    let Some(mut vendor) = vendor else {
        return found;
    };
    let agrees = match (&vendor.country, &found.country) {
        (Some(said), Some(looked_up)) => said.eq_ignore_ascii_case(looked_up),
        (None, _) => true,
        (Some(_), None) => false,
    };
    if agrees {
        vendor.lat = found.lat;
        vendor.lon = found.lon;
        vendor.accuracy_km = vendor.accuracy_km.or(found.accuracy_km);
        if vendor.city.is_none() {
            vendor.city = found.city;
        }
        if vendor.country.is_none() {
            vendor.country = found.country;
        }
    }
    vendor
}

/// Adds geo, ASN and tags to events. Cheap to share between threads.
#[derive(Default)]
pub struct Enricher {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
    corporate: IpSet,
    vpn: IpSet,
    anonymizer: IpSet,
    threat: IpSet,
}

fn open(kind: &'static str, path: &Path) -> Result<Reader<Vec<u8>>, EnrichError> {
    Reader::open_readfile(path).map_err(|error| EnrichError::Database {
        kind,
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

impl Enricher {
    /// Opens the configured databases.
    pub fn open(config: &EnrichConfig) -> Result<Enricher, EnrichError> {
        Ok(Enricher {
            city: config
                .city_db
                .as_deref()
                .map(|path| open("city", path))
                .transpose()?,
            asn: config
                .asn_db
                .as_deref()
                .map(|path| open("asn", path))
                .transpose()?,
            corporate: IpSet::new(config.corporate_ranges.clone()),
            vpn: IpSet::new(config.vpn_ranges.clone()),
            anonymizer: IpSet::new(config.anonymizer_ranges.clone()),
            threat: IpSet::new(config.threat_ranges.clone()),
        })
    }

    /// Whether a city database is loaded.
    pub fn has_city_db(&self) -> bool {
        self.city.is_some()
    }

    /// Fills what the event lacks and returns the tags of its address.
    pub fn enrich(&self, event: &mut Event) -> IpTags {
        let Some(ip) = event.ip else {
            return IpTags::default();
        };
        let tags = IpTags {
            corporate: self.corporate.contains(ip),
            vpn: self.vpn.contains(ip),
            non_public: is_non_public(ip),
            anonymizer: self.anonymizer.contains(ip),
            threat: self.threat.contains(ip),
        };
        if tags.non_public {
            return tags;
        }
        let has_coordinates = event
            .geo
            .as_ref()
            .is_some_and(|geo| geo.coordinates().is_some());
        if !has_coordinates {
            if let Some(found) = self.lookup_city(ip) {
                event.geo = Some(fill_missing(event.geo.take(), found));
            }
        }
        if event.asn.is_none() {
            event.asn = self.lookup_asn(ip);
        }
        tags
    }

    /// The city database's answer for an address.
    pub fn lookup_city(&self, ip: IpAddr) -> Option<Geo> {
        let reader = self.city.as_ref()?;
        let record: CityRecord<'_> = reader.lookup(ip).ok()?.decode().ok()??;
        let location = record.location;
        let geo = Geo {
            lat: location.as_ref().and_then(|location| location.latitude),
            lon: location.as_ref().and_then(|location| location.longitude),
            country: record
                .country
                .and_then(|country| country.iso_code)
                .map(CompactString::from),
            city: record
                .city
                .and_then(|city| city.names)
                .and_then(|names| names.en)
                .map(CompactString::from),
            accuracy_km: location
                .and_then(|location| location.accuracy_radius)
                .map(f64::from),
        };
        let empty = geo.coordinates().is_none() && geo.country.is_none();
        (!empty).then_some(geo)
    }

    /// The ASN database's answer for an address.
    pub fn lookup_asn(&self, ip: IpAddr) -> Option<u32> {
        let reader = self.asn.as_ref()?;
        let record: AsnRecord = reader.lookup(ip).ok()?.decode().ok()??;
        record.autonomous_system_number
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use vigil_schemas::{AuthAction, AuthDetail, Detail, Outcome, Timestamp};

    fn enricher() -> Option<Enricher> {
        let city = testdata::shared("geo/maxmind-test-data/GeoIP2-City-Test.mmdb")?;
        let asn = testdata::shared("geo/maxmind-test-data/GeoLite2-ASN-Test.mmdb")?;
        let config = EnrichConfig {
            city_db: Some(city),
            asn_db: Some(asn),
            corporate_ranges: vec![
                "203.0.113.0/24".parse().unwrap(),
                "81.2.69.192/28".parse().unwrap(),
            ],
            vpn_ranges: vec!["89.160.20.0/24".parse().unwrap()],
            ..EnrichConfig::default()
        };
        Some(Enricher::open(&config).unwrap())
    }

    fn login(ip: &str) -> Event {
        let mut event = Event::new(
            Timestamp(0),
            Some("alice"),
            Detail::Auth(AuthDetail {
                action: AuthAction::Login,
                outcome: Outcome::Success,
                factor: None,
                reason: None,
            }),
        );
        event.ip = Some(ip.parse().unwrap());
        event
    }

    #[test]
    fn looks_up_city_and_asn_when_the_event_has_none() {
        let Some(enricher) = enricher() else { return };
        let mut event = login("81.2.69.142");
        let tags = enricher.enrich(&mut event);
        assert_eq!(tags, IpTags::default());
        let geo = event.geo.unwrap();
        assert_eq!(
            (geo.country.as_deref(), geo.city.as_deref()),
            (Some("GB"), Some("London"))
        );
        assert_eq!(
            (geo.lat, geo.lon, geo.accuracy_km),
            (Some(51.5142), Some(-0.0931), Some(10.0))
        );
        let mut event = login("1.128.0.1");
        enricher.enrich(&mut event);
        assert_eq!(event.asn, Some(1221));
    }

    #[test]
    fn vendor_geo_wins_over_lookup() {
        let Some(enricher) = enricher() else { return };
        let mut event = login("175.16.199.1");
        event.geo = Some(Geo {
            lat: Some(37.7201),
            lon: Some(-121.919),
            country: Some("US".into()),
            city: Some("Dublin".into()),
            accuracy_km: None,
        });
        enricher.enrich(&mut event);
        assert_eq!(event.geo.unwrap().city.as_deref(), Some("Dublin"));
    }

    #[test]
    fn a_vendor_country_gets_coordinates_only_from_an_agreeing_lookup() {
        let Some(enricher) = enricher() else { return };
        let mut agreeing = login("81.2.69.142");
        agreeing.geo = Some(Geo {
            country: Some("GB".into()),
            ..Geo::default()
        });
        enricher.enrich(&mut agreeing);
        let geo = agreeing.geo.unwrap();
        assert_eq!(
            (geo.country.as_deref(), geo.city.as_deref(), geo.lat),
            (Some("GB"), Some("London"), Some(51.5142))
        );
        let mut disagreeing = login("81.2.69.142");
        disagreeing.geo = Some(Geo {
            country: Some("FR".into()),
            ..Geo::default()
        });
        enricher.enrich(&mut disagreeing);
        let geo = disagreeing.geo.unwrap();
        assert_eq!((geo.country.as_deref(), geo.lat), (Some("FR"), None));
    }

    #[test]
    fn private_and_reserved_addresses_never_get_a_location() {
        let Some(enricher) = enricher() else { return };
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "192.0.2.1",
            "240.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let mut event = login(ip);
            let tags = enricher.enrich(&mut event);
            assert!(tags.non_public, "{ip}");
            assert!(event.geo.is_none(), "{ip}");
        }
    }

    #[test]
    fn corporate_and_vpn_ranges_are_tagged() {
        let Some(enricher) = enricher() else { return };
        let mut event = login("89.160.20.128");
        assert!(enricher.enrich(&mut event).vpn);
        let mut event = login("81.2.69.200");
        assert!(enricher.enrich(&mut event).corporate);
        assert!(IpSet::new(vec!["81.2.69.192/28".parse().unwrap()])
            .contains("::ffff:81.2.69.193".parse().unwrap()));
    }

    #[test]
    fn anonymizer_and_threat_ranges_are_tagged_without_databases() {
        let enricher = Enricher::open(&EnrichConfig {
            anonymizer_ranges: vec!["185.220.101.0/24".parse().unwrap()],
            threat_ranges: vec!["45.155.205.0/24".parse().unwrap()],
            ..EnrichConfig::default()
        })
        .unwrap();
        let tags = enricher.enrich(&mut login("185.220.101.7"));
        assert!(tags.anonymizer && !tags.threat);
        let tags = enricher.enrich(&mut login("45.155.205.99"));
        assert!(tags.threat && !tags.anonymizer);
        assert_eq!(enricher.enrich(&mut login("8.8.8.8")), IpTags::default());
    }

    #[test]
    fn a_missing_database_names_the_file() {
        let config = EnrichConfig {
            city_db: Some("/nonexistent/city.mmdb".into()),
            ..EnrichConfig::default()
        };
        let Err(error) = Enricher::open(&config) else {
            panic!("opened a missing file")
        };
        assert!(
            error.to_string().contains("`/nonexistent/city.mmdb`"),
            "{error}"
        );
    }
}
