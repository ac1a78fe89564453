//! Users: who may sign requests (RocketMQ ACL 2.0's `User`; ACL 1.0 accounts map onto it).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Super users pass every authorization check; normal users need policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserType {
    Super,
    Normal,
}

/// A disabled user cannot authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    #[serde(rename = "enable")]
    Enabled,
    #[serde(rename = "disable")]
    Disabled,
}

impl UserType {
    /// Case-insensitive, as RocketMQ reads `userType`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Super, Self::Normal]
            .into_iter()
            .find(|t| format!("{t:?}").eq_ignore_ascii_case(text.trim()))
    }
}

impl UserStatus {
    /// Case-insensitive `enable` / `disable`, as RocketMQ reads `userStatus`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "enable" => Some(Self::Enabled),
            "disable" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// One user; the password is the HMAC key of its signatures. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub username: String,
    pub password: String,
    pub user_type: UserType,
    pub user_status: UserStatus,
}

impl User {
    pub fn new(
        username: impl Into<String>,
        password: impl Into<String>,
        user_type: UserType,
    ) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            user_type,
            user_status: UserStatus::Enabled,
        }
    }

    pub fn is_super(&self) -> bool {
        self.user_type == UserType::Super
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("user_type", &self.user_type)
            .field("user_status", &self.user_status)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_user_json_should_use_rocketmq_spellings() {
        let user = User::new("alice", "secret12", UserType::Normal);
        let json = serde_json::to_string(&user).unwrap();
        assert_eq!(
            json,
            r#"{"username":"alice","password":"secret12","userType":"Normal","userStatus":"enable"}"#
        );
        assert_eq!(serde_json::from_str::<User>(&json).unwrap(), user);
        assert_eq!(UserType::parse("super"), Some(UserType::Super));
        assert_eq!(UserStatus::parse("DISABLE"), Some(UserStatus::Disabled));
        assert!(!format!("{user:?}").contains("secret12"));
    }
}
