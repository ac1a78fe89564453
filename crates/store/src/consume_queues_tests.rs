use super::*;

fn unit(offset: i64) -> CqUnit {
    CqUnit {
        commit_log_offset: offset * 100,
        size: 100,
        tags_code: 0,
    }
}

fn open(root: &Path, recovery: QueueRecovery) -> ConsumeQueueStore {
    let q = Quarantine::new(root, FileIo::default());
    ConsumeQueueStore::open(&root.join("cq"), 4, (&FileIo::default(), &q), recovery).unwrap()
}

const CLEAN: QueueRecovery = QueueRecovery {
    crashed: false,
    commit_log_end: i64::MAX,
};

/// Writes `units` units (queue offsets 0..units) to T/0 and T/1, then closes the store.
fn written(root: &Path, units: i64) {
    let store = open(root, CLEAN);
    for id in [0, 1] {
        let queue = store.get_or_create("T", id).unwrap();
        for offset in 0..units {
            queue.put(offset, unit(offset)).unwrap();
        }
        queue.files().flush().unwrap();
    }
}

#[test]
fn given_queues_on_disk_should_list_them_and_open_each_on_first_use_only() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 3);
    let store = open(dir.path(), CLEAN);
    assert!(!store.is_empty());
    let mut names = store.names();
    names.sort();
    assert_eq!(names, vec![("T".to_owned(), 0), ("T".to_owned(), 1)]);
    assert!(store.handles().is_empty(), "nothing opened at start");
    assert!(store.if_open("T", 0, |_| ()).is_none());
    assert_eq!(
        store.get("T", 0).unwrap().max_offset(),
        3,
        "opened and recovered"
    );
    assert!(store.if_open("T", 0, |_| ()).is_some());
    assert!(
        store.if_open("T", 1, |_| ()).is_none(),
        "the other queue stays closed"
    );
    assert_eq!(store.handles().len(), 1);
    assert_eq!(store.all().unwrap().len(), 2, "all() opens every queue");
    assert_eq!(store.handles().len(), 2);
    assert!(store.get("T", 7).is_none());
}

#[test]
fn given_a_crash_every_queue_should_lose_its_units_past_the_recovered_end_at_start() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 4);
    let store = open(
        dir.path(),
        QueueRecovery {
            crashed: true,
            // Units 0 and 1 end at 100 and 200; unit 2 would end at 300.
            commit_log_end: 250,
        },
    );
    assert_eq!(
        store.handles().len(),
        2,
        "recovered at start, used this run or not (the log will grow over stale units)"
    );
    let queue = store.get_or_create("T", 1).unwrap();
    assert_eq!(
        queue.max_offset(),
        2,
        "cut at the CommitLog's end at recovery"
    );
    drop(store);
    let again = open(dir.path(), CLEAN);
    assert_eq!(
        again.get("T", 0).unwrap().max_offset(),
        2,
        "the cut is on disk"
    );
}

#[test]
fn given_retention_moved_the_commit_log_start_a_queue_opened_later_should_drop_expired_files() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 10); // three files of 4 units
    let store = open(dir.path(), CLEAN);
    store.set_commit_log_min(750);
    let queue = store.get("T", 0).unwrap();
    assert_eq!(
        queue.files().files().len(),
        2,
        "the first file's units all end by 400; the second's last one at 800"
    );
    assert_eq!(
        queue.min_offset(),
        8,
        "units before the CommitLog's start are skipped"
    );
    assert_eq!(queue.max_offset(), 10);
}

#[test]
fn given_many_threads_opening_one_queue_should_open_it_once() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 3);
    let store = Arc::new(open(dir.path(), CLEAN));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.get("T", 0).unwrap())
        })
        .collect();
    let queues: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(queues.iter().all(|q| Arc::ptr_eq(q, &queues[0])));
    assert_eq!(queues[0].max_offset(), 3);
}

#[test]
fn given_path_like_topics_should_refuse_to_create_their_queues() {
    let dir = tempfile::tempdir().unwrap();
    let q = Quarantine::new(dir.path(), FileIo::default());
    let store =
        ConsumeQueueStore::open_fresh(&dir.path().join("cq"), 4, (&FileIo::default(), &q)).unwrap();
    for topic in ["..", "/var/tmp/x", "../../etc", "a/b", ""] {
        let err = store.get_or_create(topic, 0).unwrap_err();
        assert!(matches!(err, StoreError::InvalidTopic(_)), "{topic}: {err}");
    }
    assert!(store.get_or_create("T", -1).is_err());
    assert!(store.get_or_create("%RETRY%g", 1).is_ok());
    assert_eq!(std::fs::read_dir(dir.path().join("cq")).unwrap().count(), 1);
    assert_eq!(store.delete_topic("%RETRY%g").unwrap(), 1);
    assert!(store.get("%RETRY%g", 1).is_none());
    assert_eq!(std::fs::read_dir(dir.path().join("cq")).unwrap().count(), 0);
}

#[test]
fn given_a_queue_that_cannot_be_opened_should_refuse_it_without_retrying_until_the_retry_time() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 3);
    let queue_dir = dir.path().join("cq").join("T").join("0");
    let saved = dir.path().join("saved-T-0");
    std::fs::rename(&queue_dir, &saved).unwrap();
    std::fs::write(&queue_dir, b"a file where the queue's directory should be").unwrap();

    let store = open(dir.path(), CLEAN);
    let first = store.open_queue("T", 0).unwrap_err();
    assert!(
        !matches!(first, StoreError::QueueUnavailable { .. }),
        "the first failure is the real one: {first}"
    );
    assert!(store.get("T", 0).is_none(), "a reader sees no queue");
    // Repaired on disk: still refused (and not looked at) until the retry time.
    std::fs::remove_file(&queue_dir).unwrap();
    std::fs::rename(&saved, &queue_dir).unwrap();
    match store.open_queue("T", 0) {
        Err(StoreError::QueueUnavailable {
            queue, retry_in_s, ..
        }) => {
            assert_eq!(queue, "T/0");
            assert!((1..=10).contains(&retry_in_s), "{retry_in_s}");
        }
        other => panic!("expected the remembered failure, got {other:?}"),
    }
    assert_eq!(
        store.get("T", 1).unwrap().max_offset(),
        3,
        "other queues unaffected"
    );

    store.set_open_retry(Duration::ZERO);
    assert_eq!(
        store.open_queue("T", 0).unwrap().unwrap().max_offset(),
        3,
        "retried after the retry time, and opened"
    );
}
