//! The vocabulary of access control: what kind of thing a request touches and what it does to
//! it (RocketMQ ACL 2.0's `ResourceType` and `Action`, with their JSON spellings).

use std::fmt;

/// The kind of a resource named in a policy or needed by a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Cluster,
    Namespace,
    Topic,
    Group,
}

impl ResourceKind {
    /// RocketMQ's spelling (`Topic`, `Group`, …), as in resource keys `Topic:orders`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "Cluster",
            Self::Namespace => "Namespace",
            Self::Topic => "Topic",
            Self::Group => "Group",
        }
    }

    /// Parses a kind case-insensitively, as RocketMQ does.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Cluster, Self::Namespace, Self::Topic, Self::Group]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(text))
    }
}

/// One action (RocketMQ's `Action`, without `Any`, which policies may not store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    All,
    Pub,
    Sub,
    Create,
    Update,
    Delete,
    Get,
    List,
}

impl Action {
    pub const EVERY: [Action; 8] = [
        Self::All,
        Self::Pub,
        Self::Sub,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::Get,
        Self::List,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Pub => "Pub",
            Self::Sub => "Sub",
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Get => "Get",
            Self::List => "List",
        }
    }

    /// Parses an action case-insensitively; `Any` and unknown names are `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::EVERY
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(text.trim()))
    }

    const fn bit(self) -> u8 {
        match self {
            Self::All => 0x80,
            Self::Pub => 0x01,
            Self::Sub => 0x02,
            Self::Create => 0x04,
            Self::Update => 0x08,
            Self::Delete => 0x10,
            Self::Get => 0x20,
            Self::List => 0x40,
        }
    }
}

/// A set of actions. As a grant, `All` covers everything; as a need, any one member suffices.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Actions(u8);

impl Actions {
    pub const NONE: Actions = Actions(0);
    pub const ALL: Actions = Actions(Action::All.bit());
    pub const PUB: Actions = Actions(Action::Pub.bit());
    pub const SUB: Actions = Actions(Action::Sub.bit());
    pub const CREATE: Actions = Actions(Action::Create.bit());
    pub const UPDATE: Actions = Actions(Action::Update.bit());
    pub const DELETE: Actions = Actions(Action::Delete.bit());
    pub const GET: Actions = Actions(Action::Get.bit());
    pub const LIST: Actions = Actions(Action::List.bit());

    #[must_use]
    pub const fn or(self, other: Actions) -> Actions {
        Actions(self.0 | other.0)
    }

    #[must_use]
    pub const fn with(self, action: Action) -> Actions {
        Actions(self.0 | action.bit())
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn contains(self, action: Action) -> bool {
        self.0 & action.bit() != 0
    }

    /// Whether a grant of `self` satisfies a need of `need` (any one of its actions).
    pub const fn grants_any_of(self, need: Actions) -> bool {
        self.0 & Action::All.bit() != 0 || self.0 & need.0 != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::EVERY.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Action> for Actions {
    fn from_iter<I: IntoIterator<Item = Action>>(iter: I) -> Self {
        iter.into_iter().fold(Actions::NONE, Actions::with)
    }
}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(Action::as_str))
            .finish()
    }
}

impl fmt::Display for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Action::as_str).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_grants_should_satisfy_needs_when_any_action_overlaps_or_all_is_granted() {
        let pub_sub = Actions::PUB.or(Actions::SUB);
        assert!(pub_sub.grants_any_of(Actions::SUB.or(Actions::GET)));
        assert!(!pub_sub.grants_any_of(Actions::UPDATE));
        assert!(Actions::ALL.grants_any_of(Actions::DELETE));
        assert!(!Actions::NONE.grants_any_of(Actions::PUB));
        assert_eq!(pub_sub.to_string(), "Pub,Sub");
    }

    #[test]
    fn given_spellings_should_parse_case_insensitively_and_refuse_any() {
        assert_eq!(Action::parse("pub"), Some(Action::Pub));
        assert_eq!(Action::parse(" LIST "), Some(Action::List));
        assert_eq!(Action::parse("Any"), None);
        assert_eq!(ResourceKind::parse("topic"), Some(ResourceKind::Topic));
        assert_eq!(ResourceKind::parse("queue"), None);
    }
}
