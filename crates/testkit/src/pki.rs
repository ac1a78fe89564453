//! Certificates made for a test: a CA, a server certificate for 127.0.0.1 and a client
//! certificate, as PEM files in a temp dir.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// `ca.pem`, `server.pem`/`server.key` (for 127.0.0.1) and `client.pem`/`client.key`.
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write ca.pem");
        for (name, san) in [("server", "127.0.0.1"), ("client", "client.test")] {
            let key = KeyPair::generate().expect("key");
            let params = CertificateParams::new(vec![san.to_owned()]).expect("params");
            let cert = params.signed_by(&key, &ca, &ca_key).expect("certificate");
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).expect("write");
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem())
                .expect("write");
        }
        Self { dir }
    }

    /// The path of one of the files (`ca.pem`, `server.pem`, `server.key`, …).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The path as text, for config keys.
    pub fn text(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}
