//! Access control for every Apogee server and client, with no IO.
//!
//! ```text
//! plain_acl.yml ─► plain_acl::parse ─┐
//! managed users/ACLs (JSON) ─────────┼─► Registry (snapshot) ─► Guard::check(peer, request)
//! configured super users ────────────┘                            │ authenticate: signature of a
//!                                                                 │   known, enabled user
//!                                                                 │ authorize: checks_of(request)
//!                                                                 ▼   (the code table's access
//!                                                         Ok / Refusal    column) vs policies
//! client: signature::sign_request(request, credentials)
//! ```
//!
//! One model serves RocketMQ's two ACL generations: ACL 2.0 users and policies as they are, and
//! ACL 1.0 accounts (`plain_acl.yml`) mapped onto them. Facts: `docs/acl-facts.md`.

mod checks;
mod credentials;
mod guard;
pub mod manage;
pub mod plain_acl;
mod policy;
mod registry;
mod resource;
pub mod signature;
pub mod signature_v5;
mod source_ip;
mod sources;
mod user;

pub use checks::{Check, checks_of};
pub use credentials::Credentials;
pub use guard::{Guard, GuardSettings, Refusal, parse_code_list};
pub use plain_acl::{PlainAccount, PlainAcl, PlainAclDoc};
pub use policy::{Acl, Decision, Policy, PolicyEntry, PolicyType};
pub use registry::{Managed, Registry, Source};
pub use resource::{NamePattern, ResourcePattern, Specificity};
pub use source_ip::IpRule;
pub use sources::{AccessControl, AuthKeys};
pub use user::{User, UserStatus, UserType};
