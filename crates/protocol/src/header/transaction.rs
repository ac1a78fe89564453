//! Transaction headers (REMOTING.md §3.6, §5.3): the producer ends a half message with
//! END_TRANSACTION (37, usually oneway); the broker asks a producer about an unresolved one
//! with CHECK_TRANSACTION_STATE (39, oneway, body = the half message record with its real
//! topic and queue restored). Both Java classes extend `RpcRequestHeader`, whose broker name
//! travels as `bname`; its other keys (`ns`, `nsd`, `oway`) are not modelled, like elsewhere.

use crate::CommandHeader;
use crate::record::sys_flag;

/// END_TRANSACTION (37).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct EndTransactionRequestHeader {
    /// The message's real topic (sent by 5.x clients; older ones omit it).
    pub topic: Option<String>,
    /// Must equal the half message's `PGROUP` property.
    pub producer_group: String,
    /// The half message's queue offset on `RMQ_SYS_TRANS_HALF_TOPIC` (the send response's
    /// `queueOffset`, or CHECK_TRANSACTION_STATE's `tranStateTableOffset`).
    pub tran_state_table_offset: i64,
    /// The half message's CommitLog offset (decoded from the send response's offsetMsgId, or
    /// CHECK_TRANSACTION_STATE's `commitLogOffset`).
    pub commit_log_offset: i64,
    /// One of [`TransactionResolution`]'s wire values: 0 unknown, 8 commit, 12 rollback.
    pub commit_or_rollback: i32,
    /// True when answering CHECK_TRANSACTION_STATE.
    pub from_transaction_check: Option<bool>,
    /// The message's `UNIQ_KEY`.
    pub msg_id: String,
    /// Equal to `msg_id` (REMOTING.md §5.3).
    pub transaction_id: Option<String>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

impl EndTransactionRequestHeader {
    /// The decoded `commitOrRollback`; `None` for a value Java refuses ("commitOrRollback
    /// field wrong").
    pub fn resolution(&self) -> Option<TransactionResolution> {
        TransactionResolution::from_wire(self.commit_or_rollback)
    }
}

/// CHECK_TRANSACTION_STATE (39), broker → producer.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct CheckTransactionStateRequestHeader {
    /// The topic of the stored half message (Java sets it before restoring the real topic,
    /// so it reads `RMQ_SYS_TRANS_HALF_TOPIC`); the real topic is in the body.
    pub topic: Option<String>,
    /// Queue offset of the half message to resolve: echo it in END_TRANSACTION.
    pub tran_state_table_offset: i64,
    /// CommitLog offset of the half message to resolve: echo it in END_TRANSACTION.
    pub commit_log_offset: i64,
    /// The message's `UNIQ_KEY`.
    pub msg_id: Option<String>,
    /// Equal to `msg_id`.
    pub transaction_id: Option<String>,
    /// offsetMsgId of the half message record.
    pub offset_msg_id: Option<String>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// How a producer ends a transaction: the transaction bits of `MessageSysFlag` (§4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionResolution {
    /// `TRANSACTION_NOT_TYPE` (0): still undecided; the broker keeps the half message and
    /// asks again later.
    Unknown,
    /// `TRANSACTION_COMMIT_TYPE` (8).
    Commit,
    /// `TRANSACTION_ROLLBACK_TYPE` (12).
    Rollback,
}

impl TransactionResolution {
    /// The `commitOrRollback` value.
    pub fn to_wire(self) -> i32 {
        match self {
            Self::Unknown => 0,
            Self::Commit => sys_flag::TRANSACTION_COMMIT,
            Self::Rollback => sys_flag::TRANSACTION_ROLLBACK,
        }
    }

    /// Parses a `commitOrRollback` value.
    pub fn from_wire(value: i32) -> Option<Self> {
        match value {
            0 => Some(Self::Unknown),
            sys_flag::TRANSACTION_COMMIT => Some(Self::Commit),
            sys_flag::TRANSACTION_ROLLBACK => Some(Self::Rollback),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExtFields;

    #[test]
    fn given_end_transaction_ext_fields_from_a_java_producer_should_decode_them() {
        let ext: ExtFields = [
            ("producerGroup", "TxGroup"),
            ("tranStateTableOffset", "7"),
            ("commitLogOffset", "4096"),
            ("commitOrRollback", "8"),
            ("fromTransactionCheck", "true"),
            ("msgId", "7F0000010001"),
            ("transactionId", "7F0000010001"),
            ("bname", "broker-a"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let h = EndTransactionRequestHeader::from_ext_fields(&ext).unwrap();
        assert_eq!(h.resolution(), Some(TransactionResolution::Commit));
        assert_eq!((h.tran_state_table_offset, h.commit_log_offset), (7, 4096));
        assert_eq!(h.from_transaction_check, Some(true));
        assert_eq!(h.topic, None);
        assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
        let mut back = ExtFields::new();
        h.write_ext_fields(&mut back);
        assert_eq!(back, ext);
    }

    #[test]
    fn given_missing_required_end_transaction_field_should_name_it() {
        let ext: ExtFields = [("producerGroup", "g"), ("commitLogOffset", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let err = EndTransactionRequestHeader::from_ext_fields(&ext).unwrap_err();
        assert!(err.to_string().contains("tranStateTableOffset"), "{err}");
    }

    #[test]
    fn given_resolution_values_should_round_trip_and_refuse_others() {
        for r in [
            TransactionResolution::Unknown,
            TransactionResolution::Commit,
            TransactionResolution::Rollback,
        ] {
            assert_eq!(TransactionResolution::from_wire(r.to_wire()), Some(r));
        }
        assert_eq!(
            [0, 8, 12].map(|v| TransactionResolution::from_wire(v).map(|r| r.to_wire())),
            [Some(0), Some(8), Some(12)]
        );
        assert_eq!(TransactionResolution::from_wire(4), None);
    }
}
