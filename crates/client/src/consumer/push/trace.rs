//! The push consumer's `SubBefore` / `SubAfter` trace records (see `trace_writer`): one pair
//! per consumed message, sharing a request id, written after the listener returns.

use apogee_protocol::body::trace::TraceEvent;

use super::Core;
use crate::instance::process_random;
use crate::message::MessageExt;

impl Core {
    /// Records a consumed batch, unless tracing is off or the topic is the trace topic.
    pub(super) fn trace_consumed(
        &self,
        batch: &[MessageExt],
        ok: bool,
        (began, ended): (i64, i64),
    ) {
        let Some(trace) = &self.trace else {
            return;
        };
        let group = &self.config.group;
        let cost = (ended - began) / i64::try_from(batch.len().max(1)).unwrap_or(1);
        for m in batch.iter().filter(|m| m.topic != trace.topic) {
            let request_id = format!("{:016X}{:X}", process_random(), m.queue_offset ^ began);
            let msg_id = m.msg_id.clone();
            let keys = m.keys().map(str::to_owned);
            trace.record(TraceEvent {
                trace_type: "SubBefore".into(),
                timestamp: Some(began),
                region_id: m.property("MSG_REGION").map(str::to_owned),
                group_name: Some(group.clone()),
                request_id: Some(request_id.clone()),
                msg_id: msg_id.clone(),
                retry_times: Some(i64::from(m.reconsume_times)),
                keys: keys.clone(),
                client_host: Some(self.instance.client_ip().to_string()),
                ..TraceEvent::default()
            });
            trace.record(TraceEvent {
                trace_type: "SubAfter".into(),
                timestamp: Some(ended),
                group_name: Some(group.clone()),
                request_id: Some(request_id),
                msg_id,
                cost_time: Some(cost),
                success: Some(ok),
                keys,
                // ConsumeReturnType: SUCCESS 0, FAILED 4.
                context_code: Some(if ok { 0 } else { 4 }),
                ..TraceEvent::default()
            });
        }
    }
}
