//! TLS for servers and clients (rustls, ring provider), with RocketMQ's server modes
//! (`tls.server.mode`): `disabled` (plaintext only), `permissive` (TLS or plaintext on the same
//! port, told apart by the first byte: 0x16 starts a TLS handshake) and `enforcing` (TLS only;
//! a plaintext connection is closed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// `tls.server.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disabled,
    Permissive,
    Enforcing,
}

impl TlsMode {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(Self::Disabled),
            "permissive" => Ok(Self::Permissive),
            "enforcing" => Ok(Self::Enforcing),
            other => Err(format!(
                "tls server mode `{other}`: expected disabled, permissive or enforcing"
            )),
        }
    }
}

/// `tls.server.need.client.auth`: whether clients must present a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Optional,
    Require,
}

impl ClientAuth {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Self::None),
            "optional" => Ok(Self::Optional),
            "require" => Ok(Self::Require),
            other => Err(format!(
                "tls client auth `{other}`: expected none, optional or require"
            )),
        }
    }
}

/// The files of a server's TLS identity and, for client certificates, its trust anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_auth: ClientAuth,
    /// CA certificates client certificates must chain to (needed unless `client_auth` is None).
    pub trust: Option<PathBuf>,
}

/// How a server treats connections.
#[derive(Clone)]
pub struct ServerTls {
    pub(crate) mode: TlsMode,
    pub(crate) acceptor: Option<TlsAcceptor>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mode", &self.mode)
            .finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(roots)
}

impl ServerTls {
    /// Plaintext only.
    pub fn disabled() -> Self {
        Self {
            mode: TlsMode::Disabled,
            acceptor: None,
        }
    }

    /// A server in `mode`; `files` are required unless the mode is Disabled. Errors name the
    /// file that is wrong.
    pub fn new(mode: TlsMode, files: Option<&ServerTlsFiles>) -> Result<Self, String> {
        if mode == TlsMode::Disabled {
            return Ok(Self::disabled());
        }
        let files = files.ok_or(
            "TLS needs a certificate and a key (tls_server_cert_path, tls_server_key_path)",
        )?;
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match files.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            auth => {
                let trust = files
                    .trust
                    .as_deref()
                    .ok_or("client certificates need trust anchors (tls_server_trust_cert_path)")?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots(trust)?), provider);
                let verifier = if auth == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
            }
        };
        let config = builder
            .with_single_cert(certs(&files.cert)?, key(&files.key)?)
            .map_err(|e| format!("{}: {e}", files.key.display()))?;
        Ok(Self {
            mode,
            acceptor: Some(TlsAcceptor::from(Arc::new(config))),
        })
    }

    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// From a config file's text settings (RocketMQ's `tls.server.mode`, `tls.server.certPath`,
    /// `tls.server.keyPath`, `tls.server.need.client.auth`, `tls.server.trustCertPath`); empty
    /// paths are absent.
    pub fn from_settings(
        mode: &str,
        [cert, key, client_auth, trust]: [&str; 4],
    ) -> Result<Self, String> {
        let mode = TlsMode::parse(mode)?;
        if mode == TlsMode::Disabled {
            return Ok(Self::disabled());
        }
        let path = |p: &str| Some(PathBuf::from(p.trim())).filter(|_| !p.trim().is_empty());
        let (Some(cert), Some(key)) = (path(cert), path(key)) else {
            return Err("TLS needs tls_server_cert_path and tls_server_key_path".into());
        };
        let files = ServerTlsFiles {
            cert,
            key,
            client_auth: ClientAuth::parse(client_auth)?,
            trust: path(trust),
        };
        Self::new(mode, Some(&files))
    }
}

/// TLS for outgoing connections.
#[derive(Clone)]
pub struct ClientTls {
    pub(crate) connector: TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// Verifies servers against the CA certificates in `trust`; with `None`, accepts any
    /// server certificate (RocketMQ's `tls.test.mode.enable`, its default: encryption
    /// without authentication of the server). `identity` is the client's own certificate and
    /// key, for servers that require one.
    pub fn new(trust: Option<&Path>, identity: Option<(&Path, &Path)>) -> Result<Self, String> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match trust {
            Some(path) => builder.with_root_certificates(roots(path)?),
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider))),
        };
        let config = match identity {
            Some((cert, key_path)) => builder
                .with_client_auth_cert(certs(cert)?, key(key_path)?)
                .map_err(|e| format!("{}: {e}", key_path.display()))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// The name a server at `addr` (`host:port`) is checked against.
    pub(crate) fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))
    }
}

/// Accepts any server certificate but still checks the handshake signatures (test mode).
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
