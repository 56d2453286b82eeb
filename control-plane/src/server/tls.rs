//! TLS for the control plane's listener (rustls): the certificate and key come from PEM
//! files and are re-read when the files change, so a rotated certificate (cert-manager,
//! a re-mounted Secret) takes effect without a restart. With a client CA, every client
//! must present a certificate it signed (mutual TLS).

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{self, RootCertStore, ServerConfig, server::WebPkiClientVerifier},
    server::TlsStream,
};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};

/// Longest a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections waiting for the server to take them.
const ACCEPT_BACKLOG: usize = 256;

/// Where the PEM files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
    /// CA bundle for client certificates; `Some` requires them (mTLS).
    pub client_ca: Option<PathBuf>,
}

/// The current rustls configuration, swapped whole when the files change.
#[derive(Debug)]
pub struct ReloadingTls {
    files: TlsFiles,
    current: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    config: Arc<ServerConfig>,
    stamps: Vec<Option<SystemTime>>,
}

impl ReloadingTls {
    /// Loads the files once; fails (so the server does not start) when they are unusable.
    pub fn load(files: TlsFiles) -> anyhow::Result<Self> {
        let stamps = stamps(&files);
        let config = server_config(&files)?;
        Ok(Self { files, current: RwLock::new(Loaded { config, stamps }) })
    }

    /// The configuration new connections use.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).config.clone()
    }

    /// Re-reads the files if any of them changed since the last load. A broken new file
    /// is logged and the old configuration kept, so a half-written rotation never takes
    /// the listener down. Returns whether a new configuration is in use.
    pub fn reload_if_changed(&self) -> bool {
        let stamps = stamps(&self.files);
        let unchanged =
            self.current.read().map(|current| current.stamps == stamps).unwrap_or(false);
        if unchanged {
            return false;
        }
        match server_config(&self.files) {
            Ok(config) => {
                let mut current =
                    self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                *current = Loaded { config, stamps };
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(error) => {
                tracing::warn!(error = ?error, "TLS files changed but do not load; keeping the previous ones");
                false
            }
        }
    }
}

/// Checks the files every `interval` until `cancel`.
pub async fn watch_files(tls: Arc<ReloadingTls>, interval: Duration, cancel: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {
                tls.reload_if_changed();
            }
        }
    }
}

/// TLS connections accepted on `listener`: each handshake runs in its own task (with a
/// time limit), so a slow or hostile client never holds up the others. Failed handshakes
/// (a wrong CA, no client certificate under mTLS) are logged and dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadingTls>,
) -> ReceiverStream<io::Result<TlsStream<TcpStream>>> {
    let (accepted, stream) = tokio::sync::mpsc::channel(ACCEPT_BACKLOG);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                () = accepted.closed() => return,
                result = listener.accept() => match result {
                    Ok(connection) => connection,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(tls.config());
            let accepted = accepted.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = accepted.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => tracing::info!(%peer, %error, "TLS handshake failed"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(stream)
}

fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert).with_context(|| format!("add a CA from {}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("read a private key from {}", files.key.display()))?;
    let mut config = builder
        .with_single_cert(read_certs(&files.cert)?, key)
        .context("the certificate does not match its key")?;
    // gRPC is HTTP/2 only; HTTP/1.1 is offered second, for gRPC-Web and the console's
    // files from clients that cannot speak HTTP/2 (browsers pick h2).
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parse PEM certificates in {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in {}", path.display());
    Ok(certs)
}

/// Modification times, to notice a rotation (Kubernetes swaps a symlink: the time moves).
fn stamps(files: &TlsFiles) -> Vec<Option<SystemTime>> {
    [Some(&files.cert), Some(&files.key), files.client_ca.as_ref()]
        .into_iter()
        .flatten()
        .map(|path| fs::metadata(path).and_then(|meta| meta.modified()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// Writes `pem` to `path` and stamps it `offset` seconds ahead, so each rewrite has a
    /// modification time of its own (file times are only as fine as the kernel's tick).
    fn write(path: &Path, pem: &str, offset: u64) {
        fs::write(path, pem).expect("write");
        let file = fs::File::options().write(true).open(path).expect("open");
        file.set_modified(SystemTime::now() + Duration::from_secs(offset)).expect("stamp");
    }

    fn self_signed() -> (String, String) {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    #[test]
    fn a_broken_rotation_keeps_the_old_certificate_and_a_good_one_replaces_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = TlsFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            client_ca: None,
        };
        let (cert, key) = self_signed();
        write(&files.cert, &cert, 0);
        write(&files.key, &key, 0);
        let tls = ReloadingTls::load(files.clone()).expect("load");
        let first = tls.config();
        assert!(!tls.reload_if_changed(), "nothing changed");

        write(&files.cert, "not a certificate", 10);
        assert!(!tls.reload_if_changed(), "a broken file is not loaded");
        assert!(Arc::ptr_eq(&first, &tls.config()), "the old configuration still serves");

        let (cert, key) = self_signed();
        write(&files.cert, &cert, 20);
        write(&files.key, &key, 20);
        assert!(tls.reload_if_changed(), "the rotated pair is loaded");
        assert!(!Arc::ptr_eq(&first, &tls.config()));
        assert!(!tls.reload_if_changed(), "and only once");
    }

    #[test]
    fn unusable_files_stop_the_start_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        fs::write(&cert, "not a certificate").expect("write");
        let files = TlsFiles { cert: cert.clone(), key: cert, client_ca: None };
        assert!(ReloadingTls::load(files).is_err());
    }
}
