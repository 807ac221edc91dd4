//! Fetching one catalog page over HTTP with ureq: blocking, on the
//! backend's own thread (never another thread, never a Postgres call here),
//! with real connect and read timeouts so a stalled catalog cannot hold a
//! backend. Errors are words for the run's error column; none of them
//! carries the token or anything the catalog sent back.

use std::time::Duration;
use url::Url;

pub(super) struct CatalogClient {
    agent: ureq::Agent,
    authorization: String,
    read_timeout: Duration,
}

impl CatalogClient {
    pub(super) fn new(token: &str, connect_timeout: Duration, read_timeout: Duration) -> CatalogClient {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_resolve(Some(connect_timeout))
            .timeout_connect(Some(connect_timeout))
            .timeout_send_request(Some(read_timeout))
            .timeout_recv_response(Some(read_timeout))
            .timeout_recv_body(Some(read_timeout))
            // Statuses are checked below, and a redirect is an error: the
            // token must not follow a catalog to wherever it points.
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("coursenav/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        CatalogClient { agent, authorization: format!("Bearer {token}"), read_timeout }
    }

    /// The body of the page at `url`, or why there is none. A body longer
    /// than `max_bytes` is not read: `too_large` says why.
    pub(super) fn get(&self, url: &Url, max_bytes: u64, too_large: impl FnOnce() -> String) -> Result<Vec<u8>, String> {
        let mut response = self
            .agent
            .get(url.as_str())
            .header("Authorization", &self.authorization)
            .header("Accept", "application/json")
            .header("Accept-Encoding", "identity")
            .call()
            .map_err(|e| self.describe(e))?;
        let status = response.status();
        if !status.is_success() {
            let reason = status.canonical_reason().unwrap_or("");
            return Err(format!("the catalog answered HTTP {} {reason}", status.as_u16()).trim_end().to_string());
        }
        // The size bound below counts the bytes received: a compressed body
        // could inflate far past it, so none is asked for and none is taken.
        if let Some(encoding) = response.headers().get("content-encoding") {
            let encoding = encoding.to_str().unwrap_or("(not text)");
            if !encoding.trim().eq_ignore_ascii_case("identity") {
                return Err(format!(
                    "the catalog sent a compressed page (Content-Encoding: {encoding}); coursenav asks for none and reads none"
                ));
            }
        }
        match response.body_mut().with_config().limit(max_bytes).read_to_vec() {
            Ok(body) => Ok(body),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(too_large()),
            Err(e) => Err(self.describe(e)),
        }
    }

    /// A read timeout, whether ureq reports it as its own or as the socket's.
    fn no_answer(&self) -> String {
        format!(
            "the catalog did not answer within coursenav.catalog_read_timeout ({} ms)",
            self.read_timeout.as_millis()
        )
    }

    fn describe(&self, error: ureq::Error) -> String {
        match error {
            ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
                "no connection to the catalog within coursenav.catalog_connect_timeout".into()
            }
            ureq::Error::Io(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                self.no_answer()
            }
            ureq::Error::Timeout(_) => self.no_answer(),
            ureq::Error::Io(e) => format!("cannot reach the catalog: {e}"),
            ureq::Error::HostNotFound => "cannot reach the catalog: host not found".into(),
            ureq::Error::ConnectionFailed => "cannot reach the catalog: connection failed".into(),
            other => format!("cannot read the catalog: {other}"),
        }
    }
}
