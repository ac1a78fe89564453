//! Errors of this crate: one for frames and bodies, one for typed headers.

/// A frame or body that cannot be decoded. The transport closes the connection on frame
/// errors; body errors become an error response.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("frame length {length} is below the 4-byte minimum")]
    FrameTooShort { length: i64 },
    #[error("frame of {length} bytes exceeds the {max}-byte limit")]
    FrameTooLarge { length: i64, max: usize },
    #[error("header length {header} exceeds the frame's {available} bytes")]
    BadHeaderLength { header: usize, available: usize },
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    #[error("ROCKETMQ header truncated: needed {needed} bytes at {at}, had {len}")]
    HeaderTruncated {
        needed: usize,
        at: usize,
        len: usize,
    },
    #[error("invalid length {length} in ROCKETMQ header")]
    BadFieldLength { length: i64 },
    #[error("header string is not UTF-8")]
    NotUtf8,
    #[error("invalid JSON header: {0}")]
    JsonHeader(String),
    #[error("invalid body: {0}")]
    Body(String),
    #[error("body exceeds {max} bytes after decompression")]
    InflatedTooLarge { max: usize },
}

/// A custom header that cannot be read from extFields. The message matches what Java says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the custom field <{0}> is null")]
    Missing(&'static str),
    #[error("the custom field <{key}> has an invalid value {value:?}")]
    Invalid { key: &'static str, value: String },
}

/// A command that cannot be put on the wire.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("encoded header of {0} bytes does not fit the 24-bit header length")]
    HeaderTooLarge(usize),
    #[error("frame of {length} bytes exceeds the {max}-byte limit")]
    FrameTooLarge { length: usize, max: usize },
}
