//! [`SlimVec`]: a vector that is a boxed slice, for the small, rarely changing lists kept
//! per identity (seen countries, cooldowns, degraded devices). 16 bytes instead of a
//! `Vec`'s 24 and no spare capacity: with a hundred thousand identities in memory, every
//! word counts (see `cargo bench --bench memory`). Each change reallocates, which is fine
//! for lists that change on a new device or a decision, not on every event.

use std::ops::{Deref, DerefMut};

/// A boxed slice that can grow and shrink by one element.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SlimVec<T>(Box<[T]>);

impl<T> Default for SlimVec<T> {
    fn default() -> Self {
        SlimVec(Box::default())
    }
}

impl<T> SlimVec<T> {
    fn edit<R>(&mut self, change: impl FnOnce(&mut Vec<T>) -> R) -> R {
        let mut items = std::mem::take(&mut self.0).into_vec();
        let result = change(&mut items);
        items.shrink_to_fit();
        self.0 = items.into_boxed_slice();
        result
    }

    /// Appends one element.
    pub fn push(&mut self, item: T) {
        self.edit(|items| {
            items.reserve_exact(1);
            items.push(item);
        });
    }

    /// Inserts an element at `index`, shifting the rest.
    pub fn insert(&mut self, index: usize, item: T) {
        self.edit(|items| {
            items.reserve_exact(1);
            items.insert(index, item);
        });
    }

    /// Removes the element at `index`, keeping the order.
    pub fn remove(&mut self, index: usize) -> T {
        self.edit(|items| items.remove(index))
    }

    /// Removes the element at `index`, moving the last one into its place.
    pub fn swap_remove(&mut self, index: usize) -> T {
        self.edit(|items| items.swap_remove(index))
    }

    /// Keeps the elements `keep` accepts; reallocates only when one leaves.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        if self.0.iter().all(&mut keep) {
            return;
        }
        self.edit(|items| items.retain(keep));
    }
}

impl<T> From<Vec<T>> for SlimVec<T> {
    fn from(items: Vec<T>) -> Self {
        SlimVec(items.into_boxed_slice())
    }
}

impl<T> Deref for SlimVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for SlimVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_shrinks_and_keeps_order() {
        let mut list = SlimVec::default();
        for item in 0..5 {
            list.push(item);
        }
        assert_eq!(&*list, &[0, 1, 2, 3, 4]);
        list.insert(1, 7);
        assert_eq!(list.remove(1), 7);
        assert_eq!(list.remove(0), 0);
        assert_eq!(list.swap_remove(0), 1);
        assert_eq!(&*list, &[4, 2, 3]);
        list.retain(|item| *item != 2);
        assert_eq!(&*list, &[4, 3]);
        list[0] = 9;
        assert_eq!(&*list, &[9, 3]);
        assert_eq!(std::mem::size_of::<SlimVec<u64>>(), 16);
    }
}
