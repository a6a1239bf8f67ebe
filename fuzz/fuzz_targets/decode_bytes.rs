//! Any bytes, through every decoder (and format detection): a record is decoded or
//! refused with a reason, never a panic, a hang or an allocation out of proportion.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_ingest::Format;

fuzz_target!(|record: &[u8]| {
    for format in std::iter::once(Format::Auto).chain(Format::CONCRETE) {
        let _ = vigil_ingest::decode(format, record);
    }
});
