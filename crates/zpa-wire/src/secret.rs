//! Redacting types for credentials: client secrets, bearer tokens, the generated
//! Microtenant admin password and the CBI debug-file password.
//!
//! `Debug` and `Display` print `***`, so a secret that slips into a log line,
//! an error message, an Event or a status field shows nothing. The value is
//! reachable only through [`SecretString::expose`], which makes every place that
//! needs the plain text easy to find.
//!
//! It does implement `Serialize`: wire bodies (the sign-in form, the Secret the
//! operator writes) must carry the value. Never serialize a type that holds one
//! into a log.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Text that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

/// What every redacted value prints as.
pub const REDACTED: &str = "***";

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain text. Call sites are the only places a secret leaves this type.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn serde_round_trips_the_plain_value() {
        let secret: SecretString = serde_json::from_str("\"p@ss\"").unwrap();
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"p@ss\"");
    }
}
