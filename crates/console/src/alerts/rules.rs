//! Alert rules and their events, kept in the history database: a rule watches one figure (a
//! group's backlog or consume delay on a topic, whether a group has consumers online, whether a
//! group's dead-letter topic grew, a broker's disk use) against a threshold; crossing it records
//! a `firing` event, coming back a `resolved` one.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A group's messages not yet consumed on `topic`, above `threshold`.
    Backlog,
    /// The consume delay on `topic`: milliseconds since the oldest message the group has not
    /// consumed was stored, above `threshold`.
    ConsumeDelay,
    /// The group has no consumer online (threshold unused).
    GroupOffline,
    /// The group's dead-letter topic gained more than `threshold` messages since the last check.
    DlqGrowing,
    /// A broker's CommitLog disk use above `threshold` percent.
    Disk,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Backlog => "backlog",
            Self::ConsumeDelay => "consume_delay",
            Self::GroupOffline => "group_offline",
            Self::DlqGrowing => "dlq_growing",
            Self::Disk => "disk",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::Backlog,
            Self::ConsumeDelay,
            Self::GroupOffline,
            Self::DlqGrowing,
            Self::Disk,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A rule as the API takes and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    pub kind: Kind,
    pub cluster_name: String,
    #[serde(default)]
    pub topic_name: Option<String>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub threshold: f64,
    /// `http://host:port/path` receiving a JSON POST for every event.
    pub webhook: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether it is firing now (shown, not taken).
    #[serde(default)]
    pub firing: bool,
}

fn yes() -> bool {
    true
}

/// One firing or resolution.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub state: String,
    pub at: i64,
    pub value: f64,
    pub threshold: f64,
    pub message: String,
    /// Whether the webhook took it (2xx), after retries.
    pub delivered: bool,
}

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_rules (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
    kind TEXT NOT NULL, cluster TEXT NOT NULL, topic TEXT, grp TEXT, threshold REAL NOT NULL,
    webhook TEXT NOT NULL, enabled INTEGER NOT NULL, firing INTEGER NOT NULL DEFAULT 0,
    last_value REAL);
CREATE TABLE IF NOT EXISTS alert_events (id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id INTEGER NOT NULL, rule_name TEXT NOT NULL, state TEXT NOT NULL, at_ms INTEGER NOT NULL,
    value REAL NOT NULL, threshold REAL NOT NULL, message TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0);
";

/// Checks a rule before it is stored; the sentence says what is wrong.
pub fn validate(rule: &Rule) -> Result<(), String> {
    if rule.name.trim().is_empty() || rule.name.len() > 128 {
        return Err("name must be 1 to 128 characters".into());
    }
    let needs_group = matches!(
        rule.kind,
        Kind::Backlog | Kind::ConsumeDelay | Kind::GroupOffline | Kind::DlqGrowing
    );
    if needs_group && rule.group_name.as_deref().is_none_or(str::is_empty) {
        return Err(format!("a {} rule needs groupName", rule.kind.as_str()));
    }
    if matches!(rule.kind, Kind::Backlog | Kind::ConsumeDelay)
        && rule.topic_name.as_deref().is_none_or(str::is_empty)
    {
        return Err(format!("a {} rule needs topicName", rule.kind.as_str()));
    }
    if !rule.threshold.is_finite() || rule.threshold < 0.0 {
        return Err("threshold must be a number >= 0".into());
    }
    if !rule.webhook.is_empty() && !rule.webhook.starts_with("http://") {
        return Err(
            "webhook must be an http:// URL (or empty: events show in the console only)".into(),
        );
    }
    Ok(())
}

fn row_rule(r: &rusqlite::Row<'_>) -> rusqlite::Result<Rule> {
    let kind: String = r.get(2)?;
    Ok(Rule {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Backlog),
        cluster_name: r.get(3)?,
        topic_name: r.get(4)?,
        group_name: r.get(5)?,
        threshold: r.get(6)?,
        webhook: r.get(7)?,
        enabled: r.get::<_, i64>(8)? != 0,
        firing: r.get::<_, i64>(9)? != 0,
    })
}

impl rusqlite::ToSql for Kind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// A rule's settings as the statements' parameters ?2 to ?9 (?1 is the id, or unused).
fn settings(rule: &Rule) -> [&dyn rusqlite::ToSql; 8] {
    [
        &rule.name,
        &rule.kind,
        &rule.cluster_name,
        &rule.topic_name,
        &rule.group_name,
        &rule.threshold,
        &rule.webhook,
        &rule.enabled,
    ]
}

/// Rules kept at most (each is evaluated after every history sample).
pub const RULES_MAX: i64 = 1000;

/// Stores `rule` and answers its id, or `None` when [`RULES_MAX`] rules exist already.
pub fn insert_if_room(conn: &Connection, rule: &Rule) -> rusqlite::Result<Option<i64>> {
    let rules: i64 = conn.query_row("SELECT COUNT(*) FROM alert_rules", [], |r| r.get(0))?;
    if rules >= RULES_MAX {
        return Ok(None);
    }
    insert(conn, rule).map(Some)
}

pub fn insert(conn: &Connection, rule: &Rule) -> rusqlite::Result<i64> {
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&rusqlite::types::Null];
    args.extend(settings(rule));
    conn.execute(
        "INSERT INTO alert_rules (id, name, kind, cluster, topic, grp, threshold, webhook, enabled)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        args.as_slice(),
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Rule>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, kind, cluster, topic, grp, threshold, webhook, enabled, firing
         FROM alert_rules ORDER BY id",
    )?;
    let rows = stmt.query_map([], row_rule)?;
    rows.collect()
}

/// Replaces rule `id`'s settings; it starts over (not firing, no remembered value). False when
/// there is no such rule.
pub fn update(conn: &Connection, id: i64, rule: &Rule) -> rusqlite::Result<bool> {
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&id];
    args.extend(settings(rule));
    let changed = conn.execute(
        "UPDATE alert_rules SET name = ?2, kind = ?3, cluster = ?4, topic = ?5, grp = ?6,
         threshold = ?7, webhook = ?8, enabled = ?9, firing = 0, last_value = NULL WHERE id = ?1",
        args.as_slice(),
    )?;
    Ok(changed > 0)
}

pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM alert_rules WHERE id = ?1", params![id])? > 0)
}

/// The value last seen for a rule (a dead-letter topic's size), and remembers `value`.
pub fn swap_last_value(conn: &Connection, id: i64, value: f64) -> rusqlite::Result<Option<f64>> {
    let last: Option<Option<f64>> = conn
        .query_row(
            "SELECT last_value FROM alert_rules WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute(
        "UPDATE alert_rules SET last_value = ?2 WHERE id = ?1",
        params![id, value],
    )?;
    Ok(last.flatten())
}

/// Records a transition and flips the rule's state; returns the event.
pub fn transition(
    conn: &Connection,
    rule: &Rule,
    firing: bool,
    at: i64,
    value: f64,
    message: &str,
) -> rusqlite::Result<Event> {
    let state = if firing { "firing" } else { "resolved" };
    conn.execute(
        "UPDATE alert_rules SET firing = ?2 WHERE id = ?1",
        params![rule.id, i64::from(firing)],
    )?;
    conn.execute(
        "INSERT INTO alert_events (rule_id, rule_name, state, at_ms, value, threshold, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            rule.id,
            rule.name,
            state,
            at,
            value,
            rule.threshold,
            message
        ],
    )?;
    Ok(Event {
        id: conn.last_insert_rowid(),
        rule_id: rule.id,
        rule_name: rule.name.clone(),
        state: state.into(),
        at,
        value,
        threshold: rule.threshold,
        message: message.into(),
        delivered: false,
    })
}

pub fn mark_delivered(conn: &Connection, event_id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE alert_events SET delivered = 1 WHERE id = ?1",
        params![event_id],
    )?;
    Ok(())
}

pub fn events(conn: &Connection, limit: i64) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, rule_id, rule_name, state, at_ms, value, threshold, message, delivered
         FROM alert_events ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(Event {
            id: r.get(0)?,
            rule_id: r.get(1)?,
            rule_name: r.get(2)?,
            state: r.get(3)?,
            at: r.get(4)?,
            value: r.get(5)?,
            threshold: r.get(6)?,
            message: r.get(7)?,
            delivered: r.get::<_, i64>(8)? != 0,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn given_the_most_rules_should_refuse_one_more_and_update_in_place() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let rule = Rule {
            id: 0,
            name: "r".into(),
            kind: Kind::Disk,
            cluster_name: "c".into(),
            topic_name: None,
            group_name: None,
            threshold: 90.0,
            webhook: String::new(),
            enabled: true,
            firing: false,
        };
        for _ in 0..RULES_MAX {
            assert!(insert_if_room(&conn, &rule).unwrap().is_some());
        }
        assert_eq!(insert_if_room(&conn, &rule).unwrap(), None);
        let changed = Rule {
            threshold: 95.0,
            enabled: false,
            ..rule
        };
        assert!(update(&conn, 1, &changed).unwrap());
        assert!(!update(&conn, RULES_MAX + 1, &changed).unwrap());
        let first = &list(&conn).unwrap()[0];
        assert_eq!(
            (first.threshold, first.enabled, first.kind),
            (95.0, false, Kind::Disk)
        );
    }
}
