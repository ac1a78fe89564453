//! SQL92 subscriptions (`MessageSelector.bySql`; the language is `apogee_model::sql92`, its
//! rules in docs/protocol-notes.md): each expression text is compiled once and shared by every
//! group and topic subscribing with it; checked at HEART_BEAT, PULL_MESSAGE and
//! CHECK_CLIENT_CONFIG (SUBSCRIPTION_PARSE_FAILED when it does not compile), and evaluated
//! during a pull against each stored record's properties (`TAGS` among them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use apogee_model::sql92::Expression;
use apogee_protocol::record::{RecordAt, decode_record, find_property};
use bytes::Bytes;

use crate::BrokerError;

/// Compiled expressions kept at most (past it the cache starts again). A compiled filter is
/// at most a few hundred KiB (4 KiB of text, 1,000 IN items), so the cache stays bounded.
const CACHE_MAX: usize = 1_000;

/// The compiled-expression cache and `enablePropertyFilter`.
#[derive(Clone)]
pub struct SqlFilters {
    enabled: bool,
    compiled: Arc<Mutex<HashMap<String, Arc<Expression>>>>,
}

impl SqlFilters {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            compiled: Arc::default(),
        }
    }

    /// `None` for a TAG subscription; the compiled filter for SQL92. SYSTEM_ERROR (Java's
    /// remark) when property filtering is off or the type is unknown; SUBSCRIPTION_PARSE_FAILED
    /// when the text does not compile.
    pub fn of(
        &self,
        expression_type: Option<&str>,
        text: &str,
    ) -> Result<Option<Arc<Expression>>, BrokerError> {
        if !self.is_sql(expression_type)? {
            return Ok(None);
        }
        let mut cache = self.compiled.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(expression) = cache.get(text) {
            return Ok(Some(Arc::clone(expression)));
        }
        let expression = Arc::new(compile(text)?);
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(text.to_owned(), Arc::clone(&expression));
        Ok(Some(expression))
    }
}

impl SqlFilters {
    /// Checks a subscription without keeping what it compiles (CHECK_CLIENT_CONFIG: a client
    /// that only asks must not fill the cache).
    pub fn check(&self, expression_type: Option<&str>, text: &str) -> Result<(), BrokerError> {
        if self.is_sql(expression_type)? {
            compile(text)?;
        }
        Ok(())
    }

    /// False for TAG; true for SQL92 when served; Java's SYSTEM_ERROR otherwise.
    fn is_sql(&self, expression_type: Option<&str>) -> Result<bool, BrokerError> {
        let kind = expression_type.unwrap_or("TAG");
        if kind.is_empty() || kind.eq_ignore_ascii_case("TAG") {
            return Ok(false);
        }
        if !self.enabled || !kind.eq_ignore_ascii_case("SQL92") {
            return Err(BrokerError::SystemError(format!(
                "The broker does not support consumer to filter message by {kind}"
            )));
        }
        Ok(true)
    }
}

fn compile(text: &str) -> Result<Expression, BrokerError> {
    Expression::compile(text)
        .map_err(|e| BrokerError::SubscriptionParseFailed(format!("{text}; {e}")))
}

/// Whether a stored record's properties satisfy `expression` (an unreadable record does not).
pub fn record_matches(expression: &Expression, record: &Bytes) -> bool {
    let Ok((RecordAt::Message(stored), _)) = decode_record(record, 0, false) else {
        return false;
    };
    let Ok(properties) = std::str::from_utf8(&stored.properties) else {
        return false;
    };
    expression.matches(&|name| find_property(properties, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::ResponseCode;

    #[test]
    fn given_subscriptions_should_compile_sql_once_and_refuse_what_rocketmq_refuses() {
        let filters = SqlFilters::new(true);
        assert!(filters.of(None, "*").unwrap().is_none());
        assert!(filters.of(Some("TAG"), "a || b").unwrap().is_none());
        let a = filters.of(Some("SQL92"), "a > 3").unwrap().unwrap();
        let b = filters.of(Some("sql92"), "a > 3").unwrap().unwrap();
        assert!(Arc::ptr_eq(&a, &b), "compiled once");
        let err = filters.of(Some("SQL92"), "a >").unwrap_err();
        assert_eq!(err.response_code(), ResponseCode::SUBSCRIPTION_PARSE_FAILED);
        let off = SqlFilters::new(false);
        let err = off.of(Some("SQL92"), "a > 3").unwrap_err();
        assert_eq!(err.response_code(), ResponseCode::SYSTEM_ERROR);
        assert_eq!(
            err.to_string(),
            "The broker does not support consumer to filter message by SQL92"
        );
    }
}
