//! OneAPI sign-in with a private key: the API client's RSA key, held in a
//! redacting type, and the RS256 client assertion (RFC 7523) each sign-in signs.
//!
//! The key is read as Zscaler's SDKs read it (`zscaler-sdk-python`
//! `oneapi_oauth_client.py`): PEM (PKCS#8 `BEGIN PRIVATE KEY`, and PKCS#1
//! `BEGIN RSA PRIVATE KEY`) or a JWK JSON object; RSA only, at least
//! [`MIN_RSA_KEY_BITS`]. The assertion carries what the SDK's does
//! (`iss` = `sub` = client id, `aud` = [`ONEAPI_AUDIENCE`], `exp` = now +
//! [`CLIENT_ASSERTION_LIFETIME_SECS`]) plus a unique `jti` and `iat`, so no two
//! sign-ins send the same assertion. The signature is jsonwebtoken's (RustCrypto
//! `rsa` underneath); nothing here signs by hand.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore as _;
use rsa::BoxedUint;
use rsa::PrivateKey as RsaKey;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;

use zpa_wire::auth::{CLIENT_ASSERTION_LIFETIME_SECS, MIN_RSA_KEY_BITS, ONEAPI_AUDIENCE};

/// Why a private key cannot be used. The messages describe the key's form,
/// never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateKeyError {
    #[error(
        "it is neither a PEM private key (PKCS#8 \"BEGIN PRIVATE KEY\" or PKCS#1 \"BEGIN RSA PRIVATE KEY\") \
         nor a JWK JSON object"
    )]
    UnknownFormat,
    #[error("it is a PEM {label:?}, not a private key")]
    NotAPrivateKey { label: String },
    #[error("it is an encrypted private key; give the key without a passphrase")]
    Encrypted,
    #[error("it is not an RSA key but {found}; OneAPI client assertions are signed with RS256")]
    NotRsa { found: String },
    #[error("the RSA key has {bits} bits; at least {MIN_RSA_KEY_BITS} are required")]
    TooSmall { bits: usize },
    #[error("it cannot be read as a {format}: {detail}")]
    Malformed { format: &'static str, detail: String },
}

/// An API client's RSA private key, ready to sign client assertions.
/// `Debug` shows its size and nothing of the key.
#[derive(Clone)]
pub struct PrivateKey(Arc<Inner>);

struct Inner {
    encoding: EncodingKey,
    bits: usize,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(RSA {} bits, {})", self.0.bits, zpa_wire::secret::REDACTED)
    }
}

impl PrivateKey {
    /// Reads a PEM (PKCS#8 or PKCS#1) or JWK private key and checks that it
    /// is an RSA key of at least [`MIN_RSA_KEY_BITS`] bits.
    pub fn parse(text: &str) -> Result<Self, PrivateKeyError> {
        let text = text.trim();
        let key = if text.starts_with('{') { from_jwk(text)? } else { from_pem(text)? };
        let bits = key.n().as_ref().bit_width_vartime() as usize;
        if bits < MIN_RSA_KEY_BITS {
            return Err(PrivateKeyError::TooSmall { bits });
        }
        let der = key
            .to_pkcs1_der()
            .map_err(|e| PrivateKeyError::Malformed { format: "RSA private key", detail: e.to_string() })?;
        Ok(Self(Arc::new(Inner { encoding: EncodingKey::from_rsa_der(der.as_bytes()), bits })))
    }

    /// The modulus size.
    pub fn bits(&self) -> usize {
        self.0.bits
    }

    /// A fresh client assertion for `client_id`, valid from `now` (seconds
    /// since the epoch) for [`CLIENT_ASSERTION_LIFETIME_SECS`].
    pub fn assertion(&self, client_id: &str, now: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: ONEAPI_AUDIENCE,
            exp: now.saturating_add(CLIENT_ASSERTION_LIFETIME_SECS),
            iat: now,
            jti: unique_id(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.0.encoding)
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
}

/// 128 random bits, base64url: unique per assertion.
fn unique_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The label of the first PEM block (`PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    Some(&rest[..rest.find("-----")?])
}

fn from_pem(text: &str) -> Result<RsaKey, PrivateKeyError> {
    match pem_label(text).ok_or(PrivateKeyError::UnknownFormat)? {
        "PRIVATE KEY" => {
            let pem = rsa::pkcs8::der::pem::decode_vec(text.as_bytes()).map_err(|e| malformed("PEM private key", e))?;
            let algorithm = rsa::pkcs8::PrivateKeyInfoRef::try_from(pem.1.as_slice())
                .map_err(|e| malformed("PKCS#8 private key", e))?
                .algorithm
                .oid;
            if algorithm != rsa::pkcs1::ALGORITHM_OID {
                return Err(PrivateKeyError::NotRsa { found: algorithm_name(&algorithm.to_string()) });
            }
            RsaKey::from_pkcs8_der(&pem.1).map_err(|e| malformed("PKCS#8 RSA private key", e))
        }
        "RSA PRIVATE KEY" => {
            if text.contains("ENCRYPTED") {
                return Err(PrivateKeyError::Encrypted);
            }
            RsaKey::from_pkcs1_pem(text).map_err(|e| malformed("PKCS#1 RSA private key", e))
        }
        "ENCRYPTED PRIVATE KEY" => Err(PrivateKeyError::Encrypted),
        "EC PRIVATE KEY" => Err(PrivateKeyError::NotRsa { found: "an EC key".to_owned() }),
        "OPENSSH PRIVATE KEY" => Err(PrivateKeyError::Malformed {
            format: "PEM private key",
            detail: "an OpenSSH key; convert it to PKCS#8 (ssh-keygen -p -m PKCS8)".to_owned(),
        }),
        label => Err(PrivateKeyError::NotAPrivateKey { label: label.to_owned() }),
    }
}

/// A decoder's error: it says what is wrong with the encoding, never what it holds.
fn malformed(format: &'static str, error: impl fmt::Display) -> PrivateKeyError {
    PrivateKeyError::Malformed { format, detail: error.to_string() }
}

fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "an EC key".to_owned(),
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.113" => "an Ed448 key".to_owned(),
        "1.2.840.113549.1.1.10" => "an RSASSA-PSS key".to_owned(),
        other => format!("a key of algorithm {other}"),
    }
}

/// A private RSA JWK (RFC 7518 §6.3): `kty` `RSA` with `n`, `e`, `d` and,
/// when present, the primes `p` and `q` (recovered from `n`, `e`, `d` otherwise).
fn from_jwk(text: &str) -> Result<RsaKey, PrivateKeyError> {
    // serde_json's messages may quote the input: only its position is told.
    let jwk: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| PrivateKeyError::Malformed {
            format: "JWK",
            detail: format!("not a JSON object ({:?} error at line {} column {})", e.classify(), e.line(), e.column()),
        })?;
    let field = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
    match field("kty") {
        Some("RSA") => {}
        Some(kty) if kty.len() <= 16 => return Err(PrivateKeyError::NotRsa { found: format!("a {kty:?} JWK") }),
        _ => return Err(PrivateKeyError::Malformed { format: "JWK", detail: "no kty \"RSA\"".to_owned() }),
    }
    let number = |name: &str| -> Result<Option<BoxedUint>, PrivateKeyError> {
        let Some(encoded) = field(name) else { return Ok(None) };
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| PrivateKeyError::Malformed { format: "JWK", detail: format!("{name} is not base64url") })?;
        let precision = u32::try_from(bytes.len().max(1).saturating_mul(8))
            .map_err(|_| PrivateKeyError::Malformed { format: "JWK", detail: format!("{name} is too large") })?;
        Ok(Some(
            BoxedUint::from_be_slice(&bytes, precision)
                .map_err(|_| PrivateKeyError::Malformed { format: "JWK", detail: format!("{name} is not a number") })?,
        ))
    };
    let required = |name: &str| {
        number(name)?.ok_or_else(|| PrivateKeyError::Malformed {
            format: "JWK",
            detail: if name == "d" {
                "no \"d\": a public key, not a private key".to_owned()
            } else {
                format!("no {name:?}")
            },
        })
    };
    let (n, e, d) = (required("n")?, required("e")?, required("d")?);
    let primes = match (number("p")?, number("q")?) {
        (Some(p), Some(q)) => vec![p, q],
        _ => Vec::new(),
    };
    RsaKey::from_components(n, e, d, primes)
        .map_err(|e| PrivateKeyError::Malformed { format: "JWK RSA private key", detail: e.to_string() })
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use jsonwebtoken::{DecodingKey, Validation};
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
    use rsa::traits::PrivateKeyParts as _;

    use super::*;

    /// One 2048-bit key per test binary: generating is slow in debug builds.
    fn key() -> &'static RsaKey {
        static KEY: OnceLock<RsaKey> = OnceLock::new();
        KEY.get_or_init(|| generate(2048))
    }

    fn generate(bits: usize) -> RsaKey {
        RsaKey::new(&mut getrandom::SysRng, bits).unwrap()
    }

    fn b64(n: &BoxedUint) -> String {
        URL_SAFE_NO_PAD.encode(n.to_be_bytes_trimmed_vartime())
    }

    fn verify(key: &RsaKey, token: &str, client: &str) -> serde_json::Value {
        let public = key.to_public_key().to_pkcs1_der().unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[ONEAPI_AUDIENCE]);
        validation.set_issuer(&[client]);
        validation.sub = Some(client.to_owned());
        jsonwebtoken::decode::<serde_json::Value>(token, &DecodingKey::from_rsa_der(public.as_bytes()), &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn pkcs8_pkcs1_and_jwk_keys_sign_assertions_the_sdk_way() {
        let key = key();
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let primes = key.primes();
        let jwk = serde_json::json!({"kty": "RSA", "n": b64(key.n().as_ref()), "e": b64(key.e()),
            "d": b64(key.d()), "p": b64(primes[0].as_ref()), "q": b64(primes[1].as_ref())})
        .to_string();
        let now = jsonwebtoken::get_current_timestamp();
        for text in [pkcs8.as_str(), pkcs1.as_str(), jwk.as_str()] {
            let parsed = PrivateKey::parse(text).unwrap();
            assert_eq!(parsed.bits(), 2048);
            let first = parsed.assertion("client-1", now).unwrap();
            let claims = verify(key, &first, "client-1");
            assert_eq!(claims["iss"], "client-1");
            assert_eq!(claims["sub"], "client-1");
            assert_eq!(claims["aud"], ONEAPI_AUDIENCE);
            assert_eq!(claims["exp"].as_u64(), Some(now + 600));
            assert_eq!(claims["iat"].as_u64(), Some(now));
            let second = verify(key, &parsed.assertion("client-1", now).unwrap(), "client-1");
            assert_ne!(claims["jti"], second["jti"], "every assertion has its own jti");
            let header = jsonwebtoken::decode_header(&first).unwrap();
            assert_eq!(header.alg, Algorithm::RS256);
        }
    }

    #[test]
    fn debug_shows_nothing_of_the_key() {
        let pkcs8 = key().to_pkcs8_pem(LineEnding::LF).unwrap();
        let parsed = PrivateKey::parse(&pkcs8).unwrap();
        let shown = format!("{parsed:?}");
        assert_eq!(shown, "PrivateKey(RSA 2048 bits, ***)");
        let body: String = pkcs8.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!shown.contains(&body[..16]));
    }

    #[test]
    fn small_non_rsa_public_and_garbled_keys_are_refused_with_why() {
        let small = generate(1024).to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(PrivateKey::parse(&small).unwrap_err(), PrivateKeyError::TooSmall { bits: 1024 });
        let message = PrivateKey::parse(&small).unwrap_err().to_string();
        assert_eq!(message, "the RSA key has 1024 bits; at least 2048 are required");

        let public = key().to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(
            PrivateKey::parse(&public).unwrap_err(),
            PrivateKeyError::NotAPrivateKey { label: "RSA PUBLIC KEY".into() }
        );
        // An Ed25519 PKCS#8 key (RFC 8410 §10.3).
        let ed25519 = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n";
        assert_eq!(PrivateKey::parse(ed25519).unwrap_err(), PrivateKeyError::NotRsa { found: "an Ed25519 key".into() });
        assert_eq!(
            PrivateKey::parse(r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}"#).unwrap_err(),
            PrivateKeyError::NotRsa { found: "a \"EC\" JWK".into() }
        );
        assert!(matches!(
            PrivateKey::parse(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#),
            Err(PrivateKeyError::Malformed { format: "JWK", .. })
        ));
        assert_eq!(PrivateKey::parse("hunter2").unwrap_err(), PrivateKeyError::UnknownFormat);
        assert_eq!(
            PrivateKey::parse("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----")
                .unwrap_err(),
            PrivateKeyError::Encrypted
        );
        let garbled = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
        let error = PrivateKey::parse(garbled).unwrap_err().to_string();
        assert!(!error.contains("c2VjcmV0"), "the content is never quoted: {error}");
        let jwk_error = PrivateKey::parse(r#"{"kty":"RSA","n":"secret-material!!"#).unwrap_err().to_string();
        assert!(!jwk_error.contains("secret-material"), "{jwk_error}");
    }
}
