use super::*;
use crate::Credentials;

fn user_info(name: &str, password: &str, user_type: Option<&str>) -> UserInfo {
    UserInfo {
        username: Some(name.into()),
        password: Some(password.into()),
        user_type: user_type.map(str::to_owned),
        user_status: None,
    }
}

fn req<'a>(caller: Caller<'a>, header_name: &'a str, info: &'a UserInfo) -> UserRequest<'a> {
    UserRequest {
        caller,
        header_name,
        info,
    }
}

fn registry(managed: &Managed) -> Registry {
    Registry::build(managed, None, &[Credentials::new("root", "root-secret")])
}

fn entry(resource: &str, actions: &[&str], decision: &str) -> PolicyEntryInfo {
    PolicyEntryInfo {
        resource: Some(resource.into()),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        decision: Some(decision.into()),
        source_ips: vec![],
    }
}

fn acl(entries: Vec<PolicyEntryInfo>) -> AclInfo {
    AclInfo {
        subject: Some("User:alice".into()),
        policies: vec![PolicyInfo {
            entries,
            policy_type: None,
        }],
    }
}

#[test]
fn given_user_requests_should_create_update_and_delete_with_rocketmq_rules() {
    let mut m = Managed::default();
    let nobody = Caller(None);
    {
        let r = registry(&m);
        create_user(
            &mut m,
            &r,
            req(nobody, "", &user_info("alice", "pw-alice", Some("normal"))),
        )
    }
    .unwrap();
    let again = {
        let r = registry(&m);
        create_user(&mut m, &r, req(nobody, "", &user_info("alice", "x", None)))
    };
    assert_eq!(again.unwrap_err().remark, "The user is existed");
    let blank = {
        let r = registry(&m);
        create_user(&mut m, &r, req(nobody, " ", &UserInfo::default()))
    };
    assert_eq!(blank.unwrap_err().code, ResponseCode::INVALID_PARAMETER);
    let alice = registry(&m).user("alice").cloned().unwrap();
    let as_alice = Caller(Some(&alice));
    let super_by_normal = {
        let r = registry(&m);
        create_user(
            &mut m,
            &r,
            req(as_alice, "", &user_info("eve", "pw", Some("Super"))),
        )
    };
    assert_eq!(
        super_by_normal.unwrap_err().remark,
        "The super user can only be create by super user"
    );
    let update = UserInfo {
        user_status: Some("DISABLE".into()),
        ..UserInfo::default()
    };
    {
        let r = registry(&m);
        update_user(&mut m, &r, req(nobody, "alice", &update))
    }
    .unwrap();
    let r = registry(&m);
    assert_eq!(r.user("alice").unwrap().user_status, UserStatus::Disabled);
    assert_eq!(r.user("alice").unwrap().password, "pw-alice", "unchanged");
    let root = update_user(&mut m, &r, req(nobody, "root", &update)).unwrap_err();
    assert!(root.remark.contains("the config file"), "{root:?}");
    upsert_acl(
        &mut m,
        &r,
        "",
        &acl(vec![entry("Topic:t", &["Pub"], "Allow")]),
    )
    .unwrap();
    {
        let r = registry(&m);
        delete_user(&mut m, &r, nobody, "alice")
    }
    .unwrap();
    assert!(
        m.users.is_empty() && m.acls.is_empty(),
        "the ACL goes with the user"
    );
    {
        let r = registry(&m);
        delete_user(&mut m, &r, nobody, "ghost")
    }
    .unwrap();
}

#[test]
fn given_acl_requests_should_merge_entry_by_entry_and_delete_one_resource() {
    let mut m = Managed::default();
    {
        let r = registry(&m);
        create_user(
            &mut m,
            &r,
            req(Caller(None), "", &user_info("alice", "pw", None)),
        )
    }
    .unwrap();
    let r = registry(&m);
    upsert_acl(
        &mut m,
        &r,
        "",
        &acl(vec![entry("Topic:a", &["Pub"], "Allow")]),
    )
    .unwrap();
    upsert_acl(
        &mut m,
        &r,
        "",
        &acl(vec![
            entry("Topic:a", &["sub"], "deny"),
            entry("Group:g", &["Sub"], "Allow"),
        ]),
    )
    .unwrap();
    let info = acl_info(&m.acls[0]);
    let entries = &info.policies[0].entries;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actions, ["Sub"]);
    assert_eq!(entries[0].decision.as_deref(), Some("Deny"));
    for (bad, remark) in [
        (
            entry("Topic:a", &["Any"], "Allow"),
            "The actions can not be Any.",
        ),
        (
            entry("Topic:a", &["Pub"], "maybe"),
            "The decision is null or illegal.",
        ),
        (entry("Topic:a", &[], "Allow"), "The actions is empty."),
    ] {
        let err = upsert_acl(&mut m, &r, "", &acl(vec![bad])).unwrap_err();
        assert_eq!(err.remark, remark);
    }
    let mut ghost = acl(vec![entry("Topic:a", &["Pub"], "Allow")]);
    ghost.subject = Some("User:ghost".into());
    assert_eq!(
        upsert_acl(&mut m, &r, "", &ghost).unwrap_err().remark,
        "The subject of User:ghost is not exist."
    );
    let r = registry(&m);
    assert_eq!(list_acls(&r, Some("alice"), Some("Group")).len(), 1);
    assert!(list_acls(&r, None, Some("nothing")).is_empty());
    delete_acl(&mut m, &r, "User:alice", None, Some("Topic:a")).unwrap();
    assert_eq!(m.acls[0].policies[0].entries.len(), 1);
    delete_acl(&mut m, &r, "User:alice", None, Some("Group:g")).unwrap();
    assert!(m.acls.is_empty());
    assert_eq!(
        delete_acl(&mut m, &r, "User:alice", None, None)
            .unwrap_err()
            .remark,
        "The acl is not exist."
    );
}

#[test]
fn given_oversized_requests_should_refuse_them_with_invalid_parameter() {
    let mut m = Managed::default();
    let long = "x".repeat(NAME_BYTES_MAX + 1);
    let r = registry(&m);
    let err = create_user(
        &mut m,
        &r,
        req(Caller(None), "", &user_info(&long, "pw", None)),
    );
    assert_eq!(err.unwrap_err().code, ResponseCode::INVALID_PARAMETER);
    create_user(
        &mut m,
        &r,
        req(Caller(None), "", &user_info("alice", "pw", None)),
    )
    .unwrap();
    let r = registry(&m);
    let many: Vec<PolicyEntryInfo> = (0..=ACL_ENTRIES_MAX)
        .map(|i| entry(&format!("Topic:t{i}"), &["Pub"], "Allow"))
        .collect();
    let err = upsert_acl(&mut m, &r, "", &acl(many)).unwrap_err();
    assert_eq!(err.code, ResponseCode::INVALID_PARAMETER, "{err:?}");
    m.users = (0..USERS_MAX)
        .map(|i| User::new(format!("u{i}"), "pw", UserType::Normal))
        .collect();
    let err = create_user(
        &mut m,
        &r,
        req(Caller(None), "", &user_info("one-more", "pw", None)),
    );
    assert!(err.unwrap_err().remark.contains("at most"));
}
