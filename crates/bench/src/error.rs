//! The bench's own failures: bad settings, a cluster that cannot be reached or set up, local IO.
//! Failed sends are not errors of the run: they are counted by kind in the report.

/// Why a benchmark could not run (or could not finish setting up).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid benchmark settings: {0}")]
    Config(String),
    /// Setting up the run failed: topic creation, starting a producer or consumer.
    #[error("{what}: {source}")]
    Client {
        what: String,
        source: apogee_client::ClientError,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// The run could not complete, e.g. a topic route that never appeared.
    #[error("{0}")]
    Failed(String),
}

impl BenchError {
    pub(crate) fn client(what: impl Into<String>, source: apogee_client::ClientError) -> Self {
        BenchError::Client {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;
