//! The frame layer (REMOTING.md §1.2): `length:i32 | type:u8 + headerLength:u24 | header | body`.
//!
//! [`decode_frame`] consumes whole frames from a growing buffer and checks the declared length
//! against [`FrameLimits`] before reserving anything; the body is a zero-copy slice of the
//! frame. [`encode_head`] writes everything but the body, so a transport can hand the body's
//! `Bytes` to the socket without copying it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::header_json::HeaderFields;
use crate::{
    DecodeError, EncodeError, FrameLimits, RemotingCommand, SerializeType, header_binary,
    header_json,
};

const LENGTH_PREFIX_BYTES: usize = 4;
const HEADER_WORD_BYTES: usize = 4;
const HEADER_LENGTH_MASK: u32 = 0x00FF_FFFF;

/// Takes one frame off the front of `src`, or returns `Ok(None)` if it is not complete yet.
/// An error means the stream is unusable and the connection should be closed.
pub fn decode_frame(
    src: &mut BytesMut,
    limits: &FrameLimits,
) -> Result<Option<RemotingCommand>, DecodeError> {
    let Some(prefix) = src.get(..LENGTH_PREFIX_BYTES) else {
        return Ok(None);
    };
    let length = i64::from(i32::from_be_bytes([
        prefix[0], prefix[1], prefix[2], prefix[3],
    ]));
    let frame_len = check_length(length, limits)?;
    if src.len() < LENGTH_PREFIX_BYTES + frame_len {
        src.reserve(LENGTH_PREFIX_BYTES + frame_len - src.len());
        return Ok(None);
    }
    src.advance(LENGTH_PREFIX_BYTES);
    let frame = src.split_to(frame_len).freeze();
    decode_frame_body(frame).map(Some)
}

/// Validates the declared length: at least the header word, at most the frame limit.
fn check_length(length: i64, limits: &FrameLimits) -> Result<usize, DecodeError> {
    if length < HEADER_WORD_BYTES as i64 {
        return Err(DecodeError::FrameTooShort { length });
    }
    let whole = length + LENGTH_PREFIX_BYTES as i64;
    if whole > limits.frame_bytes_max as i64 {
        return Err(DecodeError::FrameTooLarge {
            length: whole,
            max: limits.frame_bytes_max,
        });
    }
    usize::try_from(length).map_err(|_| DecodeError::FrameTooShort { length })
}

/// Decodes a frame without its 4-byte length prefix.
pub fn decode_frame_body(mut frame: Bytes) -> Result<RemotingCommand, DecodeError> {
    if frame.len() < HEADER_WORD_BYTES {
        return Err(DecodeError::FrameTooShort {
            length: frame.len() as i64,
        });
    }
    let word = frame.get_u32();
    let type_code = u8::try_from(word >> 24).unwrap_or(u8::MAX);
    let header_len = (word & HEADER_LENGTH_MASK) as usize;
    if header_len > frame.len() {
        return Err(DecodeError::BadHeaderLength {
            header: header_len,
            available: frame.len(),
        });
    }
    let serialize_type =
        SerializeType::from_code(type_code).ok_or(DecodeError::UnknownSerializeType(type_code))?;
    let header = frame.split_to(header_len);
    let fields = match serialize_type {
        SerializeType::Json => header_json::decode(&header)?,
        SerializeType::RocketMq => header_binary::decode(&header)?,
    };
    let HeaderFields {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
    } = fields;
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: frame,
        serialize_type,
    })
}

/// Writes length prefix, header word and header; the caller sends `cmd.body` right after.
/// A ROCKETMQ-typed command whose code or version does not fit 16 bits is sent as JSON
/// (REMOTING.md §1.5, "code width trap").
pub fn encode_head(
    cmd: &RemotingCommand,
    limits: &FrameLimits,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let mut header = Vec::with_capacity(128);
    let serialize_type = match cmd.serialize_type {
        SerializeType::RocketMq if header_binary::fits(cmd) => {
            header_binary::encode(cmd, &mut header);
            SerializeType::RocketMq
        }
        _ => {
            header_json::encode(cmd, &mut header);
            SerializeType::Json
        }
    };
    if header.len() > HEADER_LENGTH_MASK as usize {
        return Err(EncodeError::HeaderTooLarge(header.len()));
    }
    let length = HEADER_WORD_BYTES + header.len() + cmd.body.len();
    if length + LENGTH_PREFIX_BYTES > limits.frame_bytes_max {
        return Err(EncodeError::FrameTooLarge {
            length: length + LENGTH_PREFIX_BYTES,
            max: limits.frame_bytes_max,
        });
    }
    dst.reserve(LENGTH_PREFIX_BYTES + HEADER_WORD_BYTES + header.len());
    dst.put_u32(u32::try_from(length).unwrap_or(u32::MAX));
    let header_len = u32::try_from(header.len()).unwrap_or(HEADER_LENGTH_MASK);
    dst.put_u32((u32::from(serialize_type.code()) << 24) | header_len);
    dst.put_slice(&header);
    Ok(())
}

/// The whole frame in one buffer (head + body); handy for tests and small messages.
pub fn encode_frame(cmd: &RemotingCommand, limits: &FrameLimits) -> Result<BytesMut, EncodeError> {
    let mut dst = BytesMut::new();
    encode_head(cmd, limits, &mut dst)?;
    dst.extend_from_slice(&cmd.body);
    Ok(dst)
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
