//! `fail_to_proxy`: the answer to an error a phase returned, on a session over an
//! in-memory stream. The failures the gateway foresees are answered inside
//! `request_filter`, so the errors that reach `fail_to_proxy` are hard to cause from
//! outside: it is tested here, directly.

use super::{Gateway, RequestCtx};
use crate::metrics::Metrics;
use crate::protocol::Dialect;
use crate::relay::{Live, Relay};
use crate::reload::Reloader;
use arc_swap::ArcSwap;
use pingora::connectors::TransportConnector;
use pingora::{Error, ErrorType};
use pingora_proxy::{ProxyHttp, Session};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

fn gateway() -> Gateway {
    let yaml =
        "channels:\n  - {name: a, protocol: anthropic, base_url: 'http://127.0.0.1:9', keys: [k], models: ['*']}\n";
    let config = crate::config::load_str(yaml, &|_| None).unwrap().config;
    let metrics = Arc::new(Metrics::new().unwrap());
    let relay = Arc::new(Relay::new(TransportConnector::new(None), &config.routing, metrics.clone()));
    let live = Arc::new(ArcSwap::from_pointee(Live::new(config)));
    let reloader = Arc::new(Reloader::new("unused.yaml".into(), live.clone(), relay.clone(), metrics.clone(), None));
    Gateway { live, relay, metrics, reloader }
}

/// A session whose request head has been read, and the client's end of its stream.
async fn session() -> (Session, DuplexStream) {
    let (ours, mut client) = tokio::io::duplex(64 * 1024);
    client.write_all(b"POST /v1/messages HTTP/1.1\r\nhost: relay\r\ncontent-length: 2\r\n\r\n{}").await.unwrap();
    let mut session = Session::new_h1(Box::new(ours));
    assert!(session.downstream_session.read_request().await.unwrap());
    (session, client)
}

/// Runs `fail_to_proxy` for `e` with the request's dialect set to `dialect`; returns
/// the status it reports, whether it lets the connection be reused, and every byte the
/// client received.
async fn fail(dialect: Option<Dialect>, e: Box<Error>, answered_before: bool) -> (u16, bool, String) {
    let gateway = gateway();
    let (mut session, mut client) = session().await;
    let mut ctx: RequestCtx = gateway.new_ctx();
    ctx.dialect = dialect;
    if answered_before {
        crate::relay::respond_text(&mut session, 200, "partial\n").await.unwrap();
    }
    let res = gateway.fail_to_proxy(&mut session, &e, &mut ctx).await;
    drop(session);
    let mut received = Vec::new();
    client.read_to_end(&mut received).await.unwrap();
    (res.error_code, res.can_reuse_downstream, String::from_utf8(received).unwrap())
}

/// The status line and the body of an HTTP/1.1 response.
fn status_and_body(response: &str) -> (&str, &str) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap(), body)
}

#[tokio::test(flavor = "current_thread")]
async fn a_gateway_error_is_answered_500_in_the_clients_dialect() {
    let e = Error::explain(ErrorType::InternalError, "request_filter did not answer the request");
    let (code, reuse, response) = fail(Some(Dialect::Anthropic), e, false).await;
    assert_eq!((code, reuse), (500, false));
    let (status, body) = status_and_body(&response);
    assert_eq!(status, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(
        body,
        r#"{"type":"error","error":{"type":"api_error","message":"the gateway failed to answer the request"}}"#
    );
    assert!(response.to_ascii_lowercase().contains("content-type: application/json\r\n"), "{response}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_that_could_not_be_read_is_answered_400_in_the_clients_dialect() {
    let mut e = Error::new(ErrorType::InvalidHTTPHeader);
    e.as_down();
    let (code, _, response) = fail(Some(Dialect::OpenAiChat), e, false).await;
    assert_eq!(code, 400);
    let (status, body) = status_and_body(&response);
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["message"], "the request could not be read (InvalidHTTPHeader)");
}

#[tokio::test(flavor = "current_thread")]
async fn an_error_carrying_a_status_is_answered_with_it() {
    let mut e = Error::new(ErrorType::HTTPStatus(503));
    e.as_up();
    let (code, _, response) = fail(Some(Dialect::Gemini), e, false).await;
    assert_eq!(code, 503);
    let (status, body) = status_and_body(&response);
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], 503);
    assert_eq!(body["error"]["status"], "UNAVAILABLE");
    assert_eq!(body["error"]["message"], "the gateway failed to answer the request");
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_of_no_dialect_gets_pingoras_empty_answer() {
    let (code, _, response) = fail(None, Error::new(ErrorType::InternalError), false).await;
    assert_eq!(code, 500);
    let (status, body) = status_and_body(&response);
    assert_eq!(status, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(body, "");
}

/// A client that went away gets nothing more: the reported status is 0, no answer
/// sent (and `suppress_error_log` keeps the failure out of the error log).
#[tokio::test(flavor = "current_thread")]
async fn a_client_that_left_is_sent_nothing() {
    let mut e = Error::new(ErrorType::ConnectionClosed);
    e.as_down();
    let (code, reuse, response) = fail(Some(Dialect::Anthropic), e, false).await;
    assert_eq!((code, reuse, response.as_str()), (0, false, ""));
}

#[tokio::test(flavor = "current_thread")]
async fn an_answer_already_sent_is_not_followed_by_another() {
    let e = Error::new(ErrorType::InternalError);
    let (code, _, response) = fail(Some(Dialect::Anthropic), e, true).await;
    assert_eq!(code, 0);
    let (status, body) = status_and_body(&response);
    assert_eq!((status, body), ("HTTP/1.1 200 OK", "partial\n"));
}
