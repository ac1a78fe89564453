//! Compatibility tests live in `tests/`: they start Apogee in-process and drive it with a
//! RocketMQ client we did not write (`rocketmq-client-rust` from crates.io). This library is
//! empty; the crate exists so those dependencies stay out of every other crate.
