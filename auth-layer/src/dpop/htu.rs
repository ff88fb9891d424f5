//! `htu` compared as RFC 9449 section 4.3 asks: both sides normalised
//! (RFC 3986 sections 6.2.2 and 6.2.3), query and fragment ignored.

/// `uri` normalised for comparison: scheme and host in lowercase, the
/// scheme's default port dropped, an empty path as `/`, percent-encodings
/// in uppercase and those of unreserved characters decoded, dot segments
/// removed; query and fragment dropped. `None` when it is not an absolute
/// `http` or `https` URI, or carries user information.
pub(crate) fn normalized(uri: &str) -> Option<String> {
    let uri = uri.split_once('#').map_or(uri, |(before, _)| before);
    let uri = uri.split_once('?').map_or(uri, |(before, _)| before);
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    // The port follows the last `:` outside an IPv6 literal's brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority.get(i..)?.contains(']') => {
            (authority.get(..i)?, authority.get(i + 1..)?)
        }
        _ => (authority, ""),
    };
    if host.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = format!("{scheme}://{}", host.to_ascii_lowercase());
    if !port.is_empty() && port != default_port {
        out.push(':');
        out.push_str(port);
    }
    let path = if path.is_empty() { "/" } else { path };
    out.push_str(&remove_dot_segments(&percent_normalized(path)?));
    Some(out)
}

/// Whether `uri` is its own [`normalized`] form, found without allocating:
/// `http://` or `https://`, an authority without user information, port or
/// uppercase letters, and a path without percent-encodings, dot segments,
/// query or fragment. Two equal URIs in this form need no normalising.
pub(crate) fn already_normal(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
    else {
        return false;
    };
    let Some(slash) = rest.find('/') else {
        return false;
    };
    let (authority, path) = rest.split_at(slash);
    // A port: digits, not the scheme's default.
    let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
    let default = if uri.starts_with("https") {
        "443"
    } else {
        "80"
    };
    let port_ok = authority.len() == host.len()
        || (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port != default);
    !host.is_empty()
        && port_ok
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !path.bytes().any(|b| matches!(b, b'%' | b'?' | b'#'))
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Percent-encodings in uppercase; those of unreserved characters decoded
/// (RFC 3986 section 6.2.2.2). `None` for a `%` not followed by two hex digits.
fn percent_normalized(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3)?;
        let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        if value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(value));
        } else {
            out.push('%');
            out.push_str(&std::str::from_utf8(hex).ok()?.to_ascii_uppercase());
        }
        i += 3;
    }
    Some(out)
}

/// RFC 3986 section 5.2.4, for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let mut parts = path.split('/').skip(1).peekable();
    let mut trailing = false;
    while let Some(segment) = parts.next() {
        let last = parts.peek().is_none();
        match segment {
            "." => trailing = last,
            ".." => {
                segments.pop();
                trailing = last;
            }
            other => {
                segments.push(other);
                trailing = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if trailing || out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_form_is_recognised_only_where_it_is_one() {
        for uri in [
            "https://api.example/orders",
            "http://a.b/c/d",
            "https://x/",
            "http://127.0.0.1:8080/x",
        ] {
            assert!(already_normal(uri), "{uri}");
            assert_eq!(normalized(uri).as_deref(), Some(uri), "{uri}");
        }
        for uri in [
            "HTTPS://api.example/a",
            "https://API.example/a",
            "https://api.example:443/a",
            "http://api.example:80/a",
            "http://api.example:/a",
            "http://api.example:8x/a",
            "https://u@api.example/a",
            "https://api.example/%7Ea",
            "https://api.example/a/../b",
            "https://api.example/a?q",
            "https://api.example",
            "ftp://api.example/a",
        ] {
            assert!(!already_normal(uri), "{uri}");
        }
    }

    #[test]
    fn equivalent_spellings_compare_equal() {
        let base = normalized("https://server.example.com/token");
        assert_eq!(base.as_deref(), Some("https://server.example.com/token"));
        for same in [
            "HTTPS://Server.Example.COM/token",
            "https://server.example.com:443/token",
            "https://server.example.com/token?query=1",
            "https://server.example.com/token#fragment",
            "https://server.example.com/%74oken",
            "https://server.example.com/a/../token",
            "https://server.example.com/./token",
        ] {
            assert_eq!(normalized(same), base, "{same}");
        }
        assert_eq!(
            normalized("http://api.example:8080").as_deref(),
            Some("http://api.example:8080/")
        );
        assert_eq!(
            normalized("http://[::1]:80/a%2fb").as_deref(),
            Some("http://[::1]/a%2Fb")
        );
        assert_eq!(
            normalized("http://[::1]/x").as_deref(),
            Some("http://[::1]/x")
        );
    }

    #[test]
    fn different_resources_differ() {
        let base = normalized("https://server.example.com/token");
        for other in [
            "http://server.example.com/token",
            "https://server.example.com:8443/token",
            "https://server.example.com/Token",
            "https://server.example.com/token/",
            "https://other.example.com/token",
        ] {
            assert_ne!(normalized(other), base, "{other}");
        }
    }

    #[test]
    fn not_an_http_uri_has_none() {
        for bad in [
            "/token",
            "ftp://server.example.com/token",
            "https://user@server.example.com/token",
            "https:///token",
            "https://server.example.com:x/token",
            "https://server.example.com/%zz",
        ] {
            assert_eq!(normalized(bad), None, "{bad}");
        }
    }
}
