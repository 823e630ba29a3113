//! TLS for both receivers (rustls with the `ring` provider): a server certificate chain and
//! private key, PEM, from `[receiver.tls]`.
//!
//! [`TlsIdentity`] is loaded and checked once (certificates parse, the key matches a
//! supported algorithm) before any listener starts, so a bad file is a startup error, not a
//! failure at the first handshake. The gRPC receiver hands it to tonic; the HTTP receiver
//! runs rustls itself (ALPN `http/1.1`), each handshake in its connection's own task with a
//! timeout, so a slow client never blocks `accept`.
#![forbid(unsafe_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ServerTlsConfig;

/// A server certificate chain and key, validated.
#[derive(Clone)]
pub struct TlsIdentity {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    /// The HTTP receiver's rustls configuration (ALPN `http/1.1`).
    http: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("TlsIdentity")
            .field("cert_pem_bytes", &self.cert_pem.len())
            .finish_non_exhaustive()
    }
}

/// Why TLS could not be set up.
#[derive(Debug)]
pub enum TlsError {
    /// A PEM file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// Only one of `cert_path` and `key_path` is set.
    Incomplete,
    /// No certificate in the certificate PEM.
    NoCertificate,
    /// The PEM does not parse, or no private key in it.
    Pem(String),
    /// rustls refused the certificate or key.
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, error } => {
                write!(f, "reading receiver.tls file {}: {error}", path.display())
            }
            TlsError::Incomplete => {
                f.write_str("receiver.tls needs both cert_path and key_path, or neither")
            }
            TlsError::NoCertificate => f.write_str("receiver.tls.cert_path holds no certificate"),
            TlsError::Pem(e) => write!(f, "receiver.tls: invalid PEM: {e}"),
            TlsError::Rustls(e) => write!(f, "receiver.tls: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl TlsIdentity {
    /// From the PEM text of a certificate chain (leaf first) and its private key (PKCS#8,
    /// PKCS#1 or SEC1).
    ///
    /// # Errors
    /// [`TlsError`] if either does not parse or rustls refuses them.
    pub fn from_pem(
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Result<Self, TlsError> {
        let (cert_pem, key_pem) = (cert_pem.into(), key_pem.into());
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        let key =
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut http = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(TlsError::Rustls)?;
        http.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            cert_pem,
            key_pem,
            http: Arc::new(http),
        })
    }

    /// Reads the two PEM files.
    ///
    /// # Errors
    /// [`TlsError::Read`] naming the file, or as [`from_pem`](Self::from_pem).
    pub fn from_files(cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|error| TlsError::Read {
                path: path.to_owned(),
                error,
            })
        };
        TlsIdentity::from_pem(read(cert_path)?, read(key_path)?)
    }

    /// The identity `[receiver.tls]` asks for: `None` when TLS is off (neither path set).
    ///
    /// # Errors
    /// [`TlsError::Incomplete`] when only one path is set; otherwise as
    /// [`from_files`](Self::from_files).
    pub fn from_config(config: &ServerTlsConfig) -> Result<Option<Self>, TlsError> {
        match (&config.cert_path, &config.key_path) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => TlsIdentity::from_files(cert, key).map(Some),
            _ => Err(TlsError::Incomplete),
        }
    }

    /// tonic's server TLS configuration for this identity.
    pub(super) fn tonic(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
            &self.cert_pem,
            &self.key_pem,
        ))
    }

    /// The HTTP receiver's acceptor.
    pub(super) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.http))
    }
}
