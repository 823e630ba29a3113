//! Connections to a forward endpoint: TCP (`TCP_NODELAY`), then rustls for `https://`.
//!
//! One connector serves both transports (tonic's channel and hyper's pooled client), so there
//! is one TLS configuration, built and checked once in [`Exporter::new`](super::Exporter::new):
//! trust is the system's roots (`rustls-native-certs`) or, with `tls.ca_path`, only the
//! certificates in that file; `tls.client_cert_path` + `tls.client_key_path` add a client
//! certificate (mutual TLS). ALPN is `h2` for gRPC and `http/1.1` for OTLP/HTTP.
#![forbid(unsafe_code)]

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::ForwardError;
use crate::config::ClientTlsConfig;

/// The rustls client configuration for `tls`, with `alpn` protocols.
pub(super) fn client_config(
    tls: &ClientTlsConfig,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ClientConfig>, ForwardError> {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_path {
        Some(path) => {
            let certs = read_certs(path, "tls.ca_path")?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(ForwardError::Tls(format!(
                    "tls.ca_path {}: no usable CA certificate",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(String::new, |e| format!(" ({e})"));
                return Err(ForwardError::Tls(format!(
                    "no system trust roots found{why}; set tls.ca_path"
                )));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ForwardError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match (&tls.client_cert_path, &tls.client_key_path) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let certs = read_certs(cert, "tls.client_cert_path")?;
            let pem = read(key, "tls.client_key_path")?;
            // The key's parse error is not shown: it could quote key material.
            let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
                ForwardError::Tls(format!(
                    "tls.client_key_path {}: no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                    key.display()
                ))
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| ForwardError::Tls(format!("client certificate: {e}")))?
        }
        _ => {
            return Err(ForwardError::Tls(
                "tls.client_cert_path and tls.client_key_path go together".to_owned(),
            ));
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, ForwardError> {
    std::fs::read(path)
        .map_err(|e| ForwardError::Tls(format!("reading {key} {}: {e}", path.display())))
}

fn read_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, ForwardError> {
    let pem = read(path, key)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ForwardError::Tls(format!("{key} {}: invalid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ForwardError::Tls(format!(
            "{key} {}: no certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// Connects to one host and port, ignoring the URI it is called with (both clients only ever
/// ask for the endpoint's own origin).
#[derive(Clone)]
pub(super) struct Connector {
    host: Arc<str>,
    port: u16,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Connector {
    pub(super) fn new(
        host: &str,
        port: u16,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Connector, ForwardError> {
        let tls = match tls {
            None => None,
            Some(config) => {
                let name = ServerName::try_from(host.to_owned()).map_err(|_| {
                    ForwardError::Tls(format!("{host:?} is not a valid TLS server name"))
                })?;
                Some((tokio_rustls::TlsConnector::from(config), name))
            }
        };
        Ok(Connector {
            host: host.into(),
            port,
            tls,
        })
    }

    async fn connect(self) -> io::Result<Io> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host name resolved to nothing");
        let mut stream = None;
        for addr in tokio::net::lookup_host((&*self.host, self.port)).await? {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = stream.ok_or(last)?;
        // Small requests and responses must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let stream = match self.tls {
            None => Stream::Plain(tcp),
            Some((connector, name)) => Stream::Tls(Box::new(connector.connect(name, tcp).await?)),
        };
        Ok(Io(TokioIo::new(stream)))
    }
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = Io;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Io>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        Box::pin(self.clone().connect())
    }
}

/// A plain or TLS stream.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A connection as hyper (and tonic, through hyper) drives it.
#[derive(Debug)]
pub(super) struct Io(TokioIo<Stream>);

impl hyper::rt::Read for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl Connection for Io {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/forward_tls")
            .join(name)
    }

    /// A file in the temp directory holding `contents`, removed on drop.
    struct TempFile(PathBuf);
    impl TempFile {
        fn new(tag: &str, contents: &[u8]) -> TempFile {
            let p = std::env::temp_dir().join(format!(
                "otlp-arrow-connector-{tag}-{}.pem",
                std::process::id()
            ));
            std::fs::write(&p, contents).unwrap();
            TempFile(p)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn tls_error(tls: &ClientTlsConfig) -> String {
        match client_config(tls, &[b"h2"]) {
            Err(ForwardError::Tls(m)) => m,
            Err(e) => panic!("expected a TLS error, got {e}"),
            Ok(_) => panic!("expected a TLS error, got a configuration"),
        }
    }

    fn ca(path: &Path) -> ClientTlsConfig {
        ClientTlsConfig {
            ca_path: Some(path.to_path_buf()),
            ..ClientTlsConfig::default()
        }
    }

    #[test]
    fn a_ca_file_and_a_client_certificate_make_a_configuration() {
        let tls = ClientTlsConfig {
            ca_path: Some(data("client-ca.pem")),
            client_cert_path: Some(data("client.pem")),
            client_key_path: Some(data("client.key")),
        };
        let config = client_config(&tls, &[b"h2", b"http/1.1"]).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn unusable_ca_files_are_clear_tls_errors() {
        let missing = data("no-such-ca.pem");
        let m = tls_error(&ca(&missing));
        assert!(m.starts_with("reading tls.ca_path "), "{m}");
        assert!(m.contains("no-such-ca.pem"), "{m}");

        let empty = TempFile::new("empty", b"just text, no PEM block\n");
        let m = tls_error(&ca(&empty.0));
        assert!(m.ends_with("no certificate in the file"), "{m}");
        assert!(m.starts_with("tls.ca_path "), "{m}");

        // A well-formed PEM block whose DER is not a certificate.
        let junk = TempFile::new(
            "junk",
            b"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
        );
        let m = tls_error(&ca(&junk.0));
        assert!(m.ends_with("no usable CA certificate"), "{m}");
    }

    #[test]
    fn client_certificate_errors_name_the_setting_and_never_the_key() {
        let only_cert = ClientTlsConfig {
            ca_path: Some(data("client-ca.pem")),
            client_cert_path: Some(data("client.pem")),
            client_key_path: None,
        };
        assert_eq!(
            tls_error(&only_cert),
            "tls.client_cert_path and tls.client_key_path go together"
        );
        let only_key = ClientTlsConfig {
            client_cert_path: None,
            client_key_path: Some(data("client.key")),
            ..only_cert.clone()
        };
        assert_eq!(
            tls_error(&only_key),
            "tls.client_cert_path and tls.client_key_path go together"
        );
        // The certificate given as the key: no private key in it.
        let no_key = ClientTlsConfig {
            client_key_path: Some(data("client.pem")),
            ..only_cert.clone()
        };
        let m = tls_error(&no_key);
        assert!(m.starts_with("tls.client_key_path "), "{m}");
        assert!(m.contains("no PEM private key"), "{m}");
        let unreadable = ClientTlsConfig {
            client_key_path: Some(data("no-such.key")),
            ..only_cert
        };
        let m = tls_error(&unreadable);
        assert!(m.starts_with("reading tls.client_key_path "), "{m}");
    }

    #[test]
    fn a_connector_needs_a_valid_server_name_for_tls_and_debug_shows_no_secrets() {
        let config = client_config(&ca(&data("client-ca.pem")), &[b"h2"]).unwrap();
        match Connector::new("not a host name", 443, Some(config.clone())) {
            Err(ForwardError::Tls(m)) => {
                assert_eq!(m, "\"not a host name\" is not a valid TLS server name");
            }
            other => panic!("expected a TLS error, got {other:?}"),
        }
        // Plain TCP does not check the name (the resolver does, at connect time).
        let plain = Connector::new("collector", 4317, None).unwrap();
        assert_eq!(
            format!("{plain:?}"),
            "Connector { host: \"collector\", port: 4317, tls: false }"
        );
        let tls = Connector::new("127.0.0.1", 4318, Some(config)).unwrap();
        assert_eq!(
            format!("{tls:?}"),
            "Connector { host: \"127.0.0.1\", port: 4318, tls: true }"
        );
    }
}
