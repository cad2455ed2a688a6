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
