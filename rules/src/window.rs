//! Bounded event-time windows: the one way the detectors keep recent events (failed
//! sign-ins, refused MFA prompts, an address's failures and successes).

use std::collections::VecDeque;

/// Inserts `value` in order (late events land where they belong; ties after their
/// equals) and drops the oldest when more than `max` are kept.
pub fn insert_sorted<T: Ord>(list: &mut VecDeque<T>, value: T, max: usize) {
    let position = list.partition_point(|existing| *existing <= value);
    list.insert(position, value);
    if list.len() > max {
        list.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_bound() {
        let mut list = VecDeque::new();
        for value in [5, 1, 3, 9, 7] {
            insert_sorted(&mut list, value, 4);
        }
        assert_eq!(list, VecDeque::from([3, 5, 7, 9]));
    }
}
