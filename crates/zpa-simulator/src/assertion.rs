//! OneAPI private-key sign-in as ZIdentity checks it: the public keys API
//! clients register, and the verification of a client assertion (RFC 7523)
//! before a token is issued.
//!
//! What is checked, as an authorization server does: the signature against
//! the client's registered key (jsonwebtoken, RustCrypto `rsa` underneath),
//! `alg` RS256 only (`none`, HS256 and every other `alg` are refused), `iss` =
//! `sub` = the client id, `aud` = `https://api.zscaler.com`, `exp` present and
//! in the future (no leeway: the simulator shares the caller's clock). A `jti`
//! is optional (Zscaler's SDKs send none); one already used is refused by the
//! caller of [`verify`], which keeps the used ones until they expire.
//!
//! Where the sources are silent the harsher choice is taken, and said:
//! keys under 2048 bits are refused at registration (the SDKs refuse to sign
//! with them, `zscaler-sdk-python` `MIN_RSA_KEY_SIZE`), and an assertion whose
//! `exp` lies more than [`MAX_ASSERTION_LIFETIME_SECS`] ahead is refused
//! (RFC 7523 §3 lets the server bound it; the SDKs' live 600 s).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::PublicKey;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use serde::Deserialize;

use zpa_wire::auth::{MIN_RSA_KEY_BITS, ONEAPI_AUDIENCE};

/// The longest an assertion may still be valid for (see the module doc).
pub const MAX_ASSERTION_LIFETIME_SECS: u64 = 3600;

/// The public key an API client registered.
#[derive(Clone)]
pub struct ClientKey {
    decoding: DecodingKey,
    bits: usize,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientKey(RSA {} bits)", self.bits)
    }
}

impl ClientKey {
    /// Reads an RSA public key: PEM (`BEGIN PUBLIC KEY`, `BEGIN RSA PUBLIC KEY`)
    /// or a JWK JSON object; at least 2048 bits. The error says why not.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let key = if text.starts_with('{') {
            from_jwk(text)?
        } else if text.contains("-----BEGIN PUBLIC KEY-----") {
            PublicKey::from_public_key_pem(text).map_err(|e| format!("not an RSA public key (SPKI PEM): {e}"))?
        } else if text.contains("-----BEGIN RSA PUBLIC KEY-----") {
            PublicKey::from_pkcs1_pem(text).map_err(|e| format!("not an RSA public key (PKCS#1 PEM): {e}"))?
        } else {
            return Err("publicKey must be a PEM RSA public key or an RSA JWK".to_owned());
        };
        let bits = key.n().as_ref().bit_width_vartime() as usize;
        if bits < MIN_RSA_KEY_BITS {
            return Err(format!("the RSA key has {bits} bits; at least {MIN_RSA_KEY_BITS} are required"));
        }
        let decoding = DecodingKey::from_rsa_raw_components(
            &key.n().as_ref().to_be_bytes_trimmed_vartime(),
            &key.e().to_be_bytes_trimmed_vartime(),
        );
        Ok(Self { decoding, bits })
    }
}

fn from_jwk(text: &str) -> Result<PublicKey, String> {
    #[derive(Deserialize)]
    struct Jwk {
        kty: String,
        n: Option<String>,
        e: Option<String>,
    }
    let jwk: Jwk = serde_json::from_str(text).map_err(|e| format!("not a JWK: {e}"))?;
    if jwk.kty != "RSA" {
        return Err(format!("the JWK is of kty {:?}, not RSA", jwk.kty));
    }
    let number = |name: &str, value: Option<String>| {
        let value = value.ok_or_else(|| format!("the JWK has no {name:?}"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .map_err(|_| format!("the JWK's {name:?} is not base64url"))?;
        Ok::<_, String>(rsa::BoxedUint::from_be_slice_vartime(&bytes))
    };
    PublicKey::new(number("n", jwk.n)?, number("e", jwk.e)?).map_err(|e| format!("not an RSA public key: {e}"))
}

/// What an accepted assertion says that its caller still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub exp: u64,
    pub jti: Option<String>,
}

/// The claims read after the signature checked out (jsonwebtoken checks
/// the presence of `exp` itself, to say which claim is missing).
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    jti: Option<String>,
}

/// Verifies `assertion` of `client_id` against its registered `key` at
/// `now` (seconds since the epoch). The error is the `error_description`
/// of the `invalid_client` refusal: it says why.
pub fn verify(key: &ClientKey, client_id: &str, assertion: &str, now: u64) -> Result<Accepted, String> {
    let alg = header_alg(assertion)?;
    if alg != "RS256" {
        return Err(format!("client_assertion alg {alg:?} is not accepted: only RS256"));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_audience(&[ONEAPI_AUDIENCE]);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key.decoding, &validation)
        .map_err(|error| refusal(error.kind(), client_id))?
        .claims;
    let exp = claims.exp.ok_or_else(|| "client_assertion has no exp claim".to_owned())?;
    let accepted = Accepted { exp, jti: claims.jti };
    // jsonwebtoken compares `exp` with its own clock; `now` decides here too.
    if accepted.exp <= now {
        return Err(format!("client_assertion has expired (exp {} is not after now, {now})", accepted.exp));
    }
    if accepted.exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECS) {
        return Err(format!(
            "client_assertion exp {} is more than {MAX_ASSERTION_LIFETIME_SECS} s ahead (now {now})",
            accepted.exp
        ));
    }
    Ok(accepted)
}

/// The `alg` of a JWT's header, read before anything is trusted.
fn header_alg(assertion: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    struct JwtHeader {
        alg: Option<String>,
    }
    let not_a_jwt = || "client_assertion is not a JWT (three base64url parts: header.claims.signature)".to_owned();
    let encoded = assertion.split('.').next().ok_or_else(not_a_jwt)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')).map_err(|_| not_a_jwt())?;
    let header: JwtHeader = serde_json::from_slice(&bytes).map_err(|_| not_a_jwt())?;
    header.alg.ok_or_else(|| "client_assertion header has no alg".to_owned())
}

fn refusal(kind: &ErrorKind, client_id: &str) -> String {
    match kind {
        ErrorKind::InvalidSignature => {
            format!("client_assertion signature does not verify against the public key registered for {client_id}")
        }
        ErrorKind::ExpiredSignature => "client_assertion has expired (exp is in the past)".to_owned(),
        ErrorKind::ImmatureSignature => "client_assertion is not valid yet (nbf is in the future)".to_owned(),
        ErrorKind::InvalidAudience => format!("client_assertion aud must be {ONEAPI_AUDIENCE}"),
        ErrorKind::InvalidIssuer => format!("client_assertion iss must be the client id {client_id}"),
        ErrorKind::InvalidSubject => format!("client_assertion sub must be the client id {client_id}"),
        ErrorKind::MissingRequiredClaim(claim) => format!("client_assertion has no {claim} claim"),
        ErrorKind::InvalidAlgorithm => "client_assertion alg is not accepted: only RS256".to_owned(),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            "client_assertion is not a well-formed JWT".to_owned()
        }
        other => format!("client_assertion refused: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use jsonwebtoken::{EncodingKey, Header};
    use rsa::PrivateKey;
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
    use serde_json::{Value, json};

    use super::*;

    fn private_key() -> &'static PrivateKey {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        KEY.get_or_init(|| PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap())
    }

    fn registered() -> ClientKey {
        ClientKey::parse(&private_key().to_public_key().to_public_key_pem(LineEnding::LF).unwrap()).unwrap()
    }

    fn sign(claims: &Value) -> String {
        let der = private_key().to_pkcs1_der().unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &EncodingKey::from_rsa_der(der.as_bytes()))
            .unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn sdk_claims(now: u64) -> Value {
        json!({"iss": "c1", "sub": "c1", "aud": ONEAPI_AUDIENCE, "exp": now + 600})
    }

    #[test]
    fn the_sdks_assertion_is_accepted_without_jti() {
        let now = now();
        let accepted = verify(&registered(), "c1", &sign(&sdk_claims(now)), now).unwrap();
        assert_eq!(accepted, Accepted { exp: now + 600, jti: None });
        let mut with_jti = sdk_claims(now);
        with_jti["jti"] = json!("j-1");
        with_jti["iat"] = json!(now);
        assert_eq!(verify(&registered(), "c1", &sign(&with_jti), now).unwrap().jti.as_deref(), Some("j-1"));
    }

    #[test]
    fn wrong_claims_are_refused_with_why() {
        let now = now();
        let key = registered();
        let cases = [
            (json!({"exp": now - 5}), "expired"),
            (json!({"aud": "https://example.com"}), "aud must be https://api.zscaler.com"),
            (json!({"iss": "other"}), "iss must be the client id c1"),
            (json!({"sub": "other"}), "sub must be the client id c1"),
            (json!({"exp": now + 7200}), "more than 3600 s ahead"),
            (json!({"nbf": now + 600}), "not valid yet"),
        ];
        for (change, why) in cases {
            let mut claims = sdk_claims(now);
            if let (Some(target), Some(change)) = (claims.as_object_mut(), change.as_object()) {
                target.extend(change.clone());
            }
            let refused = verify(&key, "c1", &sign(&claims), now).unwrap_err();
            assert!(refused.contains(why), "{change}: {refused}");
        }
        let mut no_exp = sdk_claims(now);
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(verify(&key, "c1", &sign(&no_exp), now).unwrap_err(), "client_assertion has no exp claim");
    }

    #[test]
    fn other_algorithms_and_other_keys_are_refused() {
        let now = now();
        let key = registered();
        let claims = sdk_claims(now);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(
            verify(&key, "c1", &none, now).unwrap_err(),
            "client_assertion alg \"none\" is not accepted: only RS256"
        );
        let hs256 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k").unwrap())
                .unwrap();
        assert!(verify(&key, "c1", &hs256, now).unwrap_err().contains("\"HS256\" is not accepted"));
        let other = PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap().to_pkcs1_der().unwrap();
        let wrongly_signed =
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &EncodingKey::from_rsa_der(other.as_bytes()))
                .unwrap();
        assert!(verify(&key, "c1", &wrongly_signed, now).unwrap_err().contains("signature does not verify"));
        assert!(verify(&key, "c1", "garbage", now).unwrap_err().contains("not a JWT"));
    }

    #[test]
    fn small_and_non_rsa_keys_cannot_be_registered() {
        let small = PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
        let pem = small.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        assert_eq!(ClientKey::parse(&pem).unwrap_err(), "the RSA key has 1024 bits; at least 2048 are required");
        assert!(ClientKey::parse(r#"{"kty":"EC","crv":"P-256"}"#).unwrap_err().contains("not RSA"));
        assert!(ClientKey::parse("ssh-rsa AAAA").is_err());
        let jwk = json!({"kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(private_key().n().as_ref().to_be_bytes_trimmed_vartime()),
            "e": URL_SAFE_NO_PAD.encode(private_key().e().to_be_bytes_trimmed_vartime())});
        let from_jwk = ClientKey::parse(&jwk.to_string()).unwrap();
        let now = now();
        assert!(verify(&from_jwk, "c1", &sign(&sdk_claims(now)), now).is_ok());
    }
}
