//! Store URLs as they may be shown: in errors, logs and `Debug` output.

/// `url` with its password replaced by `***` (`redis://user:***@host`,
/// `postgres://app:***@db/app?sslmode=require`), including a `password=` or
/// `pass=` query parameter; everything else is kept, so the message still
/// says which store was meant. Everything up to the last `@` counts as the
/// user and password, so a password holding `/` or `?` is hidden too. A text that is not a URL at all (a `key=value` connection
/// string, say) is not shown.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.split_once(':') {
            Some((scheme, _)) if is_scheme(scheme) => format!("{scheme}:…"),
            _ => "(not a URL)".to_owned(),
        };
    };
    // Hiding too much (a query value with an `@`) is safe; too little is not.
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((userinfo, after)) => match userinfo.split_once(':') {
            Some((user, _password)) => (format!("{user}:***@"), after),
            None => (format!("{userinfo}@"), after),
        },
        None => (String::new(), rest),
    };
    let after = match after.split_once('?') {
        Some((before, query)) => format!("{before}?{}", redact_query(query)),
        None => after.to_owned(),
    };
    format!("{scheme}://{userinfo}{after}")
}

/// Whether `s` can be a URL scheme (`redis`, `redis+unix`, `postgresql`).
fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn redact_query(query: &str) -> String {
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _))
                if name.eq_ignore_ascii_case("password") || name.eq_ignore_ascii_case("pass") =>
            {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    pairs.join("&")
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
            ("memory:", "memory:…"),
            ("redis://u:pa/ss@host/0", "redis://u:***@host/0"),
            ("redis://u:p?ss@host", "redis://u:***@host"),
            (
                "redis+unix:///run/redis.sock?pass=hunter2&db=1",
                "redis+unix:///run/redis.sock?pass=***&db=1",
            ),
            ("host=db password=hunter2", "(not a URL)"),
            ("user:pw@host", "user:…"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}
