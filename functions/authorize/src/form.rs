//! `application/x-www-form-urlencoded` (the WHATWG URL standard's form encoding), as OAuth 2.0
//! uses it for token request bodies and HTTP Basic credentials (RFC 6749 §2.3.1, §3.2).
//!
//! Stricter than a browser on purpose: a `%` not followed by two hex digits, or bytes that are
//! not UTF-8 once decoded, make the whole body malformed rather than being kept literally. As
//! RFC 6749 §3.2 requires, a parameter without a value counts as omitted and a parameter given
//! twice is an error.

/// Why a form body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// A bad `%` escape, or bytes that do not decode to UTF-8.
    Malformed,
    /// A parameter appears more than once.
    Repeated,
}

/// The decoded parameters of a form body, each name at most once, none with an empty value.
#[derive(Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Decodes `body`.
    ///
    /// # Errors
    /// [`FormError::Malformed`] or [`FormError::Repeated`].
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let body = std::str::from_utf8(body).map_err(|_| FormError::Malformed)?;
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in body.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name)?, decode(value)?);
            if value.is_empty() {
                continue;
            }
            if params.iter().any(|(seen, _)| *seen == name) {
                return Err(FormError::Repeated);
            }
            params.push((name, value));
        }
        Ok(Self(params))
    }

    /// The value of parameter `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

// Values include client secrets: never print them.
impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Decodes one form-encoded component: `+` is a space, `%XX` a byte.
///
/// # Errors
/// [`FormError::Malformed`] for a bad escape or a result that is not UTF-8.
pub fn decode(component: &str) -> Result<String, FormError> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |at: usize| {
                    bytes
                        .get(at)
                        .and_then(|b| (*b as char).to_digit(16))
                        .ok_or(FormError::Malformed)
                };
                let (high, low) = (hex(i + 1)?, hex(i + 2)?);
                // Two hex digits are at most 0xff.
                out.push(u8::try_from(high * 16 + low).map_err(|_| FormError::Malformed)?);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_percent_and_plus_decoded() {
        let form = Form::parse(b"grant_type=client_credentials&scope=payments%3Aread+accounts:read&client_secret=a%2Bb%26c%3D%25&x").unwrap();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("scope"), Some("payments:read accounts:read"));
        assert_eq!(form.get("client_secret"), Some("a+b&c=%"));
        assert_eq!(
            form.get("x"),
            None,
            "a parameter without a value is omitted"
        );
        assert_eq!(form.get("missing"), None);
        assert_eq!(decode("caf%C3%A9").unwrap(), "café");
    }

    #[test]
    fn empty_values_count_as_omitted_and_repeats_are_refused() {
        assert_eq!(Form::parse(b"").unwrap(), Form::default());
        assert_eq!(Form::parse(b"&&scope=&").unwrap(), Form::default());
        assert_eq!(
            Form::parse(b"scope=&scope=payments:read")
                .unwrap()
                .get("scope"),
            Some("payments:read")
        );
        assert_eq!(
            Form::parse(b"grant_type=a&grant_type=a").unwrap_err(),
            FormError::Repeated
        );
        assert_eq!(
            Form::parse(b"grant%5Ftype=a&grant_type=b").unwrap_err(),
            FormError::Repeated,
            "names compare decoded"
        );
    }

    #[test]
    fn bad_escapes_and_non_utf8_are_malformed() {
        for body in [
            &b"a=%"[..],
            b"a=%4",
            b"a=%zz",
            b"a=%C3",
            b"a=\xff",
            b"%G0=1",
        ] {
            assert_eq!(
                Form::parse(body).unwrap_err(),
                FormError::Malformed,
                "{body:?}"
            );
        }
    }

    #[test]
    fn debug_shows_names_never_values() {
        let form = Form::parse(b"client_id=app&client_secret=pgs_hunter2").unwrap();
        let printed = format!("{form:?}");
        assert_eq!(printed, r#"["client_id", "client_secret"]"#);
    }
}
