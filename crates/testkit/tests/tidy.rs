//! Tidy: size limits on the workspace's own Rust sources (STYLE.md convention 6), checked
//! on every test run.
//!
//! - No source file over [`FILE_LINES_MAX`] lines.
//! - No function over [`FN_LINES_MAX`] lines, with a ratchet: the functions over it today are
//!   listed in [`FN_RATCHET`]; the list may only shrink. A new long function fails, and so
//!   does a listed one that got short (remove it from the list), so the count only falls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use syn::visit::Visit;

const FILE_LINES_MAX: usize = 800;
const FN_LINES_MAX: usize = 80;

/// `path::function` of every function longer than [`FN_LINES_MAX`] lines when the ratchet
/// was set. Only ever remove entries.
const FN_RATCHET: &[&str] = &[
    "crates/broker/tests/admin.rs::given_created_topic_should_be_routed_at_once_and_updated_in_place",
    "crates/broker/tests/broker_over_sockets.rs::given_committed_offsets_should_be_queried_and_survive_a_restart",
    "crates/cli/src/admin/message.rs::run",
    "crates/cli/tests/admin_binary.rs::given_standalone_admin_commands_should_manage_topics_groups_and_messages",
    "crates/cli/tests/admin_binary.rs::given_live_consumer_admin_should_show_it_reset_it_and_refuse_to_delete_its_topic",
    "crates/cli/tests/admin_binary.rs::given_standalone_admin_should_report_broker_status_and_change_its_config_live",
    "crates/client/src/consumer/push/mod.rs::pull_loop",
    "crates/client/tests/broker_admin.rs::given_a_live_push_consumer_should_report_its_subscriptions_queues_and_figures",
    "crates/compat-tests/examples/third_party_throughput.rs::main",
    "crates/compat-tests/tests/interop.rs::given_third_party_producer_should_reach_apogee_consumers",
    "crates/compat-tests/tests/interop.rs::given_one_group_with_both_clients_should_split_the_queues_between_them",
    "crates/compat-tests/tests/third_party_client.rs::given_sync_async_oneway_and_batch_sends_should_reach_a_clustering_consumer_exactly_once",
    "crates/compat-tests/tests/third_party_client.rs::given_reconsume_later_should_redeliver_then_move_to_the_dlq_after_max_reconsume_times",
    "crates/namesrv/tests/namesrv_over_sockets.rs::given_two_brokers_when_registered_should_route_expire_and_drop_on_close",
    "crates/namesrv/tests/namesrv_over_sockets.rs::given_kv_and_order_topic_config_should_store_serve_and_persist",
    "crates/namesrv/tests/namesrv_over_sockets.rs::given_admin_requests_should_list_topics_wipe_perm_and_update_config",
    "crates/protocol/tests/golden.rs::given_namesrv_headers_should_match_golden_fixtures",
    "crates/protocol/tests/golden.rs::given_admin_headers_should_match_golden_fixtures",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two levels below the root")
        .to_owned()
}

/// Every `.rs` file under `crates/` and `fuzz/fuzz_targets/`, build output excluded.
fn sources(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("crates"), root.join("fuzz/fuzz_targets")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Functions (free, methods, trait defaults) and their length in lines.
struct Functions {
    found: Vec<(String, usize)>,
}

impl Functions {
    fn note(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let lines = span.end().line - span.start().line + 1;
        self.found.push((name.to_string(), lines));
    }
}

impl<'ast> Visit<'ast> for Functions {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.note(&item.sig.ident, syn::spanned::Spanned::span(item));
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.note(&item.sig.ident, syn::spanned::Spanned::span(item));
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if item.default.is_some() {
            self.note(&item.sig.ident, syn::spanned::Spanned::span(item));
        }
        syn::visit::visit_trait_item_fn(self, item);
    }
}

#[test]
fn given_the_workspace_sources_should_keep_files_and_functions_within_their_limits() {
    let root = workspace_root();
    let mut long_files = Vec::new();
    let mut long_fns = Vec::new();
    for path in sources(&root) {
        let text = std::fs::read_to_string(&path).unwrap();
        let relative = path.strip_prefix(&root).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > FILE_LINES_MAX {
            long_files.push(format!("{relative}: {lines} lines"));
        }
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let mut functions = Functions { found: Vec::new() };
        functions.visit_file(&file);
        for (name, lines) in functions.found {
            if lines > FN_LINES_MAX {
                long_fns.push((format!("{relative}::{name}"), lines));
            }
        }
    }
    assert!(
        long_files.is_empty(),
        "files over {FILE_LINES_MAX} lines (split them by concern):\n{}",
        long_files.join("\n")
    );
    let new: Vec<String> = long_fns
        .iter()
        .filter(|(name, _)| !FN_RATCHET.contains(&name.as_str()))
        .map(|(name, lines)| format!("{name}: {lines} lines"))
        .collect();
    assert!(
        new.is_empty(),
        "functions over {FN_LINES_MAX} lines (split them, or use a parameter struct):\n{}",
        new.join("\n")
    );
    let shrunk: Vec<&str> = FN_RATCHET
        .iter()
        .copied()
        .filter(|listed| !long_fns.iter().any(|(name, _)| name == listed))
        .collect();
    assert!(
        shrunk.is_empty(),
        "these functions are no longer over {FN_LINES_MAX} lines; remove them from FN_RATCHET so the count only falls:\n{}",
        shrunk.join("\n")
    );
}
