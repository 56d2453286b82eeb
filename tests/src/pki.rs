//! Throwaway certificates for TLS tests: a CA, a server certificate for localhost and
//! 127.0.0.1, and a client certificate, written as PEM files.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// One CA and the certificates it signed, as files in a directory.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate (PEM): what clients trust.
    pub ca: PathBuf,
    /// The server's certificate (PEM), for localhost and 127.0.0.1.
    pub server_cert: PathBuf,
    /// The server's key.
    pub server_key: PathBuf,
    /// A client certificate (PEM) for mutual TLS.
    pub client_cert: PathBuf,
    /// The client certificate's key.
    pub client_key: PathBuf,
}

impl TestPki {
    /// A new CA named `name` with its server and client certificates, in `dir` (file names
    /// start with `name`).
    pub fn generate(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, common_name: &str| {
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name.push(DnType::CommonName, common_name);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate()?;
            let cert = params.signed_by(&key, &ca)?;
            anyhow::Ok((cert.pem(), key.serialize_pem()))
        };
        let (server_cert, server_key) = leaf(
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
            "vary-control-plane",
        )?;
        let (client_cert, client_key) =
            leaf(Vec::new(), ExtendedKeyUsagePurpose::ClientAuth, "vary-edge-agent")?;

        let write = |suffix: &str, pem: &str| {
            let path = dir.join(format!("{name}-{suffix}.pem"));
            std::fs::write(&path, pem).with_context(|| format!("write {}", path.display()))?;
            anyhow::Ok(path)
        };
        Ok(Self {
            ca: write("ca", &ca.pem())?,
            server_cert: write("server-cert", &server_cert)?,
            server_key: write("server-key", &server_key)?,
            client_cert: write("client-cert", &client_cert)?,
            client_key: write("client-key", &client_key)?,
        })
    }

    /// A client TLS configuration trusting this CA, with the client certificate when
    /// `with_identity`.
    pub fn client_tls(
        &self,
        with_identity: bool,
    ) -> anyhow::Result<tonic::transport::ClientTlsConfig> {
        let ca = std::fs::read(&self.ca)?;
        let mut tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(ca));
        if with_identity {
            tls = tls.identity(tonic::transport::Identity::from_pem(
                std::fs::read(&self.client_cert)?,
                std::fs::read(&self.client_key)?,
            ));
        }
        Ok(tls)
    }
}
