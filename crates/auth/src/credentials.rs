//! An access key and its secret, as clients hold them (Java's `SessionCredentials`).

use std::fmt;

use serde::Deserialize;

/// What a client signs with. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub security_token: Option<String>,
}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// Parses RocketMQ's JSON form (`innerClientAuthenticationCredentials`):
    /// `{"accessKey":"…","secretKey":"…"}`, optionally with `securityToken`. Both keys must be
    /// non-blank.
    pub fn from_json(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            access_key: Option<String>,
            secret_key: Option<String>,
            security_token: Option<String>,
        }
        let raw: Raw = serde_json::from_str(text).map_err(|e| format!("credentials: {e}"))?;
        match (raw.access_key, raw.secret_key) {
            (Some(ak), Some(sk)) if !ak.trim().is_empty() && !sk.trim().is_empty() => Ok(Self {
                access_key: ak,
                secret_key: sk,
                security_token: raw.security_token.filter(|t| !t.is_empty()),
            }),
            _ => Err("credentials: accessKey and secretKey must both be set".into()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_rocketmq_json_should_parse_and_refuse_blank_keys() {
        let c = Credentials::from_json(r#"{"accessKey":"inner","secretKey":"s3cret!"}"#).unwrap();
        assert_eq!(c, Credentials::new("inner", "s3cret!"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Credentials::from_json(r#"{"accessKey":"inner","secretKey":" "}"#).is_err());
        assert!(Credentials::from_json("not json").is_err());
    }
}
