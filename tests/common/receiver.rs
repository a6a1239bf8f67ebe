//! A Shared Signals receiver for the tests, written from the specs, as an IdP or a proxy
//! would be: it discovers the transmitter, fetches the JWK Set from the `jwks_uri`
//! discovery names, manages its streams over HTTP with its bearer token, and runs every
//! SET it gets (pushed or polled) through the conformance checks of [`super::set_checks`].

use super::set_checks::{check_set, Expect};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

/// A receiver's view of the transmitter.
#[derive(Clone)]
pub struct Receiver {
    /// The discovery document.
    pub discovery: Value,
    /// The JWK Set fetched from its `jwks_uri`.
    pub jwks: Value,
    token: String,
    http: reqwest::Client,
}

/// A SET received and checked.
#[derive(Debug, Clone)]
pub struct Got {
    /// Its claims.
    pub claims: Value,
    /// Its event type URI.
    pub event_type: String,
    /// Check failures (empty: it passed every check).
    pub failures: Vec<String>,
}

impl Got {
    /// The user the SET is about (email or iss_sub `sub`), or the stream of a control
    /// event.
    pub fn subject(&self) -> String {
        let sub_id = &self.claims["sub_id"];
        let user = if sub_id["format"] == "complex" {
            &sub_id["user"]
        } else {
            sub_id
        };
        user["email"]
            .as_str()
            .or(user["sub"].as_str())
            .or(user["id"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// The SET's jti.
    pub fn jti(&self) -> String {
        self.claims["jti"].as_str().unwrap_or_default().to_string()
    }
}

/// Checks a SET as this receiver expects it on a stream of audience `audience`.
pub fn check(token: &str, jwks: &Value, issuer: &str, audience: &str) -> Got {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expect = Expect {
        jwks,
        issuer,
        audience,
        caep_interop: true,
    };
    match check_set(token, &expect, now) {
        Ok(checked) => Got {
            claims: checked.claims,
            event_type: checked.event_type,
            failures: Vec::new(),
        },
        Err(failures) => {
            let claims = token
                .split('.')
                .nth(1)
                .and_then(|part| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(part)
                        .ok()
                })
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or(Value::Null);
            Got {
                claims,
                event_type: String::new(),
                failures,
            }
        }
    }
}

impl Receiver {
    /// Discovers the transmitter at `issuer` and fetches its JWK Set.
    pub async fn discover(issuer: &str, token: &str) -> Receiver {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = http
            .get(format!("{issuer}/.well-known/ssf-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let discovery: Value = response.json().await.unwrap();
        assert_eq!(discovery["issuer"], issuer, "issuer is the URL discovered");
        let jwks = http
            .get(discovery["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Receiver {
            discovery,
            jwks,
            token: token.to_string(),
            http,
        }
    }

    /// The URL of a discovery member (`configuration_endpoint`, ...).
    pub fn endpoint(&self, name: &str) -> String {
        self.discovery[name].as_str().unwrap().to_string()
    }

    /// The issuer.
    pub fn issuer(&self) -> String {
        self.endpoint("issuer")
    }

    /// A request with this receiver's token: the status and the JSON body (Null when
    /// empty).
    pub async fn call(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// Creates a push stream to `endpoint_url`; the stream's configuration.
    pub async fn create_push(&self, endpoint_url: &str, authorization: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                &self.endpoint("configuration_endpoint"),
                Some(json!({
                    "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": endpoint_url, "authorization_header": authorization},
                    "description": "test push receiver",
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["iss"], self.issuer());
        body
    }

    /// Creates a poll stream; the stream's configuration.
    pub async fn create_poll(&self) -> Value {
        let (status, body) = self
            .call(
                "POST",
                &self.endpoint("configuration_endpoint"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["delivery"]["method"], "urn:ietf:rfc:8936");
        body
    }

    /// Asks for a verification event with `state`.
    pub async fn verify(&self, stream_id: &str, state: &str) -> u16 {
        self.call(
            "POST",
            &self.endpoint("verification_endpoint"),
            Some(json!({"stream_id": stream_id, "state": state})),
        )
        .await
        .0
    }

    /// One poll (RFC 8936): acknowledges `ack`, returns the SETs in document order,
    /// checked, and `moreAvailable`.
    pub async fn poll(
        &self,
        stream: &Value,
        ack: &[String],
        max_events: usize,
        return_immediately: bool,
    ) -> (Vec<Got>, bool) {
        let url = stream["delivery"]["endpoint_url"].as_str().unwrap();
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .json(&json!({"ack": ack, "maxEvents": max_events, "returnImmediately": return_immediately}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        let sets = body["sets"].as_object().expect("`sets` is an object");
        assert!(sets.len() <= max_events, "more SETs than maxEvents");
        let more = body["moreAvailable"]
            .as_bool()
            .expect("`moreAvailable` is a boolean");
        // Document order (serde_json's map sorts its keys).
        let mut order: Vec<(usize, &String)> = sets
            .keys()
            .map(|jti| (text.find(&format!("\"{jti}\":")).unwrap(), jti))
            .collect();
        order.sort();
        let audience = stream["aud"].as_str().unwrap();
        let got = order
            .into_iter()
            .map(|(_, jti)| {
                let got = check(
                    sets[jti].as_str().unwrap(),
                    &self.jwks,
                    &self.issuer(),
                    audience,
                );
                assert_eq!(&got.jti(), jti, "the key of a polled SET is its jti");
                got
            })
            .collect();
        (got, more)
    }
}

/// A push endpoint (RFC 8935) on loopback: checks each SET and answers 202, or 503 while
/// `down`, or `answer` when set (to test the transmitter's handling of 401, 403, 429).
#[derive(Clone)]
pub struct PushEndpoint {
    /// Where SETs are POSTed.
    pub url: String,
    /// Every SET taken, in arrival order.
    pub got: Arc<Mutex<Vec<Got>>>,
    /// Answer 503 while set.
    pub down: Arc<AtomicBool>,
    /// A status to answer instead of 202 (0: none).
    pub answer: Arc<AtomicU16>,
    /// Requests that broke RFC 8935 (content type, authorization).
    pub protocol_errors: Arc<Mutex<Vec<String>>>,
}

impl PushEndpoint {
    /// Starts an endpoint expecting `authorization`, checking SETs against `jwks` for
    /// `issuer` and `audience` (set once the stream exists).
    pub async fn start(
        jwks: Value,
        issuer: String,
        audience: Arc<Mutex<String>>,
        authorization: &str,
    ) -> PushEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let endpoint = PushEndpoint {
            url,
            got: Arc::default(),
            down: Arc::default(),
            answer: Arc::default(),
            protocol_errors: Arc::default(),
        };
        let state = endpoint.clone();
        let authorization = authorization.to_string();
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let state = state.clone();
                let (jwks, issuer, audience) = (jwks.clone(), issuer.clone(), audience.clone());
                let authorization = authorization.clone();
                async move {
                    use axum::http::StatusCode;
                    if state.down.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let answer = state.answer.load(Ordering::SeqCst);
                    if answer != 0 {
                        return StatusCode::from_u16(answer).unwrap();
                    }
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let mut errors = Vec::new();
                    if header("content-type") != "application/secevent+jwt" {
                        errors.push(format!("content-type `{}`", header("content-type")));
                    }
                    if !header("accept").contains("json") {
                        errors.push(format!("accept `{}`", header("accept")));
                    }
                    if header("authorization") != authorization {
                        errors.push("authorization header".to_string());
                    }
                    if !errors.is_empty() {
                        state.protocol_errors.lock().unwrap().extend(errors);
                    }
                    let audience = audience.lock().unwrap().clone();
                    let got = check(body.trim(), &jwks, &issuer, &audience);
                    state.got.lock().unwrap().push(got);
                    StatusCode::ACCEPTED
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        endpoint
    }

    /// What it has taken so far.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// Whether `got` holds each subject's SETs in the order of `expected` (jtis in the
/// transmitter's order): returns the first subject out of order.
pub fn out_of_order(got: &[Got], expected: &[(String, String)]) -> Option<String> {
    let subjects: std::collections::BTreeSet<&String> =
        expected.iter().map(|(subject, _)| subject).collect();
    for subject in subjects {
        let want: Vec<&String> = expected
            .iter()
            .filter(|(s, _)| s == subject)
            .map(|(_, jti)| jti)
            .collect();
        let mut seen: Vec<String> = Vec::new();
        for one in got.iter().filter(|one| &one.subject() == subject) {
            if !seen.contains(&one.jti()) {
                seen.push(one.jti());
            }
        }
        let seen: Vec<&String> = seen.iter().filter(|jti| want.contains(jti)).collect();
        if seen != want {
            return Some(subject.clone());
        }
    }
    None
}
