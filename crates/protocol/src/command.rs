//! `RemotingCommand`: the one message shape of the RocketMQ remoting protocol (REMOTING.md §1.3).
//! A command is a request or a response (flag bit 0), may be oneway (flag bit 1), carries an
//! opaque correlation id, an optional remark, the extFields string map and a body.

use bytes::Bytes;

use crate::{CommandHeader, HeaderError, RequestCode, ResponseCode};

/// The typed "custom header" travels as this string map. Sorted, so encodings are
/// deterministic; inserting a key twice keeps the last value, as Java's decoder does.
pub use crate::ext_fields::ExtFields;

/// Well-known `MQVersion` ordinals (REMOTING.md §1.8).
pub mod version {
    pub const V3_0_11: i32 = 37;
    pub const V4_9_4: i32 = 401;
    pub const V5_0_0: i32 = 413;
    pub const V5_3_3: i32 = 479;
    /// What Apogee reports about itself: compatible with the newest release we read.
    pub const CURRENT: i32 = V5_3_3;
    /// `MQVersion.getVersionDesc(CURRENT)`: what `brokerVersionDesc` and `PROP_CLIENT_VERSION`
    /// report.
    pub const CURRENT_DESC: &str = "V5_3_3";
}

/// Which header encoding a frame uses; the high byte of the header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    #[default]
    Json,
    RocketMq,
}

impl SerializeType {
    pub fn code(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::RocketMq => 1,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Json),
            1 => Some(Self::RocketMq),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::RocketMq => "ROCKETMQ",
        }
    }
}

/// The sender's language (`LanguageCode`). Open: unknown numbers are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode(pub u8);

const LANGUAGE_NAMES: [&str; 14] = [
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

impl LanguageCode {
    pub const JAVA: LanguageCode = LanguageCode(0);
    pub const CPP: LanguageCode = LanguageCode(1);
    pub const OTHER: LanguageCode = LanguageCode(7);
    pub const GO: LanguageCode = LanguageCode(9);
    pub const RUST: LanguageCode = LanguageCode(12);

    /// The enum name Java writes in JSON headers; unknown numbers are written as OTHER.
    pub fn name(self) -> &'static str {
        LANGUAGE_NAMES
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("OTHER")
    }

    /// Reads a JSON language name; unknown names become OTHER, as Java tolerates them.
    pub fn from_name(name: &str) -> LanguageCode {
        LANGUAGE_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| u8::try_from(i).ok())
            .map_or(Self::OTHER, LanguageCode)
    }

    /// Whether this code has a name (round-trips through JSON unchanged).
    pub fn is_known(self) -> bool {
        usize::from(self.0) < LANGUAGE_NAMES.len()
    }
}

/// One remoting command, request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Bytes,
    /// How the header was (or will be) encoded.
    pub serialize_type: SerializeType,
}

const FLAG_RESPONSE: i32 = 1;
const FLAG_ONEWAY: i32 = 2;

impl RemotingCommand {
    /// A request with the given code and typed header; opaque is assigned by the transport.
    pub fn request(code: RequestCode, header: &impl CommandHeader) -> Self {
        let mut ext_fields = ExtFields::new();
        header.write_ext_fields(&mut ext_fields);
        Self::base(code.0, 0, ext_fields)
    }

    /// A request without a custom header.
    pub fn bare_request(code: RequestCode) -> Self {
        Self::base(code.0, 0, ExtFields::new())
    }

    /// A response to `request`: same opaque and header encoding, flag bit 0 set.
    pub fn response_to(
        request: &RemotingCommand,
        code: ResponseCode,
        remark: Option<String>,
    ) -> Self {
        let mut response = Self::base(code.0, FLAG_RESPONSE, ExtFields::new());
        // Every client decodes the name JAVA; some (Go) know no other.
        response.language = LanguageCode::JAVA;
        response.opaque = request.opaque;
        response.serialize_type = request.serialize_type;
        response.remark = remark;
        response
    }

    fn base(code: i32, flag: i32, ext_fields: ExtFields) -> Self {
        Self {
            code,
            language: LanguageCode::RUST,
            version: version::CURRENT,
            opaque: 0,
            flag,
            remark: None,
            ext_fields,
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a typed header's fields to this command's extFields.
    #[must_use]
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        header.write_ext_fields(&mut self.ext_fields);
        self
    }

    #[must_use]
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    #[must_use]
    pub fn into_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode(self.code)
    }

    /// Decodes the typed custom header from extFields.
    pub fn header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::from_ext_fields(&self.ext_fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_request_when_answered_should_copy_opaque_and_set_response_flag() {
        let mut req = RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_INFO);
        req.opaque = 77;
        req.serialize_type = SerializeType::RocketMq;
        let resp = RemotingCommand::response_to(&req, ResponseCode::SUCCESS, None);
        assert!(resp.is_response() && !req.is_response());
        assert_eq!(
            (resp.opaque, resp.serialize_type),
            (77, SerializeType::RocketMq)
        );
    }

    #[test]
    fn given_language_names_should_map_both_ways_and_tolerate_unknown() {
        assert_eq!(LanguageCode::from_name("GO"), LanguageCode::GO);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::OTHER);
        assert_eq!(LanguageCode(13).name(), "NODE_JS");
        assert_eq!(LanguageCode(200).name(), "OTHER");
    }
}
