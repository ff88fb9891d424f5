//! [`BackChannelLogout`]: the receiver, as a tower `Service` and as a
//! framework-neutral [`receive_form`](BackChannelLogout::receive_form).

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower_service::Service;

use crate::backend::{BoxFuture, StoreError};
use crate::logout::rejection::LogoutRejection;
use crate::logout::response::{logged_out, method_not_allowed, refused, unavailable};
use crate::logout::target::LogoutTarget;
use crate::logout::verifier::VerifyLogout;
use crate::verify::{Accepted, LogoutRules, Refusal};

/// The OpenID Connect Back-Channel Logout 1.0 receiver: a tower `Service`
/// answering the provider's `POST` of a logout token.
///
/// Built with [`BackChannelLogout::builder`]; cheap to clone (the
/// configuration is shared). See the [module docs](crate::logout) for the
/// answers and an example.
#[derive(Clone)]
pub struct BackChannelLogout {
    receiver: Arc<Receiver>,
}

/// What a receiver is made of, checked by the builder.
pub(crate) struct Receiver {
    pub(crate) verifier: Arc<dyn VerifyLogout>,
    pub(crate) rules: LogoutRules,
    pub(crate) target: Arc<dyn LogoutTarget>,
    pub(crate) max_body_bytes: usize,
    pub(crate) retry_after: HeaderValue,
}

impl BackChannelLogout {
    pub(crate) fn new(receiver: Receiver) -> Self {
        Self {
            receiver: Arc::new(receiver),
        }
    }

    /// Answers a logout request whose method the caller has checked to be
    /// `POST`, from its `Content-Type` and body: for frameworks that are not
    /// tower-based (actix-web: see the [module docs](crate::logout)).
    ///
    /// ```
    /// # use auth_layer::JwtAuth;
    /// # use auth_layer::logout::{BackChannelLogout, LogoutTarget};
    /// # use auth_layer::store::{BoxFuture, StoreError};
    /// # use std::time::SystemTime;
    /// # struct Nothing;
    /// # impl LogoutTarget for Nothing {
    /// #     fn was_used<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> { Box::pin(async { Ok(false) }) }
    /// #     fn first_use<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<bool, StoreError>> { Box::pin(async { Ok(true) }) }
    /// #     fn revoke_subject<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> { Box::pin(async { Ok(()) }) }
    /// #     fn revoke_session<'a>(&'a self, _: &'a str, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<(), StoreError>> { Box::pin(async { Ok(()) }) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let auth = JwtAuth::builder().hmac_secret("a-secret-of-at-least-thirty-two-bytes!").build().unwrap();
    /// # let logout = BackChannelLogout::builder(&auth).issuer("https://op.example").client_id("my-client").build(Nothing).unwrap();
    /// let response = logout
    ///     .receive_form(Some("application/x-www-form-urlencoded"), b"logout_token=not.a.jwt")
    ///     .await;
    /// assert_eq!(response.status(), 400);
    /// assert_eq!(response.body(), r#"{"error":"invalid_request"}"#);
    /// # }
    /// ```
    pub async fn receive_form(&self, content_type: Option<&str>, body: &[u8]) -> Response<String> {
        if !content_type.is_some_and(is_form) {
            return self
                .receiver
                .refuse(LogoutRejection::WrongContentType.into());
        }
        self.receiver.process(body).await
    }
}

impl<B> Service<Request<B>> for BackChannelLogout
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = Arc::clone(&self.receiver);
        Box::pin(async move { Ok(receiver.handle(request).await) })
    }
}

impl Receiver {
    /// Method, content type and body size, then the form.
    async fn handle<B>(&self, request: Request<B>) -> Response<String>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        if parts.method != Method::POST {
            tracing::info!(
                code = "method_not_allowed",
                method = %parts.method,
                "back-channel logout refused"
            );
            return method_not_allowed();
        }
        if !single_form_content_type(&parts.headers) {
            return self.refuse(LogoutRejection::WrongContentType.into());
        }
        let limit = self.max_body_bytes;
        if usize::try_from(body.size_hint().lower()).map_or(true, |lower| lower > limit) {
            return self.refuse(LogoutRejection::BodyTooLarge.into());
        }
        let bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                return self.refuse(LogoutRejection::BodyTooLarge.into());
            }
            Err(_) => return self.refuse(LogoutRejection::BodyUnreadable.into()),
        };
        self.process(&bytes).await
    }

    /// The form's `logout_token`, checked (section 2.6), then acted on.
    async fn process(&self, body: &[u8]) -> Response<String> {
        let token = match logout_token(body) {
            Ok(token) => token,
            Err(reason) => return self.refuse(reason.into()),
        };
        match self.verifier.verify_logout(&token, &self.rules) {
            Ok(accepted) => self.act(accepted).await,
            Err(refusal) if refusal.reason.is_temporary() => {
                tracing::warn!(
                    code = refusal.reason.code(),
                    issuer = refusal.issuer,
                    "back-channel logout deferred: the provider may send it again"
                );
                unavailable(&self.retry_after)
            }
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// Refuses a replay, revokes the session, or else every session of the
    /// subject (section 2.7), then remembers the `jti`: a logout left half
    /// done by a failure is not recorded, so the provider's retry (at any
    /// instance) completes it.
    async fn act(&self, accepted: Accepted) -> Response<String> {
        let Accepted {
            token,
            replay_until,
        } = accepted;
        let issuer = token.issuer.as_str();
        let jti = token.jti.as_str();
        match self.target.was_used(issuer, jti).await {
            Ok(false) => {}
            Ok(true) => {
                return self.refuse(Refusal {
                    reason: LogoutRejection::Replayed,
                    issuer: Some(issuer),
                });
            }
            Err(e) => return self.failed(issuer, &e),
        }
        // Tokens issued until the logout token was, on the provider's clock
        // (that of its tokens' `iat`): a login after the logout passes, even
        // when the provider's notice arrives late or is retried, and doing
        // it twice changes nothing.
        let not_before = unix_time(token.issued_at);
        let (scope, revoked) = match (&token.session_id, &token.subject) {
            (Some(sid), _) => (
                "session",
                self.target.revoke_session(issuer, sid, not_before).await,
            ),
            (None, Some(sub)) => (
                "subject",
                self.target.revoke_subject(issuer, sub, not_before).await,
            ),
            (None, None) => {
                return self.refuse(LogoutRejection::SubjectAndSessionMissing.into());
            }
        };
        if let Err(e) = revoked {
            return self.failed(issuer, &e);
        }
        // Already recorded (`false`) means the same token was delivered
        // twice at once: both revoked the same thing.
        if let Err(e) = self
            .target
            .first_use(issuer, jti, unix_time(replay_until))
            .await
        {
            return self.failed(issuer, &e);
        }
        tracing::info!(issuer, scope, "back-channel logout");
        logged_out()
    }

    /// 400, logged with the reason (never the token).
    fn refuse(&self, refusal: Refusal<'_>) -> Response<String> {
        tracing::warn!(
            code = refusal.reason.code(),
            issuer = refusal.issuer,
            "back-channel logout refused"
        );
        refused(refusal.reason)
    }

    /// 503: the target could not record the logout; the provider may retry.
    fn failed(&self, issuer: &str, error: &StoreError) -> Response<String> {
        tracing::warn!(
            issuer,
            error = %error,
            "back-channel logout could not be recorded: the provider may send it again"
        );
        unavailable(&self.retry_after)
    }
}

impl fmt::Debug for BackChannelLogout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.receiver;
        f.debug_struct("BackChannelLogout")
            .field("rules", &r.rules)
            .field("max_body_bytes", &r.max_body_bytes)
            .field("retry_after", &r.retry_after)
            .finish_non_exhaustive()
    }
}

/// Exactly one `Content-Type`, `application/x-www-form-urlencoded` (any
/// parameters, such as a charset, are ignored).
pub(crate) fn single_form_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().is_ok_and(is_form),
        _ => false,
    }
}

fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|media| {
        media
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// The one `logout_token` of a form body (section 2.5: other parameters are
/// ignored; two tokens are ambiguous).
fn logout_token(body: &[u8]) -> Result<String, LogoutRejection> {
    let mut found: Option<Cow<'_, str>> = None;
    for (name, value) in form_urlencoded::parse(body) {
        if name == "logout_token" && found.replace(value).is_some() {
            return Err(LogoutRejection::TokenParameterRepeated);
        }
    }
    found
        .map(Cow::into_owned)
        .ok_or(LogoutRejection::TokenParameterMissing)
}

/// Unix seconds as a `SystemTime`, clamped to 1970..=9999.
fn unix_time(secs: i64) -> SystemTime {
    const YEAR_9999: u64 = 253_402_300_799;
    let secs = u64::try_from(secs).unwrap_or(0).min(YEAR_9999);
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::sync::atomic::Ordering;

    use bytes::Bytes;
    use http::StatusCode;
    use http::header::{ALLOW, CACHE_CONTROL, RETRY_AFTER};
    use http_body::Frame;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;
    use crate::logout::BACKCHANNEL_LOGOUT_EVENT;
    use crate::logout::response::INVALID_REQUEST;
    use crate::logout::testing::{
        Call, NOW, OP_EC, OP_HMAC, OP_OTHER, OP_RSA, Recorder, Signer, at, claims, header,
        receiver, sign, sign_raw, token, unsigned,
    };

    const FORM: &str = "application/x-www-form-urlencoded";

    fn with(changes: Value) -> Value {
        let mut claims = claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    fn form(token: &str) -> String {
        format!("logout_token={token}")
    }

    async fn send<B>(logout: &BackChannelLogout, request: Request<B>) -> Response<String>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        logout.clone().oneshot(request).await.unwrap()
    }

    async fn post(logout: &BackChannelLogout, body: String) -> Response<String> {
        let request = Request::post("/backchannel-logout")
            .header(CONTENT_TYPE, FORM)
            .body(body)
            .unwrap();
        send(logout, request).await
    }

    #[track_caller]
    fn assert_logged_out(response: &Response<String>) {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.body(), "");
    }

    /// The one 400 of section 2.8, whatever the reason; the reason only in
    /// the extensions.
    #[track_caller]
    fn assert_refused(response: &Response<String>, reason: LogoutRejection, case: &str) {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert_eq!(response.body(), INVALID_REQUEST, "{case}");
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/json",
            "{case}"
        );
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{case}");
        assert_eq!(
            response.extensions().get::<LogoutRejection>(),
            Some(&reason),
            "{case}"
        );
    }

    #[tokio::test]
    async fn a_session_is_revoked_when_sid_is_present_with_or_without_sub() {
        for (case, changes) in [
            ("sid and sub", json!({})),
            ("sid only", json!({ "sub": null })),
        ] {
            let target = Arc::new(Recorder::default());
            let response = post(&receiver(&target), form(&token(&with(changes)))).await;
            assert_logged_out(&response);
            assert_eq!(
                target.calls(),
                [
                    Call::RevokeSession(OP_HMAC.into(), "sid-1".into(), at(NOW)),
                    Call::FirstUse(OP_HMAC.into(), "jti-1".into(), at(NOW + 180)),
                ],
                "{case}"
            );
        }
    }

    #[tokio::test]
    async fn every_session_of_the_subject_is_revoked_when_only_sub_is_present() {
        let target = Arc::new(Recorder::default());
        let token = token(&with(json!({ "sid": null, "exp": null })));
        assert_logged_out(&post(&receiver(&target), form(&token)).await);
        assert_eq!(
            target.calls(),
            [
                Call::RevokeSubject(OP_HMAC.into(), "alice".into(), at(NOW)),
                Call::FirstUse(OP_HMAC.into(), "jti-1".into(), at(NOW + 360)),
            ]
        );
    }

    /// The not-before is the logout token's `iat` (the provider's clock),
    /// whether it is ahead of the receiver's clock or behind it.
    #[tokio::test]
    async fn tokens_are_revoked_up_to_the_logout_token_s_iat() {
        for iat in [NOW + 30, NOW - 60] {
            let target = Arc::new(Recorder::default());
            let token = token(&with(json!({ "iat": iat })));
            assert_logged_out(&post(&receiver(&target), form(&token)).await);
            assert_eq!(
                target.revocations(),
                [Call::RevokeSession(OP_HMAC.into(), "sid-1".into(), at(iat))],
                "iat {iat}"
            );
        }
    }

    /// The `jti` was recorded, then lost; or the same token came twice at
    /// once: each revocation had the same not-before.
    #[tokio::test]
    async fn a_failure_after_the_revocation_is_a_503_and_the_retry_repeats_it_alike() {
        let target = Arc::new(Recorder::default());
        let logout = receiver(&target);
        let token = token(&claims());
        // The store fails only when the `jti` is recorded.
        target.fail_record.store(true, Ordering::SeqCst);
        assert_eq!(
            post(&logout, form(&token)).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        target.fail_record.store(false, Ordering::SeqCst);
        assert_logged_out(&post(&logout, form(&token)).await);
        let revoke = Call::RevokeSession(OP_HMAC.into(), "sid-1".into(), at(NOW));
        assert_eq!(target.revocations(), [revoke.clone(), revoke]);
        assert_refused(
            &post(&logout, form(&token)).await,
            LogoutRejection::Replayed,
            "after",
        );
    }

    #[tokio::test]
    async fn rsa_and_ec_providers_log_out_with_their_own_keys() {
        for (signer, issuer) in [
            (Signer::Rsa, OP_RSA),
            (Signer::Ec, OP_EC),
            (Signer::Other, OP_OTHER),
        ] {
            let target = Arc::new(Recorder::default());
            let token = sign(&header(signer), &with(json!({ "iss": issuer })), signer);
            assert_logged_out(&post(&receiver(&target), form(&token)).await);
            assert_eq!(
                target.revocations(),
                [Call::RevokeSession(issuer.into(), "sid-1".into(), at(NOW))],
                "{issuer}"
            );
        }
    }

    #[tokio::test]
    async fn the_form_may_carry_other_parameters_an_encoded_token_and_a_charset() {
        let target = Arc::new(Recorder::default());
        let token = token(&claims());
        let encoded = token.replace('.', "%2E");
        let request = Request::post("/")
            .header(
                CONTENT_TYPE,
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            )
            .body(format!("state=x&logout_token={encoded}&other=%20"))
            .unwrap();
        assert_logged_out(&send(&receiver(&target), request).await);
        assert_eq!(target.revocations().len(), 1);
    }

    #[tokio::test]
    async fn every_invalid_token_is_a_400_that_changes_nothing() {
        use LogoutRejection as R;
        let event = BACKCHANNEL_LOGOUT_EVENT;
        let valid = claims().to_string();
        let at_jwt = {
            let mut header = header(Signer::Hmac);
            header["typ"] = json!("at+jwt");
            sign(&header, &claims(), Signer::Hmac)
        };
        let cases: Vec<(&str, String, R)> = vec![
            (
                "wrong aud",
                token(&with(json!({ "aud": "other-client" }))),
                R::WrongAudience,
            ),
            (
                "wrong iss",
                token(&with(json!({ "iss": "https://evil.example" }))),
                R::WrongIssuer,
            ),
            (
                "nonce present",
                token(&with(json!({ "nonce": "n-0S6_WzA2Mj" }))),
                R::NoncePresent,
            ),
            (
                "events missing",
                token(&with(json!({ "events": null }))),
                R::EventsMissing,
            ),
            (
                "events not an object",
                token(&with(json!({ "events": [event] }))),
                R::EventsInvalid,
            ),
            (
                "events with a wrong member",
                token(&with(
                    json!({ "events": { "http://schemas.openid.net/event/other": {} } }),
                )),
                R::LogoutEventMissing,
            ),
            (
                "event value not an object",
                token(&with(json!({ "events": { event: "yes" } }))),
                R::LogoutEventInvalid,
            ),
            (
                "neither sid nor sub",
                token(&with(json!({ "sid": null, "sub": null }))),
                R::SubjectAndSessionMissing,
            ),
            (
                "jti missing",
                token(&with(json!({ "jti": null }))),
                R::JtiMissing,
            ),
            (
                "iat missing",
                token(&with(json!({ "iat": null }))),
                R::IssuedAtMissing,
            ),
            (
                "expired",
                token(&with(json!({ "iat": NOW - 200, "exp": NOW - 61 }))),
                R::Expired,
            ),
            (
                "iat too old",
                token(&with(json!({ "iat": NOW - 361, "exp": null }))),
                R::TooOld,
            ),
            (
                "iat in the future",
                token(&with(json!({ "iat": NOW + 61 }))),
                R::IssuedInFuture,
            ),
            (
                "signed by another issuer's key",
                sign(&header(Signer::Rsa), &claims(), Signer::Rsa),
                R::UnknownKey,
            ),
            (
                "alg none",
                unsigned(r#"{"alg":"none","typ":"logout+jwt"}"#, &valid),
                R::AlgorithmNone,
            ),
            ("typ at+jwt", at_jwt, R::WrongType),
            (
                "duplicate member",
                sign_raw(
                    &header(Signer::Hmac).to_string(),
                    &valid.replacen(r#""jti":"jti-1""#, r#""jti":"jti-1","jti":"jti-2""#, 1),
                    Signer::Hmac,
                ),
                R::DuplicateMember,
            ),
            (
                "bad signature",
                format!("{}A", token(&claims())),
                R::BadSignature,
            ),
            ("not a JWS", "abc".to_owned(), R::Malformed),
            ("too large", "a".repeat(16 * 1024 + 1), R::TokenTooLarge),
        ];
        for (case, token, reason) in cases {
            let target = Arc::new(Recorder::default());
            let response = post(&receiver(&target), form(&token)).await;
            assert_refused(&response, reason, case);
            assert_eq!(
                target.calls(),
                [],
                "{case}: nothing recorded, nothing revoked"
            );
        }
    }

    #[tokio::test]
    async fn a_replayed_jti_is_a_400_and_revokes_nothing_more() {
        let target = Arc::new(Recorder::default());
        let logout = receiver(&target);
        let token = token(&claims());
        assert_logged_out(&post(&logout, form(&token)).await);
        assert_refused(
            &post(&logout, form(&token)).await,
            LogoutRejection::Replayed,
            "replay",
        );
        assert_eq!(target.revocations().len(), 1);
        // The same jti from another issuer is another token.
        let other = sign(
            &header(Signer::Rsa),
            &with(json!({ "iss": OP_RSA })),
            Signer::Rsa,
        );
        assert_logged_out(&post(&logout, form(&other)).await);
    }

    #[tokio::test]
    async fn every_invalid_request_is_a_400_that_changes_nothing() {
        use LogoutRejection as R;
        let token = token(&claims());
        let request = |content_type: Option<&str>, body: String| {
            let mut request = Request::post("/").body(body).unwrap();
            if let Some(content_type) = content_type {
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
            }
            request
        };
        let mut two_types = request(Some(FORM), form(&token));
        two_types
            .headers_mut()
            .append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let cases = [
            (
                "JSON body",
                request(Some("application/json"), form(&token)),
                R::WrongContentType,
            ),
            (
                "no content type",
                request(None, form(&token)),
                R::WrongContentType,
            ),
            (
                "a form type prefix",
                request(Some("application/x-www-form-urlencoded-evil"), form(&token)),
                R::WrongContentType,
            ),
            ("two content types", two_types, R::WrongContentType),
            (
                "two logout_token",
                request(Some(FORM), format!("{}&{}", form(&token), form(&token))),
                R::TokenParameterRepeated,
            ),
            (
                "no logout_token",
                request(Some(FORM), "id_token_hint=x".into()),
                R::TokenParameterMissing,
            ),
            (
                "empty body",
                request(Some(FORM), String::new()),
                R::TokenParameterMissing,
            ),
            (
                "oversized body",
                request(Some(FORM), form(&"a".repeat(64 * 1024))),
                R::BodyTooLarge,
            ),
        ];
        for (case, request, reason) in cases {
            let target = Arc::new(Recorder::default());
            assert_refused(&send(&receiver(&target), request).await, reason, case);
            assert_eq!(target.calls(), [], "{case}");
        }
    }

    /// A body that does not announce its size, in chunks.
    struct Chunked(VecDeque<Bytes>);

    impl Body for Chunked {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    #[tokio::test]
    async fn a_body_without_a_size_is_read_up_to_the_cap_only() {
        let chunk = Bytes::from(vec![b'a'; 16 * 1024]);
        let body = Chunked(std::iter::repeat_n(chunk, 5).collect());
        assert_eq!(
            body.size_hint().lower(),
            0,
            "the cap is not checked up front"
        );
        let request = Request::post("/")
            .header(CONTENT_TYPE, FORM)
            .body(body)
            .unwrap();
        let target = Arc::new(Recorder::default());
        let response = send(&receiver(&target), request).await;
        assert_refused(&response, LogoutRejection::BodyTooLarge, "chunked");

        let small = Chunked([Bytes::from("logout_token="), Bytes::from(token(&claims()))].into());
        let request = Request::post("/")
            .header(CONTENT_TYPE, FORM)
            .body(small)
            .unwrap();
        assert_logged_out(&send(&receiver(&target), request).await);
    }

    #[tokio::test]
    async fn methods_other_than_post_are_405_and_change_nothing() {
        for method in [Method::GET, Method::PUT, Method::DELETE, Method::OPTIONS] {
            let target = Arc::new(Recorder::default());
            let request = Request::builder()
                .method(method.clone())
                .header(CONTENT_TYPE, FORM)
                .body(form(&token(&claims())))
                .unwrap();
            let response = send(&receiver(&target), request).await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
            assert_eq!(response.headers()[ALLOW], "POST");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
            assert_eq!(target.calls(), [], "{method}");
        }
    }

    #[tokio::test]
    async fn a_store_failure_is_a_503_never_a_200_or_400() {
        let target = Arc::new(Recorder::default());
        target.fail_first_use.store(true, Ordering::SeqCst);
        let logout = receiver(&target);
        let response = post(&logout, form(&token(&claims()))).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(target.revocations(), []);

        // The store is back: the provider's retry is not a replay.
        target.fail_first_use.store(false, Ordering::SeqCst);
        assert_logged_out(&post(&logout, form(&token(&claims()))).await);
        assert_eq!(target.revocations().len(), 1);
    }

    /// Regression: the `jti` was recorded, then the revocation failed; the
    /// provider's retry must complete the logout, not be taken for a replay.
    #[tokio::test]
    async fn a_retry_after_a_failed_revocation_completes_the_logout() {
        let target = Arc::new(Recorder::default());
        target.fail_revoke.store(true, Ordering::SeqCst);
        let logout = receiver(&target);
        let token = token(&claims());
        let response = post(&logout, form(&token)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(target.revocations(), []);

        target.fail_revoke.store(false, Ordering::SeqCst);
        assert_logged_out(&post(&logout, form(&token)).await);
        assert_eq!(
            target.revocations(),
            [Call::RevokeSession(OP_HMAC.into(), "sid-1".into(), at(NOW))]
        );
        // Done: the next one is a replay again.
        assert_refused(
            &post(&logout, form(&token)).await,
            LogoutRejection::Replayed,
            "after",
        );
    }

    #[tokio::test]
    async fn receive_form_checks_the_content_type_too() {
        let target = Arc::new(Recorder::default());
        let logout = receiver(&target);
        let body = form(&token(&claims()));
        assert_refused(
            &logout.receive_form(None, body.as_bytes()).await,
            LogoutRejection::WrongContentType,
            "none",
        );
        assert_logged_out(&logout.receive_form(Some(FORM), body.as_bytes()).await);
        assert_eq!(target.revocations().len(), 1);
    }

    #[test]
    fn the_receiver_is_send_sync_and_serves_axum() {
        fn assert_send_sync<T: Send + Sync>() {}
        fn assert_send<T: Send>(_: &T) {}
        assert_send_sync::<BackChannelLogout>();
        let target = Arc::new(Recorder::default());
        let mut logout = receiver(&target);
        let future = Service::call(&mut logout, Request::new(axum::body::Body::empty()));
        assert_send(&future);
        let _app: axum::Router = axum::Router::new().route_service("/logout", logout);
    }
}
