//! The v5 (gRPC) clients' signature (REMOTING.md §10.6): header `authorization:
//! MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time, Signature=<hex>`,
//! the hex being HMAC-SHA1(secret, the exact `x-mq-date-time` value), upper-case from the Java
//! client and lower-case from others: compared without regard to case.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// What a v5 call carries to authenticate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V5Credentials {
    pub access_key: String,
    pub date_time: String,
    pub signature: String,
}

impl V5Credentials {
    /// Parses the `authorization` header; `None` when it is not RocketMQ's v5 form or the
    /// date-time header is missing.
    pub fn parse(authorization: &str, date_time: Option<&str>) -> Option<Self> {
        let (scheme, rest) = authorization.trim().split_once(' ')?;
        if scheme != "MQv2-HMAC-SHA1" {
            return None;
        }
        let (mut access_key, mut signature) = (None, None);
        for item in rest.split(',') {
            let (key, value) = item.trim().split_once('=')?;
            match key.trim() {
                // A credential may carry `/`-separated parts; the first is the user.
                "Credential" => access_key = value.trim().split('/').next().map(str::to_owned),
                "Signature" => signature = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        Some(Self {
            access_key: access_key.filter(|k| !k.is_empty())?,
            date_time: date_time?.to_owned(),
            signature: signature?,
        })
    }

    /// Whether the signature is HMAC-SHA1(`secret`, date-time); compared in constant time.
    pub fn verify(&self, secret: &str) -> bool {
        let mut given = [0u8; 20];
        if self.signature.len() != 40 {
            return false;
        }
        for (i, pair) in self.signature.as_bytes().chunks(2).enumerate() {
            let digits = std::str::from_utf8(pair).ok();
            match digits.and_then(|d| u8::from_str_radix(d, 16).ok()) {
                Some(byte) => given[i] = byte,
                None => return false,
            }
        }
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(self.date_time.as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

/// The `authorization` value a v5 client sends for `date_time` (tests and tools).
pub fn authorization(access_key: &str, secret: &str, date_time: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(date_time.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("MQv2-HMAC-SHA1 Credential={access_key}, SignedHeaders=x-mq-date-time, Signature={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_date_time_verifies_in_either_case_and_nothing_else_does() {
        let header = authorization("ak", "sk", "20261204T120000Z");
        let creds = V5Credentials::parse(&header, Some("20261204T120000Z")).expect("parses");
        assert_eq!(creds.access_key, "ak");
        assert!(creds.verify("sk"));
        let lower = V5Credentials {
            signature: creds.signature.to_ascii_lowercase(),
            ..creds.clone()
        };
        assert!(lower.verify("sk"));
        assert!(!creds.verify("other"));
        let moved = V5Credentials {
            date_time: "20261204T120001Z".into(),
            ..creds
        };
        assert!(!moved.verify("sk"));
        assert!(V5Credentials::parse(&header, None).is_none());
        assert!(V5Credentials::parse("Basic abc", Some("x")).is_none());
        let with_parts =
            "MQv2-HMAC-SHA1 Credential=ak/2026/x, SignedHeaders=x-mq-date-time, Signature=00";
        let parsed = V5Credentials::parse(with_parts, Some("t")).expect("parses");
        assert_eq!(parsed.access_key, "ak");
        assert!(!parsed.verify("sk"), "a short signature never verifies");
    }
}
