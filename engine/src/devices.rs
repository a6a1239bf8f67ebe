//! Device owners: who signs in on a device, so a posture report that names only the
//! device is judged for its owner. Learned from successful sign-ins only (a failed sign-in
//! proves nothing about who holds the device, and anyone can send one), bounded, and
//! evicted least recently used first: an input of endless device ids pushes out the
//! devices nobody uses, never the whole map.

use rustc_hash::FxHashMap;

/// One device's owner and when it was last used (a tick of the map's clock).
struct Owner {
    identity: Box<str>,
    used: u64,
}

/// Device id fingerprint -> owner, bounded: the fingerprint (64-bit FxHash) keeps an entry
/// small whatever the device id's length; a collision needs billions of devices.
pub(crate) struct DeviceOwners {
    owners: FxHashMap<u64, Owner>,
    max: usize,
    clock: u64,
}

impl DeviceOwners {
    /// An empty map of at most `max` devices.
    pub(crate) fn new(max: usize) -> DeviceOwners {
        DeviceOwners {
            owners: FxHashMap::default(),
            max: max.max(1),
            clock: 0,
        }
    }

    /// A map restored from the store (every device equally recent).
    pub(crate) fn restored(owners: FxHashMap<u64, Box<str>>, max: usize) -> DeviceOwners {
        let mut map = DeviceOwners::new(max);
        map.owners = owners
            .into_iter()
            .map(|(device, identity)| (device, Owner { identity, used: 0 }))
            .collect();
        map
    }

    /// Devices known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.owners.len()
    }

    /// The owner of `device`, marked as used.
    pub(crate) fn owner(&mut self, device: u64) -> Option<&str> {
        self.clock += 1;
        let clock = self.clock;
        self.owners.get_mut(&device).map(|owner| {
            owner.used = clock;
            &*owner.identity
        })
    }

    /// Records `identity` as the owner of `device`. Returns whether the map changed, and
    /// the devices evicted to make room (the least recently used sixteenth, so eviction
    /// costs amortised constant time).
    pub(crate) fn learn(&mut self, device: u64, identity: &str) -> (bool, Vec<u64>) {
        self.clock += 1;
        if let Some(owner) = self.owners.get_mut(&device) {
            owner.used = self.clock;
            if &*owner.identity == identity {
                return (false, Vec::new());
            }
            owner.identity = Box::from(identity);
            return (true, Vec::new());
        }
        let mut evicted = Vec::new();
        if self.owners.len() >= self.max {
            let mut by_use: Vec<(u64, u64)> = self
                .owners
                .iter()
                .map(|(device, owner)| (owner.used, *device))
                .collect();
            let excess = (self.owners.len() + 1 - self.max)
                .max(self.max / 16)
                .min(by_use.len());
            if excess > 0 {
                by_use.select_nth_unstable(excess - 1);
                for (_, device) in &by_use[..excess] {
                    self.owners.remove(device);
                    evicted.push(*device);
                }
            }
        }
        self.owners.insert(
            device,
            Owner {
                identity: Box::from(identity),
                used: self.clock,
            },
        );
        (true, evicted)
    }

    /// Every (device, owner), for tests and checks.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &str)> {
        self.owners
            .iter()
            .map(|(device, owner)| (*device, &*owner.identity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_devices_leave_first() {
        let mut owners = DeviceOwners::new(32);
        for device in 0..32 {
            owners.learn(device, "ann");
        }
        // Device 0 is used again: it is the most recent now.
        assert_eq!(owners.owner(0), Some("ann"));
        let (changed, evicted) = owners.learn(100, "bob");
        assert!(changed);
        // A sixteenth of 32 is 2: devices 1 and 2, the least recently used.
        let mut evicted = evicted;
        evicted.sort_unstable();
        assert_eq!(evicted, [1, 2]);
        assert_eq!(owners.len(), 31);
        assert_eq!(owners.owner(0), Some("ann"));
        assert_eq!(owners.owner(100), Some("bob"));
        // A flood of new devices never empties the map of the ones in use.
        for device in 1_000..1_200 {
            owners.learn(device, "mallory");
            assert_eq!(owners.owner(0), Some("ann"));
        }
        assert!(owners.len() <= 32);
        assert_eq!(
            owners.iter().filter(|(_, owner)| *owner == "ann").count(),
            1
        );
    }
}
