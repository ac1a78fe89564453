//! Every byte format that crosses a process boundary, with no IO and no async.
//!
//! ```text
//! bytes ─► frame::decode_frame ─► RemotingCommand { code, opaque, flag, ext_fields, body }
//!                                     │ ext_fields            │ body
//!                                     ▼                       ▼
//!                       CommandHeader::from_ext_fields    body::* (JSON / fastjson / zlib)
//! ```
//!
//! Layers stay separate: the frame codec knows nothing of headers, typed headers know nothing
//! of frames, and nothing here touches a socket. Facts come from `shared/protocol/REMOTING.md`
//! §1–3; where it was silent the fact is recorded in `docs/protocol-notes.md`.

pub mod access;
pub mod batch;
pub mod body;
mod code;
mod command;
mod error;
pub mod ext_fields;
pub mod fastjson;
pub mod frame;
pub mod ha;
pub mod ha_autoswitch;
pub mod header;
mod header_binary;
mod header_json;
mod limits;
pub mod message_id;
pub mod message_properties;
pub mod pop_info;
pub mod record;

pub use apogee_protocol_derive::CommandHeader;
pub use code::{CodeInfo, RequestCode, ResponseCode};
pub use command::{ExtFields, LanguageCode, RemotingCommand, SerializeType, version};
pub use error::{DecodeError, EncodeError, HeaderError};
pub use header::{CommandHeader, HeaderValue};
pub use limits::FrameLimits;
pub use message_properties::{Properties, property};
