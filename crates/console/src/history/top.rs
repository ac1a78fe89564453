//! The overview's tables from the latest history sample: the (topic, group) pairs with the
//! largest backlog and the topics with the highest put TPS, each summed over brokers.

use rusqlite::{Connection, params};
use serde::Serialize;

/// A row of a top table.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Top {
    pub topic: String,
    /// Empty for the topic table.
    pub group: String,
    pub value: f64,
}

fn latest(conn: &Connection, table: &str, cluster: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        &format!("SELECT MAX(at_ms) FROM {table} WHERE cluster = ?1"),
        params![cluster],
        |r| r.get(0),
    )
}

/// The `limit` (topic, group) pairs with the largest backlog in the latest sample.
pub fn backlog(conn: &Connection, cluster: &str, limit: u32) -> rusqlite::Result<Vec<Top>> {
    let Some(at) = latest(conn, "group_tps", cluster)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT topic, grp, SUM(backlog) AS b FROM group_tps WHERE cluster = ?1 AND at_ms = ?2
         GROUP BY topic, grp HAVING b > 0 ORDER BY b DESC, topic, grp LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![cluster, at, limit], |r| {
        Ok(Top {
            topic: r.get(0)?,
            group: r.get(1)?,
            value: r.get::<_, i64>(2)? as f64,
        })
    })?;
    rows.collect()
}

/// The `limit` topics with the highest put TPS in the latest sample.
pub fn busiest(conn: &Connection, cluster: &str, limit: u32) -> rusqlite::Result<Vec<Top>> {
    let Some(at) = latest(conn, "topic_tps", cluster)? else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(
        "SELECT topic, SUM(put_tps) AS t FROM topic_tps WHERE cluster = ?1 AND at_ms = ?2
         GROUP BY topic HAVING t > 0 ORDER BY t DESC, topic LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![cluster, at, limit], |r| {
        Ok(Top {
            topic: r.get(0)?,
            group: String::new(),
            value: r.get(1)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::history::{HistoryStore, Sample};

    #[test]
    fn given_two_samples_should_rank_only_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path(), 1).unwrap();
        let g = |topic: &str, group: &str, broker: &str, backlog: i64| {
            (
                "c".to_owned(),
                broker.to_owned(),
                topic.to_owned(),
                group.to_owned(),
                0.0,
                backlog,
            )
        };
        let old = Sample {
            brokers: vec![],
            topics: vec![("c".into(), "a".into(), "Old".into(), 99.0)],
            groups: vec![g("Old", "g", "a", 1000)],
        };
        store.record(1_000, &old).unwrap();
        let new = Sample {
            brokers: vec![],
            topics: vec![
                ("c".into(), "a".into(), "T1".into(), 2.0),
                ("c".into(), "b".into(), "T1".into(), 3.0),
                ("c".into(), "a".into(), "T2".into(), 4.0),
                ("c".into(), "a".into(), "Idle".into(), 0.0),
            ],
            groups: vec![
                g("T1", "g1", "a", 5),
                g("T1", "g1", "b", 6),
                g("T2", "g2", "a", 7),
                g("T2", "g3", "a", 0),
            ],
        };
        store.record(61_000, &new).unwrap();
        let ranked = store.with_conn(|c| backlog(c, "c", 20)).unwrap();
        let names: Vec<_> = ranked
            .iter()
            .map(|t| (t.topic.as_str(), t.group.as_str(), t.value))
            .collect();
        assert_eq!(names, [("T1", "g1", 11.0), ("T2", "g2", 7.0)]);
        let busiest = store.with_conn(|c| busiest(c, "c", 1)).unwrap();
        assert_eq!((busiest[0].topic.as_str(), busiest[0].value), ("T1", 5.0));
        assert!(
            store
                .with_conn(|c| backlog(c, "other", 20))
                .unwrap()
                .is_empty()
        );
    }
}
