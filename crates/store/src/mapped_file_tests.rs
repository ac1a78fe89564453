use super::*;

#[test]
fn given_new_file_when_appended_and_read_should_return_written_bytes_only() {
    for write_through in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(offset_to_file_name(0));
        let file = MappedFile::create(&path, 0, 64, &FileIo::default()).unwrap();
        if write_through {
            file.write_through();
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64);
        assert_eq!(file.append(b"hello").unwrap(), Some(0));
        let at = file.append_with(5, |r| r.copy_from_slice(b"world"));
        assert_eq!(at.unwrap(), Some(5));
        assert_eq!(&file.read(0, 10).unwrap()[..], b"helloworld");
        assert!(file.read(5, 6).is_none(), "unwritten bytes are invisible");
        assert!(file.append(&[0u8; 55]).unwrap().is_none(), "does not fit");
        assert_eq!(file.append_head(20, b"end").unwrap(), Some(10));
        assert_eq!(
            &file.read(10, 20).unwrap()[..],
            b"end\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        );
        assert_eq!(file.flush().unwrap(), 30);
        drop(file);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(
            &on_disk[..13],
            b"helloworldend",
            "write_through={write_through}"
        );
    }
}

struct RefuseWrites;

impl crate::io::FileHooks for RefuseWrites {
    fn before(&self, op: &FileOp) -> std::io::Result<()> {
        match op {
            FileOp::Write { .. } => Err(std::io::Error::from_raw_os_error(5)),
            _ => Ok(()),
        }
    }
}

/// Lands the first half of each `pwrite`, then fails it (a short write, then EIO).
struct HalfWrites;

impl crate::io::FileHooks for HalfWrites {
    fn before(&self, op: &FileOp) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        if let FileOp::Write { path, offset, len } = op {
            let file = OpenOptions::new().write(true).open(path)?;
            file.write_all_at(&vec![0xAB; len / 2], *offset as u64)?;
            return Err(std::io::Error::from_raw_os_error(5));
        }
        Ok(())
    }
}

#[test]
fn given_a_write_that_fails_part_way_should_leave_no_byte_of_it_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let io = FileIo::with_hooks(Arc::new(HalfWrites));
    let file = MappedFile::create(&path, 0, 64, &io).unwrap();
    file.write_through();
    assert!(file.append_with(40, |r| r.fill(7)).is_err());
    assert_eq!(file.wrote(), 0);
    let all = file.read_all();
    assert_eq!(
        &all[..],
        &[0u8; 64][..],
        "a restart must not find half a batch"
    );
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), vec![0u8; 64]);
}

#[test]
fn given_a_failing_write_through_append_should_leave_the_write_position_and_keep_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let io = FileIo::with_hooks(Arc::new(RefuseWrites));
    let file = MappedFile::create(&path, 0, 16, &io).unwrap();
    file.write_through();
    let err = file.append_with(4, |r| r.fill(7)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "{err}");
    assert_eq!(file.wrote(), 0);
    assert!(file.append_head(8, b"x").is_err());
    assert_eq!(file.wrote(), 0);
}

#[test]
fn given_reader_slice_when_file_deleted_should_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let file = MappedFile::create(&path, 0, 16, &FileIo::default()).unwrap();
    file.append(b"abc").unwrap();
    let slice = file.read(0, 3).unwrap();
    drop(file);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(&slice[..], b"abc");
}

#[test]
fn given_torn_tail_when_reset_should_zero_and_rewrite_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let file = MappedFile::create(&path, 0, 16, &FileIo::default()).unwrap();
    file.append(b"0123456789").unwrap();
    file.truncate_to(4, 16).unwrap();
    assert_eq!(file.wrote(), 4);
    assert_eq!(&file.read_all()[4..10], &[0u8; 6]);
    file.append(b"xy").unwrap();
    assert_eq!(&file.read(0, 6).unwrap()[..], b"0123xy");
    assert_eq!(offset_to_file_name(1_073_741_824), "00000000001073741824");
}
