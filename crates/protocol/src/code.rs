//! Request and response codes: open newtypes over `i32` with named constants, and one table
//! that names every known code. Unknown codes are legal values and survive a round trip.

use std::fmt;

use crate::access::{Access, rules};

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

/// The request table: each code with its name and what it needs from access control.
macro_rules! request_table {
    ($( $name:ident = $value:expr => $access:ident ),* $(,)?) => {
        impl RequestCode {
            $( pub const $name: RequestCode = RequestCode($value); )*
        }

        static REQUEST_CODES: &[CodeInfo] = &[ $( CodeInfo { code: $value, name: stringify!($name) }, )* ];

        static REQUEST_ACCESS: &[(i32, Access)] = &[ $( ($value, rules::$access), )* ];
    };
}

/// A request code (`RequestCode.java`). Open set: any `i32` is representable.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestCode(pub i32);

/// A response code (`ResponseCode.java` + `RemotingSysResponseCode.java`). Open set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseCode(pub i32);

request_table!(
    SEND_MESSAGE = 10 => SEND_V1,
    PULL_MESSAGE = 11 => PULL,
    QUERY_MESSAGE = 12 => TOPIC_READ,
    QUERY_BROKER_OFFSET = 13 => CLUSTER_GET,
    QUERY_CONSUMER_OFFSET = 14 => OFFSET_READ,
    UPDATE_CONSUMER_OFFSET = 15 => OFFSET_WRITE,
    UPDATE_AND_CREATE_TOPIC = 17 => TOPIC_CREATE,
    UPDATE_AND_CREATE_TOPIC_LIST = 18 => CLUSTER_CREATE,
    GET_ALL_TOPIC_CONFIG = 21 => CLUSTER_LIST,
    GET_TOPIC_CONFIG_LIST = 22 => CLUSTER_LIST,
    GET_TOPIC_NAME_LIST = 23 => CLUSTER_LIST,
    UPDATE_BROKER_CONFIG = 25 => CLUSTER_UPDATE,
    GET_BROKER_CONFIG = 26 => CLUSTER_GET,
    TRIGGER_DELETE_FILES = 27 => CLUSTER_UPDATE,
    GET_BROKER_RUNTIME_INFO = 28 => CLUSTER_GET,
    SEARCH_OFFSET_BY_TIMESTAMP = 29 => TOPIC_READ,
    GET_MAX_OFFSET = 30 => TOPIC_READ,
    GET_MIN_OFFSET = 31 => TOPIC_READ,
    GET_EARLIEST_MSG_STORETIME = 32 => TOPIC_READ,
    VIEW_MESSAGE_BY_ID = 33 => TOPIC_READ,
    HEART_BEAT = 34 => HEARTBEAT,
    UNREGISTER_CLIENT = 35 => UNREGISTER,
    CONSUMER_SEND_MSG_BACK = 36 => SEND_BACK,
    END_TRANSACTION = 37 => END_TRANSACTION,
    GET_CONSUMER_LIST_BY_GROUP = 38 => CONSUMER_GROUP_READ,
    CHECK_TRANSACTION_STATE = 39 => NOT_SERVED,
    NOTIFY_CONSUMER_IDS_CHANGED = 40 => NOT_SERVED,
    LOCK_BATCH_MQ = 41 => LOCK,
    UNLOCK_BATCH_MQ = 42 => LOCK,
    GET_ALL_CONSUMER_OFFSET = 43 => CLUSTER_GET,
    GET_ALL_DELAY_OFFSET = 45 => CLUSTER_GET,
    CHECK_CLIENT_CONFIG = 46 => OPEN,
    GET_CLIENT_CONFIG = 47 => OPEN,
    UPDATE_AND_CREATE_ACL_CONFIG = 50 => CLUSTER_UPDATE,
    DELETE_ACL_CONFIG = 51 => CLUSTER_UPDATE,
    GET_BROKER_CLUSTER_ACL_INFO = 52 => CLUSTER_GET,
    UPDATE_GLOBAL_WHITE_ADDRS_CONFIG = 53 => CLUSTER_UPDATE,
    GET_BROKER_CLUSTER_ACL_CONFIG = 54 => CLUSTER_GET,
    GET_TIMER_CHECK_POINT = 60 => CLUSTER_GET,
    GET_TIMER_METRICS = 61 => CLUSTER_GET,
    PUT_KV_CONFIG = 100 => CLUSTER_UPDATE,
    GET_KV_CONFIG = 101 => CLUSTER_GET,
    DELETE_KV_CONFIG = 102 => CLUSTER_UPDATE,
    REGISTER_BROKER = 103 => CLUSTER_UPDATE,
    UNREGISTER_BROKER = 104 => CLUSTER_UPDATE,
    GET_ROUTEINFO_BY_TOPIC = 105 => ROUTE,
    GET_BROKER_CLUSTER_INFO = 106 => CLUSTER_GET,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200 => CLUSTER_CREATE,
    GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201 => CLUSTER_LIST,
    GET_TOPIC_STATS_INFO = 202 => TOPIC_GET,
    GET_CONSUMER_CONNECTION_LIST = 203 => CONSUMER_GROUP_GET,
    GET_PRODUCER_CONNECTION_LIST = 204 => CLUSTER_GET,
    WIPE_WRITE_PERM_OF_BROKER = 205 => CLUSTER_UPDATE,
    GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206 => CLUSTER_LIST,
    DELETE_SUBSCRIPTIONGROUP = 207 => GROUP_DELETE,
    GET_CONSUME_STATS = 208 => CONSUMER_STATS,
    SUSPEND_CONSUMER = 209 => NOT_SERVED,
    RESUME_CONSUMER = 210 => NOT_SERVED,
    RESET_CONSUMER_OFFSET_IN_CONSUMER = 211 => NOT_SERVED,
    RESET_CONSUMER_OFFSET_IN_BROKER = 212 => NOT_SERVED,
    ADJUST_CONSUMER_THREAD_POOL = 213 => NOT_SERVED,
    WHO_CONSUME_THE_MESSAGE = 214 => NOT_SERVED,
    DELETE_TOPIC_IN_BROKER = 215 => TOPIC_DELETE,
    DELETE_TOPIC_IN_NAMESRV = 216 => CLUSTER_UPDATE,
    REGISTER_TOPIC_IN_NAMESRV = 217 => CLUSTER_UPDATE,
    GET_KVLIST_BY_NAMESPACE = 219 => CLUSTER_GET,
    RESET_CONSUMER_CLIENT_OFFSET = 220 => NOT_SERVED,
    GET_CONSUMER_STATUS_FROM_CLIENT = 221 => NOT_SERVED,
    INVOKE_BROKER_TO_RESET_OFFSET = 222 => TOPIC_GROUP_UPDATE,
    INVOKE_BROKER_TO_GET_CONSUMER_STATUS = 223 => TOPIC_GROUP_GET,
    GET_TOPICS_BY_CLUSTER = 224 => CLUSTER_LIST,
    UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST = 225 => CLUSTER_CREATE,
    QUERY_TOPIC_CONSUME_BY_WHO = 300 => TOPIC_GET,
    REGISTER_FILTER_SERVER = 301 => NOT_SERVED,
    REGISTER_MESSAGE_FILTER_CLASS = 302 => NOT_SERVED,
    QUERY_CONSUME_TIME_SPAN = 303 => TOPIC_GROUP_GET,
    GET_SYSTEM_TOPIC_LIST_FROM_NS = 304 => CLUSTER_LIST,
    GET_SYSTEM_TOPIC_LIST_FROM_BROKER = 305 => CLUSTER_LIST,
    CLEAN_EXPIRED_CONSUMEQUEUE = 306 => CLUSTER_UPDATE,
    GET_CONSUMER_RUNNING_INFO = 307 => CONSUMER_GROUP_GET,
    QUERY_CORRECTION_OFFSET = 308 => CORRECTION_GET,
    CONSUME_MESSAGE_DIRECTLY = 309 => DIRECT,
    SEND_MESSAGE_V2 = 310 => SEND_V2,
    GET_UNIT_TOPIC_LIST = 311 => CLUSTER_LIST,
    GET_HAS_UNIT_SUB_TOPIC_LIST = 312 => CLUSTER_LIST,
    GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST = 313 => CLUSTER_LIST,
    CLONE_GROUP_OFFSET = 314 => CLONE_UPDATE,
    VIEW_BROKER_STATS_DATA = 315 => CLUSTER_GET,
    CLEAN_UNUSED_TOPIC = 316 => CLUSTER_UPDATE,
    GET_BROKER_CONSUME_STATS = 317 => CLUSTER_GET,
    UPDATE_NAMESRV_CONFIG = 318 => CLUSTER_UPDATE,
    GET_NAMESRV_CONFIG = 319 => CLUSTER_GET,
    SEND_BATCH_MESSAGE = 320 => SEND_V2,
    QUERY_CONSUME_QUEUE = 321 => CONSUMER_STATS,
    QUERY_DATA_VERSION = 322 => CLUSTER_GET,
    RESUME_CHECK_HALF_MESSAGE = 323 => TOPIC_UPDATE,
    SEND_REPLY_MESSAGE = 324 => SEND_V1,
    SEND_REPLY_MESSAGE_V2 = 325 => SEND_V2,
    PUSH_REPLY_MESSAGE_TO_CLIENT = 326 => NOT_SERVED,
    ADD_WRITE_PERM_OF_BROKER = 327 => CLUSTER_UPDATE,
    GET_ALL_PRODUCER_INFO = 328 => CLUSTER_GET,
    DELETE_EXPIRED_COMMITLOG = 329 => CLUSTER_UPDATE,
    QUERY_TOPICS_BY_CONSUMER = 343 => GROUP_GET,
    QUERY_SUBSCRIPTION_BY_CONSUMER = 345 => TOPIC_GROUP_GET,
    GET_TOPIC_CONFIG = 351 => TOPIC_GET,
    GET_SUBSCRIPTIONGROUP_CONFIG = 352 => GROUP_GET,
    UPDATE_AND_GET_GROUP_FORBIDDEN = 353 => TOPIC_GROUP_UPDATE,
    LITE_PULL_MESSAGE = 361 => PULL,
    RECALL_MESSAGE = 370 => TOPIC_PUB,
    QUERY_ASSIGNMENT = 400 => OPEN,
    SET_MESSAGE_REQUEST_MODE = 401 => CLUSTER_UPDATE,
    GET_ALL_MESSAGE_REQUEST_MODE = 402 => CLUSTER_GET,
    UPDATE_AND_CREATE_STATIC_TOPIC = 513 => CLUSTER_CREATE,
    GET_BROKER_MEMBER_GROUP = 901 => CLUSTER_GET,
    ADD_BROKER = 902 => CLUSTER_UPDATE,
    REMOVE_BROKER = 903 => CLUSTER_UPDATE,
    BROKER_HEARTBEAT = 904 => CLUSTER_UPDATE,
    NOTIFY_MIN_BROKER_ID_CHANGE = 905 => CLUSTER_UPDATE,
    EXCHANGE_BROKER_HA_INFO = 906 => CLUSTER_UPDATE,
    GET_BROKER_HA_STATUS = 907 => CLUSTER_GET,
    RESET_MASTER_FLUSH_OFFSET = 908 => CLUSTER_UPDATE,
    CONTROLLER_ALTER_SYNC_STATE_SET = 1001 => CLUSTER_UPDATE,
    CONTROLLER_ELECT_MASTER = 1002 => CLUSTER_UPDATE,
    CONTROLLER_REGISTER_BROKER = 1003 => CLUSTER_UPDATE,
    CONTROLLER_GET_REPLICA_INFO = 1004 => CLUSTER_GET,
    CONTROLLER_GET_METADATA_INFO = 1005 => CLUSTER_GET,
    CONTROLLER_GET_SYNC_STATE_DATA = 1006 => CLUSTER_GET,
    GET_BROKER_EPOCH_CACHE = 1007 => CLUSTER_GET,
    NOTIFY_BROKER_ROLE_CHANGED = 1008 => CLUSTER_UPDATE,
    UPDATE_CONTROLLER_CONFIG = 1009 => CLUSTER_UPDATE,
    GET_CONTROLLER_CONFIG = 1010 => CLUSTER_GET,
    CLEAN_BROKER_DATA = 1011 => CLUSTER_UPDATE,
    CONTROLLER_GET_NEXT_BROKER_ID = 1012 => CLUSTER_GET,
    CONTROLLER_APPLY_BROKER_ID = 1013 => CLUSTER_UPDATE,
    AUTH_CREATE_USER = 3001 => CLUSTER_UPDATE,
    AUTH_UPDATE_USER = 3002 => CLUSTER_UPDATE,
    AUTH_DELETE_USER = 3003 => CLUSTER_UPDATE,
    AUTH_GET_USER = 3004 => CLUSTER_GET,
    AUTH_LIST_USER = 3005 => CLUSTER_GET,
    AUTH_CREATE_ACL = 3006 => CLUSTER_UPDATE,
    AUTH_UPDATE_ACL = 3007 => CLUSTER_UPDATE,
    AUTH_DELETE_ACL = 3008 => CLUSTER_UPDATE,
    AUTH_GET_ACL = 3009 => CLUSTER_GET,
    AUTH_LIST_ACL = 3010 => CLUSTER_GET,
    // Apogee's own: the controllers' raft messages (JSON bodies), on the controller port.
    APOGEE_RAFT_APPEND_ENTRIES = 7101 => CLUSTER_UPDATE,
    APOGEE_RAFT_VOTE = 7102 => CLUSTER_UPDATE,
    APOGEE_RAFT_INSTALL_SNAPSHOT = 7103 => CLUSTER_UPDATE,
    POP_MESSAGE = 200_050 => POP,
    ACK_MESSAGE = 200_051 => POP,
    PEEK_MESSAGE = 200_052 => POP,
    CHANGE_MESSAGE_INVISIBLETIME = 200_053 => POP,
    NOTIFICATION = 200_054 => POP,
    POLLING_INFO = 200_055 => POP_INFO,
    POP_ROLLBACK = 200_056 => POP,
    BATCH_ACK_MESSAGE = 200_151 => NOT_SERVED, // body names the groups: admin only under ACL
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
    CONTROLLER_FENCED_MASTER_EPOCH = 2000,
    CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH = 2001,
    CONTROLLER_INVALID_MASTER = 2002,
    CONTROLLER_INVALID_REPLICAS = 2003,
    CONTROLLER_MASTER_NOT_AVAILABLE = 2004,
    CONTROLLER_INVALID_REQUEST = 2005,
    CONTROLLER_BROKER_NOT_ALIVE = 2006,
    CONTROLLER_NOT_LEADER = 2007,
    CONTROLLER_BROKER_METADATA_NOT_EXIST = 2008,
    CONTROLLER_INVALID_CLEAN_BROKER_METADATA = 2009,
    CONTROLLER_BROKER_NEED_TO_BE_REGISTERED = 2010,
    CONTROLLER_MASTER_STILL_EXIST = 2011,
    CONTROLLER_ELECT_MASTER_FAILED = 2012,
    CONTROLLER_ALTER_SYNC_STATE_SET_FAILED = 2013,
    CONTROLLER_BROKER_ID_INVALID = 2014,
    CONTROLLER_JRAFT_INTERNAL_ERROR = 2015,
    CONTROLLER_BROKER_LIVE_INFO_NOT_EXISTS = 2016,
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

    /// What this code needs from access control; an unknown code needs administrator rights.
    pub fn access(self) -> Access {
        REQUEST_ACCESS
            .binary_search_by_key(&self.0, |(code, _)| *code)
            .map_or(rules::NOT_SERVED, |i| REQUEST_ACCESS[i].1)
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
    fn given_the_access_column_should_be_sorted_by_code_for_lookup() {
        assert!(REQUEST_ACCESS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(RequestCode::SEND_MESSAGE_V2.access(), rules::SEND_V2);
        assert_eq!(RequestCode::AUTH_LIST_ACL.access(), rules::CLUSTER_GET);
        assert_eq!(RequestCode(4242).access(), rules::NOT_SERVED);
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
