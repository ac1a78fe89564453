//! Typed custom headers. A header is a plain struct deriving [`CommandHeader`](crate::CommandHeader);
//! the derive writes the struct ↔ extFields conversion (REMOTING.md §1.7) so no header is
//! hand-coded. Values are formatted the way Java's `toString`/`parseX` do.

pub mod admin;
pub mod auth;
pub mod consumer;
pub mod controller;
pub mod message;
pub mod namesrv;
pub mod pop;
pub mod transaction;

use crate::{ExtFields, HeaderError};

/// One field of a header: its wire key and whether Java marks it `@CFNotNull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDescriptor {
    pub key: &'static str,
    pub required: bool,
}

/// A typed custom header that converts to and from extFields.
pub trait CommandHeader: Sized {
    /// Every field, in declaration order: the golden schema of this header.
    const FIELDS: &'static [FieldDescriptor];

    fn write_ext_fields(&self, out: &mut ExtFields);

    fn from_ext_fields(fields: &ExtFields) -> Result<Self, HeaderError>;
}

/// A header with no fields of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmptyHeader;

impl CommandHeader for EmptyHeader {
    const FIELDS: &'static [FieldDescriptor] = &[];

    fn write_ext_fields(&self, _out: &mut ExtFields) {}

    fn from_ext_fields(_fields: &ExtFields) -> Result<Self, HeaderError> {
        Ok(EmptyHeader)
    }
}

/// A value that travels as one extFields string.
pub trait HeaderValue: Sized {
    fn to_header_value(&self) -> String;
    fn from_header_value(text: &str) -> Option<Self>;
}

impl HeaderValue for String {
    fn to_header_value(&self) -> String {
        self.clone()
    }

    fn from_header_value(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

/// Java's `Boolean.parseBoolean` ("true" in any case is true, everything else false), and
/// `1` as true too: the C++ SDK writes booleans as `1`/`0`, which Java reads as false (so a
/// C++ batch reached a Java broker as one message: rocketmq-client-cpp issue #363).
impl HeaderValue for bool {
    fn to_header_value(&self) -> String {
        self.to_string()
    }

    fn from_header_value(text: &str) -> Option<Self> {
        let text = text.trim();
        Some(text == "1" || text.eq_ignore_ascii_case("true"))
    }
}

macro_rules! numeric_header_value {
    ($($ty:ty),*) => {$(
        impl HeaderValue for $ty {
            fn to_header_value(&self) -> String {
                self.to_string()
            }

            fn from_header_value(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }
        }
    )*};
}

numeric_header_value!(i8, i16, i32, i64, u8, u16, u32, u64, f64);

macro_rules! name_header_value {
    ($($ty:ty),*) => {$(
        impl HeaderValue for $ty {
            fn to_header_value(&self) -> String {
                self.as_str().to_owned()
            }

            fn from_header_value(text: &str) -> Option<Self> {
                <$ty>::new(text).ok()
            }
        }
    )*};
}

name_header_value!(
    apogee_model::TopicName,
    apogee_model::GroupName,
    apogee_model::BrokerName,
    apogee_model::ClusterName
);

/// A required field (`@CFNotNull`), as found in the extFields (`None`: absent).
pub fn parse_required<T: HeaderValue>(
    text: Option<&str>,
    key: &'static str,
) -> Result<T, HeaderError> {
    parse_optional(text, key)?.ok_or(HeaderError::Missing(key))
}

/// An optional field, as found in the extFields; present but unparsable is an error that
/// names the value.
pub fn parse_optional<T: HeaderValue>(
    text: Option<&str>,
    key: &'static str,
) -> Result<Option<T>, HeaderError> {
    match text {
        None => Ok(None),
        Some(text) => T::from_header_value(text)
            .map(Some)
            .ok_or_else(|| HeaderError::Invalid {
                key,
                value: text.to_owned(),
            }),
    }
}
