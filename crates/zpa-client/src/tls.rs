//! How the client trusts the API's certificate: the platform's roots always,
//! plus an optional CA bundle (a TLS-inspecting proxy's CA), or, only when
//! asked for by name, no verification at all.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::error::ZpaError;

/// TLS settings of one tenant. The default verifies against the platform roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates added to the trusted roots.
    pub ca_bundle: Option<String>,
    /// Accept any certificate. Only for a base URL (never a named cloud);
    /// every client built with it logs a warning.
    pub insecure_skip_verify: bool,
}

/// The certificates of a PEM bundle, each checked to be a usable trust anchor.
pub(crate) fn parse_ca_bundle(pem: &str) -> Result<Vec<reqwest::Certificate>, ZpaError> {
    let invalid = |detail: String| ZpaError::InvalidCaBundle { detail };
    let mut roots = Vec::new();
    for (index, item) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let der = item.map_err(|e| invalid(format!("certificate {} is not valid PEM: {e}", index + 1)))?;
        rustls::RootCertStore::empty()
            .add(der.clone())
            .map_err(|e| invalid(format!("certificate {} is not a usable CA certificate: {e}", index + 1)))?;
        let certificate = reqwest::Certificate::from_der(der.as_ref())
            .map_err(|e| invalid(format!("certificate {}: {e}", index + 1)))?;
        roots.push(certificate);
    }
    if roots.is_empty() {
        return Err(invalid("no PEM \"CERTIFICATE\" block found".to_owned()));
    }
    Ok(roots)
}

/// The certificate error behind a failed request, if it failed verifying the
/// server's certificate (as opposed to not reaching it at all).
pub(crate) fn verification_failure(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(tls) = as_rustls(current)
            && matches!(
                tls,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
            )
        {
            return Some(tls.to_string());
        }
        source = current.source();
    }
    None
}

/// `io::Error` hides its inner error from `source()` (and hyper nests one
/// in another), so look inside each layer of them too.
fn as_rustls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = error;
    loop {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = current.downcast_ref::<std::io::Error>()?.get_ref()?;
        current = inner;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        for text in ["", "not a certificate", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
            let error = parse_ca_bundle(text).unwrap_err();
            assert_eq!(error.reason(), "InvalidCABundle", "{text:?}: {error}");
            assert!(!error.is_retryable());
        }
        let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        let error = parse_ca_bundle(garbage).unwrap_err();
        assert!(error.to_string().contains("certificate 1 is not a usable CA certificate"), "{error}");
    }
}
