//! What access control reads from outside: `plain_acl.yml` text (an operator's file), the
//! user and ACL bodies of codes 3001–3010, and whole requests through the guard (signature,
//! checks built from headers and bodies). None may panic.
#![no_main]

use std::net::IpAddr;

use apogee_auth::manage::{self, Caller, UserRequest};
use apogee_auth::{Credentials, Guard, GuardSettings, Managed, PlainAclDoc, Registry};
use apogee_protocol::body::auth::{AclInfo, UserInfo};
use apogee_protocol::body::from_json;
use apogee_protocol::frame::decode_frame;
use apogee_protocol::FrameLimits;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(doc) = PlainAclDoc::parse(text) {
            let _ = doc.to_model();
            let _ = PlainAclDoc::parse(&doc.to_yaml());
        }
    }
    let registry = Registry::build(&Managed::default(), None, &[Credentials::new("root", "secret")]);
    if let Ok(info) = from_json::<UserInfo>("UserInfo", data) {
        let mut managed = Managed::default();
        let request = UserRequest { caller: Caller(None), header_name: "h", info: &info };
        let _ = manage::create_user(&mut managed, &registry, request);
    }
    if let Ok(info) = from_json::<AclInfo>("AclInfo", data) {
        let mut managed = Managed::default();
        let _ = manage::upsert_acl(&mut managed, &registry, "User:root", &info);
    }
    let mut buf = BytesMut::from(data);
    if let Ok(Some(request)) = decode_frame(&mut buf, &FrameLimits::default()) {
        let settings = GuardSettings {
            authentication: true,
            authorization: true,
            cluster: "C".into(),
            ..GuardSettings::default()
        };
        let guard = Guard::new(settings, registry);
        let _ = guard.check(IpAddr::from([127, 0, 0, 1]), &request);
    }
});
