//! The CommitLog: every message of every topic, appended as stored records (REMOTING.md §4.3)
//! into 1 GiB mapped files. Appends are serialised by one short critical section that assigns
//! the physical offset, the queue offsets and the store timestamp and encodes straight into
//! the mapped file; CRCs and validation happen before it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, Mutex, PoisonError};

use apogee_model::TopicName;
use apogee_protocol::record::{
    BLANK_BYTES, BLANK_MAGIC, MAGIC_V1, MAGIC_V2, RecordAt, StoredRecord, body_crc, decode_record,
    sys_flag,
};
use apogee_runtime::Clock;
use bytes::{BufMut, Bytes};

use crate::StoreError;
use crate::io::FileIo;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;
use crate::quarantine::Quarantine;

/// A message as the broker hands it to the store (`MessageExtBrokerInner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageToStore {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    /// Encoded properties string (§4.1).
    pub properties: String,
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Physical offset of the first record.
    pub physical_offset: i64,
    /// Offset just past the last record (what a sync flush must reach).
    pub end_offset: i64,
    /// Queue offset of the first record.
    pub queue_offset: i64,
    pub count: usize,
    pub store_timestamp: i64,
    /// Physical offset and size of every record, in order.
    pub records: Vec<(i64, i32)>,
}

/// Each written record's (offset, size), the offset past the last, and the store timestamp.
type Written = (Vec<(i64, i32)>, i64, i64);

/// Most bytes one [`CommitLog::prefetch`] asks for.
pub const PREFETCH_MAX: usize = 4 << 20;

/// The log itself.
pub struct CommitLog {
    pub(crate) files: MappedFileQueue,
    append: Mutex<AppendState>,
    record_bytes_max: usize,
    clock: Arc<dyn Clock>,
    pub(crate) append_prop_crc: bool,
    pub(crate) quarantine: Quarantine,
    /// When the append in progress took the lock (ms), 0 when none is: the broker's
    /// page-cache-busy check (`osPageCacheBusyTimeOutMills`) reads it.
    locked_since_ms: std::sync::atomic::AtomicI64,
}

/// The optional whole-record CRC property (REMOTING.md §4.3.4, `enabledAppendPropCRC`):
/// `__CRC32#` 0x01, ten ASCII digits least-significant first, 0x02 — the last 20 bytes of the
/// properties, covering every byte of the record before them.
const CRC_PROPERTY_PREFIX: &[u8] = b"__CRC32#\x01";
const CRC_PROPERTY_KEY: &str = "__CRC32#";
const CRC_PROPERTY_BYTES: usize = 20;

fn write_prop_crc(record: &mut [u8]) {
    let split = record.len() - CRC_PROPERTY_BYTES;
    let mut value = crc32fast::hash(&record[..split]) & 0x7FFF_FFFF;
    let end = record.len() - 1;
    for digit in &mut record[split + CRC_PROPERTY_PREFIX.len()..end] {
        *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

/// `Some(valid)` when the record carries the CRC property, `None` when it does not.
pub(crate) fn check_prop_crc(record: &[u8]) -> Option<bool> {
    let split = record.len().checked_sub(CRC_PROPERTY_BYTES)?;
    let tail = &record[split..];
    if !tail.starts_with(CRC_PROPERTY_PREFIX) || tail.last() != Some(&0x02) {
        return None;
    }
    let mut expected = [0u8; CRC_PROPERTY_BYTES];
    expected.copy_from_slice(tail);
    let mut copy = record.to_vec();
    write_prop_crc(&mut copy);
    Some(copy[split..] == expected)
}

/// A client's properties string as the store keeps it: every `__CRC32#` entry dropped (only
/// the store writes that one, at the very end, when `enabledAppendPropCRC` is on) and the final
/// 0x02 separator added when missing (RocketMQ 5.x clients may omit it). Borrowed when nothing
/// needs changing, which is the common case.
pub fn normalize_properties(props: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let terminated = props.is_empty() || props.ends_with('\u{2}');
    if !props.contains(CRC_PROPERTY_KEY) {
        return if terminated {
            Cow::Borrowed(props)
        } else {
            Cow::Owned(format!("{props}\u{2}"))
        };
    }
    let mut out = String::with_capacity(props.len() + 1);
    for piece in props.split('\u{2}').filter(|p| !p.is_empty()) {
        let key = piece.split_once('\u{1}').map_or(piece, |(k, _)| k);
        if key != CRC_PROPERTY_KEY {
            out.push_str(piece);
            out.push('\u{2}');
        }
    }
    Cow::Owned(out)
}

#[derive(Default)]
struct AppendState {
    /// Next queue offset per topic, then queue id (looked up by `&str`: no allocation per
    /// append). A queue not here yet is seeded from its consume queue before its first append
    /// (see [`CommitLog::append_seeded`]).
    queue_offsets: HashMap<String, HashMap<i32, i64>>,
}

impl AppendState {
    /// Sets a queue's next offset unless it has one already.
    fn seed(&mut self, topic: &str, queue_id: i32, next: i64) {
        if !self.queue_offsets.contains_key(topic) {
            self.queue_offsets.insert(topic.to_owned(), HashMap::new());
        }
        if let Some(queues) = self.queue_offsets.get_mut(topic) {
            queues.entry(queue_id).or_insert(next);
        }
    }

    /// The first queue among `records` without a next offset yet.
    fn unseeded<'a>(&self, records: &'a [StoredRecord]) -> Option<(&'a str, i32)> {
        let mut last = None;
        for record in records {
            let key = (record.topic_str(), record.queue_id);
            if last == Some(key) {
                continue;
            }
            last = Some(key);
            let known = self
                .queue_offsets
                .get(key.0)
                .is_some_and(|queues| queues.contains_key(&key.1));
            if !known {
                return Some(key);
            }
        }
        None
    }

    /// Gives each record its physical offset, queue offset and store time; returns where
    /// each one goes and the end offset.
    fn assign(
        &mut self,
        records: &mut [StoredRecord],
        base: i64,
        now: i64,
    ) -> (Vec<(i64, i32)>, i64) {
        let mut physical = base;
        let mut placed = Vec::with_capacity(records.len());
        for record in records.iter_mut() {
            record.physical_offset = physical;
            record.store_timestamp = now;
            let topic = record.topic_str();
            if !self.queue_offsets.contains_key(topic) {
                self.queue_offsets.insert(topic.to_owned(), HashMap::new());
            }
            let next = self
                .queue_offsets
                .get_mut(topic)
                .expect("the topic's map was inserted just above")
                .entry(record.queue_id)
                .or_insert(0);
            record.queue_offset = if consumes_queue_offset(record.sys_flag) {
                *next
            } else {
                0
            };
            if consumes_queue_offset(record.sys_flag) {
                *next += 1;
            }
            let size = record.encoded_len();
            placed.push((physical, i32::try_from(size).unwrap_or(i32::MAX)));
            physical += i64::try_from(size).unwrap_or(0);
        }
        (placed, physical)
    }
}

impl AppendState {
    /// Takes back the queue offsets [`assign`](Self::assign) gave `records` (their write
    /// failed).
    fn unassign(&mut self, records: &[StoredRecord]) {
        for record in records.iter().rev() {
            if !consumes_queue_offset(record.sys_flag) {
                continue;
            }
            if let Some(next) = self
                .queue_offsets
                .get_mut(record.topic_str())
                .and_then(|queues| queues.get_mut(&record.queue_id))
            {
                *next -= 1;
            }
        }
    }
}

fn consumes_queue_offset(sys: i32) -> bool {
    let tx = sys & sys_flag::TRANSACTION_MASK;
    tx != sys_flag::TRANSACTION_PREPARED && tx != sys_flag::TRANSACTION_ROLLBACK
}

impl CommitLog {
    /// Opens the log in `dir`; `io` runs its file operations and `quarantine` keeps what
    /// recovery cuts off.
    pub fn open(
        dir: &Path,
        file_size: usize,
        record_bytes_max: usize,
        clock: Arc<dyn Clock>,
        (io, quarantine): (&FileIo, &Quarantine),
    ) -> Result<Self, StoreError> {
        let (files, report) = MappedFileQueue::open(dir, file_size, io, quarantine)
            .map_err(StoreError::io(dir.display().to_string()))?;
        for event in report.recovered {
            tracing::warn!(event, "commit log: leftover file handled at open");
        }
        files.without_readahead();
        files.write_through();
        Ok(Self {
            files,
            append: Mutex::new(AppendState::default()),
            record_bytes_max,
            clock,
            append_prop_crc: false,
            quarantine: quarantine.clone(),
            locked_since_ms: std::sync::atomic::AtomicI64::new(0),
        })
    }

    pub fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    /// Appends the whole-record CRC property to every new record (`enabledAppendPropCRC`).
    #[must_use]
    pub fn with_prop_crc(mut self, enabled: bool) -> Self {
        self.append_prop_crc = enabled;
        self
    }

    /// Sets a queue's next offset unless it has one (a consume queue deleted before its first
    /// append since start-up: the numbering goes on from where it ended).
    pub fn seed_queue_offset(&self, topic: &str, queue_id: i32, next: i64) {
        self.append
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seed(topic, queue_id, next);
    }

    /// Forgets every queue's next offset: each is seeded again from its consume queue before
    /// its next append (a promoted replica, a cut tail).
    pub fn clear_queue_offsets(&self) {
        self.append
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queue_offsets
            .clear();
    }

    /// Forgets the queue offsets of `topic` (deleted): a topic created again starts at 0.
    pub fn forget_topic(&self, topic: &str) {
        self.append
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queue_offsets
            .remove(topic);
    }

    /// Next queue offset of one queue, as the CommitLog will assign it; `None` before the
    /// queue's first append since start-up (its consume queue's end will be taken then).
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> Option<i64> {
        let state = self.append.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .queue_offsets
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .copied()
    }

    fn build(&self, msg: &MessageToStore) -> Result<StoredRecord, StoreError> {
        TopicName::check(&msg.topic).map_err(|e| StoreError::InvalidTopic(e.to_string()))?;
        let mut properties = normalize_properties(&msg.properties)
            .into_owned()
            .into_bytes();
        if self.append_prop_crc {
            properties.extend_from_slice(CRC_PROPERTY_PREFIX);
            properties.extend_from_slice(b"0000000000\x02");
        }
        if properties.len() > i16::MAX as usize {
            return Err(StoreError::PropertiesTooLarge {
                size: properties.len(),
            });
        }
        let magic = match msg.topic.len() {
            0..=127 => MAGIC_V1,
            128..=32767 => MAGIC_V2,
            size => return Err(StoreError::TopicTooLong { size }),
        };
        let record = StoredRecord {
            magic,
            body_crc: body_crc(&msg.body),
            queue_id: msg.queue_id,
            flag: msg.flag,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            born_host: msg.born_host,
            store_timestamp: 0,
            store_host: msg.store_host,
            reconsume_times: msg.reconsume_times,
            prepared_transaction_offset: msg.prepared_transaction_offset,
            body: msg.body.clone(),
            topic: Bytes::copy_from_slice(msg.topic.as_bytes()),
            properties: Bytes::from(properties),
        };
        let size = record.encoded_len();
        let max = self
            .record_bytes_max
            .min(self.files.file_size() - BLANK_BYTES);
        if size > max {
            return Err(StoreError::RecordTooLarge { size, max });
        }
        Ok(record)
    }

    /// How long the append in progress has held the lock, 0 when none is.
    pub fn lock_held_ms(&self) -> i64 {
        let since = self.locked_since_ms.load(AtomicOrdering::Acquire);
        if since == 0 {
            0
        } else {
            (self.clock.now_ms() - since).max(0)
        }
    }

    /// Appends messages as consecutive records in one file, assigning consecutive queue
    /// offsets (a queue new to this log starts at 0). All or nothing.
    pub fn append(&self, messages: &[MessageToStore]) -> Result<AppendOutcome, StoreError> {
        self.append_seeded(messages, &|_, _| Ok(0))
    }

    /// [`append`](Self::append), where a queue's first append since start-up takes its next
    /// offset from `seed` (its consume queue's end), asked without the append lock held.
    pub fn append_seeded(
        &self,
        messages: &[MessageToStore],
        seed: &dyn Fn(&str, i32) -> Result<i64, StoreError>,
    ) -> Result<AppendOutcome, StoreError> {
        let mut records = self.build_all(std::iter::once(messages))?;
        let (placed, end_offset, now) = self.write(&mut records, seed)?;
        let first = records.first();
        Ok(AppendOutcome {
            physical_offset: first.map_or(end_offset, |r| r.physical_offset),
            end_offset,
            queue_offset: first.map_or(0, |r| r.queue_offset),
            count: records.len(),
            store_timestamp: now,
            records: placed,
        })
    }

    /// Several appends written as one (one lock, one write): each group's records are
    /// consecutive, in the order given, and each group gets the outcome consecutive appends
    /// in that order would have had (except that a combined write that does not fit in the
    /// current file goes whole to the next). All or nothing for the whole call.
    pub fn append_groups(
        &self,
        groups: &[&[MessageToStore]],
        seed: &dyn Fn(&str, i32) -> Result<i64, StoreError>,
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let mut records = self.build_all(groups.iter().copied())?;
        let (placed, end_offset, now) = self.write(&mut records, seed)?;
        let mut outcomes = Vec::with_capacity(groups.len());
        let mut from = 0;
        for group in groups {
            let to = from + group.len();
            let at = placed.get(from).map_or(end_offset, |(offset, _)| *offset);
            outcomes.push(AppendOutcome {
                physical_offset: at,
                end_offset: placed[from..to]
                    .last()
                    .map_or(at, |(offset, size)| offset + i64::from(*size)),
                queue_offset: records[from..to].first().map_or(0, |r| r.queue_offset),
                count: group.len(),
                store_timestamp: now,
                records: placed[from..to].to_vec(),
            });
            from = to;
        }
        Ok(outcomes)
    }

    fn build_all<'m>(
        &self,
        groups: impl Iterator<Item = &'m [MessageToStore]>,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        groups
            .flat_map(|group| group.iter())
            .map(|m| self.build(m))
            .collect()
    }

    /// Places `records` at the end of the log and writes them: their physical and queue
    /// offsets are assigned in place. Returns each record's (offset, size), the offset past
    /// the last, and the store timestamp.
    fn write(
        &self,
        records: &mut [StoredRecord],
        seed: &dyn Fn(&str, i32) -> Result<i64, StoreError>,
    ) -> Result<Written, StoreError> {
        let total: usize = records.iter().map(StoredRecord::encoded_len).sum();
        let file_size = self.files.file_size();
        if total > file_size - BLANK_BYTES {
            return Err(StoreError::RecordTooLarge {
                size: total,
                max: file_size - BLANK_BYTES,
            });
        }
        let mut state = self.lock_seeded(records, seed)?;
        let now = self.clock.now_ms();
        self.locked_since_ms.store(now, AtomicOrdering::Release);
        let file = match self.file_with_room(total) {
            Ok(file) => file,
            Err(e) => {
                self.locked_since_ms.store(0, AtomicOrdering::Release);
                return Err(e);
            }
        };
        let base = file.start_offset() + i64::try_from(file.wrote()).unwrap_or(0);
        let (placed, physical) = state.assign(records, base, now);
        let prop_crc = self.append_prop_crc;
        let written = file.append_with(total, |region| {
            let mut start = 0;
            for record in records.iter() {
                let len = record.encoded_len();
                let mut out = &mut region[start..start + len];
                record.encode(&mut out);
                if prop_crc {
                    write_prop_crc(&mut region[start..start + len]);
                }
                start += len;
            }
        });
        self.locked_since_ms.store(0, AtomicOrdering::Release);
        let refused = match written {
            Ok(Some(_)) => None,
            // Room was checked under the append lock; never expected.
            Ok(None) => Some(StoreError::Corrupt(format!(
                "commit-log file {} had no room for {total} bytes",
                file.start_offset()
            ))),
            Err(e) => Some(StoreError::io("writing the commit log")(e)),
        };
        if let Some(error) = refused {
            // Nothing was published: the queue offsets go back to where they were.
            state.unassign(records);
            return Err(error);
        }
        drop(state);
        Ok((placed, physical, now))
    }

    /// The append lock, taken once every queue of `records` has its next offset (each missing
    /// one asked of `seed` with the lock released).
    fn lock_seeded(
        &self,
        records: &[StoredRecord],
        seed: &dyn Fn(&str, i32) -> Result<i64, StoreError>,
    ) -> Result<std::sync::MutexGuard<'_, AppendState>, StoreError> {
        let mut state = self.append.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((topic, queue_id)) = state.unseeded(records) {
            let topic = topic.to_owned();
            drop(state);
            let next = seed(&topic, queue_id)?;
            state = self.append.lock().unwrap_or_else(PoisonError::into_inner);
            // Another append may have seeded it meanwhile (from the same consume queue).
            state.seed(&topic, queue_id, next);
        }
        Ok(state)
    }

    /// The current file if `total` bytes plus a blank marker fit, else the next one (after
    /// closing this one with the BLANK marker). Called under the append lock.
    fn file_with_room(&self, total: usize) -> Result<Arc<MappedFile>, StoreError> {
        let file = self
            .files
            .last_or_create(0)
            .map_err(StoreError::io("creating a commit-log file"))?;
        if total + BLANK_BYTES <= file.remaining() {
            return Ok(file);
        }
        let remaining = file.remaining();
        // `remaining` is at least BLANK_BYTES: appends and recovery both keep it so; the bytes
        // after the marker stay zero.
        let mut marker = [0u8; BLANK_BYTES];
        let mut out = &mut marker[..];
        out.put_i32(i32::try_from(remaining).unwrap_or(i32::MAX));
        out.put_i32(BLANK_MAGIC);
        // Too little room even for the marker (never made by appends or recovery): the file
        // is closed without one, as a full file.
        let head = marker
            .get(..remaining.min(BLANK_BYTES))
            .filter(|h| h.len() == BLANK_BYTES);
        file.append_head(remaining, head.unwrap_or_default())
            .map_err(StoreError::io("closing a commit-log file"))?;
        self.files
            .last_or_create(0)
            .map_err(StoreError::io("creating a commit-log file"))
    }

    /// Appends bytes copied from a master's CommitLog at exactly `offset`, which must be this
    /// log's end (or, for an empty log, the start of a file): the replica keeps the master's
    /// offsets byte for byte, and the reput builds its queues from them. Bytes that run past
    /// the end of a file continue in the next one. Returns the new end.
    pub fn append_replica(&self, offset: i64, bytes: &[u8]) -> Result<i64, StoreError> {
        let _state = self.append.lock().unwrap_or_else(PoisonError::into_inner);
        let file_size = i64::try_from(self.files.file_size()).expect("a file size fits in i64");
        let end = self.files.max_offset();
        let empty = self.files.last().is_none();
        if (!empty && offset != end) || (empty && offset.rem_euclid(file_size) != 0) {
            return Err(StoreError::ReplicaOffset {
                expected: if empty {
                    offset - offset.rem_euclid(file_size)
                } else {
                    end
                },
                got: offset,
            });
        }
        let (mut at, mut rest) = (offset, bytes);
        while !rest.is_empty() {
            let file = self
                .files
                .last_or_create(at)
                .map_err(StoreError::io("creating a commit-log file"))?;
            let n = rest.len().min(file.remaining());
            file.append(&rest[..n])
                .map_err(StoreError::io("writing a replica's commit log"))?
                .expect("the bytes were cut to the room left in the file");
            at += i64::try_from(n).expect("a chunk fits in i64");
            rest = &rest[n..];
        }
        Ok(at)
    }

    /// Cuts the log back to `offset`, a record boundary below the end: the tail a demoted
    /// master wrote that its new master never had (controller mode). The cut bytes are kept
    /// in quarantine. Returns the new end.
    pub fn truncate_tail(&self, offset: i64) -> Result<i64, StoreError> {
        let _state = self.append.lock().unwrap_or_else(PoisonError::into_inner);
        let end = self.files.max_offset();
        if offset >= end {
            return Ok(end);
        }
        let file_size = i64::try_from(self.files.file_size()).expect("a file size fits in i64");
        let file_start = offset - offset.rem_euclid(file_size);
        if offset < self.files.min_offset() || !self.is_record_boundary(file_start, offset) {
            return Err(StoreError::ReplicaOffset {
                expected: end,
                got: offset,
            });
        }
        let mut kept = Vec::new();
        let mut zero_end = 0;
        if let Some(file) = self.files.find(offset) {
            let pos = usize::try_from(offset - file.start_offset()).expect("inside the file");
            zero_end = file.wrote();
            kept.extend(self.keep_tail(&file, pos, zero_end)?);
        }
        kept.extend(
            self.files
                .truncate_from(offset, zero_end, Some(&self.quarantine))
                .map_err(StoreError::io("cutting the commit log's tail"))?,
        );
        tracing::warn!(from = offset, to = end, quarantined = ?kept, "commit log tail cut: the new master never had it");
        Ok(self.files.max_offset())
    }

    /// The written bytes from `offset` to the end of the data in its file, at most `max`
    /// (what a master streams to a replica: one frame never spans two files). `None` when
    /// nothing is written there yet or the offset is no longer stored.
    pub fn read_replica(&self, offset: i64, max: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start_offset()).ok()?;
        let len = file.wrote().checked_sub(pos)?.min(max);
        if len == 0 {
            return None;
        }
        // A slave catching up reads on: ask for this frame and the next few.
        file.prefetch_range(pos, len.saturating_mul(4).min(PREFETCH_MAX));
        file.read(pos, len)
    }

    /// Asks the kernel to read `[from, to)` in ahead of a sequential read (the CommitLog's
    /// mappings have readahead off); at most [`PREFETCH_MAX`] bytes, within one file.
    pub fn prefetch(&self, from: i64, to: i64) {
        let Some(file) = self.files.find(from) else {
            return;
        };
        let pos = usize::try_from(from - file.start_offset()).unwrap_or(0);
        let len = usize::try_from(to.saturating_sub(from)).unwrap_or(0);
        file.prefetch_range(pos, len.min(PREFETCH_MAX));
    }

    /// The raw bytes of `size` bytes at physical `offset` (no copy).
    pub fn read(&self, offset: i64, size: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start_offset()).ok()?;
        file.read(pos, size)
    }

    /// The record at physical `offset`, decoded.
    pub fn read_record(&self, offset: i64) -> Option<StoredRecord> {
        let header = self.read(offset, 4)?;
        let size = usize::try_from(i32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]))
        .ok()?;
        let bytes = self.read(offset, size)?;
        match decode_record(&bytes, 0, false) {
            Ok((RecordAt::Message(record), _)) => Some(record),
            _ => None,
        }
    }

    /// Whether walking record by record from `from` (a record boundary: the dispatch
    /// position) reaches `target` exactly.
    pub fn is_record_boundary(&self, from: i64, target: i64) -> bool {
        let file_size = i64::try_from(self.files.file_size()).expect("a file size fits in i64");
        let mut pos = from;
        while pos < target {
            let Some(head) = self.read(pos, 8) else {
                pos = pos - pos.rem_euclid(file_size) + file_size;
                continue;
            };
            let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            if magic == BLANK_MAGIC {
                pos = pos - pos.rem_euclid(file_size) + file_size;
            } else if size <= 0 {
                return false;
            } else {
                pos += i64::from(size);
            }
        }
        pos == target
    }

    pub fn min_offset(&self) -> i64 {
        self.files.min_offset()
    }

    pub fn max_offset(&self) -> i64 {
        self.files.max_offset()
    }
}

#[cfg(test)]
#[path = "commit_log_tests.rs"]
pub(crate) mod tests;
