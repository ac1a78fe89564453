//! ACL 1.0's `plain_acl.yml` mapped onto users and policies (REMOTING.md §8.1; the mapping of
//! permissions follows RocketMQ's own 1.0 → 2.0 migration, docs/acl-facts.md §3.3).
//!
//! ```yaml
//! globalWhiteRemoteAddresses: ["10.10.103.*"]
//! accounts:
//!   - accessKey: RocketMQ
//!     secretKey: "12345678"
//!     whiteRemoteAddress: 192.168.0.*
//!     admin: false
//!     defaultTopicPerm: DENY
//!     defaultGroupPerm: SUB
//!     topicPerms: [topicA=DENY, topicB=PUB|SUB]
//!     groupPerms: [groupA=DENY, groupB=SUB]
//! ```

use apogee_model::{Actions, DataVersion, ResourceKind};
use apogee_protocol::body::auth::PlainAccessConfig;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

use crate::policy::{Acl, Decision, PolicyEntry};
use crate::resource::ResourcePattern;
use crate::source_ip::IpRule;
use crate::user::{User, UserType};

/// One account of the file.
#[derive(Debug, Clone)]
pub struct PlainAccount {
    pub user: User,
    pub acl: Acl,
    /// Requests with this access key from these addresses need no signature.
    pub white: Vec<IpRule>,
}

/// The whole file.
#[derive(Debug, Clone, Default)]
pub struct PlainAcl {
    /// Requests from these addresses pass without any check.
    pub global_white: Vec<IpRule>,
    pub accounts: Vec<PlainAccount>,
}

fn text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// ACL 1.0 permission text → (actions, decision): PUB, SUB, PUB|SUB (either order) allow;
/// DENY and anything unknown refuse everything, as RocketMQ 1.0 reads them.
fn perm(text: &str) -> (Actions, Decision) {
    let parts: Vec<String> = text
        .split('|')
        .map(|p| p.trim().to_ascii_uppercase())
        .collect();
    let mut actions = Actions::NONE;
    for part in &parts {
        match part.as_str() {
            "PUB" => actions = actions.or(Actions::PUB),
            "SUB" => actions = actions.or(Actions::SUB),
            "ANY" => actions = actions.or(Actions::PUB).or(Actions::SUB),
            _ => return (Actions::ALL, Decision::Deny),
        }
    }
    if actions.is_empty() {
        (Actions::ALL, Decision::Deny)
    } else {
        (actions, Decision::Allow)
    }
}

fn entry(kind: ResourceKind, name: Option<&str>, perm_text: &str) -> Result<PolicyEntry, String> {
    let (actions, decision) = perm(perm_text);
    let resource = match name {
        Some(n) => ResourcePattern::literal(
            kind,
            n.strip_prefix(apogee_model::system_topic::RETRY_PREFIX)
                .unwrap_or(n),
        ),
        None => ResourcePattern::any_of(kind),
    };
    PolicyEntry::new(resource, actions, Vec::new(), decision)
}

fn perm_entries(kind: ResourceKind, items: &[String]) -> Result<Vec<PolicyEntry>, String> {
    items
        .iter()
        .map(|item| {
            let (name, p) = item.split_once('=').ok_or_else(|| {
                format!("Parse Resource format error for {item}. The expected resource format is 'Res=Perm'. For example: topicA=SUB")
            })?;
            entry(kind, Some(name.trim()), p)
        })
        .collect()
}

/// The file as text: what management codes 50–54 read and write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainAclDoc {
    pub global_white_remote_addresses: Vec<String>,
    pub accounts: Vec<PlainAccessConfig>,
    /// `dataVersion` (counter and timestamp), bumped on every write.
    pub data_version: DataVersion,
}

fn account_doc(y: &Yaml) -> PlainAccessConfig {
    let field = |k: &str| text(&y[k]).filter(|s| !s.trim().is_empty());
    PlainAccessConfig {
        access_key: field("accessKey").unwrap_or_default(),
        secret_key: field("secretKey").unwrap_or_default(),
        white_remote_address: field("whiteRemoteAddress"),
        admin: field("admin").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        default_topic_perm: field("defaultTopicPerm"),
        default_group_perm: field("defaultGroupPerm"),
        topic_perms: list(&y["topicPerms"]),
        group_perms: list(&y["groupPerms"]),
    }
}

fn account(doc: &PlainAccessConfig) -> Result<PlainAccount, String> {
    if doc.access_key.trim().is_empty() || doc.secret_key.trim().is_empty() {
        return Err("an account needs both accessKey and secretKey".into());
    }
    let access_key = doc.access_key.clone();
    let user_type = if doc.admin {
        UserType::Super
    } else {
        UserType::Normal
    };
    let mut custom = perm_entries(ResourceKind::Topic, &doc.topic_perms)?;
    custom.extend(perm_entries(ResourceKind::Group, &doc.group_perms)?);
    let mut defaults = Vec::new();
    if let Some(p) = &doc.default_topic_perm {
        defaults.push(entry(ResourceKind::Topic, None, p)?);
    }
    if let Some(p) = &doc.default_group_perm {
        defaults.push(entry(ResourceKind::Group, None, p)?);
    }
    let white = match &doc.white_remote_address {
        Some(w) => IpRule::parse_white_address(w)?,
        None => Vec::new(),
    };
    Ok(PlainAccount {
        acl: Acl::of(&access_key, custom, defaults),
        user: User::new(access_key, doc.secret_key.clone(), user_type),
        white,
    })
}

impl PlainAclDoc {
    /// Reads the text of a `plain_acl.yml`.
    pub fn parse(yaml: &str) -> Result<Self, String> {
        let docs = YamlLoader::load_from_str(yaml).map_err(|e| format!("plain_acl.yml: {e}"))?;
        let Some(doc) = docs.first() else {
            return Ok(Self::default());
        };
        let accounts = match &doc["accounts"] {
            Yaml::Array(items) => items.iter().map(account_doc).collect(),
            Yaml::BadValue | Yaml::Null => Vec::new(),
            _ => return Err("plain_acl.yml: accounts is not a list".into()),
        };
        let version = &doc["dataVersion"][0];
        let number = |k: &str| version[k].as_i64().unwrap_or(0);
        Ok(Self {
            global_white_remote_addresses: list(&doc["globalWhiteRemoteAddresses"]),
            accounts,
            data_version: DataVersion {
                counter: number("counter"),
                state_version: 0,
                timestamp: number("timestamp"),
            },
        })
    }

    /// The users, policies and white addresses the document stands for.
    pub fn to_model(&self) -> Result<PlainAcl, String> {
        let mut global_white = Vec::new();
        for pattern in &self.global_white_remote_addresses {
            global_white.extend(IpRule::parse_white_address(pattern)?);
        }
        let accounts = self
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| account(a).map_err(|e| format!("plain_acl.yml accounts[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PlainAcl {
            global_white,
            accounts,
        })
    }

    /// The document as YAML, in RocketMQ's layout.
    pub fn to_yaml(&self) -> String {
        let s = |v: &str| Yaml::String(v.to_owned());
        let strings = |v: &[String]| Yaml::Array(v.iter().map(|x| s(x)).collect());
        let mut root = Hash::new();
        root.insert(
            s("globalWhiteRemoteAddresses"),
            strings(&self.global_white_remote_addresses),
        );
        let accounts = self
            .accounts
            .iter()
            .map(|a| {
                let mut h = Hash::new();
                h.insert(s("accessKey"), s(&a.access_key));
                h.insert(s("secretKey"), s(&a.secret_key));
                if let Some(w) = &a.white_remote_address {
                    h.insert(s("whiteRemoteAddress"), s(w));
                }
                h.insert(s("admin"), Yaml::Boolean(a.admin));
                if let Some(p) = &a.default_topic_perm {
                    h.insert(s("defaultTopicPerm"), s(p));
                }
                if let Some(p) = &a.default_group_perm {
                    h.insert(s("defaultGroupPerm"), s(p));
                }
                h.insert(s("topicPerms"), strings(&a.topic_perms));
                h.insert(s("groupPerms"), strings(&a.group_perms));
                Yaml::Hash(h)
            })
            .collect();
        root.insert(s("accounts"), Yaml::Array(accounts));
        let mut version = Hash::new();
        version.insert(s("counter"), Yaml::Integer(self.data_version.counter));
        version.insert(s("timestamp"), Yaml::Integer(self.data_version.timestamp));
        root.insert(s("dataVersion"), Yaml::Array(vec![Yaml::Hash(version)]));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = YamlEmitter::new(&mut out).dump(&Yaml::Hash(root));
        out.push('\n');
        out
    }
}

/// Parses the text of a `plain_acl.yml`; the error names what is wrong.
pub fn parse(yaml: &str) -> Result<PlainAcl, String> {
    PlainAclDoc::parse(yaml)?.to_model()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    const SHIPPED: &str = r#"
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
"#;

    #[test]
    fn given_the_shipped_file_should_map_accounts_perms_and_white_addresses() {
        let acl = parse(SHIPPED).unwrap();
        assert_eq!(acl.global_white.len(), 2);
        let [normal, admin] = &acl.accounts[..] else {
            panic!("two accounts")
        };
        assert_eq!(normal.user.password, "12345678", "numbers are read as text");
        assert!(!normal.user.is_super() && admin.user.is_super());
        let ip = IpAddr::from([10, 0, 0, 1]);
        let d = |kind, name, need| normal.acl.decide(kind, name, need, ip);
        assert_eq!(
            d(ResourceKind::Topic, "topicA", Actions::SUB),
            Some(Decision::Deny)
        );
        assert_eq!(
            d(ResourceKind::Topic, "topicB", Actions::PUB),
            Some(Decision::Allow)
        );
        assert_eq!(
            d(ResourceKind::Topic, "topicC", Actions::PUB),
            Some(Decision::Deny),
            "default DENY"
        );
        assert_eq!(
            d(ResourceKind::Group, "other", Actions::SUB),
            Some(Decision::Allow),
            "default SUB"
        );
        assert_eq!(
            d(ResourceKind::Group, "groupA", Actions::SUB),
            Some(Decision::Deny)
        );
        assert!(admin.white[0].matches(IpAddr::from([192, 168, 1, 9])));
    }

    #[test]
    fn given_a_document_should_write_yaml_that_reads_back_the_same() {
        let mut doc = PlainAclDoc::parse(SHIPPED).unwrap();
        doc.data_version.counter = 3;
        doc.data_version.timestamp = 1_700_000_000_000;
        let again = PlainAclDoc::parse(&doc.to_yaml()).unwrap();
        assert_eq!(again, doc);
        assert_eq!(again.accounts[0].secret_key, "12345678");
        assert!(again.to_model().is_ok());
    }

    #[test]
    fn given_broken_files_should_say_what_is_wrong() {
        assert!(
            parse("accounts:\n  - accessKey: a\n")
                .unwrap_err()
                .contains("secretKey")
        );
        assert!(
            parse("accounts:\n  - accessKey: a\n    secretKey: b\n    topicPerms: [x]\n")
                .unwrap_err()
                .contains("Res=Perm")
        );
        assert!(parse("accounts: [").is_err());
        assert!(parse("").unwrap().accounts.is_empty());
    }
}
