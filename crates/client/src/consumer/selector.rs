//! What a subscription keeps (Java's `MessageSelector`): a tag expression (`*`, `TagA ||
//! TagB`), filtered by the broker on tag hashes and here on exact tags, or an SQL92 filter over
//! message properties and `TAGS`, evaluated by the broker (`enablePropertyFilter`).

use apogee_protocol::body::client::SubscriptionData;

use crate::{ClientError, Result};

/// A subscription's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSelector {
    Tag(String),
    Sql(String),
}

impl MessageSelector {
    /// A tag expression.
    pub fn by_tag(expression: impl Into<String>) -> Self {
        Self::Tag(expression.into())
    }

    /// An SQL92 filter, e.g. `a > 5 AND region IN ('eu', 'us')`.
    pub fn by_sql(expression: impl Into<String>) -> Self {
        Self::Sql(expression.into())
    }

    /// Fails fast on an SQL92 filter that does not compile (the broker would refuse it with
    /// SUBSCRIPTION_PARSE_FAILED at the first heartbeat).
    pub(crate) fn validate(&self) -> Result<()> {
        if let Self::Sql(text) = self {
            apogee_model::sql92::Expression::compile(text)
                .map_err(|e| ClientError::Config(e.to_string()))?;
        }
        Ok(())
    }

    /// The subscription sent in heartbeats and pulls.
    pub(crate) fn subscription(&self, topic: &str, version: i64) -> SubscriptionData {
        match self {
            Self::Tag(expression) => {
                SubscriptionData::from_tag_expression(topic, expression, version)
            }
            Self::Sql(expression) => {
                let mut data = SubscriptionData::from_tag_expression(topic, "*", version);
                data.expression_type = Some("SQL92".into());
                data.sub_string.clone_from(expression);
                data.tags_set.clear();
                data.code_set.clear();
                data
            }
        }
    }
}

impl From<&str> for MessageSelector {
    fn from(expression: &str) -> Self {
        Self::by_tag(expression)
    }
}

impl From<String> for MessageSelector {
    fn from(expression: String) -> Self {
        Self::Tag(expression)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_selectors_should_build_the_subscriptions_java_sends() {
        let tag = MessageSelector::from("A || B").subscription("T", 7);
        assert_eq!(tag.expression_type.as_deref(), Some("TAG"));
        assert_eq!(tag.tags_set.len(), 2);
        let sql = MessageSelector::by_sql("a > 1").subscription("T", 7);
        assert_eq!(sql.expression_type.as_deref(), Some("SQL92"));
        assert_eq!(sql.sub_string, "a > 1");
        assert!(sql.tags_set.is_empty() && sql.code_set.is_empty());
        assert_eq!(sql.sub_version, 7);
        assert!(MessageSelector::by_sql("a >").validate().is_err());
        assert!(MessageSelector::by_sql("a > 1").validate().is_ok());
    }
}
