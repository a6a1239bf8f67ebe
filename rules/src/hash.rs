//! Fixed 64- and 32-bit fingerprints of strings: how state remembers device ids, tools,
//! principals and client families in a few bytes.

/// A string's 64-bit fingerprint (FxHash): how per-identity state remembers device ids,
/// tools and principals in 8 bytes, and how the engine keys devices. Fixed across runs
/// and machines; a collision needs billions of distinct values.
pub fn fingerprint(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The fingerprints several detectors take of one event: its device id's
/// ([`fingerprint`]) and its user agent's family ([`client_family`], which reads the agent
/// byte by byte), each taken at most once and only when asked for.
pub struct Prints<'a> {
    device_id: Option<&'a str>,
    user_agent: Option<&'a str>,
    device: std::cell::OnceCell<Option<u64>>,
    client: std::cell::OnceCell<Option<u32>>,
}

impl<'a> Prints<'a> {
    /// The prints of `event`, none taken yet.
    pub fn of(event: &'a vigil_schemas::Event) -> Prints<'a> {
        Prints {
            device_id: event.device_id.as_deref(),
            user_agent: event.user_agent.as_deref(),
            device: std::cell::OnceCell::new(),
            client: std::cell::OnceCell::new(),
        }
    }

    /// The fingerprint of the event's device id.
    pub fn device(&self) -> Option<u64> {
        *self.device.get_or_init(|| self.device_id.map(fingerprint))
    }

    /// The family of the event's user agent.
    pub fn client(&self) -> Option<u32> {
        *self
            .client
            .get_or_init(|| self.user_agent.map(client_family))
    }
}

/// A user agent's family: its fingerprint with every digit, `.` and `_` left out, so a
/// browser or OS update (`Chrome/131.0` to `Chrome/132.0`, `Mac OS X 14_5`) is the same
/// client and another browser or a script (`python-requests`) is not. 32 bits: it is
/// compared within one identity's few clients.
pub fn client_family(user_agent: &str) -> u32 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    for byte in user_agent.bytes() {
        if !(byte.is_ascii_digit() || byte == b'.' || byte == b'_') {
            hasher.write_u8(byte);
        }
    }
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Families and fingerprints are stored (profiles, session contexts, device owners):
    /// a change of the hash underneath (a rustc-hash release with another formula) would
    /// make every client and device new.
    #[test]
    fn families_stored_before_stay_the_same() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36";
        assert_eq!(client_family(chrome), 383_962_690);
        assert_eq!(
            client_family(&chrome.replace("133.0.0.0", "134.0.6998.35")),
            383_962_690
        );
        assert_eq!(
            fingerprint("dev-791c50cbb033708a440d"),
            9_140_785_550_933_503_905
        );
    }
}
