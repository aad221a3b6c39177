//! RSA keys for the private-key sign-in tests, generated at test time (no
//! private key is committed): one 2048-bit key per test binary, since
//! generating one takes a while in a debug build, and fresh ones on demand.

use std::sync::OnceLock;

use rsa::PrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

/// This test binary's API client key (2048 bits).
pub fn client_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| generate(2048))
}

/// A new key of `bits` bits (1024 is the smallest the `rsa` crate makes).
pub fn generate(bits: usize) -> PrivateKey {
    PrivateKey::new(&mut getrandom::SysRng, bits).expect("an RSA key")
}

/// PKCS#8 PEM (`BEGIN PRIVATE KEY`), what the official SDK reads.
pub fn private_pem(key: &PrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8 PEM").to_string()
}

/// PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
pub fn private_pkcs1_pem(key: &PrivateKey) -> String {
    key.to_pkcs1_pem(LineEnding::LF).expect("PKCS#1 PEM").to_string()
}

/// The private key as a JWK JSON string (RFC 7518 §6.3).
pub fn private_jwk(key: &PrivateKey) -> String {
    let b64 = |n: &rsa::BoxedUint| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n.to_be_bytes_trimmed_vartime())
    };
    let primes = key.primes();
    serde_json::json!({"kty": "RSA", "n": b64(key.n().as_ref()), "e": b64(key.e()), "d": b64(key.d()),
        "p": b64(primes[0].as_ref()), "q": b64(primes[1].as_ref())})
    .to_string()
}

/// SPKI PEM (`BEGIN PUBLIC KEY`): what an API client registers.
pub fn public_pem(key: &PrivateKey) -> String {
    key.to_public_key().to_public_key_pem(LineEnding::LF).expect("SPKI PEM")
}

/// PKCS#1 DER of the private key, as jsonwebtoken's `EncodingKey::from_rsa_der` takes it.
pub fn private_der(key: &PrivateKey) -> Vec<u8> {
    key.to_pkcs1_der().expect("PKCS#1 DER").as_bytes().to_vec()
}
