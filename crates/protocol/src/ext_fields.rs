//! A header's `extFields`: string keys to string values, in key order (byte order, as Java's
//! sorted maps of ASCII keys iterate, which signatures rely on).
//!
//! Kept in one buffer: every key and value back to back in one `String`, with a sorted list
//! of spans into it. A request's dozen or so fields then cost two allocations instead of two
//! per field plus the map's nodes (under pipelined sends, the header's `String`s and `BTreeMap`
//! inserts were about a tenth of the broker's cycles).

use std::fmt;
use std::ops::{Index, Range};

/// `extFields`: at most one value per key, iterated in key order.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    /// Sorted by key, no key twice (outside [`Builder`]).
    entries: Vec<Entry>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: (usize, usize),
    value: (usize, usize),
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| self.value_at(i))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value` (replacing what it had).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        let value = self.push(value);
        match self.find(key) {
            Ok(i) => self.entries[i].value = value,
            Err(i) => {
                let key = self.push(key);
                self.entries.insert(i, Entry { key, value });
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let value = self.value_at(i).to_owned();
        self.entries.remove(i);
        Some(value)
    }

    /// Every (key, value), in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            fields: self,
            entries: self.entries.iter(),
        }
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Gathers fields in any order, a key given twice keeping its last value (a decoder's
    /// way in: one sort at the end, never an insert into the middle per field).
    pub fn builder() -> Builder {
        Self::builder_within(0)
    }

    /// A [`builder`](Self::builder) for fields read out of `bytes` bytes of encoded header: the
    /// text of its keys and values is no longer (escapes only shrink; a non-string value
    /// re-encoded, `1e5` as `100000.0`, may grow it, and then the buffer grows), so the buffer
    /// is allocated once.
    pub fn builder_within(bytes: usize) -> Builder {
        Builder(Self {
            text: String::with_capacity(bytes),
            entries: Vec::with_capacity(TYPICAL_FIELDS),
        })
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| key_order(self.slice(e.key).as_bytes(), key.as_bytes()))
    }

    fn value_at(&self, i: usize) -> &str {
        self.slice(self.entries[i].value)
    }

    fn slice(&self, (start, end): (usize, usize)) -> &str {
        &self.text[Range { start, end }]
    }

    fn push(&mut self, s: &str) -> (usize, usize) {
        let start = self.text.len();
        self.text.push_str(s);
        (start, self.text.len())
    }
}

/// Byte order of two keys, compared inline: keys are a few bytes long, where a `memcmp` call
/// (what slices' `cmp` becomes) costs more than the comparison.
fn key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// About as many fields as a send's header has (one allocation for the spans of most requests).
const TYPICAL_FIELDS: usize = 16;

/// See [`ExtFields::builder`].
pub struct Builder(ExtFields);

/// A key given to a [`Builder`], waiting for its value.
pub struct Key((usize, usize));

/// The value span of a key whose value is "absent": it removes what the key had so far.
const ABSENT: (usize, usize) = (1, 0);

impl Builder {
    /// Adds a field; its value is written by `write` straight into the buffer.
    pub fn field(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        let key = self.key(key);
        self.value(key, write);
    }

    /// The key of the next field; its value follows with [`value`](Self::value) or
    /// [`absent`](Self::absent).
    pub fn key(&mut self, key: &str) -> Key {
        Key(self.0.push(key))
    }

    /// `key`'s value, written by `write` straight into the buffer.
    pub fn value(&mut self, Key(key): Key, write: impl FnOnce(&mut String)) {
        let start = self.0.text.len();
        write(&mut self.0.text);
        let value = (start, self.0.text.len());
        self.0.entries.push(Entry { key, value });
    }

    /// `key` without a value: what it had so far is dropped (a JSON `null`).
    pub fn absent(&mut self, Key(key): Key) {
        self.0.entries.push(Entry { key, value: ABSENT });
    }

    pub fn finish(self) -> ExtFields {
        let mut fields = self.0;
        let text = &fields.text;
        let key = |e: &Entry| &text.as_bytes()[e.key.0..e.key.1];
        // Keys already in order, each once (Apogee's own encoder writes them so): nothing moves.
        if !fields
            .entries
            .is_sorted_by(|a, b| key_order(key(a), key(b)).is_lt())
        {
            // Stable: a key's entries stay in the order given, the last given last.
            fields.entries.sort_by(|a, b| key_order(key(a), key(b)));
            // Of each run of one key, the last given stays, in the first one's place.
            fields.entries.dedup_by(|later, kept| {
                let same = key(later) == key(kept);
                if same {
                    *kept = *later;
                }
                same
            });
        }
        fields.entries.retain(|e| e.value != ABSENT);
        fields
    }
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Index<&str> for ExtFields {
    type Output = str;

    /// The value of `key`; panics when it is absent (as `BTreeMap`'s index does).
    fn index(&self, key: &str) -> &str {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no extField {key:?}"),
        }
    }
}

/// [`ExtFields::iter`]: every (key, value), in key order.
pub struct Iter<'a> {
    fields: &'a ExtFields,
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let e = self.entries.next()?;
        Some((self.fields.slice(e.key), self.fields.slice(e.value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut builder = Self::builder();
        for (k, v) in pairs {
            builder.field(k.as_ref(), |out| out.push_str(v.as_ref()));
        }
        builder.finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k, v);
        }
    }
}

impl serde::Serialize for ExtFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Inserts, removals and a builder's fields and absent keys (in or out of order, keys
        /// repeated) end as a `BTreeMap` would.
        #[test]
        fn behaves_as_a_sorted_map(
            ops in proptest::collection::vec((0u8..3, "[a-d]{0,2}", "[x-z\u{e9}]{0,3}"), 0..40),
        ) {
            let mut fields = ExtFields::new();
            let mut built = ExtFields::builder();
            let mut model = BTreeMap::new();
            let mut built_model = BTreeMap::new();
            for (op, key, value) in &ops {
                match op {
                    0 | 1 => {
                        fields.insert(key, value);
                        model.insert(key.clone(), value.clone());
                    }
                    _ => {
                        prop_assert_eq!(fields.remove(key), model.remove(key));
                    }
                }
                if *op == 2 {
                    let absent = built.key(key);
                    built.absent(absent);
                    built_model.remove(key);
                } else {
                    built.field(key, |out| out.push_str(value));
                    built_model.insert(key.clone(), value.clone());
                }
            }
            let pairs = |m: &BTreeMap<String, String>| {
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>()
            };
            let listed = |f: &ExtFields| {
                f.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>()
            };
            prop_assert_eq!(listed(&fields), pairs(&model));
            prop_assert_eq!(listed(&built.finish()), pairs(&built_model));
            for (_, key, _) in &ops {
                prop_assert_eq!(fields.get(key), model.get(key).map(String::as_str));
                prop_assert_eq!(fields.contains_key(key), model.contains_key(key));
            }
        }
    }

    #[test]
    fn given_fields_in_any_order_when_compared_should_compare_contents() {
        let a: ExtFields = [("b", "2"), ("a", "1")].into_iter().collect();
        let mut b = ExtFields::new();
        b.insert("a", "0");
        b.insert("b", "2");
        b.insert("a", "1");
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), r#"{"a": "1", "b": "2"}"#);
        assert_eq!(&a["b"], "2");
    }
}
