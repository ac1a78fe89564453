//! Typed bodies: JSON documents (with fastjson's quirks where Java reads or writes them),
//! the zlib registration body, and Java properties text.

pub mod admin;
pub mod auth;
pub mod client;
pub mod controller;
pub mod ha;
pub mod inspect;
pub mod lenient;
pub mod properties;
pub mod register;
pub mod route;
mod simple;
pub mod stats;
pub mod trace;
pub mod trace_encode;

pub use simple::{KvTable, TopicList};

use crate::DecodeError;

/// Parses a JSON body leniently (fastjson keys accepted), with a clear error.
pub fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    crate::fastjson::from_slice(bytes).map_err(|e| DecodeError::Body(format!("{what}: {e}")))
}
