//! CONSUME_MESSAGE_DIRECTLY for a push consumer: the application's listener, once, on a
//! message a broker relayed (Java's `consumeMessageDirectly` of both consume services).

use std::sync::Arc;

use apogee_protocol::body::admin::ConsumeDirectlyOutcome;

use super::{ConsumeResult, Core, Listener, OrderlyResult, restore_retry_topic};
use crate::instance::DirectConsume;
use crate::message::MessageExt;

impl Core {
    /// The listener call for `msg`, shown as the listener sees pulled messages (a retried one
    /// under its original topic).
    pub(super) fn consume_directly(&self, msg: MessageExt) -> DirectConsume {
        let msg = restore_retry_topic(msg, &self.config.group);
        match &self.listener {
            Listener::Concurrent(listener) => {
                let listener = Arc::clone(listener);
                DirectConsume {
                    order: false,
                    run: Box::new(move || match listener.consume(std::slice::from_ref(&msg)) {
                        ConsumeResult::Success => ConsumeDirectlyOutcome::CrSuccess,
                        ConsumeResult::ReconsumeLater => ConsumeDirectlyOutcome::CrLater,
                    }),
                }
            }
            Listener::Orderly(listener) => {
                let listener = Arc::clone(listener);
                DirectConsume {
                    order: true,
                    run: Box::new(move || match listener.consume(std::slice::from_ref(&msg)) {
                        OrderlyResult::Success => ConsumeDirectlyOutcome::CrSuccess,
                        OrderlyResult::SuspendCurrentQueueAMoment => {
                            ConsumeDirectlyOutcome::CrLater
                        }
                    }),
                }
            }
        }
    }
}
