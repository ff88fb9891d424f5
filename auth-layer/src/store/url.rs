//! Store URLs as they may be shown: in errors, logs and `Debug` output.

/// `url` with its password replaced by `***` (`redis://user:***@host`,
/// `postgres://app:***@db/app?sslmode=require`), including a `password=`
/// query parameter; everything else is kept, so the message still says
/// which store was meant.
pub(crate) fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{hosts}"),
            None => format!("{userinfo}@{hosts}"),
        },
        None => authority.to_owned(),
    };
    let tail = redact_query(tail);
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced_and_everything_else_kept() {
        let cases = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "rediss://alice:hunter2@cache:6380/3",
                "rediss://alice:***@cache:6380/3",
            ),
            ("redis://:hunter2@cache", "redis://:***@cache"),
            (
                "redis+cluster://u:p@a:7000,b:7001",
                "redis+cluster://u:***@a:7000,b:7001",
            ),
            (
                "postgres://app:s3cr%40t@db/app?sslmode=require",
                "postgres://app:***@db/app?sslmode=require",
            ),
            (
                "postgres://db/app?user=app&password=hunter2&sslmode=verify-full",
                "postgres://db/app?user=app&password=***&sslmode=verify-full",
            ),
            ("memory:", "memory:"),
            ("user:pw@host", "user:***@host"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}
