//! Reading a queue: walk consume-queue units from an offset, filter by tags code, and collect
//! the referenced records as zero-copy slices of the CommitLog. Statuses and the next offset
//! follow Java's `DefaultMessageStore.getMessage`, which clients' pull semantics rest on.

use bytes::Bytes;

use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueue, UNIT_BYTES};

/// Java's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
    /// Apogee's own: the queue exists but its files cannot be opened now (tried again
    /// later). Unlike `NoMatchedLogicQueue`, nothing about the reader's offset is implied.
    QueueUnavailable,
}

/// What a read returned.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// The records, each exactly as stored.
    pub messages: Vec<Bytes>,
    /// Queue offset of each message.
    pub queue_offsets: Vec<i64>,
}

impl GetMessageResult {
    fn empty(status: GetMessageStatus, next: i64, min: i64, max: i64) -> Self {
        Self {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
        }
    }

    pub fn total_bytes(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }
}

/// What a read keeps: a test of each consume-queue unit's tags code, then a test of the
/// stored record itself (SQL92 filters read its properties). Skipped messages still advance
/// the next offset, as in Java.
#[derive(Clone, Copy, Default)]
pub struct ReadFilter<'a> {
    pub tags: Option<&'a dyn Fn(i64) -> bool>,
    pub record: Option<&'a dyn Fn(&Bytes) -> bool>,
}

/// Units one read with a record filter looks at, at most (Java's `16000 / 20`).
pub const RECORD_FILTER_SCAN_MAX: usize = 800;

/// Progress through a queue during one read.
struct Scan {
    cursor: i64,
    bytes: usize,
    removing: bool,
    commit_log_min: i64,
}

impl Scan {
    /// Takes messages from a run of units; false once a count or byte limit is reached.
    fn take_units(
        &mut self,
        units: &[u8],
        commit_log: &CommitLog,
        filter: ReadFilter<'_>,
        (max_count, max_bytes): (usize, usize),
        result: &mut GetMessageResult,
    ) -> bool {
        prefetch_records(units, commit_log, max_bytes);
        for raw in units.chunks_exact(UNIT_BYTES) {
            let phys = i64::from_be_bytes(raw[0..8].try_into().unwrap_or([0; 8]));
            let size = i32::from_be_bytes(raw[8..12].try_into().unwrap_or([0; 4]));
            let tags = i64::from_be_bytes(raw[12..20].try_into().unwrap_or([0; 8]));
            let size_bytes = usize::try_from(size).unwrap_or(0);
            if !result.messages.is_empty()
                && (result.messages.len() >= max_count || self.bytes + size_bytes > max_bytes)
            {
                return false;
            }
            self.cursor += 1;
            if size == i32::MAX || size <= 0 {
                continue;
            }
            if phys < self.commit_log_min {
                self.removing = true;
                continue;
            }
            if filter.tags.is_some_and(|keep| !keep(tags)) {
                continue;
            }
            match commit_log.read(phys, size_bytes) {
                Some(record) if filter.record.is_some_and(|keep| !keep(&record)) => {}
                Some(record) => {
                    self.bytes += record.len();
                    result.queue_offsets.push(self.cursor - 1);
                    result.messages.push(record);
                }
                None => self.removing = true,
            }
        }
        true
    }
}

/// A read of a queue that exists but cannot be opened now: the reader keeps its offset.
pub(crate) fn unavailable(offset: i64) -> GetMessageResult {
    GetMessageResult::empty(GetMessageStatus::QueueUnavailable, offset, 0, 0)
}

pub(crate) fn get_messages(
    commit_log: &CommitLog,
    queue: Option<&ConsumeQueue>,
    offset: i64,
    (max_count, max_bytes): (usize, usize),
    filter: ReadFilter<'_>,
) -> GetMessageResult {
    use GetMessageStatus as S;
    let Some(queue) = queue else {
        return GetMessageResult::empty(S::NoMatchedLogicQueue, 0, 0, 0);
    };
    let (min, max) = (queue.min_offset(), queue.max_offset());
    if max == 0 {
        return GetMessageResult::empty(S::NoMessageInQueue, 0, min, max);
    }
    if offset < min {
        return GetMessageResult::empty(S::OffsetTooSmall, min, min, max);
    }
    if offset == max {
        return GetMessageResult::empty(S::OffsetOverflowOne, offset, min, max);
    }
    if offset > max {
        return GetMessageResult::empty(
            S::OffsetOverflowBadly,
            if min == 0 { min } else { max },
            min,
            max,
        );
    }
    let mut result = GetMessageResult::empty(S::NoMatchedMessage, offset, min, max);
    let mut scan = Scan {
        cursor: offset,
        bytes: 0,
        removing: false,
        commit_log_min: commit_log.min_offset(),
    };
    let count_max = max_count.max(1);
    // A record filter reads each unit's record: one read scans a bounded number of units
    // (Java's 16,000 bytes of units), then answers with how far it got.
    let scan_end = match filter.record {
        Some(_) => offset.saturating_add(
            i64::try_from(RECORD_FILTER_SCAN_MAX.max(count_max)).unwrap_or(i64::MAX),
        ),
        None => i64::MAX,
    };
    while scan.cursor < max.min(scan_end) && result.messages.len() < count_max {
        let Some(units) = queue.units(scan.cursor, count_max * 4 + 16) else {
            result.status = S::OffsetFoundNull;
            result.next_begin_offset = scan.cursor + 1;
            return result;
        };
        if !scan.take_units(
            &units,
            commit_log,
            filter,
            (count_max, max_bytes),
            &mut result,
        ) {
            break;
        }
    }
    let cursor = scan.cursor;
    let removing = scan.removing;
    result.next_begin_offset = cursor;
    result.status = if !result.messages.is_empty() {
        S::Found
    } else if removing {
        S::MessageWasRemoving
    } else {
        S::NoMatchedMessage
    };
    result
}

/// Asks for the records a run of units points at, from the first to the last (bounded by
/// `max_bytes` past the first): the CommitLog's mappings have kernel readahead off, so a
/// consumer reading old data would otherwise fault its pages in one at a time.
fn prefetch_records(units: &[u8], commit_log: &CommitLog, max_bytes: usize) {
    let unit = |raw: &[u8]| {
        let phys = i64::from_be_bytes(raw[0..8].try_into().unwrap_or([0; 8]));
        let size = i32::from_be_bytes(raw[8..12].try_into().unwrap_or([0; 4]));
        (size > 0 && size != i32::MAX && phys >= 0).then_some((phys, i64::from(size)))
    };
    let mut chunks = units.chunks_exact(UNIT_BYTES);
    let Some((first, _)) = chunks.by_ref().find_map(unit) else {
        return;
    };
    let last_end = units
        .chunks_exact(UNIT_BYTES)
        .rev()
        .find_map(unit)
        .map_or(first, |(phys, size)| phys.saturating_add(size));
    let cap = first.saturating_add(i64::try_from(max_bytes).unwrap_or(i64::MAX));
    commit_log.prefetch(first, last_end.min(cap));
}
