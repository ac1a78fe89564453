//! Policies: what a user may do to which resources from where (RocketMQ ACL 2.0's `Acl`,
//! `Policy` and `PolicyEntry`, with the JSON of its `AclInfo` body), and the decision for one
//! resource.

use std::net::IpAddr;

use apogee_model::{Action, Actions, ResourceKind};
use serde::{Deserialize, Serialize};

use crate::resource::ResourcePattern;
use crate::source_ip::IpRule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Allow,
    Deny,
}

/// Custom entries decide first; Default entries (ACL 1.0's default perms) only when no Custom
/// entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PolicyType {
    #[default]
    Custom,
    Default,
}

/// One grant or refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub resource: ResourcePattern,
    pub actions: Actions,
    /// Empty: from anywhere.
    pub source_ips: Vec<String>,
    rules: Vec<IpRule>,
    pub decision: Decision,
}

impl PolicyEntry {
    /// Checks what RocketMQ checks when an entry is written.
    pub fn new(
        resource: ResourcePattern,
        actions: Actions,
        source_ips: Vec<String>,
        decision: Decision,
    ) -> Result<Self, String> {
        if actions.is_empty() {
            return Err("The actions is empty.".into());
        }
        let rules = source_ips
            .iter()
            .map(|s| IpRule::parse_source_ip(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            resource,
            actions,
            source_ips,
            rules,
            decision,
        })
    }

    fn applies(&self, kind: ResourceKind, name: &str, need: Actions, ip: IpAddr) -> bool {
        self.resource.matches(kind, name)
            && self.actions.grants_any_of(need)
            && (self.rules.is_empty() || self.rules.iter().any(|r| r.matches(ip)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(default)]
    pub policy_type: PolicyType,
    pub entries: Vec<PolicyEntry>,
}

/// Every policy of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    /// `User:<name>`.
    pub subject: String,
    pub policies: Vec<Policy>,
}

impl Acl {
    /// The ACL of user `name` with a Custom and a Default policy.
    pub fn of(name: &str, custom: Vec<PolicyEntry>, default: Vec<PolicyEntry>) -> Self {
        Self {
            subject: format!("User:{name}"),
            policies: vec![
                Policy {
                    policy_type: PolicyType::Custom,
                    entries: custom,
                },
                Policy {
                    policy_type: PolicyType::Default,
                    entries: default,
                },
            ],
        }
    }

    /// Entries over all policies.
    pub fn entry_count(&self) -> usize {
        self.policies.iter().map(|p| p.entries.len()).sum()
    }
    /// The decision for `need` on `kind:name` from `ip`: the most specific applicable entry of
    /// the Custom policies, else of the Default ones; `None` when nothing applies. Between
    /// equally specific entries Deny wins (RocketMQ 5.3 lets Allow win there).
    pub fn decide(
        &self,
        kind: ResourceKind,
        name: &str,
        need: Actions,
        ip: IpAddr,
    ) -> Option<Decision> {
        [PolicyType::Custom, PolicyType::Default]
            .into_iter()
            .find_map(|policy_type| {
                self.policies
                    .iter()
                    .filter(|p| p.policy_type == policy_type)
                    .flat_map(|p| &p.entries)
                    .filter(|e| e.applies(kind, name, need, ip))
                    .max_by_key(|e| (e.resource.specificity(), e.decision == Decision::Deny))
                    .map(|e| e.decision)
            })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    resource: ResourcePattern,
    actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    source_ips: Vec<String>,
    decision: Decision,
}

impl Serialize for PolicyEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EntryJson {
            resource: self.resource.clone(),
            actions: self.actions.iter().map(|a| a.as_str().to_owned()).collect(),
            source_ips: self.source_ips.clone(),
            decision: self.decision,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PolicyEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = EntryJson::deserialize(d)?;
        if raw
            .actions
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case("any"))
        {
            return Err(serde::de::Error::custom("The actions can not be Any."));
        }
        let actions: Actions = raw
            .actions
            .iter()
            .filter_map(|a| Action::parse(a))
            .collect();
        PolicyEntry::new(raw.resource, actions, raw.source_ips, raw.decision)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceKind::{Group, Topic};

    fn entry(resource: &str, actions: Actions, ips: &[&str], decision: Decision) -> PolicyEntry {
        PolicyEntry::new(
            ResourcePattern::parse(resource).unwrap(),
            actions,
            ips.iter().map(|s| (*s).to_owned()).collect(),
            decision,
        )
        .unwrap()
    }

    fn acl(custom: Vec<PolicyEntry>, default: Vec<PolicyEntry>) -> Acl {
        Acl::of("alice", custom, default)
    }

    const HOME: [u8; 4] = [10, 0, 0, 7];

    #[test]
    fn given_entries_should_let_the_most_specific_decide_and_deny_win_ties() {
        let ip = IpAddr::from(HOME);
        let a = acl(
            vec![
                entry("Topic:orders*", Actions::PUB, &[], Decision::Allow),
                entry("Topic:orders-secret", Actions::ALL, &[], Decision::Deny),
                entry("Topic:tie", Actions::PUB, &[], Decision::Allow),
                entry("Topic:tie", Actions::PUB, &[], Decision::Deny),
            ],
            vec![entry("Topic:*", Actions::SUB, &[], Decision::Allow)],
        );
        assert_eq!(
            a.decide(Topic, "orders-1", Actions::PUB, ip),
            Some(Decision::Allow)
        );
        assert_eq!(
            a.decide(Topic, "orders-secret", Actions::PUB, ip),
            Some(Decision::Deny)
        );
        assert_eq!(
            a.decide(Topic, "tie", Actions::PUB, ip),
            Some(Decision::Deny)
        );
        // No Custom entry grants Sub on orders-1, so the Default policy decides.
        assert_eq!(
            a.decide(Topic, "orders-1", Actions::SUB, ip),
            Some(Decision::Allow)
        );
        assert_eq!(a.decide(Group, "cg", Actions::SUB, ip), None);
    }

    #[test]
    fn given_source_ips_should_apply_only_from_those_addresses() {
        let a = acl(
            vec![entry(
                "Group:cg",
                Actions::SUB,
                &["10.0.0.0/24"],
                Decision::Allow,
            )],
            vec![],
        );
        assert_eq!(
            a.decide(Group, "cg", Actions::SUB, IpAddr::from(HOME)),
            Some(Decision::Allow)
        );
        assert_eq!(
            a.decide(Group, "cg", Actions::SUB, IpAddr::from([10, 0, 1, 7])),
            None
        );
    }

    #[test]
    fn given_acl_info_json_should_round_trip_and_refuse_any_and_empty_actions() {
        let json = r#"{"subject":"User:alice","policies":[{"policyType":"Custom","entries":[{"resource":"Topic:orders*","actions":["Pub","Sub"],"sourceIps":["10.0.0.0/8"],"decision":"Allow"}]}]}"#;
        let parsed: Acl = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        let any = json.replace(r#"["Pub","Sub"]"#, r#"["Any"]"#);
        assert!(serde_json::from_str::<Acl>(&any).is_err());
        let none = json.replace(r#"["Pub","Sub"]"#, "[]");
        assert!(serde_json::from_str::<Acl>(&none).is_err());
        let bad_ip = json.replace("10.0.0.0/8", "ten");
        assert!(serde_json::from_str::<Acl>(&bad_ip).is_err());
    }
}
