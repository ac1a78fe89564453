//! openraft's storage conformance suite on the file-backed log, plus crash-restart checks.

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};

use super::*;
use crate::raft::StateMachine;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().map_err(io_error(ErrorVerb::Write))?;
        let log = LogStore::open(dir.path()).map_err(io_error(ErrorVerb::Read))?;
        let sm = StateMachine::open(dir.path()).map_err(io_error(ErrorVerb::Read))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn given_openraft_suite_should_pass_every_case() {
    Suite::test_all(Builder).expect("conformance");
}
