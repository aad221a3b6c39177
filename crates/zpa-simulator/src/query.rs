//! Query strings and form bodies, decoded the way ZPA's servers decode them:
//! `+` is a space and `%2B` is a literal plus. That difference matters for
//! `search=name%2BEQ%2BFoo+Bar`, so the simulator decodes them itself.

/// Decodes one `application/x-www-form-urlencoded` component.
pub fn decode_component(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decoded `name=value` pairs in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string or form body (`a=1&b=x+y`).
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) => (decode_component(name), decode_component(value)),
                None => (decode_component(pair), String::new()),
            })
            .collect();
        Self(pairs)
    }

    /// The first value of `name` (exact, case-sensitive as on the wire).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value among several accepted spellings.
    pub fn get_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|name| self.get(name))
    }

    /// A boolean flag: `true` (any case) is true, anything else false.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_and_percent_2b_is_a_plus() {
        assert_eq!(decode_component("name%2BEQ%2BFoo+Bar"), "name+EQ+Foo Bar");
        assert_eq!(decode_component("name+EQ+Foo"), "name EQ Foo");
        assert_eq!(decode_component("a%20b%2fc"), "a b/c");
    }

    #[test]
    fn broken_escapes_are_kept_verbatim() {
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz"), "%zz");
        assert_eq!(decode_component("%4"), "%4");
    }

    #[test]
    fn params_keep_the_first_value_and_accept_bare_names() {
        let params = Params::parse(Some("page=2&pagesize=500&page=9&showDisabled&search=a%2BEQ%2Bb"));
        assert_eq!(params.get("page"), Some("2"));
        assert_eq!(params.get_any(&["pageSize", "pagesize"]), Some("500"));
        assert_eq!(params.get("showDisabled"), Some(""));
        assert_eq!(params.get("search"), Some("a+EQ+b"));
        assert!(!params.flag("showDisabled"));
        assert!(Params::parse(Some("showDisabled=TRUE")).flag("showDisabled"));
        assert_eq!(Params::parse(None), Params::default());
    }
}
