//! TLS for the broker's listeners (`tls_server_*`) and how its own calls to the NameServers go
//! out (signed with the inner credentials; TLS with `tls_enable`, `tls_client_trust_cert_path`).

use std::path::Path;

use apogee_remoting::{ClientTls, OutboundHook, ServerTls};

use crate::{BrokerConfig, BrokerError};

/// How the client and VIP ports treat connections.
pub fn server_tls(config: &BrokerConfig) -> Result<ServerTls, BrokerError> {
    let raw = &config.raw;
    ServerTls::from_settings(
        &raw.tls_server_mode,
        [
            &raw.tls_server_cert_path,
            &raw.tls_server_key_path,
            &raw.tls_server_need_client_auth,
            &raw.tls_server_trust_cert_path,
        ],
    )
    .map_err(|e| BrokerError::Config(format!("tls: {e}")))
}

/// TLS for the broker's outgoing calls, when `tls_enable` is on.
pub fn client_tls(config: &BrokerConfig) -> Result<Option<ClientTls>, BrokerError> {
    let raw = &config.raw;
    if !raw.tls_enable {
        return Ok(None);
    }
    let trust = raw.tls_client_trust_cert_path.trim();
    let trust = (!trust.is_empty()).then(|| Path::new(trust));
    ClientTls::new(trust, None)
        .map(Some)
        .map_err(|e| BrokerError::Config(format!("tls: {e}")))
}

/// How the broker's own calls go out: signed with the inner credentials, over TLS when on.
pub fn outbound(
    config: &BrokerConfig,
) -> Result<(Option<OutboundHook>, Option<ClientTls>), BrokerError> {
    let signer = crate::access::signer(crate::access::inner_credentials(config)?);
    Ok((signer, client_tls(config)?))
}
