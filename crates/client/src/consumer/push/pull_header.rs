//! The PULL_MESSAGE header a push consumer sends for one queue.

use apogee_protocol::body::client::{MessageModel, MessageQueue, SubscriptionData};
use apogee_protocol::header::message::{PullMessageRequestHeader, pull_sys_flag};

use super::{BROKER_SUSPEND_MAX, Core};

impl Core {
    /// The header of the next pull of `queue` at `next_offset`, to broker `pulled_from`. The
    /// consumed offset rides along (COMMIT_OFFSET) in clustering mode, except to a slave,
    /// which never takes it (Java's client clears the flag too).
    pub(super) fn pull_header(
        &self,
        queue: &MessageQueue,
        next_offset: i64,
        pulled_from: i64,
        subscription: &SubscriptionData,
    ) -> PullMessageRequestHeader {
        let clustering = self.config.message_model == MessageModel::Clustering;
        let commit = self
            .offsets
            .cached(queue)
            .filter(|o| clustering && *o > 0 && pulled_from == apogee_model::MASTER_ID);
        let mut header = super::super::pull_header(
            &self.config.group,
            queue,
            (next_offset, self.config.pull_batch_size),
            BROKER_SUSPEND_MAX,
            subscription,
        );
        if let Some(offset) = commit {
            header.sys_flag |= pull_sys_flag::COMMIT_OFFSET;
            header.commit_offset = offset;
        }
        header
    }
}
