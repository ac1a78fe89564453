//! Typed topics (RocketMQ 5 `message.type` topic attribute): with
//! `enableTopicMessageTypeCheck` on, a message whose kind differs from its topic's type is
//! refused with MESSAGE_ILLEGAL and RocketMQ's remark ("TopicMessageType validate failed, the
//! expected type is X, but actual type is Y"; the proxy's MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
//! which its remoting side answers as MESSAGE_ILLEGAL). A topic without the attribute is
//! NORMAL; MIXED takes anything; retry and dead-letter topics and messages carrying
//! `TRANSFER_FLAG` are not checked (Java's `ProducerProcessor`).

use apogee_model::TopicConfig;
use apogee_model::system_topic::{is_dlq_topic, is_retry_topic};
use apogee_protocol::{Properties, property};

use crate::BrokerError;

/// The topic attribute naming its type.
pub const ATTRIBUTE: &str = "message.type";
/// A message relayed by the broker itself (Java's `PROPERTY_TRANSFER_FLAG`).
const TRANSFER_FLAG: &str = "TRANSFER_FLAG";

/// `TopicMessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Unspecified,
    Normal,
    Fifo,
    Delay,
    Transaction,
    Mixed,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Normal => "NORMAL",
            Self::Fifo => "FIFO",
            Self::Delay => "DELAY",
            Self::Transaction => "TRANSACTION",
            Self::Mixed => "MIXED",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Unspecified,
            Self::Normal,
            Self::Fifo,
            Self::Delay,
            Self::Transaction,
            Self::Mixed,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }

    /// A topic's type: its `message.type` attribute, NORMAL when absent.
    pub fn of_topic(config: &TopicConfig) -> Self {
        config
            .attributes
            .get(ATTRIBUTE)
            .and_then(|v| Self::parse(v.trim_start_matches('+')))
            .unwrap_or(Self::Normal)
    }

    /// A message's kind from its properties (Java's `parseFromMessageProperty`).
    pub fn of_message(props: &Properties) -> Self {
        if props.get(property::TRANSACTION_PREPARED) == Some("true") {
            Self::Transaction
        } else if props.contains_any(&[
            property::DELAY,
            property::TIMER_DELIVER_MS,
            property::TIMER_DELAY_SEC,
            property::TIMER_DELAY_MS,
        ]) {
            Self::Delay
        } else if props.contains(property::SHARDING_KEY) {
            Self::Fifo
        } else {
            Self::Normal
        }
    }
}

/// The type sends to `topic` must have; `None` for retry and dead-letter topics.
pub fn expected(topic: &TopicConfig) -> Option<MessageType> {
    let name = topic.topic_name.as_str();
    (!is_retry_topic(name) && !is_dlq_topic(name)).then(|| MessageType::of_topic(topic))
}

/// Refuses a message whose kind does not fit its topic's type.
pub fn check(expected: MessageType, props: &Properties) -> Result<(), BrokerError> {
    if props.contains(TRANSFER_FLAG) {
        return Ok(());
    }
    let actual = MessageType::of_message(props);
    if actual == MessageType::Unspecified || (actual != expected && expected != MessageType::Mixed)
    {
        return Err(BrokerError::MessageIllegal(format!(
            "TopicMessageType validate failed, the expected type is {}, but actual type is {}",
            expected.as_str(),
            actual.as_str()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, kind: Option<&str>) -> TopicConfig {
        let mut config = TopicConfig::new(apogee_model::TopicName::new(name).unwrap());
        if let Some(kind) = kind {
            config.attributes.insert(ATTRIBUTE.into(), kind.into());
        }
        config
    }

    fn check(topic: &TopicConfig, props: &Properties) -> Result<(), BrokerError> {
        expected(topic).map_or(Ok(()), |kind| super::check(kind, props))
    }

    fn props(key: &str, value: &str) -> Properties {
        let mut p = Properties::default();
        p.push(key, value);
        p
    }

    #[test]
    fn given_typed_topics_should_take_only_their_kind_of_message() {
        let plain = Properties::default();
        let fifo = props("__SHARDINGKEY", "order-1");
        let delay = props("TIMER_DELAY_SEC", "5");
        let tx = props("TRAN_MSG", "true");
        assert!(
            check(&topic("T", None), &plain).is_ok(),
            "no attribute: NORMAL"
        );
        let err = check(&topic("T", None), &delay).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TopicMessageType validate failed, the expected type is NORMAL, but actual type is DELAY"
        );
        assert!(check(&topic("F", Some("FIFO")), &fifo).is_ok());
        assert!(check(&topic("F", Some("FIFO")), &plain).is_err());
        assert!(check(&topic("D", Some("DELAY")), &props("DELAY", "3")).is_ok());
        assert!(check(&topic("X", Some("TRANSACTION")), &tx).is_ok());
        assert!(check(&topic("X", Some("TRANSACTION")), &delay).is_err());
        for any in [&plain, &fifo, &delay, &tx] {
            assert!(check(&topic("M", Some("MIXED")), any).is_ok());
            assert!(check(&topic("%RETRY%g", Some("FIFO")), any).is_ok());
            assert!(check(&topic("%DLQ%g", Some("FIFO")), any).is_ok());
        }
        assert!(check(&topic("F", Some("FIFO")), &props("TRANSFER_FLAG", "true")).is_ok());
        assert_eq!(
            err.response_code(),
            apogee_protocol::ResponseCode::MESSAGE_ILLEGAL
        );
    }
}
