//! A state file's values corrupted at random (a torn disk, a bad restore): decoding is an
//! error, never a panic or an allocation of what a corrupt length claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_rules::detectors::password_spray::SprayTracker;
use vigil_rules::IdentityState;

fuzz_target!(|bytes: &[u8]| {
    let mut versioned = vec![vigil_engine::store::FORMAT_VERSION];
    versioned.extend_from_slice(bytes);
    if let Ok(state) = vigil_engine::store::decode::<IdentityState>("fuzz", &versioned) {
        // What decodes must encode again without trouble.
        let _ = vigil_engine::store::encode(&state);
    }
    let _ = vigil_engine::store::decode::<SprayTracker>("fuzz", &versioned);
    let _ = vigil_engine::store::decode::<IdentityState>("fuzz", bytes);
});
