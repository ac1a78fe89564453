//! RocketMQ SQL92 message filters (`apogee_model::sql92`): compiling any text must not panic
//! or exhaust the stack; a compiled filter evaluates against a few fixed messages without
//! panicking, reads only names `properties()` lists, and prints back as text that compiles
//! to the same expression (when the printed text stays within the length limit), which
//! decides every message the same way.
#![no_main]

use std::cell::RefCell;

use apogee_model::sql92::{Expression, MAX_TEXT_BYTES};
use libfuzzer_sys::fuzz_target;

/// Property sets the filters are evaluated against: missing, numeric, textual and boolean
/// values, and values that fail Java's number parsing.
const MESSAGES: &[&[(&str, &str)]] = &[
    &[],
    &[("a", "1"), ("b", "2.5"), ("TAGS", "TagA")],
    &[("a", "x"), ("b", "true"), ("c", "")],
    &[
        ("a", " 3 "),
        ("b", "-1e3"),
        ("c", "NaN"),
        ("x", "3000000000"),
    ],
    &[
        ("a", "it's"),
        ("b", "TRUE"),
        ("TAGS", "TagB"),
        ("KEYS", "k1 k2"),
    ],
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(expr) = Expression::compile(&text) else {
        return;
    };
    let names = expr.properties();
    let again = {
        let printed = expr.to_string();
        if printed.len() > MAX_TEXT_BYTES {
            None
        } else {
            let again = Expression::compile(&printed)
                .unwrap_or_else(|err| panic!("{printed:?} (printed from {text:?}): {err}"));
            assert_eq!(again, expr, "printing changed the filter: {printed:?}");
            assert_eq!(again.to_string(), printed, "printing is not stable");
            Some(again)
        }
    };
    for message in MESSAGES {
        let read = RefCell::new(Vec::new());
        let lookup = |name: &str| {
            read.borrow_mut().push(name.to_owned());
            message
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
        };
        let matched = expr.matches(&lookup);
        for name in read.borrow().iter() {
            assert!(
                names.contains(&name.as_str()),
                "read {name:?}, not in {names:?}"
            );
        }
        if let Some(again) = &again {
            assert_eq!(
                again.matches(&lookup),
                matched,
                "the printed filter decides differently"
            );
        }
    }
});
