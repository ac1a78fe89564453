//! User and ACL management (codes 3001–3010) on the managed set: validation, RocketMQ's merge
//! rules and remarks (docs/acl-facts.md §4.3), and the JSON bodies both ways. Users defined in
//! `plain_acl.yml` or the config file are read-only here: they change where they are defined.

use apogee_model::Action;
use apogee_protocol::ResponseCode;
use apogee_protocol::body::auth::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};

use crate::policy::{Acl, Decision, Policy, PolicyEntry, PolicyType};
use crate::registry::{Managed, Registry, Source};
use crate::resource::ResourcePattern;
use crate::user::{User, UserStatus, UserType};

/// Most users the API may create, most entries one ACL may hold, longest user name and
/// password: what management requests can make a broker keep is bounded (RocketMQ has no
/// limits).
pub const USERS_MAX: usize = 10_000;
pub const ACL_ENTRIES_MAX: usize = 1_000;
pub const NAME_BYTES_MAX: usize = 255;
pub const PASSWORD_BYTES_MAX: usize = 1_024;

/// Why a management request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManageError {
    pub code: ResponseCode,
    pub remark: String,
}

fn denied(remark: impl Into<String>) -> ManageError {
    ManageError {
        code: ResponseCode::NO_PERMISSION,
        remark: remark.into(),
    }
}

fn system(remark: impl Into<String>) -> ManageError {
    ManageError {
        code: ResponseCode::SYSTEM_ERROR,
        remark: remark.into(),
    }
}

/// The caller of a management request: the user named by its AccessKey, if any.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a>(pub Option<&'a User>);

impl Caller<'_> {
    /// RocketMQ checks super-user rights only when the request names a user.
    fn may_touch_super_users(self) -> bool {
        self.0.is_none_or(User::is_super)
    }
}

fn defined_elsewhere(name: &str, source: Source) -> ManageError {
    let place = match source {
        Source::PlainAclFile => "plain_acl.yml",
        _ => "the config file",
    };
    denied(format!(
        "User:{name} is defined in {place}; change it there"
    ))
}

fn invalid(remark: String) -> ManageError {
    ManageError {
        code: ResponseCode::INVALID_PARAMETER,
        remark,
    }
}

fn blank_username() -> ManageError {
    ManageError {
        code: ResponseCode::INVALID_PARAMETER,
        remark: "The username is blank".into(),
    }
}

/// A create or update user request: who asks, the header's user name, and the body.
#[derive(Debug, Clone, Copy)]
pub struct UserRequest<'a> {
    pub caller: Caller<'a>,
    pub header_name: &'a str,
    pub info: &'a UserInfo,
}

impl<'a> UserRequest<'a> {
    /// The body's user name, else the header's; blank is refused.
    fn username(&self) -> Result<&'a str, ManageError> {
        let name = self
            .info
            .username
            .as_deref()
            .unwrap_or(self.header_name)
            .trim();
        if name.is_empty() {
            return Err(blank_username());
        }
        if name.len() > NAME_BYTES_MAX {
            return Err(invalid(format!(
                "a user name has at most {NAME_BYTES_MAX} bytes"
            )));
        }
        Ok(name)
    }
}

/// AUTH_CREATE_USER.
pub fn create_user(
    managed: &mut Managed,
    registry: &Registry,
    request: UserRequest<'_>,
) -> Result<(), ManageError> {
    let (caller, info) = (request.caller, request.info);
    let name = request.username()?;
    if registry.user(name).is_some() || managed.users.iter().any(|u| u.username == name) {
        return Err(denied("The user is existed"));
    }
    if managed.users.len() >= USERS_MAX {
        return Err(invalid(format!("at most {USERS_MAX} users can be created")));
    }
    let password = info.password.as_deref().unwrap_or_default();
    if password.trim().is_empty() {
        return Err(denied("password can not be blank"));
    }
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(invalid(format!(
            "a password has at most {PASSWORD_BYTES_MAX} bytes"
        )));
    }
    let user_type = info
        .user_type
        .as_deref()
        .and_then(UserType::parse)
        .unwrap_or(UserType::Normal);
    if user_type == UserType::Super && !caller.may_touch_super_users() {
        return Err(system("The super user can only be create by super user"));
    }
    let mut user = User::new(name, password, user_type);
    if let Some(status) = info.user_status.as_deref().and_then(UserStatus::parse) {
        user.user_status = status;
    }
    managed.users.push(user);
    Ok(())
}

/// The managed user `name`, refusing users defined elsewhere and super users the caller may
/// not touch.
fn managed_user<'m>(
    managed: &'m mut Managed,
    registry: &Registry,
    caller: Caller<'_>,
    name: &str,
) -> Result<&'m mut User, ManageError> {
    match registry.source(name) {
        None => return Err(denied("The user is not exist")),
        Some(Source::Managed) => {}
        Some(other) => return Err(defined_elsewhere(name, other)),
    }
    let user = managed
        .users
        .iter_mut()
        .find(|u| u.username == name)
        .ok_or_else(|| denied("The user is not exist"))?;
    if user.is_super() && !caller.may_touch_super_users() {
        return Err(denied("The super user can only be update by super user"));
    }
    Ok(user)
}

/// AUTH_UPDATE_USER: the given fields only.
pub fn update_user(
    managed: &mut Managed,
    registry: &Registry,
    request: UserRequest<'_>,
) -> Result<(), ManageError> {
    let (caller, info) = (request.caller, request.info);
    let name = request.username()?;
    let user_type = info.user_type.as_deref().and_then(UserType::parse);
    if user_type == Some(UserType::Super) && !caller.may_touch_super_users() {
        return Err(system("The super user can only be update by super user"));
    }
    let user = managed_user(managed, registry, caller, name)?;
    if info
        .password
        .as_deref()
        .is_some_and(|p| p.len() > PASSWORD_BYTES_MAX)
    {
        return Err(invalid(format!(
            "a password has at most {PASSWORD_BYTES_MAX} bytes"
        )));
    }
    if let Some(password) = info.password.as_deref().filter(|p| !p.trim().is_empty()) {
        password.clone_into(&mut user.password);
    }
    if let Some(t) = user_type {
        user.user_type = t;
    }
    if let Some(status) = info.user_status.as_deref().and_then(UserStatus::parse) {
        user.user_status = status;
    }
    Ok(())
}

/// AUTH_DELETE_USER: also deletes the user's ACL; deleting an unknown user succeeds.
pub fn delete_user(
    managed: &mut Managed,
    registry: &Registry,
    caller: Caller<'_>,
    name: &str,
) -> Result<(), ManageError> {
    if registry.source(name).is_none() {
        return Ok(());
    }
    managed_user(managed, registry, caller, name)?;
    managed.users.retain(|u| u.username != name);
    let subject = format!("User:{name}");
    managed.acls.retain(|a| a.subject != subject);
    Ok(())
}

pub fn user_info(user: &User) -> UserInfo {
    UserInfo {
        username: Some(user.username.clone()),
        password: Some(user.password.clone()),
        user_type: Some(format!("{:?}", user.user_type)),
        user_status: Some(
            match user.user_status {
                UserStatus::Enabled => "enable",
                UserStatus::Disabled => "disable",
            }
            .into(),
        ),
    }
}

/// AUTH_LIST_USER: users whose name contains `filter`.
pub fn list_users(registry: &Registry, filter: Option<&str>) -> Vec<UserInfo> {
    let filter = filter.unwrap_or_default();
    registry
        .users()
        .filter(|u| u.username.contains(filter))
        .map(user_info)
        .collect()
}

fn parse_policy_type(text: Option<&str>) -> PolicyType {
    match text {
        Some(t) if t.trim().eq_ignore_ascii_case("default") => PolicyType::Default,
        _ => PolicyType::Custom,
    }
}

fn parse_entry(info: &PolicyEntryInfo) -> Result<PolicyEntry, ManageError> {
    let resource = info
        .resource
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| denied("The resource is null."))?;
    let resource = ResourcePattern::parse(resource).map_err(denied)?;
    if info
        .actions
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case("any"))
    {
        return Err(denied("The actions can not be Any."));
    }
    let actions = info
        .actions
        .iter()
        .filter_map(|a| Action::parse(a))
        .collect();
    let decision = match info.decision.as_deref().map(str::trim) {
        Some(d) if d.eq_ignore_ascii_case("allow") => Decision::Allow,
        Some(d) if d.eq_ignore_ascii_case("deny") => Decision::Deny,
        _ => return Err(denied("The decision is null or illegal.")),
    };
    PolicyEntry::new(resource, actions, info.source_ips.clone(), decision).map_err(denied)
}

fn subject_user(subject: &str) -> Result<&str, ManageError> {
    subject
        .strip_prefix("User:")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| denied(format!("The subject {subject} is not User:<name>.")))
}

/// AUTH_CREATE_ACL and AUTH_UPDATE_ACL (RocketMQ merges both the same way): each policy is
/// merged entry by entry into the user's policy of the same type, an entry with an equal
/// resource being replaced.
pub fn upsert_acl(
    managed: &mut Managed,
    registry: &Registry,
    header_subject: &str,
    info: &AclInfo,
) -> Result<(), ManageError> {
    let subject = info.subject.as_deref().unwrap_or(header_subject).trim();
    let name = subject_user(subject)?;
    match registry.source(name) {
        None => return Err(denied(format!("The subject of {subject} is not exist."))),
        Some(Source::PlainAclFile) => return Err(defined_elsewhere(name, Source::PlainAclFile)),
        Some(_) => {}
    }
    if info.policies.is_empty() {
        return Err(denied("The policies is empty."));
    }
    let mut incoming = Vec::new();
    for policy in &info.policies {
        if policy.entries.is_empty() {
            return Err(denied("The policy entries is empty."));
        }
        let entries = policy
            .entries
            .iter()
            .map(parse_entry)
            .collect::<Result<Vec<_>, _>>()?;
        incoming.push((parse_policy_type(policy.policy_type.as_deref()), entries));
    }
    let acl = match managed.acls.iter().position(|a| a.subject == subject) {
        Some(i) => &mut managed.acls[i],
        None => {
            managed.acls.push(Acl {
                subject: subject.to_owned(),
                policies: Vec::new(),
            });
            managed
                .acls
                .last_mut()
                .unwrap_or_else(|| unreachable!("just pushed"))
        }
    };
    for (policy_type, entries) in incoming {
        let policy = match acl
            .policies
            .iter()
            .position(|p| p.policy_type == policy_type)
        {
            Some(i) => &mut acl.policies[i],
            None => {
                acl.policies.push(Policy {
                    policy_type,
                    entries: Vec::new(),
                });
                acl.policies
                    .last_mut()
                    .unwrap_or_else(|| unreachable!("just pushed"))
            }
        };
        for entry in entries {
            match policy
                .entries
                .iter_mut()
                .find(|e| e.resource == entry.resource)
            {
                Some(existing) => *existing = entry,
                None => policy.entries.push(entry),
            }
        }
    }
    // The caller edits a copy: a refusal here leaves the stored ACL as it was.
    if acl.entry_count() > ACL_ENTRIES_MAX {
        return Err(invalid(format!(
            "an ACL holds at most {ACL_ENTRIES_MAX} entries"
        )));
    }
    Ok(())
}

/// AUTH_DELETE_ACL: the whole ACL, or the entry of `resource` in the `policy_type` policy.
pub fn delete_acl(
    managed: &mut Managed,
    registry: &Registry,
    subject: &str,
    policy_type: Option<&str>,
    resource: Option<&str>,
) -> Result<(), ManageError> {
    let name = subject_user(subject)?;
    if registry.user(name).is_none() {
        return Err(denied("The subject is not exist."));
    }
    let i = managed
        .acls
        .iter()
        .position(|a| a.subject == subject)
        .ok_or_else(|| denied("The acl is not exist."))?;
    let Some(resource) = resource.filter(|r| !r.trim().is_empty()) else {
        managed.acls.remove(i);
        return Ok(());
    };
    let resource = ResourcePattern::parse(resource).map_err(denied)?;
    let policy_type = parse_policy_type(policy_type);
    let acl = &mut managed.acls[i];
    for policy in acl
        .policies
        .iter_mut()
        .filter(|p| p.policy_type == policy_type)
    {
        policy.entries.retain(|e| e.resource != resource);
    }
    acl.policies.retain(|p| !p.entries.is_empty());
    if acl.policies.is_empty() {
        managed.acls.remove(i);
    }
    Ok(())
}

pub fn acl_info(acl: &Acl) -> AclInfo {
    AclInfo {
        subject: Some(acl.subject.clone()),
        policies: acl
            .policies
            .iter()
            .map(|p| PolicyInfo {
                policy_type: Some(format!("{:?}", p.policy_type)),
                entries: p
                    .entries
                    .iter()
                    .map(|e| PolicyEntryInfo {
                        resource: Some(e.resource.to_string()),
                        actions: e.actions.iter().map(|a| a.as_str().to_owned()).collect(),
                        source_ips: e.source_ips.clone(),
                        decision: Some(format!("{:?}", e.decision)),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// AUTH_LIST_ACL: ACLs whose subject contains `subject_filter`, with only the entries whose
/// resource contains `resource_filter` (ACLs left without entries are left out).
pub fn list_acls(
    registry: &Registry,
    subject_filter: Option<&str>,
    resource_filter: Option<&str>,
) -> Vec<AclInfo> {
    let subject_filter = subject_filter.unwrap_or_default();
    registry
        .acls()
        .filter(|a| a.subject.contains(subject_filter))
        .filter_map(|a| {
            let mut info = acl_info(a);
            if let Some(filter) = resource_filter.filter(|f| !f.is_empty()) {
                for policy in &mut info.policies {
                    policy
                        .entries
                        .retain(|e| e.resource.as_deref().is_some_and(|r| r.contains(filter)));
                }
                info.policies.retain(|p| !p.entries.is_empty());
                if info.policies.is_empty() {
                    return None;
                }
            }
            Some(info)
        })
        .collect()
}

#[cfg(test)]
#[path = "manage_tests.rs"]
mod tests;
