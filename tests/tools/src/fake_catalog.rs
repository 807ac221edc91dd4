//! A fake course-discovery catalog: real HTTP on 127.0.0.1 (tiny_http), DRF
//! pages of course runs, and every way a catalog can fail, one page at a
//! time. Each request is served on its own thread, so a stalled page never
//! holds up the next test step. The black-box tests list their runs; the
//! benchmark's `fake-catalog` has them generated from their index.

use serde_json::{json, Value};
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use tiny_http::{Header, Response, Server};

pub const TOKEN: &str = "fake-jwt-b1e2c3d4-secret";

/// How one page goes wrong.
#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16),
    /// No answer at all for this long.
    StallBeforeHeaders(Duration),
    /// Half the body, then nothing for this long.
    StallInBody(Duration),
    NotAPage,
    /// `next` leads back to the first page.
    LoopBack,
    /// `next` leads to another host (the same server, named differently).
    ForeignNext,
    /// A redirect to another host.
    Redirect,
    /// Ten times the results asked for.
    TooManyResults,
    /// Megabytes of padding in one result.
    HugeBody,
    MissingKey,
    NotUtf8,
    /// A gzip body (`Content-Encoding: gzip`) of an empty page padded with
    /// this many bytes of spaces, which compress to almost nothing.
    GzipBomb(usize),
    /// The last result carries, in a field coursenav ignores, an array of
    /// this many bytes of `0,0,0,...`: two bytes of JSON each, and 32 bytes
    /// each in a parsed `serde_json::Value` tree.
    WideArray(usize),
}

/// The course runs a catalog lists: given one by one (the black-box tests),
/// or made on the fly from their index, so a catalog of a hundred thousand
/// runs costs no memory and a page costs only its own runs (the benchmark).
#[derive(Clone, Debug)]
pub enum Runs {
    Listed(Vec<Value>),
    /// `count` runs of [`generated_run`].
    Generated {
        count: usize,
        key_format: String,
        label: String,
    },
}

impl Runs {
    fn len(&self) -> usize {
        match self {
            Runs::Listed(runs) => runs.len(),
            Runs::Generated { count, .. } => *count,
        }
    }

    /// Up to `size` runs from index `start` on.
    fn page(&self, start: usize, size: usize) -> Vec<Value> {
        let end = self.len().min(start.saturating_add(size));
        match self {
            Runs::Listed(runs) => runs.get(start..end).unwrap_or_default().to_vec(),
            Runs::Generated { key_format, label, .. } => {
                (start..end).map(|i| generated_run(i, key_format, label)).collect()
            }
        }
    }
}

/// Run `i` of a generated catalog: its key is `key_format` with `{i}` replaced
/// by `i`, so a caller can make the matching overviews with generate_series;
/// `label` goes into the marketing URL, so a catalog with another label
/// changes every overview a sync updates.
pub fn generated_run(i: usize, key_format: &str, label: &str) -> Value {
    json!({"key": key_format.replace("{i}", &i.to_string()), "title": format!("Benchmark course {i}"),
           "status": "published", "start": "2030-01-01T00:00:00Z", "end": null,
           "marketing_url": format!("https://www.example.org/course/c{i}-{label}"),
           "eligible_for_financial_aid": !i.is_multiple_of(3), "content_language": "en-us"})
}

/// The largest page the catalog serves, whatever page_size asks for (DRF's
/// max_page_size on the course-discovery service).
pub const MAX_PAGE_SIZE: usize = 1000;

struct State {
    runs: Arc<Runs>,
    token: String,
    faults: Vec<(usize, Fault)>,
    delay: Option<Duration>,
    requests: Vec<(String, Option<String>)>,
    /// Every page full, each run's key padded with this many bytes, no
    /// count, and a `next` link to a page never read before: a catalog with
    /// no end, whose runs the sync must hold until it applies them.
    endless: Option<usize>,
}

pub struct FakeCatalog {
    pub port: u16,
    server: Arc<Server>,
    state: Arc<Mutex<State>>,
}

/// A course run as the catalog lists it.
pub fn run(key: &str, marketing_url: Value, aid: bool, language: &str) -> Value {
    json!({"key": key, "title": key, "status": "published", "start": "2030-01-01T00:00:00Z",
           "marketing_url": marketing_url, "eligible_for_financial_aid": aid, "content_language": language})
}

impl FakeCatalog {
    /// A catalog of `runs` on a free port, taking the bearer token [`TOKEN`].
    pub fn start(runs: Vec<Value>) -> FakeCatalog {
        FakeCatalog::serve(0, TOKEN, Runs::Listed(runs)).expect("bind the fake catalog")
    }

    /// A catalog of `runs` on 127.0.0.1:`port` (0: a free port), taking the
    /// bearer token `token`. It serves until dropped.
    pub fn serve(port: u16, token: &str, runs: Runs) -> Result<FakeCatalog, String> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
        // A response goes out as two writes, head then body; with Nagle on,
        // the body waits for the client's delayed ACK (40 ms a page), and a
        // benchmark would time that. Accepted sockets inherit the option.
        socket2::SockRef::from(&listener).set_tcp_nodelay(true).map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let server = Arc::new(Server::from_listener(listener, None).map_err(|e| e.to_string())?);
        let port = server.server_addr().to_ip().ok_or("not an IP address")?.port();
        let state = Arc::new(Mutex::new(State {
            runs: Arc::new(runs),
            token: token.to_string(),
            faults: Vec::new(),
            delay: None,
            requests: Vec::new(),
            endless: None,
        }));
        let (server2, state2) = (server.clone(), state.clone());
        thread::spawn(move || {
            for request in server2.incoming_requests() {
                let state = state2.clone();
                thread::spawn(move || serve(port, &state, request));
            }
        });
        Ok(FakeCatalog { port, server, state })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_runs(&self, runs: Vec<Value>) {
        self.state.lock().unwrap().runs = Arc::new(Runs::Listed(runs));
    }

    /// Makes page `page` (from 1) fail with `fault`, for every later request.
    pub fn fail_page(&self, page: usize, fault: Fault) {
        self.state.lock().unwrap().faults = vec![(page, fault)];
    }

    pub fn heal(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// Answers every page only after `delay`.
    pub fn slow_down(&self, delay: Duration) {
        self.state.lock().unwrap().delay = Some(delay);
    }

    /// From now on every page is full and leads to another, with no count;
    /// every run's key is padded with `key_padding` bytes.
    pub fn make_endless(&self, key_padding: usize) {
        self.state.lock().unwrap().endless = Some(key_padding);
    }

    /// Every request so far: its URL and Authorization header.
    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for FakeCatalog {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<usize> {
    pairs.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok())
}

fn json_response(status: u16, body: Vec<u8>) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(body)
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").unwrap())
}

fn serve(port: u16, state: &Mutex<State>, request: tiny_http::Request) {
    let url = request.url().to_string();
    let authorization =
        request.headers().iter().find(|h| h.field.equiv("Authorization")).map(|h| h.value.as_str().to_string());
    let pairs = query(&url);
    let page = param(&pairs, "page").unwrap_or(1);
    let size = param(&pairs, "page_size").unwrap_or(20).min(MAX_PAGE_SIZE);
    let (runs, token, fault, delay, endless) = {
        let mut s = state.lock().unwrap();
        s.requests.push((url.clone(), authorization.clone()));
        let fault = s.faults.iter().find(|(p, _)| *p == page).map(|(_, f)| f.clone());
        (s.runs.clone(), s.token.clone(), fault, s.delay, s.endless)
    };
    if let Some(delay) = delay {
        thread::sleep(delay);
    }
    if authorization.as_deref() != Some(&format!("Bearer {token}")) {
        let _ = request
            .respond(json_response(401, br#"{"detail": "Authentication credentials were not provided."}"#.to_vec()));
        return;
    }
    if !url.starts_with("/api/v1/course_runs/") || param(&pairs, "exclude_utm") != Some(1) {
        let _ = request.respond(json_response(404, b"{}".to_vec()));
        return;
    }
    let start = page.saturating_sub(1).saturating_mul(size);
    let mut results = runs.page(start, size);
    let next_page =
        |p: usize| format!("http://127.0.0.1:{port}/api/v1/course_runs/?exclude_utm=1&page={p}&page_size={size}");
    let mut next = if start + size < runs.len() { json!(next_page(page + 1)) } else { Value::Null };
    let previous = if page > 1 { json!(next_page(page - 1)) } else { Value::Null };
    match &fault {
        Some(Fault::LoopBack) => {
            next = json!(format!("http://127.0.0.1:{port}/api/v1/course_runs/?page_size={size}&exclude_utm=1"))
        }
        Some(Fault::ForeignNext) => {
            next = json!(format!(
                "http://localhost:{port}/api/v1/course_runs/?exclude_utm=1&page={}&page_size={size}",
                page + 1
            ))
        }
        Some(Fault::TooManyResults) => {
            results = (0..size * 10).map(|i| json!({"key": format!("course-v1:Extra+X{i}+R")})).collect()
        }
        Some(Fault::HugeBody) => results[0]["full_description"] = json!("x".repeat(8 * 1024 * 1024)),
        Some(Fault::MissingKey) => {
            results[0].as_object_mut().unwrap().remove("key");
        }
        _ => {}
    }
    let mut count = json!(runs.len());
    if let Some(padding) = endless {
        results = (0..size)
            .map(|i| json!({"key": format!("course-v1:Endless+P{page}+R{i}+{}", "x".repeat(padding))}))
            .collect();
        next = json!(next_page(page + 1));
        count = Value::Null;
    }
    let mut body =
        json!({"count": count, "next": next, "previous": previous, "results": results}).to_string().into_bytes();
    if let Some(Fault::WideArray(bytes)) = &fault {
        // Spliced in as text: built as a Value here it would take this
        // process the very memory the test is about.
        let at = body.windows(2).position(|w| w == b"}]").expect("a page with a result");
        let mut wide = b",\"extra\":[".to_vec();
        wide.extend(std::iter::repeat_n(*b"0,", bytes / 2).flatten());
        wide.extend_from_slice(b"0]");
        body.splice(at..at, wide);
    }
    let _ = match fault {
        Some(Fault::Status(code)) => request.respond(json_response(code, br#"{"detail": "failure"}"#.to_vec())),
        Some(Fault::StallBeforeHeaders(d)) => {
            thread::sleep(d);
            request.respond(json_response(200, body))
        }
        Some(Fault::StallInBody(d)) => {
            let length = body.len();
            let reader = Stalling { body, sent: 0, stall: Some(d) };
            request.respond(Response::new(200.into(), vec![], reader, Some(length), None))
        }
        Some(Fault::Redirect) => {
            let location = format!("http://localhost:{port}{url}");
            request.respond(Response::empty(301).with_header(Header::from_bytes("Location", location).unwrap()))
        }
        Some(Fault::NotAPage) => {
            request.respond(json_response(200, br#"{"detail": "Not found.", "items": []}"#.to_vec()))
        }
        Some(Fault::NotUtf8) => {
            request.respond(json_response(200, b"{\"next\": null, \"results\": [{\"key\": \"\xff\xfe\"}]}".to_vec()))
        }
        Some(Fault::GzipBomb(padding)) => {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(b"{\"next\": null, \"results\": [").unwrap();
            let spaces = vec![b' '; 1 << 20];
            for _ in 0..padding / spaces.len() {
                encoder.write_all(&spaces).unwrap();
            }
            encoder.write_all(b"]}").unwrap();
            let gzip = encoder.finish().unwrap();
            request
                .respond(json_response(200, gzip).with_header(Header::from_bytes("Content-Encoding", "gzip").unwrap()))
        }
        _ => request.respond(json_response(200, body)),
    };
}

/// Gives half the body, stalls once, then gives the rest.
struct Stalling {
    body: Vec<u8>,
    sent: usize,
    stall: Option<Duration>,
}

impl Read for Stalling {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let half = self.body.len() / 2;
        if self.sent >= half {
            if let Some(d) = self.stall.take() {
                thread::sleep(d);
            }
        }
        let end = if self.sent < half { half } else { self.body.len() };
        let n = (end - self.sent).min(buf.len());
        buf[..n].copy_from_slice(&self.body[self.sent..self.sent + n]);
        self.sent += n;
        Ok(n)
    }
}
