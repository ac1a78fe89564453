//! CommitLog recovery: find where valid data ends, and cut there without destroying anything.
//!
//! A record is valid when it decodes (magic, every length consistent with TOTALSIZE), its
//! PHYSICALOFFSET names its own position (so stale bytes of an older write at another position
//! never pass), its store timestamp is set, its body CRC matches (`checkCRCOnRecover`), and —
//! when the store appends the whole-record CRC property (`enabledAppendPropCRC`) — that CRC
//! matches too. Nothing a client chose decides validity: the store normalises properties at
//! append, and never judges a record by how its properties end.
//!
//! ```text
//! files before the checkpoint's durable offset ─► taken as complete
//! from the file holding it: record, record, … ─┬─ blank marker ─► file complete, next file
//!                                               ├─ zeros ─────────► clean end of the log
//!                                               └─ bad bytes ─────► cut: the bytes from here to
//!                      the end of the file's data are copied to quarantine/, then zeroed;
//!                      later files holding data are moved to quarantine/ (never deleted)
//! ```

use std::path::PathBuf;

use apogee_protocol::record::{BLANK_BYTES, RecordAt, decode_record};

use crate::StoreError;
use crate::commit_log::{CommitLog, check_prop_crc};

/// Where recovery cut the log, and what it kept aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// CommitLog offset of the first byte not kept in the log.
    pub offset: i64,
    /// Why the bytes there are not a valid record.
    pub reason: String,
    /// Whether the cut lies before the offset the last run had made durable: bytes an
    /// acknowledgement may have covered were damaged on disk (not a torn, unsynced tail).
    pub below_durable: bool,
    /// Copies of the cut bytes and the later files, under `quarantine/`.
    pub quarantined: Vec<PathBuf>,
}

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// End of valid data: the next append goes here.
    pub end: i64,
    /// Set when bad bytes (not just the zeros after the last record) were found.
    pub cut: Option<Cut>,
}

/// How a scan of one file ended.
enum FileEnd {
    /// A blank marker, or too little room for another record: the file is full.
    Complete,
    /// Valid data ends at `pos`; `reason` when the bytes there are not zeros.
    At { pos: usize, reason: Option<String> },
}

impl CommitLog {
    /// Recovery: data before `scan_from` (a record boundary) is taken as complete; from it on,
    /// records are checked (see the module doc) until the first that is not valid, where the
    /// log is cut. `durable` is the offset the last run had made durable (for the report's
    /// severity).
    pub fn recover(
        &self,
        scan_from: i64,
        check_crc: bool,
        durable: i64,
    ) -> Result<RecoveryReport, StoreError> {
        self.recover_with(scan_from, check_crc, durable, false)
    }

    /// [`recover`](Self::recover) after a clean shutdown, from the boundary where the last run
    /// stopped writing: the first position that holds no record is the end, and the bytes
    /// after it are not read to check they are zeros (which would page in, and keep in memory,
    /// whatever the filesystem reports as data past the end).
    pub fn recover_clean(
        &self,
        scan_from: i64,
        check_crc: bool,
        durable: i64,
    ) -> Result<RecoveryReport, StoreError> {
        self.recover_with(scan_from, check_crc, durable, true)
    }

    fn recover_with(
        &self,
        scan_from: i64,
        check_crc: bool,
        durable: i64,
        clean: bool,
    ) -> Result<RecoveryReport, StoreError> {
        let files = self.files.files();
        let Some(first) = files.first() else {
            return Ok(RecoveryReport::default());
        };
        let scan_from = scan_from.max(first.start_offset());
        let size = i64::try_from(self.files.file_size()).expect("a file size fits in i64");
        let mut report = RecoveryReport {
            end: first.start_offset(),
            cut: None,
        };
        let mut zero_end = 0;
        for file in &files {
            let start = file.start_offset();
            if start + size <= scan_from {
                file.mark_full();
                report.end = start + size;
                continue;
            }
            let data_end = file.data_end(0);
            let from = usize::try_from(scan_from - start).unwrap_or(0);
            let trusted_end = trusted_end(clean, durable - start);
            if !clean {
                // Readahead is off for the CommitLog's mappings: ask for what the scan reads.
                file.prefetch_range(from, data_end.saturating_sub(from));
            }
            match self.scan_file(
                &file.read_all(),
                (start, from),
                (data_end, trusted_end),
                check_crc,
            ) {
                FileEnd::Complete => {
                    file.mark_full();
                    report.end = start + size;
                }
                FileEnd::At { pos, reason } => {
                    report.end = start + i64::try_from(pos).expect("a file position fits in i64");
                    zero_end = if clean && reason.is_none() {
                        pos
                    } else {
                        data_end
                    };
                    if let Some(reason) = reason {
                        let kept = self.keep_tail(file, pos, data_end)?;
                        report.cut = Some(Cut {
                            offset: report.end,
                            reason,
                            below_durable: report.end < durable,
                            quarantined: kept.into_iter().collect(),
                        });
                    }
                    break;
                }
            }
        }
        let later = self
            .files
            .truncate_from(report.end, zero_end, Some(&self.quarantine))
            .map_err(StoreError::io("cutting the commit log"))?;
        if !later.is_empty() {
            let cut = report.cut.get_or_insert_with(|| Cut {
                offset: report.end,
                reason: "files after the end of valid data".into(),
                below_durable: report.end < durable,
                quarantined: Vec::new(),
            });
            cut.quarantined.extend(later);
        }
        log_cut(&report);
        Ok(report)
    }

    /// Checks records of one file from `pos` (`data_end`: where its stored data ends; beyond
    /// it the file is known to be zeros). From `trusted_end` on (after a clean stop: the
    /// durable offset) the first position without a record is the end, whatever follows.
    fn scan_file(
        &self,
        bytes: &bytes::Bytes,
        (start, mut pos): (i64, usize),
        (data_end, trusted_end): (usize, usize),
        check_crc: bool,
    ) -> FileEnd {
        loop {
            // Appends always leave room for the 8-byte blank marker; less than that left
            // means the file is complete (found by the store_recovery fuzz target).
            if bytes.len() - pos < BLANK_BYTES {
                return FileEnd::Complete;
            }
            if pos >= data_end {
                return FileEnd::At { pos, reason: None };
            }
            let at = start + i64::try_from(pos).expect("a file position fits in i64");
            match decode_record(bytes, pos, check_crc) {
                Ok((RecordAt::Message(record), size)) => {
                    let end = pos + size;
                    let problem = if record.physical_offset != at {
                        Some(format!(
                            "record at {at} names physical offset {}",
                            record.physical_offset
                        ))
                    } else if record.store_timestamp <= 0 {
                        Some(format!("record at {at} has no store timestamp"))
                    } else if self.append_prop_crc
                        && check_prop_crc(&bytes[pos..end]) == Some(false)
                    {
                        Some(format!("record at {at} fails its whole-record CRC"))
                    } else {
                        None
                    };
                    match problem {
                        None => pos = end,
                        Some(reason) => {
                            return FileEnd::At {
                                pos,
                                reason: Some(reason),
                            };
                        }
                    }
                }
                Ok((RecordAt::Blank { .. }, _)) => return FileEnd::Complete,
                Err(_) if pos >= trusted_end => return FileEnd::At { pos, reason: None },
                Err(e) => {
                    let zeros = bytes[pos..data_end.max(pos)].iter().all(|b| *b == 0);
                    let reason = (!zeros).then(|| format!("invalid record at {at}: {e}"));
                    return FileEnd::At { pos, reason };
                }
            }
        }
    }

    /// Copies the bytes of `file` from `pos` to `data_end` into quarantine (they are about
    /// to be zeroed); `None` when they are all zeros.
    pub(crate) fn keep_tail(
        &self,
        file: &std::sync::Arc<crate::mapped_file::MappedFile>,
        pos: usize,
        data_end: usize,
    ) -> Result<Option<PathBuf>, StoreError> {
        if data_end <= pos {
            return Ok(None);
        }
        let tail = file.read_all().slice(pos..data_end);
        if tail.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let offset = file.start_offset() + i64::try_from(pos).expect("a file position fits in i64");
        self.quarantine
            .keep_bytes(&format!("commitlog-{offset:020}-tail"), &tail)
            .map(Some)
            .map_err(StoreError::io(
                "copying a cut commit-log tail to quarantine",
            ))
    }
}

/// After a clean stop, a position at or past the durable offset (`durable_in_file`) without a
/// record is the end, whatever follows it (nothing past it is read); after a crash, never.
fn trusted_end(clean: bool, durable_in_file: i64) -> usize {
    if clean {
        usize::try_from(durable_in_file.max(0)).unwrap_or(usize::MAX)
    } else {
        usize::MAX
    }
}

fn log_cut(report: &RecoveryReport) {
    let Some(cut) = &report.cut else { return };
    let kept: Vec<String> = cut
        .quarantined
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if cut.below_durable {
        tracing::error!(
            offset = cut.offset,
            reason = cut.reason,
            ?kept,
            "commit log damaged below its durable offset: the log ends here; the bytes after it are kept in quarantine"
        );
    } else {
        tracing::warn!(
            offset = cut.offset,
            reason = cut.reason,
            ?kept,
            "commit log: unsynced tail cut after a crash; its bytes are kept in quarantine"
        );
    }
}
