//! The history database: one SQLite file (`history.db` in the console's data directory) with a
//! row per minute for every broker (in and out TPS), topic (put TPS, per broker) and topic and
//! group (get TPS and backlog). Rows older than the retention are deleted at each sample.
//! Every call blocks; callers run them on a blocking thread.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, params};

/// One minute's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// (cluster, broker, in TPS, out TPS)
    pub brokers: Vec<(String, String, f64, f64)>,
    /// (cluster, broker, topic, put TPS)
    pub topics: Vec<(String, String, String, f64)>,
    /// (cluster, broker, topic, group, get TPS, backlog)
    pub groups: Vec<(String, String, String, String, f64, i64)>,
}

/// A point of a series: time (ms), in TPS, out TPS.
pub type Point = (i64, f64, f64);

pub struct HistoryStore {
    conn: Mutex<Connection>,
    retention_ms: i64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS broker_tps (at_ms INTEGER NOT NULL, cluster TEXT NOT NULL,
    broker TEXT NOT NULL, in_tps REAL NOT NULL, out_tps REAL NOT NULL);
CREATE INDEX IF NOT EXISTS broker_tps_at ON broker_tps (cluster, at_ms);
CREATE TABLE IF NOT EXISTS topic_tps (at_ms INTEGER NOT NULL, cluster TEXT NOT NULL,
    broker TEXT NOT NULL, topic TEXT NOT NULL, put_tps REAL NOT NULL);
CREATE INDEX IF NOT EXISTS topic_tps_at ON topic_tps (cluster, topic, at_ms);
CREATE TABLE IF NOT EXISTS group_tps (at_ms INTEGER NOT NULL, cluster TEXT NOT NULL,
    broker TEXT NOT NULL, topic TEXT NOT NULL, grp TEXT NOT NULL, get_tps REAL NOT NULL,
    backlog INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS group_tps_at ON group_tps (cluster, topic, grp, at_ms);
";

fn sql(e: rusqlite::Error) -> String {
    format!("history database: {e}")
}

impl HistoryStore {
    /// Opens (or creates) `dir/history.db`, keeping `retention_days` of rows.
    pub fn open(dir: &Path, retention_days: u32) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let conn = Connection::open(dir.join("history.db")).map_err(sql)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        conn.execute_batch(crate::alerts::rules::SCHEMA)
            .map_err(sql)?;
        Ok(Self {
            conn: Mutex::new(conn),
            retention_ms: i64::from(retention_days) * 86_400_000,
        })
    }

    /// Runs `f` on the database (alert rules and events live here too).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, String> {
        f(&self.lock()).map_err(sql)
    }

    /// [`with_conn`](Self::with_conn) on a blocking thread.
    pub async fn run<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, String> {
        let store = std::sync::Arc::clone(self);
        tokio::task::spawn_blocking(move || store.with_conn(f))
            .await
            .map_err(|e| e.to_string())?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes one sample taken at `at_ms` and drops rows past the retention, in one transaction.
    pub fn record(&self, at_ms: i64, sample: &Sample) -> Result<(), String> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(sql)?;
        {
            let mut b = tx
                .prepare_cached("INSERT INTO broker_tps VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql)?;
            for (cluster, broker, inn, out) in &sample.brokers {
                b.execute(params![at_ms, cluster, broker, inn, out])
                    .map_err(sql)?;
            }
            let mut t = tx
                .prepare_cached("INSERT INTO topic_tps VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql)?;
            for (cluster, broker, topic, tps) in &sample.topics {
                t.execute(params![at_ms, cluster, broker, topic, tps])
                    .map_err(sql)?;
            }
            let mut g = tx
                .prepare_cached("INSERT INTO group_tps VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(sql)?;
            for (cluster, broker, topic, group, tps, backlog) in &sample.groups {
                g.execute(params![at_ms, cluster, broker, topic, group, tps, backlog])
                    .map_err(sql)?;
            }
            let oldest = at_ms - self.retention_ms;
            for table in ["broker_tps", "topic_tps", "group_tps"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE at_ms < ?1"),
                    params![oldest],
                )
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// The cluster's in and out TPS (summed over its brokers) at each sample since `since_ms`.
    pub fn cluster_series(&self, cluster: &str, since_ms: i64) -> Result<Vec<Point>, String> {
        self.points(
            "SELECT at_ms, SUM(in_tps), SUM(out_tps) FROM broker_tps
             WHERE cluster = ?1 AND at_ms >= ?2 GROUP BY at_ms ORDER BY at_ms",
            params![cluster, since_ms],
        )
    }

    /// A topic's put TPS (on `broker`, or summed over all) at each sample since `since_ms`.
    pub fn topic_series(
        &self,
        cluster: &str,
        topic: &str,
        broker: Option<&str>,
        since_ms: i64,
    ) -> Result<Vec<Point>, String> {
        self.points(
            "SELECT at_ms, SUM(put_tps), 0.0 FROM topic_tps
             WHERE cluster = ?1 AND topic = ?2 AND (?3 IS NULL OR broker = ?3) AND at_ms >= ?4
             GROUP BY at_ms ORDER BY at_ms",
            params![cluster, topic, broker, since_ms],
        )
    }

    /// One broker's in and out TPS at each sample since `since_ms`.
    pub fn broker_series(
        &self,
        cluster: &str,
        broker: &str,
        since_ms: i64,
    ) -> Result<Vec<Point>, String> {
        self.points(
            "SELECT at_ms, SUM(in_tps), SUM(out_tps) FROM broker_tps
             WHERE cluster = ?1 AND broker = ?2 AND at_ms >= ?3 GROUP BY at_ms ORDER BY at_ms",
            params![cluster, broker, since_ms],
        )
    }

    /// A group's get TPS on a topic (on `broker`, or summed) at each sample since `since_ms`.
    pub fn group_series(
        &self,
        cluster: &str,
        topic: &str,
        group: &str,
        broker: Option<&str>,
        since_ms: i64,
    ) -> Result<Vec<Point>, String> {
        self.points(
            "SELECT at_ms, 0.0, SUM(get_tps) FROM group_tps
             WHERE cluster = ?1 AND topic = ?2 AND grp = ?3 AND (?4 IS NULL OR broker = ?4)
             AND at_ms >= ?5 GROUP BY at_ms ORDER BY at_ms",
            params![cluster, topic, group, broker, since_ms],
        )
    }

    fn points(&self, query: &str, args: impl rusqlite::Params) -> Result<Vec<Point>, String> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(query).map_err(sql)?;
        let rows = stmt
            .query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql)?;
        rows.collect::<Result<Vec<Point>, _>>().map_err(sql)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(tps: f64) -> Sample {
        Sample {
            brokers: vec![
                ("c".into(), "a".into(), tps, 1.0),
                ("c".into(), "b".into(), tps, 2.0),
            ],
            topics: vec![("c".into(), "a".into(), "T".into(), tps)],
            groups: vec![("c".into(), "a".into(), "T".into(), "g".into(), 0.5, 7)],
        }
    }

    #[test]
    fn given_samples_should_sum_brokers_survive_reopen_and_forget_past_retention() {
        let dir = tempfile::tempdir().unwrap();
        let day = 86_400_000;
        {
            let store = HistoryStore::open(dir.path(), 1).unwrap();
            store.record(1_000, &sample(3.0)).unwrap();
            store.record(61_000, &sample(4.0)).unwrap();
        }
        let store = HistoryStore::open(dir.path(), 1).unwrap();
        assert_eq!(
            store.cluster_series("c", 0).unwrap(),
            vec![(1_000, 6.0, 3.0), (61_000, 8.0, 3.0)]
        );
        assert_eq!(
            store.topic_series("c", "T", Some("a"), 2_000).unwrap(),
            vec![(61_000, 4.0, 0.0)]
        );
        assert_eq!(store.group_series("c", "T", "g", None, 0).unwrap().len(), 2);
        assert!(
            store
                .topic_series("c", "T", Some("zz"), 0)
                .unwrap()
                .is_empty()
        );
        store.record(day + 30_000, &sample(1.0)).unwrap();
        let left = store.cluster_series("c", 0).unwrap();
        assert_eq!(
            left.first().map(|p| p.0),
            Some(61_000),
            "older than a day is gone: {left:?}"
        );
    }
}
