//! Country names as vendors write them, to ISO 3166-1 alpha-2 (being written).

/// The alpha-2 code of a country name or code, case-insensitive.
pub fn to_alpha2(name: &str) -> Option<&'static str> {
    let _ = name;
    None
}
