//! The controller settings an operator may change while it runs (UPDATE_CONTROLLER_CONFIG,
//! 1009): whether an unclean master may be elected, whether brokers are told about new
//! masters at once, and how long a new leader waits for heartbeats. The rest of the
//! configuration (peers, ports, directories, scan intervals) needs a restart. Changes hold
//! for this node until it stops; the config file stays as written.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::ControllerConfig;

/// Keys UPDATE_CONTROLLER_CONFIG accepts, in Java's spelling and Apogee's.
const UNCLEAN: [&str; 2] = ["enableElectUncleanMaster", "enable_elect_unclean_master"];
const NOTIFY: [&str; 2] = ["notifyBrokerRoleChanged", "notify_broker_role_changed"];
const GRACE: [&str; 2] = ["inactiveMasterGraceMs", "inactive_master_grace_ms"];

#[derive(Debug)]
pub struct Settings {
    elect_unclean_master: AtomicBool,
    notify_broker_role_changed: AtomicBool,
    inactive_master_grace_ms: AtomicU64,
}

impl Settings {
    pub fn new(config: &ControllerConfig) -> Self {
        Self {
            elect_unclean_master: AtomicBool::new(config.elect_unclean_master),
            notify_broker_role_changed: AtomicBool::new(config.notify_broker_role_changed),
            inactive_master_grace_ms: AtomicU64::new(
                u64::try_from(config.inactive_master_grace.as_millis()).unwrap_or(u64::MAX),
            ),
        }
    }

    pub fn elect_unclean_master(&self) -> bool {
        self.elect_unclean_master.load(Ordering::Relaxed)
    }

    pub fn notify_broker_role_changed(&self) -> bool {
        self.notify_broker_role_changed.load(Ordering::Relaxed)
    }

    pub fn inactive_master_grace(&self) -> Duration {
        Duration::from_millis(self.inactive_master_grace_ms.load(Ordering::Relaxed))
    }

    /// The current values under Java's names (for GET_CONTROLLER_CONFIG).
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        vec![
            (UNCLEAN[0], self.elect_unclean_master().to_string()),
            (NOTIFY[0], self.notify_broker_role_changed().to_string()),
            (
                GRACE[0],
                self.inactive_master_grace().as_millis().to_string(),
            ),
        ]
    }

    /// Applies every key or none: an unknown or fixed key, or a bad value, refuses the whole
    /// update with a sentence naming it.
    pub fn update(&self, props: &BTreeMap<String, String>) -> Result<(), String> {
        let mut unclean = None;
        let mut notify = None;
        let mut grace = None;
        for (key, value) in props {
            let key = key.as_str();
            if UNCLEAN.contains(&key) {
                unclean = Some(parse_bool(key, value)?);
            } else if NOTIFY.contains(&key) {
                notify = Some(parse_bool(key, value)?);
            } else if GRACE.contains(&key) {
                grace = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("{key}={value} is not a number of milliseconds"))?,
                );
            } else {
                return Err(format!(
                    "{key} cannot be changed while the controller runs (changeable: {}, {}, {}); edit the config file and restart",
                    UNCLEAN[0], NOTIFY[0], GRACE[0]
                ));
            }
        }
        if let Some(v) = unclean {
            self.elect_unclean_master.store(v, Ordering::Relaxed);
        }
        if let Some(v) = notify {
            self.notify_broker_role_changed.store(v, Ordering::Relaxed);
        }
        if let Some(v) = grace {
            self.inactive_master_grace_ms.store(v, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key}={value} is neither true nor false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawControllerConfig;

    fn settings() -> Settings {
        let config = ControllerConfig::try_from(RawControllerConfig::default()).expect("valid");
        Settings::new(&config)
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn given_java_and_apogee_keys_should_apply_them() {
        let s = settings();
        assert!(!s.elect_unclean_master());
        s.update(&props(&[
            ("enableElectUncleanMaster", "true"),
            ("notify_broker_role_changed", "false"),
            ("inactiveMasterGraceMs", "500"),
        ]))
        .expect("applies");
        assert!(s.elect_unclean_master());
        assert!(!s.notify_broker_role_changed());
        assert_eq!(s.inactive_master_grace(), Duration::from_millis(500));
        assert!(
            s.to_properties()
                .contains(&("enableElectUncleanMaster", "true".to_owned()))
        );
    }

    #[test]
    fn given_a_fixed_key_or_bad_value_should_change_nothing() {
        let s = settings();
        for bad in [
            props(&[
                ("enableElectUncleanMaster", "true"),
                ("controllerDLegerPeers", "x"),
            ]),
            props(&[("enableElectUncleanMaster", "yes")]),
            props(&[("inactiveMasterGraceMs", "-1")]),
        ] {
            assert!(s.update(&bad).is_err(), "{bad:?}");
        }
        assert!(!s.elect_unclean_master());
        assert_eq!(s.inactive_master_grace(), Duration::from_millis(3000));
    }
}
