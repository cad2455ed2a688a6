//! Downstream TLS: the certificate is served through a resolver whose key pair is
//! swapped on reload, so renewed certificate files take effect without a restart.

use crate::config::TlsFiles;
use arc_swap::ArcSwap;
use pingora_rustls::sign::CertifiedKey;
use pingora_rustls::{ClientHello, CryptoProvider, ResolvesServerCert};
use std::sync::Arc;

/// Loads and checks a certificate chain and private key (PEM).
pub fn load_certified_key(files: &TlsFiles) -> Result<CertifiedKey, String> {
    pingora_rustls::install_default_crypto_provider();
    let (cert, key) = (files.cert.to_string_lossy().into_owned(), files.key.to_string_lossy().into_owned());
    let (certs, key_der) = match pingora_rustls::load_certs_and_key_files(&cert, &key) {
        Ok(Some(pair)) => pair,
        Ok(None) => return Err(format!("no certificate in {cert} or no private key in {key}")),
        Err(e) => return Err(format!("cannot read {cert} / {key}: {e}")),
    };
    let provider = CryptoProvider::get_default().ok_or("no TLS crypto provider is installed")?;
    CertifiedKey::from_der(certs, key_der, provider).map_err(|e| format!("{cert} / {key}: {e}"))
}

#[derive(Debug)]
pub struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

impl CertResolver {
    pub fn new(files: &TlsFiles) -> Result<Self, String> {
        Ok(CertResolver { current: ArcSwap::from_pointee(load_certified_key(files)?) })
    }

    /// Re-reads the files; on error the current certificate stays.
    pub fn reload(&self, files: &TlsFiles) -> Result<(), String> {
        self.current.store(Arc::new(load_certified_key(files)?));
        Ok(())
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The TLS side of the gateway's listeners: TLS 1.2 and 1.3, HTTP/2 offered before
/// HTTP/1.1, the certificate from `resolver`. Sessions resume from tickets the gateway
/// encrypts with keys of its own (rustls' ticketer: random at start, rotated every six
/// hours), so any number of clients can resume; without them a client resumes only
/// while the gateway's 256-entry session cache still holds it, and every TLS 1.3
/// handshake files two entries there.
pub fn acceptor(resolver: Arc<CertResolver>) -> Result<pingora::listeners::tls::Acceptor, String> {
    use pingora_rustls::version::{TLS12, TLS13};
    pingora_rustls::install_default_crypto_provider();
    let mut config = pingora_rustls::ServerConfig::builder_with_protocol_versions(&[&TLS12, &TLS13])
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| format!("session tickets: {e}"))?;
    Ok(pingora::listeners::tls::Acceptor::from_server_config(Arc::new(config)))
}

/// The DER certificates of a PEM CA bundle. Each is checked by a certificate store, so
/// a malformed one is a config error rather than a failure in the connector.
pub fn load_ca_file(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut certs = Vec::new();
    let mut rest = text.as_str();
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body.find(END).ok_or_else(|| format!("{}: unterminated certificate", path.display()))?;
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("{}: bad base64 in a certificate: {e}", path.display()))?;
        let mut store = pingora_rustls::RootCertStore::empty();
        store
            .add(pingora_rustls::CertificateDer::from(der.clone()))
            .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
        certs.push(der);
        rest = &body[end + END.len()..];
    }
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate found", path.display()));
    }
    Ok(certs)
}

/// The certificates in the form upstream peers take them.
pub fn peer_ca(certs: &[Vec<u8>]) -> Arc<pingora::protocols::tls::CaType> {
    let wrapped: Vec<pingora::utils::tls::WrappedX509> = certs
        .iter()
        .map(|der| pingora::utils::tls::WrappedX509::new(der.clone(), pingora::utils::tls::parse_x509))
        .collect();
    Arc::from(wrapped.into_boxed_slice())
}
