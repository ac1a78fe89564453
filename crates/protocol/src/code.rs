//! Request and response codes: open newtypes over `i32` with named constants, and one table
//! that names every known code. Unknown codes are legal values and survive a round trip.

use std::fmt;

/// What the code table records about a known code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: i32,
    pub name: &'static str,
}

macro_rules! code_table {
    ($ty:ident, $table:ident, $( $name:ident = $value:expr ),* $(,)?) => {
        impl $ty {
            $( pub const $name: $ty = $ty($value); )*
        }

        static $table: &[CodeInfo] = &[ $( CodeInfo { code: $value, name: stringify!($name) }, )* ];
    };
}

/// A request code (`RequestCode.java`). Open set: any `i32` is representable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestCode(pub i32);

/// A response code (`ResponseCode.java` + `RemotingSysResponseCode.java`). Open set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseCode(pub i32);

code_table!(
    RequestCode,
    REQUEST_CODES,
    SEND_MESSAGE = 10,
    PULL_MESSAGE = 11,
    QUERY_MESSAGE = 12,
    QUERY_BROKER_OFFSET = 13,
    QUERY_CONSUMER_OFFSET = 14,
    UPDATE_CONSUMER_OFFSET = 15,
    UPDATE_AND_CREATE_TOPIC = 17,
    UPDATE_AND_CREATE_TOPIC_LIST = 18,
    GET_ALL_TOPIC_CONFIG = 21,
    GET_TOPIC_CONFIG_LIST = 22,
    GET_TOPIC_NAME_LIST = 23,
    UPDATE_BROKER_CONFIG = 25,
    GET_BROKER_CONFIG = 26,
    TRIGGER_DELETE_FILES = 27,
    GET_BROKER_RUNTIME_INFO = 28,
    SEARCH_OFFSET_BY_TIMESTAMP = 29,
    GET_MAX_OFFSET = 30,
    GET_MIN_OFFSET = 31,
    GET_EARLIEST_MSG_STORETIME = 32,
    VIEW_MESSAGE_BY_ID = 33,
    HEART_BEAT = 34,
    UNREGISTER_CLIENT = 35,
    CONSUMER_SEND_MSG_BACK = 36,
    END_TRANSACTION = 37,
    GET_CONSUMER_LIST_BY_GROUP = 38,
    CHECK_TRANSACTION_STATE = 39,
    NOTIFY_CONSUMER_IDS_CHANGED = 40,
    LOCK_BATCH_MQ = 41,
    UNLOCK_BATCH_MQ = 42,
    GET_ALL_CONSUMER_OFFSET = 43,
    GET_ALL_DELAY_OFFSET = 45,
    CHECK_CLIENT_CONFIG = 46,
    GET_CLIENT_CONFIG = 47,
    UPDATE_AND_CREATE_ACL_CONFIG = 50,
    DELETE_ACL_CONFIG = 51,
    GET_BROKER_CLUSTER_ACL_INFO = 52,
    UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53,
    GET_BROKER_CLUSTER_ACL_CONFIG = 54,
    GET_TIMER_CHECK_POINT = 60,
    GET_TIMER_METRICS = 61,
    PUT_KV_CONFIG = 100,
    GET_KV_CONFIG = 101,
    DELETE_KV_CONFIG = 102,
    REGISTER_BROKER = 103,
    UNREGISTER_BROKER = 104,
    GET_ROUTEINFO_BY_TOPIC = 105,
    GET_BROKER_CLUSTER_INFO = 106,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
    GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201,
    GET_TOPIC_STATS_INFO = 202,
    GET_CONSUMER_CONNECTION_LIST = 203,
    GET_PRODUCER_CONNECTION_LIST = 204,
    WIPE_WRITE_PERM_OF_BROKER = 205,
    GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206,
    DELETE_SUBSCRIPTIONGROUP = 207,
    GET_CONSUME_STATS = 208,
    SUSPEND_CONSUMER = 209,
    RESUME_CONSUMER = 210,
    RESET_CONSUMER_OFFSET_IN_CONSUMER = 211,
    RESET_CONSUMER_OFFSET_IN_BROKER = 212,
    ADJUST_CONSUMER_THREAD_POOL = 213,
    WHO_CONSUME_THE_MESSAGE = 214,
    DELETE_TOPIC_IN_BROKER = 215,
    DELETE_TOPIC_IN_NAMESRV = 216,
    REGISTER_TOPIC_IN_NAMESRV = 217,
    GET_KVLIST_BY_NAMESPACE = 219,
    RESET_CONSUMER_CLIENT_OFFSET = 220,
    GET_CONSUMER_STATUS_FROM_CLIENT = 221,
    INVOKE_BROKER_TO_RESET_OFFSET = 222,
    INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223,
    GET_TOPICS_BY_CLUSTER = 224,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST = 225,
    QUERY_TOPIC_CONSUME_BY_WHO = 300,
    REGISTER_FILTER_SERVER = 301,
    REGISTER_MESSAGE_FILTER_CLASS = 302,
    QUERY_CONSUME_TIME_SPAN = 303,
    GET_SYSTEM_TOPIC_LIST_FROM_NS = 304,
    GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305,
    CLEAN_EXPIRED_CONSUMEQUEUE = 306,
    GET_CONSUMER_RUNNING_INFO = 307,
    QUERY_CORRECTION_OFFSET = 308,
    CONSUME_MESSAGE_DIRECTLY = 309,
    SEND_MESSAGE_V2 = 310,
    GET_UNIT_TOPIC_LIST = 311,
    GET_HAS_UNIT_SUB_TOPIC_LIST = 312,
    GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST = 313,
    CLONE_GROUP_OFFSET = 314,
    VIEW_BROKER_STATS_DATA = 315,
    CLEAN_UNUSED_TOPIC = 316,
    GET_BROKER_CONSUME_STATS = 317,
    UPDATE_NAMESRV_CONFIG = 318,
    GET_NAMESRV_CONFIG = 319,
    SEND_BATCH_MESSAGE = 320,
    QUERY_CONSUME_QUEUE = 321,
    QUERY_DATA_VERSION = 322,
    RESUME_CHECK_HALF_MESSAGE = 323,
    SEND_REPLY_MESSAGE = 324,
    SEND_REPLY_MESSAGE_V2 = 325,
    PUSH_REPLY_MESSAGE_TO_CLIENT = 326,
    ADD_WRITE_PERM_OF_BROKER = 327,
    GET_ALL_PRODUCER_INFO = 328,
    DELETE_EXPIRED_COMMITLOG = 329,
    QUERY_TOPICS_BY_CONSUMER = 343,
    QUERY_SUBSCRIPTION_BY_CONSUMER = 345,
    GET_TOPIC_CONFIG = 351,
    GET_SUBSCRIPTIONGROUP_CONFIG = 352,
    UPDATE_AND_GET_GROUP_FORBIDDEN = 353,
    LITE_PULL_MESSAGE = 361,
    RECALL_MESSAGE = 370,
    QUERY_ASSIGNMENT = 400,
    SET_MESSAGE_REQUEST_MODE = 401,
    GET_ALL_MESSAGE_REQUEST_MODE = 402,
    UPDATE_AND_CREATE_STATIC_TOPIC = 513,
    GET_BROKER_MEMBER_GROUP = 901,
    ADD_BROKER = 902,
    REMOVE_BROKER = 903,
    BROKER_HEARTBEAT = 904,
    NOTIFY_MIN_BROKER_ID_CHANGE = 905,
    EXCHANGE_BROKER_HA_INFO = 906,
    GET_BROKER_HA_STATUS = 907,
    RESET_MASTER_FLUSH_OFFSET = 908,
    POP_MESSAGE = 200_050,
    ACK_MESSAGE = 200_051,
    PEEK_MESSAGE = 200_052,
    CHANGE_MESSAGE_INVISIBLETIME = 200_053,
    NOTIFICATION = 200_054,
    POLLING_INFO = 200_055,
    POP_ROLLBACK = 200_056,
    BATCH_ACK_MESSAGE = 200_151,
);

code_table!(
    ResponseCode,
    RESPONSE_CODES,
    SUCCESS = 0,
    SYSTEM_ERROR = 1,
    SYSTEM_BUSY = 2,
    REQUEST_CODE_NOT_SUPPORTED = 3,
    TRANSACTION_FAILED = 4,
    FLUSH_DISK_TIMEOUT = 10,
    SLAVE_NOT_AVAILABLE = 11,
    FLUSH_SLAVE_TIMEOUT = 12,
    MESSAGE_ILLEGAL = 13,
    SERVICE_NOT_AVAILABLE = 14,
    VERSION_NOT_SUPPORTED = 15,
    NO_PERMISSION = 16,
    TOPIC_NOT_EXIST = 17,
    TOPIC_EXIST_ALREADY = 18,
    PULL_NOT_FOUND = 19,
    PULL_RETRY_IMMEDIATELY = 20,
    PULL_OFFSET_MOVED = 21,
    QUERY_NOT_FOUND = 22,
    SUBSCRIPTION_PARSE_FAILED = 23,
    SUBSCRIPTION_NOT_EXIST = 24,
    SUBSCRIPTION_NOT_LATEST = 25,
    SUBSCRIPTION_GROUP_NOT_EXIST = 26,
    FILTER_DATA_NOT_EXIST = 27,
    FILTER_DATA_NOT_LATEST = 28,
    INVALID_PARAMETER = 29,
    TRANSACTION_SHOULD_COMMIT = 200,
    TRANSACTION_SHOULD_ROLLBACK = 201,
    TRANSACTION_STATE_UNKNOW = 202,
    TRANSACTION_STATE_GROUP_WRONG = 203,
    NO_BUYER_ID = 204,
    NOT_IN_CURRENT_UNIT = 205,
    CONSUMER_NOT_ONLINE = 206,
    CONSUME_MSG_TIMEOUT = 207,
    NO_MESSAGE = 208,
    POLLING_FULL = 209,
    POLLING_TIMEOUT = 210,
    BROKER_NOT_EXIST = 211,
    BROKER_DISPATCH_NOT_COMPLETE = 212,
    BROADCAST_CONSUMPTION = 213,
    FLOW_CONTROL = 215,
    NOT_LEADER_FOR_QUEUE = 501,
    ILLEGAL_OPERATION = 604,
    RPC_UNKNOWN = -1000,
    RPC_ADDR_IS_NULL = -1002,
    RPC_SEND_TO_CHANNEL_FAILED = -1004,
    RPC_TIME_OUT = -1006,
    GO_AWAY = 1500,
);

fn lookup(table: &'static [CodeInfo], code: i32) -> Option<&'static str> {
    table
        .iter()
        .find(|info| info.code == code)
        .map(|info| info.name)
}

impl RequestCode {
    /// The RocketMQ name of this code, if it is one we know.
    pub fn name(self) -> Option<&'static str> {
        lookup(REQUEST_CODES, self.0)
    }

    /// Every known request code.
    pub fn table() -> &'static [CodeInfo] {
        REQUEST_CODES
    }
}

impl ResponseCode {
    /// The RocketMQ name of this code, if it is one we know.
    pub fn name(self) -> Option<&'static str> {
        lookup(RESPONSE_CODES, self.0)
    }

    /// Every known response code.
    pub fn table() -> &'static [CodeInfo] {
        RESPONSE_CODES
    }
}

macro_rules! debug_by_name {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{name}({})", self.0),
                    None => write!(f, "{}({})", stringify!($ty), self.0),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

debug_by_name!(RequestCode);
debug_by_name!(ResponseCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_code_tables_should_hold_no_duplicate_numbers() {
        for table in [RequestCode::table(), ResponseCode::table()] {
            let mut codes: Vec<i32> = table.iter().map(|i| i.code).collect();
            codes.sort_unstable();
            let before = codes.len();
            codes.dedup();
            assert_eq!(before, codes.len());
        }
    }

    #[test]
    fn given_known_and_unknown_codes_should_name_or_number_them() {
        assert_eq!(
            RequestCode::GET_ROUTEINFO_BY_TOPIC.to_string(),
            "GET_ROUTEINFO_BY_TOPIC(105)"
        );
        assert_eq!(RequestCode(4242).to_string(), "RequestCode(4242)");
        assert_eq!(ResponseCode::TOPIC_NOT_EXIST.0, 17);
        assert_eq!(ResponseCode(-1006).name(), Some("RPC_TIME_OUT"));
    }
}
