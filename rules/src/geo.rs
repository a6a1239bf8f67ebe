//! Great-circle distance.

/// Mean Earth radius in km (IUGG).
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Haversine distance in km between two (lat, lon) points in degrees.
pub fn haversine_km(from: (f64, f64), to: (f64, f64)) -> f64 {
    let (lat1, lon1) = (from.0.to_radians(), from.1.to_radians());
    let (lat2, lon2) = (to.0.to_radians(), to.1.to_radians());
    let half_dlat = ((lat2 - lat1) / 2.0).sin();
    let half_dlon = ((lon2 - lon1) / 2.0).sin();
    let chord = half_dlat * half_dlat + lat1.cos() * lat2.cos() * half_dlon * half_dlon;
    2.0 * EARTH_RADIUS_KM * chord.sqrt().clamp(0.0, 1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        let berlin = (52.52, 13.405);
        let new_york = (40.7128, -74.006);
        let distance = haversine_km(berlin, new_york);
        assert!((distance - 6385.0).abs() < 15.0, "{distance}");
        assert_eq!(haversine_km(berlin, berlin), 0.0);
        let antipode = haversine_km((0.0, 0.0), (0.0, 180.0));
        assert!((antipode - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
    }
}
