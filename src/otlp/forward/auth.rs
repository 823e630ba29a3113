//! The headers every request of an endpoint carries: `[forward.endpoints.headers]`, the API key
//! (under `api_key_header`), `authorization: Bearer ...` or `authorization: Basic ...`.
//!
//! This is the one place a [`Secret`](crate::config::Secret) is exposed. Credential values are
//! marked *sensitive* (HTTP/2 never puts them in its compression table), errors name the header
//! and never its value, and [`Headers`]'s `Debug` shows names only.
#![forbid(unsafe_code)]

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::ForwardError;
use crate::config::ForwardEndpoint;

/// The static request headers of one endpoint.
#[derive(Clone, Default)]
pub(super) struct Headers(pub(super) HeaderMap);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Refuses credentials over plain `http://` unless `allow_insecure`.
pub(super) fn check_insecure(
    endpoint: &ForwardEndpoint,
    tls: bool,
    url: &str,
) -> Result<(), ForwardError> {
    if !tls && endpoint.has_credentials() && !endpoint.allow_insecure {
        return Err(ForwardError::InsecureCredentials {
            url: url.to_owned(),
        });
    }
    Ok(())
}

fn name(name: &str) -> Result<HeaderName, ForwardError> {
    HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()).map_err(|_| {
        ForwardError::InvalidHeader {
            name: name.to_owned(),
        }
    })
}

fn value(header: &str, value: &str, sensitive: bool) -> Result<HeaderValue, ForwardError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| ForwardError::InvalidHeader {
        name: header.to_owned(),
    })?;
    v.set_sensitive(sensitive);
    Ok(v)
}

/// The headers of `endpoint`. Static headers are marked sensitive too: they may carry
/// credentials (a tenant token) and nothing here can tell.
pub(super) fn headers(endpoint: &ForwardEndpoint) -> Result<Headers, ForwardError> {
    let mut map = HeaderMap::new();
    for (k, v) in &endpoint.headers {
        map.insert(name(k)?, value(k, v, true)?);
    }
    if let Some(key) = &endpoint.api_key {
        let header = &endpoint.api_key_header;
        map.insert(name(header)?, value(header, key.expose(), true)?);
    }
    if let Some(token) = &endpoint.bearer_token {
        let v = format!("Bearer {}", token.expose());
        map.insert(
            http::header::AUTHORIZATION,
            value("authorization", &v, true)?,
        );
    }
    if let Some(basic) = &endpoint.basic_auth {
        let creds = format!("{}:{}", basic.username, basic.password.expose());
        let v = format!("Basic {}", base64(creds.as_bytes()));
        map.insert(
            http::header::AUTHORIZATION,
            value("authorization", &v, true)?,
        );
    }
    Ok(Headers(map))
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BasicAuth, Secret};

    #[test]
    fn base64_vectors() {
        // RFC 4648 section 10.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn headers_carry_every_credential_marked_sensitive() {
        let mut e = ForwardEndpoint::new("https://c:4317");
        e.api_key = Some(Secret::new("k1"));
        e.api_key_header = "X-Key".into();
        e.headers.insert("x-tenant".into(), "t1".into());
        e.basic_auth = Some(BasicAuth {
            username: "Aladdin".into(),
            password: Secret::new("open sesame"),
        });
        let h = headers(&e).unwrap();
        assert_eq!(h.0["x-key"], "k1");
        assert_eq!(h.0["x-tenant"], "t1");
        assert_eq!(h.0["authorization"], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(h.0.values().all(HeaderValue::is_sensitive));
        let debug = format!("{h:?}");
        assert!(!debug.contains("k1") && !debug.contains("QWxh"), "{debug}");

        e.basic_auth = None;
        e.bearer_token = Some(Secret::new("tok"));
        assert_eq!(headers(&e).unwrap().0["authorization"], "Bearer tok");
    }

    #[test]
    fn bad_values_name_the_header_only() {
        let mut e = ForwardEndpoint::new("https://c:4317");
        e.bearer_token = Some(Secret::new("bad\nsecret"));
        let err = headers(&e).unwrap_err().to_string();
        assert!(
            err.contains("authorization") && !err.contains("secret"),
            "{err}"
        );
    }

    #[test]
    fn insecure_refusal() {
        let mut e = ForwardEndpoint::new("http://c:4317");
        assert!(check_insecure(&e, false, &e.url).is_ok());
        e.api_key = Some(Secret::new("k"));
        assert!(matches!(
            check_insecure(&e, false, &e.url),
            Err(ForwardError::InsecureCredentials { .. })
        ));
        assert!(check_insecure(&e, true, &e.url).is_ok());
        e.allow_insecure = true;
        assert!(check_insecure(&e, false, &e.url).is_ok());
    }
}
