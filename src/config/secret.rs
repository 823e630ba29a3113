//! [`Secret`]: a credential (API key, bearer token, password) that never shows itself.
//!
//! Promises: `Debug`, `Display` and `Serialize` all write [`Secret::REDACTED`]; a value of the
//! wrong type is refused with a message that does not contain it; the only way to read the
//! value is [`Secret::expose`], so every use of a credential is greppable.
#![forbid(unsafe_code)]

use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential string: `Debug`, `Display` and `Serialize` write `***`; read it with
/// [`Secret::expose`].
///
/// ```
/// use otlp_arrow::config::Secret;
/// let key = Secret::new("s3cr3t");
/// assert_eq!(format!("{key:?} {key}"), "*** ***");
/// assert_eq!(key.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// What `Debug`, `Display` and `Serialize` write instead of the value.
    pub const REDACTED: &'static str = "***";

    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself, for the one place that sends it (a request header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::REDACTED)
    }
}

/// Writes [`Secret::REDACTED`]: a serialised configuration is for showing (`config print`,
/// logs), and must not carry credentials with it.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Secret::REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        d.deserialize_any(SecretVisitor)
    }
}

/// Accepts strings only. Every other `visit_*` is overridden so serde's default message, which
/// quotes the offending value (`invalid type: integer `1234``), is never produced.
struct SecretVisitor;

const NOT_A_STRING: &str = "invalid type (value redacted), expected a string";

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::new(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    // serde's defaults for these two quote the value.
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Secret, E> {
        Err(E::custom(NOT_A_STRING))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        Err(de::Error::custom(NOT_A_STRING))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        Err(de::Error::custom(NOT_A_STRING))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct Holder {
        key: Secret,
    }

    #[test]
    fn redacted_everywhere_but_expose() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.to_string(), "***");
        assert_eq!(s.expose(), "hunter2");
        let holder = Holder { key: s };
        assert!(!format!("{holder:?}").contains("hunter2"));
        let written = toml::to_string(&holder).unwrap();
        assert_eq!(written.trim(), "key = \"***\"");
    }

    #[test]
    fn wrong_types_do_not_echo_the_value() {
        for doc in [
            "key = 987654321",
            "key = 98765.4321",
            "key = true",
            "key = [\"987654321\"]",
        ] {
            let err = toml::from_str::<Holder>(doc).unwrap_err();
            let msg = err.message();
            assert!(msg.contains("expected a string"), "{msg}");
            assert!(!msg.contains("98765"), "{msg}");
        }
        let ok: Holder = toml::from_str("key = \"abc\"").unwrap();
        assert_eq!(ok.key.expose(), "abc");
    }

    #[test]
    fn json_numbers_null_and_bytes_are_refused_without_the_value() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{BytesDeserializer, Error as ValueError};

        // serde_json hands a large positive integer to `visit_u64`.
        let err = serde_json::from_str::<Secret>("18446744073709551615").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("expected a string"), "{msg}");
        assert!(!msg.contains("18446744073709551615"), "{msg}");
        // `null` reaches serde's default `visit_unit`, whose message names what was expected.
        let msg = serde_json::from_str::<Secret>("null")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("expected a string"), "{msg}");
        let ok: Secret = serde_json::from_str("\"k\"").unwrap();
        assert_eq!(ok.expose(), "k");

        let err =
            Secret::deserialize(BytesDeserializer::<ValueError>::new(b"hunter2")).unwrap_err();
        assert_eq!(err.to_string(), NOT_A_STRING);
        let err = Secret::deserialize(IntoDeserializer::<ValueError>::into_deserializer(
            424_242_424_242_u64,
        ))
        .unwrap_err();
        assert_eq!(err.to_string(), NOT_A_STRING);
        // serde's default `visit_i128` / `visit_u128` would quote the value.
        let err = Secret::deserialize(IntoDeserializer::<ValueError>::into_deserializer(
            424_242_424_242_i128,
        ))
        .unwrap_err();
        assert_eq!(err.to_string(), NOT_A_STRING);
        let err = Secret::deserialize(IntoDeserializer::<ValueError>::into_deserializer(
            424_242_424_242_u128,
        ))
        .unwrap_err();
        assert_eq!(err.to_string(), NOT_A_STRING);
        let s: Secret = Secret::deserialize(IntoDeserializer::<ValueError>::into_deserializer(
            String::from("owned"),
        ))
        .unwrap();
        assert_eq!(s.expose(), "owned");
    }
}
