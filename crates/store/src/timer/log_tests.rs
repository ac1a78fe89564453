use super::*;

fn unit(i: i64) -> TimerUnit {
    TimerUnit {
        magic: MAGIC_DEFAULT,
        write_ms: 1_000,
        deliver_ms: 1_000 + i * 10,
        commit_offset: i * 100,
        size: 100,
        topic_hash: 7,
    }
}

#[test]
fn given_a_unit_should_round_trip_and_read_javas_delay_when_reserved_is_zero() {
    let u = unit(3);
    assert_eq!(TimerUnit::decode(&u.encode()), Some(u));
    let mut java = u.encode();
    java[44..].copy_from_slice(&0i64.to_be_bytes());
    assert_eq!(TimerUnit::decode(&java).map(|u| u.deliver_ms), Some(1_030));
    assert_eq!(TimerUnit::decode(&[0u8; UNIT_SIZE]), None);
    let forty_days = TimerUnit {
        deliver_ms: 1_000 + 40 * 86_400_000,
        ..u
    };
    assert_eq!(TimerUnit::decode(&forty_days.encode()), Some(forty_days));
}

#[test]
fn given_units_across_files_when_reopened_should_keep_those_before_the_flushed_position() {
    let dir = tempfile::tempdir().unwrap();
    // Room for three units and the blank marker per file.
    let file_bytes = UNIT_SIZE * 3 + MIN_BLANK;
    let (mut log, units) = TimerLog::open(dir.path(), file_bytes, 0, &|_| true).unwrap();
    assert!(units.is_empty());
    let positions: Vec<i64> = (0..7).map(|i| log.append(&unit(i)).unwrap()).collect();
    assert_eq!(log.file_starts().len(), 3, "rolled twice");
    assert_eq!(
        positions[3],
        i64::try_from(file_bytes).unwrap(),
        "next file after the blank"
    );
    let flushed = log.flush().unwrap();
    log.append(&unit(7)).unwrap();
    drop(log);

    let (mut log, units) = TimerLog::open(dir.path(), file_bytes, flushed, &|_| true).unwrap();
    assert_eq!(units.len(), 7, "the unit past the checkpoint is dropped");
    assert_eq!(units.iter().map(|(p, _)| *p).collect::<Vec<_>>(), positions);
    assert_eq!(units[6].1, unit(6));
    assert_eq!(log.write_pos(), flushed);
    let again = log.append(&unit(8)).unwrap();
    assert_eq!(again, flushed, "appends continue where the checkpoint was");
    log.delete_file(0).unwrap();
    assert_eq!(log.file_starts().len(), 2);
}

#[test]
fn given_garbage_after_units_when_reopened_should_stop_there() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = TimerLog::open(dir.path(), 1 << 20, 0, &|_| true).unwrap();
    log.append(&unit(1)).unwrap();
    log.append(&unit(2)).unwrap();
    let flushed = log.flush().unwrap();
    drop(log);
    let path = dir.path().join(format!("{:020}", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[UNIT_SIZE] ^= 0xFF; // the second unit's size field
    std::fs::write(&path, &bytes).unwrap();
    let (log, units) = TimerLog::open(dir.path(), 1 << 20, flushed, &|_| true).unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(log.write_pos(), i64::try_from(UNIT_SIZE).unwrap());
}

#[test]
fn given_a_drained_file_deleted_between_others_when_reopened_should_keep_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file_bytes = UNIT_SIZE * 3 + MIN_BLANK;
    let (mut log, _) = TimerLog::open(dir.path(), file_bytes, 0, &|_| true).unwrap();
    for i in 0..8 {
        log.append(&unit(i)).unwrap();
    }
    let flushed = log.flush().unwrap();
    let middle = log.file_starts()[1];
    log.delete_file(middle).unwrap();
    drop(log);
    let keep_even = |u: &TimerUnit| u.commit_offset % 200 == 0;
    let (log, units) = TimerLog::open(dir.path(), file_bytes, flushed, &keep_even).unwrap();
    assert_eq!(log.file_starts().len(), 2, "the files around the gap stay");
    let offsets: Vec<i64> = units.iter().map(|(_, u)| u.commit_offset).collect();
    assert_eq!(
        offsets,
        [0, 200, 600],
        "units of the kept files that `keep` accepts"
    );
    assert_eq!(log.write_pos(), flushed);
}
