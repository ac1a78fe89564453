//! Access control of v5 calls, when the broker's is on: the `authorization` and
//! `x-mq-date-time` headers authenticate the call (REMOTING.md §10.6) against the broker's
//! users, and each RPC needs the actions the remoting request it replaces needs (send: Pub on
//! the topic; receive, ack, offsets: Sub on topic and group; route: Pub, Sub or Get). A
//! refusal is an in-band UNAUTHORIZED status, as the Apache proxy answers.

pub use apogee_auth::Check;
use apogee_auth::signature_v5::V5Credentials;
use apogee_broker::messaging::Messaging;
use apogee_model::Actions;
use tonic::Request;

use crate::pb;
use crate::status::{Failure, fail};

/// Passes or refuses a call needing `checks`.
pub fn allow<T>(
    messaging: &Messaging,
    request: &Request<T>,
    checks: &[Check],
) -> Result<(), Failure> {
    if !messaging.access.enabled() {
        return Ok(());
    }
    let header = |name: &str| request.metadata().get(name).and_then(|v| v.to_str().ok());
    let credentials =
        header("authorization").and_then(|a| V5Credentials::parse(a, header("x-mq-date-time")));
    let peer = request
        .remote_addr()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    messaging
        .access
        .guard()
        .check_v5(peer, credentials.as_ref(), checks)
        .map_err(|refusal| fail(pb::Code::Unauthorized, &refusal.remark))
}

/// Sending to a topic.
pub fn publish(topic: &str) -> Vec<Check<'static>> {
    vec![Check::topic(topic, Actions::PUB)]
}

/// Consuming a topic as a group.
pub fn subscribe(topic: &str, group: &str) -> Vec<Check<'static>> {
    vec![
        Check::topic(topic, Actions::SUB),
        Check::group(group, Actions::SUB),
    ]
}

/// Looking up a topic's route.
pub fn route(topic: &str) -> Vec<Check<'static>> {
    vec![Check::topic(
        topic,
        Actions::PUB.or(Actions::SUB).or(Actions::GET),
    )]
}
