//! The fuzzer's catalog family: DRF pages of course runs, one of them
//! mutated (or its bytes, its gzip encoding, or the walk made endless),
//! served over real HTTP on 127.0.0.1 by a page server of its own (it
//! answers with exactly the bytes a case gives, which the fake catalog,
//! `coursenav_tools::fake_catalog`, does not), then `coursenav.catalog_sync()`.
//!
//! Every run must end with a status (ok, partial, failed, skipped) and a
//! finished row, and never for want of memory (a bound must hold first);
//! a failed run changes no overview; no overview ever takes a
//! value the catalog did not give on a page that was read; a run that is
//! ok applied every clean page it read; the course-owned columns never
//! change; what is stored is sound (no NUL, http(s) marketing URLs without
//! credentials and of sane length).

use crate::fuzz::{check_cluster, fuzz_cluster, judge_refusal, CaseInfo, Died, Failures, Fuzz, Session};
use crate::fuzz_json::{
    deep, duplicate_a_key, edge_number, long_length, long_string, many, other_type, pick, with_nul, Json,
};
use coursenav_tools::fake_catalog::TOKEN;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use tiny_http::{Header, Response, Server};

const COURSES: usize = 12;
/// The longest marketing URL the fuzzer takes as sane; a URL of this size
/// is already far past what any browser or about page uses.
const MAX_MARKETING_URL: usize = 64 * 1024;

fn course_id(k: usize) -> String {
    format!("course-v1:FuzzC+C{k:02}+2030")
}

/// One answer of the page server.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: Arc<Vec<u8>>,
    gzip: bool,
}

impl Answer {
    fn json(body: Vec<u8>) -> Answer {
        Answer { status: 200, body: Arc::new(body), gzip: false }
    }
}

/// What the page server answers for a case.
#[derive(Clone)]
enum Script {
    /// Page n (from 1) is the n-th answer; pages past the end are 404.
    Pages(Vec<Answer>),
    /// Every page links to the next, up to `pages`, each with the same
    /// results; `count` as written (or none).
    Endless { pages: usize, page_size: usize, results: Arc<String>, count: Option<String> },
}

struct ServerState {
    script: Script,
    requested: Vec<usize>,
}

/// A catalog that answers each page with the bytes it is given.
struct PageServer {
    port: u16,
    server: Arc<Server>,
    state: Arc<Mutex<ServerState>>,
}

fn page_link(port: u16, page: usize, size: usize) -> String {
    format!("http://127.0.0.1:{port}/api/v1/course_runs/?exclude_utm=1&page={page}&page_size={size}")
}

impl PageServer {
    fn start() -> PageServer {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind the page server"));
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(ServerState { script: Script::Pages(vec![]), requested: vec![] }));
        let (server2, state2) = (server.clone(), state.clone());
        thread::spawn(move || {
            for request in server2.incoming_requests() {
                let state = state2.clone();
                thread::spawn(move || answer(port, &state, request));
            }
        });
        PageServer { port, server, state }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn set_script(&self, script: Script) {
        let mut state = self.state.lock().unwrap();
        state.script = script;
        state.requested.clear();
    }

    fn requested(&self) -> Vec<usize> {
        self.state.lock().unwrap().requested.clone()
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn answer(port: u16, state: &Mutex<ServerState>, request: tiny_http::Request) {
    let url = request.url().to_string();
    let authorized = request
        .headers()
        .iter()
        .any(|h| h.field.equiv("Authorization") && h.value.as_str() == format!("Bearer {TOKEN}"));
    let page = url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("page="))
        .map_or(Some(1), |p| p.parse::<usize>().ok());
    let script = {
        let mut state = state.lock().unwrap();
        if let Some(page) = page {
            state.requested.push(page);
        }
        state.script.clone()
    };
    let not_found = || Answer { status: 404, body: Arc::new(b"{\"detail\": \"Not found.\"}".to_vec()), gzip: false };
    let chosen = match (authorized && url.starts_with("/api/v1/course_runs/"), page) {
        (false, _) => Answer { status: 401, body: Arc::new(b"{}".to_vec()), gzip: false },
        (true, None) => not_found(),
        (true, Some(page)) => match &script {
            Script::Pages(answers) => answers.get(page.wrapping_sub(1)).cloned().unwrap_or_else(not_found),
            Script::Endless { pages, page_size, results, count } => {
                if page == 0 || page > *pages {
                    not_found()
                } else {
                    let next = if page < *pages {
                        format!("\"{}\"", page_link(port, page + 1, *page_size))
                    } else {
                        "null".into()
                    };
                    let count = count.as_ref().map(|c| format!("\"count\":{c},")).unwrap_or_default();
                    Answer::json(
                        format!("{{{count}\"next\":{next},\"previous\":null,\"results\":{results}}}").into_bytes(),
                    )
                }
            }
        },
    };
    let mut response = Response::from_data(chosen.body.as_slice())
        .with_status_code(chosen.status)
        .with_header(Header::from_bytes("Content-Type", "application/json").unwrap());
    if chosen.gzip {
        response = response.with_header(Header::from_bytes("Content-Encoding", "gzip").unwrap());
    }
    let _ = request.respond(response);
}

fn gzip_member(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A page whose one result carries `megabytes` of "a" in an ignored field,
/// gzip-compressed as a series of gzip members (which a gzip reader must
/// read as one body): a few kilobytes per 16 MiB inflated.
fn inflating_page(key: &str, megabytes: usize) -> Vec<u8> {
    static BLOCK: OnceLock<Vec<u8>> = OnceLock::new();
    let block = BLOCK.get_or_init(|| gzip_member(&vec![b'a'; 16 << 20]));
    let mut out = gzip_member(
        format!("{{\"count\":1,\"next\":null,\"results\":[{{\"key\":\"{key}\",\"full_description\":\"").as_bytes(),
    );
    for _ in 0..megabytes.div_ceil(16) {
        out.extend_from_slice(block);
    }
    out.extend(gzip_member(b"\"}]}"));
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Control,
    TypeSwap,
    EdgeNumber,
    DeepNesting,
    LongString,
    Nul,
    Url,
    Next,
    ManyPairs,
    DuplicateKey,
    WrongKey,
    MissingField,
    ExtraField,
    NotAPage,
    RawBytes,
    Gzip,
    Endless,
}

const OPS: [(Op, &str, u32); 17] = [
    (Op::Control, "control (no mutation)", 4),
    (Op::TypeSwap, "type swap", 12),
    (Op::EdgeNumber, "huge and tiny numbers", 10),
    (Op::DeepNesting, "deep nesting", 5),
    (Op::LongString, "long string", 6),
    (Op::Nul, "NUL", 8),
    (Op::Url, "URLs", 12),
    (Op::Next, "next links", 8),
    (Op::ManyPairs, "many pairs", 5),
    (Op::DuplicateKey, "duplicate key", 6),
    (Op::WrongKey, "wrong key", 6),
    (Op::MissingField, "missing field", 4),
    (Op::ExtraField, "extra field", 4),
    (Op::NotAPage, "not a page", 3),
    (Op::RawBytes, "raw bytes", 4),
    (Op::Gzip, "gzip", 5),
    (Op::Endless, "endless pages", 1),
];

const RESULT_FIELDS: [&str; 7] =
    ["key", "marketing_url", "eligible_for_financial_aid", "content_language", "title", "start", "seats"];

/// What a clean page gives a known course.
#[derive(Clone, Debug, PartialEq)]
struct Given {
    marketing_url: Option<String>,
    aid: bool,
    language: Option<String>,
}

/// One run on a page: its JSON, and for a known course its id and what a
/// clean page gives it (None for a course coursenav does not know).
type PageRun = (Json, Option<(String, Given)>);

struct CatalogCase {
    info: CaseInfo,
    page_size: usize,
    script: Script,
    /// Page number (from 1) to what each clean page gives each known course.
    clean: HashMap<usize, Vec<(String, Given)>>,
    /// The text of what was mutated: courses named in it may take anything.
    mutated_text: String,
}

/// A result of a page, a field of it or the page's own, for a mutation.
fn target<'a>(page: &'a mut Json, rng: &mut ChaCha8Rng) -> (String, &'a mut Json) {
    let results = match page.get("results") {
        Some(Json::Arr(items)) => items.iter().filter(|r| matches!(r, Json::Obj(_))).count(),
        _ => 0,
    };
    if results > 0 && rng.random_bool(0.7) {
        let field = *RESULT_FIELDS.choose(rng).unwrap();
        let Some(Json::Arr(items)) = page.get_mut("results") else { unreachable!() };
        let objects: Vec<usize> =
            items.iter().enumerate().filter(|(_, r)| matches!(r, Json::Obj(_))).map(|(i, _)| i).collect();
        let i = *objects.choose(rng).unwrap();
        return (format!("\"{field}\" of result {i}"), items[i].slot(field).unwrap());
    }
    if rng.random_bool(0.6) {
        let field = *["count", "next", "previous", "results"].choose(rng).unwrap();
        return (format!("\"{field}\""), page.slot(field).unwrap());
    }
    ("a random node".into(), pick(page, rng))
}

fn random_result<'a>(page: &'a mut Json, rng: &mut ChaCha8Rng) -> Option<&'a mut Json> {
    let Some(Json::Arr(items)) = page.get_mut("results") else { return None };
    let objects: Vec<usize> =
        items.iter().enumerate().filter(|(_, r)| matches!(r, Json::Obj(_))).map(|(i, _)| i).collect();
    let i = *objects.choose(rng)?;
    Some(&mut items[i])
}

const BAD_URLS: [&str; 17] = [
    "https://user:pass@www.example.org/course/x",
    "http://user@www.example.org/",
    "https://:secret@www.example.org/",
    "javascript:alert(document.cookie)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "//evil.example/x",
    "https://",
    "",
    " https://www.example.org/padded ",
    "HTTPS://WWW.EXAMPLE.ORG/Upper",
    "https://www.example.org/a b<script>",
    "http://\u{4F8B}\u{3048}.jp/\u{30D1}\u{30B9}",
    "https://[::1]:99999/",
    "https://www.example.org/\u{0}x",
    "ftp://www.example.org/x",
];

/// Mutates page `page` (a JSON page) or replaces the whole answer; returns
/// what it did, and the answer when it is not the page's JSON as text.
fn mutate(op: Op, page: &mut Json, port: u16, page_size: &mut usize, rng: &mut ChaCha8Rng) -> (String, Option<Answer>) {
    match op {
        Op::Control | Op::Endless => ("none".into(), None),
        Op::TypeSwap => {
            let (where_, node) = target(page, rng);
            *node = other_type(node, rng);
            (format!("type swap at {where_}: {}", node.text()), None)
        }
        Op::EdgeNumber => {
            let (where_, node) = target(page, rng);
            *node = edge_number(rng);
            (format!("{} at {where_}", node.text()), None)
        }
        Op::DeepNesting => {
            let value = deep(rng);
            let (where_, node) = target(page, rng);
            *node = value;
            (format!("deep nesting at {where_}"), None)
        }
        Op::LongString => {
            let len = long_length(rng);
            let text = long_string(rng, len);
            let len = text.len();
            let field = *["content_language", "marketing_url", "key", "title", "full_description"].choose(rng).unwrap();
            let value = if field == "marketing_url" {
                Json::Str(format!("https://www.example.org/{text}"))
            } else {
                Json::Str(text)
            };
            match random_result(page, rng) {
                Some(result) => {
                    *result.slot(field).unwrap() = value;
                    (format!("a {len}-byte \"{field}\""), None)
                }
                None => ("no result".into(), None),
            }
        }
        Op::Nul => {
            let field = *["content_language", "content_language", "marketing_url", "key", "title"].choose(rng).unwrap();
            match random_result(page, rng) {
                Some(result) => {
                    let slot = result.slot(field).unwrap();
                    *slot = with_nul(slot, rng);
                    (format!("NUL in \"{field}\": {}", slot.text()), None)
                }
                None => ("no result".into(), None),
            }
        }
        Op::Url => {
            let url = match rng.random_range(0..5) {
                0 => format!("https://www.example.org/{}", "u".repeat(*[1_000, 70_000, 2 << 20].choose(rng).unwrap())),
                _ => BAD_URLS.choose(rng).unwrap().to_string(),
            };
            match random_result(page, rng) {
                Some(result) => {
                    let text = crate::fuzz_json::truncated(&url, 80);
                    *result.slot("marketing_url").unwrap() = Json::Str(url);
                    (format!("marketing_url {text:?}"), None)
                }
                None => ("no result".into(), None),
            }
        }
        Op::Next => {
            let page_size = *page_size;
            let base = page_link(port, 1, page_size);
            let next = match rng.random_range(0..11) {
                0 => Json::str(base.clone()),
                1 => Json::str(format!(
                    "http://127.0.0.1:{port}/api/v1/course_runs/?page_size={page_size}&exclude_utm=1"
                )),
                2 => Json::str(base.replace("127.0.0.1", "localhost")),
                3 => Json::str(base.replace("http://", "https://")),
                4 => Json::str("javascript:alert(1)"),
                5 => Json::str(format!("/api/v1/course_runs/?exclude_utm=1&page=2&page_size={page_size}")),
                6 => Json::str(":::: not a link"),
                7 => Json::Num("1e400".into()),
                8 => Json::str(format!("{base}&pad={}", "p".repeat(1 << 20))),
                9 => Json::str(base.replace("http://", "http://user:pass@")),
                _ => Json::str(page_link(port, 99, page_size)),
            };
            let text = crate::fuzz_json::truncated(&next.text(), 100);
            *page.slot("next").unwrap() = next;
            (format!("next = {text}"), None)
        }
        Op::ManyPairs => {
            let n = many(rng);
            match rng.random_range(0..3) {
                0 => {
                    let results: Vec<Json> = (0..n.min(50_000))
                        .map(|i| Json::Obj(vec![("key".into(), Json::str(format!("course-v1:Many+M{i}+2030")))]))
                        .collect();
                    *page.slot("results").unwrap() = Json::Arr(results);
                    (format!("{} results on a page of {}", n.min(50_000), *page_size), None)
                }
                1 => match random_result(page, rng) {
                    Some(result) => {
                        let pairs = result.pairs_mut().unwrap();
                        for i in 0..n {
                            pairs.push((format!("f{i}"), Json::Null));
                        }
                        (format!("{n} ignored pairs in a result"), None)
                    }
                    None => ("no result".into(), None),
                },
                _ => {
                    let pairs = page.pairs_mut().unwrap();
                    for i in 0..n {
                        pairs.push((format!("f{i}"), Json::Num("0".into())));
                    }
                    (format!("{n} ignored pairs in the page"), None)
                }
            }
        }
        Op::DuplicateKey => {
            if rng.random_bool(0.5) {
                if let Some(result) = random_result(page, rng) {
                    let other = course_id(rng.random_range(0..COURSES));
                    result.pairs_mut().unwrap().insert(0, ("key".into(), Json::str(other.clone())));
                    return (format!("\"key\" given twice, first as {other}"), None);
                }
            }
            duplicate_a_key(page.pairs_mut().unwrap(), rng);
            ("a page field given twice".into(), None)
        }
        Op::WrongKey => {
            let key = match rng.random_range(0..7) {
                0 => course_id(rng.random_range(0..COURSES)),
                1 => "ccx-v1:FuzzC+C01+2030+ccx@1".to_string(),
                2 => String::new(),
                3 => format!(" {}", course_id(1)),
                4 => course_id(2).to_uppercase(),
                5 => format!("course-v1:FuzzC+{}+2030", "k".repeat(100_000)),
                _ => "block-v1:FuzzC+C01+2030+type@course+block@course".to_string(),
            };
            match random_result(page, rng) {
                Some(result) => {
                    let text = crate::fuzz_json::truncated(&key, 60);
                    *result.slot("key").unwrap() = Json::Str(key);
                    (format!("key {text:?}"), None)
                }
                None => ("no result".into(), None),
            }
        }
        Op::MissingField => {
            if rng.random_bool(0.4) {
                let field = *["count", "next", "results", "previous"].choose(rng).unwrap();
                page.remove(field);
                return (format!("\"{field}\" removed"), None);
            }
            match random_result(page, rng) {
                Some(result) => {
                    let field = *RESULT_FIELDS.choose(rng).unwrap();
                    result.remove(field);
                    (format!("\"{field}\" removed from a result"), None)
                }
                None => ("no result".into(), None),
            }
        }
        Op::ExtraField => {
            let value = other_type(&Json::Null, rng);
            let name = *["x", "", "Key", "content_language ", "marketing_url\u{1F600}"].choose(rng).unwrap();
            let text = value.text();
            match random_result(page, rng) {
                Some(result) if rng.random_bool(0.7) => *result.slot(name).unwrap() = value,
                _ => *page.slot(name).unwrap() = value,
            }
            (format!("field {name:?} = {text}"), None)
        }
        Op::NotAPage => {
            let body = *[
                "[]",
                "null",
                "{}",
                "\"page\"",
                "<html><body>Bad gateway</body></html>",
                "{\"next\": null, \"results\": {}}",
                "{\"next\": null}",
                "{\"results\": []}",
            ]
            .choose(rng)
            .unwrap();
            (format!("body {body}"), Some(Answer::json(body.as_bytes().to_vec())))
        }
        Op::RawBytes => {
            let mut bytes = page.text().into_bytes();
            let what = match rng.random_range(0..6) {
                0 => {
                    bytes.truncate(rng.random_range(0..bytes.len()));
                    "cut short"
                }
                1 => {
                    let at = bytes.iter().rposition(|b| *b == b'"').unwrap_or(0);
                    bytes.insert(at, 0xff);
                    "a byte that is not UTF-8 in a string"
                }
                2 => {
                    bytes.splice(0..0, [0xef, 0xbb, 0xbf]);
                    "a byte order mark first"
                }
                3 => {
                    bytes.clear();
                    "empty"
                }
                4 => {
                    bytes.extend_from_slice(b" trailing garbage");
                    "trailing garbage"
                }
                _ => {
                    bytes = String::from_utf8_lossy(&bytes).encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
                    "UTF-16"
                }
            };
            (format!("body {what}"), Some(Answer::json(bytes)))
        }
        Op::Gzip => {
            let text = page.text().into_bytes();
            let key = course_id(0);
            let (what, body, gzip) = match rng.random_range(0..6) {
                0 | 1 => ("the page, gzip-encoded", gzip_member(&text), true),
                2 => {
                    // Page size 100 allows 7.4 MB of body, so the 3 MB of
                    // gzip members pass any bound on compressed bytes.
                    *page_size = 100;
                    ("a gzip bomb: 3 GiB inflated from 3 MB", inflating_page(&key, 3072), true)
                }
                3 => ("48 MiB inflated, far past the page bound", inflating_page(&key, 48), true),
                4 => {
                    ("gzip header then garbage", [&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3][..], b"garbage"].concat(), true)
                }
                _ => ("Content-Encoding: gzip on a plain body", text, true),
            };
            (what.to_string(), Some(Answer { status: 200, body: Arc::new(body), gzip }))
        }
    }
}

fn run_json(key: &str, number: usize, k: usize, rng: &mut ChaCha8Rng) -> (Json, Given) {
    let given = Given {
        marketing_url: if rng.random_bool(0.9) {
            Some(format!("https://www.example.org/course/{k:02}-{number}"))
        } else {
            None
        },
        aid: rng.random_bool(0.5),
        language: [Some("en"), Some("fr"), Some("es"), Some("zh-cn"), None].choose(rng).unwrap().map(str::to_string),
    };
    let text = |o: &Option<String>| o.clone().map(Json::Str).unwrap_or(Json::Null);
    let run = Json::Obj(vec![
        ("key".into(), Json::str(key)),
        ("title".into(), Json::str(format!("Run {key}"))),
        ("status".into(), Json::str("published")),
        ("start".into(), Json::str("2030-01-01T00:00:00Z")),
        ("marketing_url".into(), text(&given.marketing_url)),
        ("eligible_for_financial_aid".into(), Json::Bool(given.aid)),
        ("content_language".into(), text(&given.language)),
        ("seats".into(), Json::Arr(vec![Json::Obj(vec![("price".into(), Json::Num("49.00".into()))])])),
    ]);
    (run, given)
}

fn generate(fuzz: &Fuzz, number: usize, port: u16) -> CatalogCase {
    let mut rng = fuzz.rng(number);
    let (op, name, _) = *OPS.choose_weighted(&mut rng, |o| o.2).unwrap();
    if op == Op::Endless {
        return endless(number, name, &mut rng);
    }
    let mut known: Vec<usize> = (0..COURSES).collect();
    known.shuffle(&mut rng);
    known.truncate(rng.random_range(3..=COURSES));
    let mut runs: Vec<PageRun> = known
        .iter()
        .map(|&k| {
            let (run, given) = run_json(&course_id(k), number, k, &mut rng);
            (run, Some((course_id(k), given)))
        })
        .collect();
    for u in 0..rng.random_range(0..=2) {
        runs.push((run_json(&format!("course-v1:FuzzX+U{number}x{u}+2030"), number, 99, &mut rng).0, None));
    }
    runs.shuffle(&mut rng);
    let mut page_size = rng.random_range(2..=5);
    let pages: Vec<Vec<PageRun>> = runs.chunks(page_size).map(|c| c.to_vec()).collect();
    let total = runs.len();
    let mutated = rng.random_range(0..pages.len());
    let mut answers = Vec::new();
    let mut clean = HashMap::new();
    let mut recipe = String::new();
    let mut mutated_text = String::new();
    for (i, page_runs) in pages.iter().enumerate() {
        let next = if i + 1 < pages.len() { Json::str(page_link(port, i + 2, page_size)) } else { Json::Null };
        let previous = if i > 0 { Json::str(page_link(port, i, page_size)) } else { Json::Null };
        let mut page = Json::Obj(vec![
            ("count".into(), Json::Num(total.to_string())),
            ("next".into(), next),
            ("previous".into(), previous),
            ("results".into(), Json::Arr(page_runs.iter().map(|r| r.0.clone()).collect())),
        ]);
        if i == mutated {
            let (what, answer) = mutate(op, &mut page, port, &mut page_size, &mut rng);
            recipe = format!("page {} of {} (page size {page_size}): {what}", i + 1, pages.len());
            let answer = answer.unwrap_or_else(|| Answer::json(page.text().into_bytes()));
            mutated_text = String::from_utf8_lossy(&answer.body).into_owned();
            if op == Op::Gzip {
                // Whatever the gzip held may be read: every course on the page may change.
                mutated_text.push_str(&page.text());
                mutated_text.push_str(&course_id(0));
            }
            answers.push(answer);
        } else {
            clean.insert(i + 1, page_runs.iter().filter_map(|r| r.1.clone()).collect());
            answers.push(Answer::json(page.text().into_bytes()));
        }
    }
    let input = if op == Op::Gzip { recipe.clone() } else { mutated_text.clone() };
    let info = CaseInfo::new(number, name, recipe, &input);
    CatalogCase { info, page_size, script: Script::Pages(answers), clean, mutated_text }
}

/// A walk that does not end by itself: every page links to a new one, with
/// no count or one that cannot be believed, and unknown course runs
/// carrying large languages (held by a walk that keeps what it read).
fn endless(number: usize, name: &str, rng: &mut ChaCha8Rng) -> CatalogCase {
    let count = [
        None,
        Some("1e400".to_string()),
        Some("99999999999999999999".to_string()),
        Some("-1".to_string()),
        Some("1000000".to_string()),
    ]
    .choose(rng)
    .unwrap()
    .clone();
    // The large walk (1.5 GB read, 5 MB a page) is what a walk that keeps
    // every page cannot survive; it is slow to read, so it is drawn rarely.
    let (pages, page_size, language) = *[((300usize, 100usize, 50_000usize), 1), ((500, 2, 8), 4)]
        .choose_weighted(rng, |v| v.1)
        .map(|v| &v.0)
        .unwrap();
    let results: Vec<Json> = (0..page_size)
        .map(|i| {
            Json::Obj(vec![
                ("key".into(), Json::str(format!("course-v1:Endless+E{i}+2030"))),
                ("content_language".into(), Json::str("l".repeat(language))),
            ])
        })
        .collect();
    let results = Arc::new(Json::Arr(results).text());
    let recipe = format!("{pages} pages of {page_size} unknown runs with {language}-byte languages, count {count:?}");
    let info = CaseInfo::new(number, name, recipe.clone(), &recipe);
    CatalogCase {
        info,
        page_size,
        script: Script::Endless { pages, page_size, results, count },
        clean: HashMap::new(),
        mutated_text: "Endless".into(),
    }
}

/// Each course's catalog-owned columns and a digest of its own ones.
#[derive(Clone, Debug, PartialEq)]
struct Overview {
    given: Given,
    synced_at: Option<String>,
    course_owned: String,
    has_nul: bool,
}

fn overviews(client: &mut postgres::Client) -> Result<HashMap<String, Overview>, postgres::Error> {
    let rows = client.query(
        "SELECT o.course_id, o.marketing_url, o.eligible_for_financial_aid, o.content_language, o.catalog_synced_at::text,
                md5(row(o.display_name, o.org, o.number, o.run, o.start, o.\"end\", o.self_paced, o.language,
                        o.social_sharing_url, o.created, o.modified)::text),
                coalesce(fuzz.broken(o.content_language) OR fuzz.broken(o.marketing_url), false)
           FROM coursenav.course_overviews o",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let overview = Overview {
                given: Given { marketing_url: r.get(1), aid: r.get(2), language: r.get(3) },
                synced_at: r.get(4),
                course_owned: r.get(5),
                has_nul: r.get(6),
            };
            (r.get(0), overview)
        })
        .collect())
}

fn sane_marketing_url(text: &str) -> Result<(), String> {
    if text.len() > MAX_MARKETING_URL {
        return Err(format!("a marketing URL of {} bytes", text.len()));
    }
    let url = url::Url::parse(text)
        .map_err(|e| format!("marketing URL {:?} does not parse: {e}", crate::fuzz_json::truncated(text, 80)))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("marketing URL {text:?} is not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("marketing URL {text:?} carries credentials"));
    }
    Ok(())
}

fn run_case(
    session: &mut Session,
    server: &PageServer,
    failures: &mut Failures,
    case: &CatalogCase,
) -> Result<(), Died> {
    let info = &case.info;
    let client = &mut session.client;
    let before = match overviews(client) {
        Ok(before) => before,
        Err(e) => {
            return crate::fuzz::judge_refusal(failures, info, &e)
                .map(|_| failures.add(info, "the overviews cannot be read", e.to_string()));
        }
    };
    server.set_script(case.script.clone());
    client.batch_execute(&format!("SET coursenav.catalog_page_size = {}", case.page_size)).expect("set the page size");
    let result = client.query_one("SELECT run_id, status, error FROM coursenav.catalog_sync()", &[]);
    let (status, error) = match result {
        Err(e) => {
            judge_refusal(failures, info, &e)?;
            (None, Some(e.to_string()))
        }
        Ok(row) => {
            let (run_id, status, error): (i64, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
            failures.outcome(info, format!("run {status}"));
            if std::env::var_os("COURSENAV_FUZZ_VERBOSE").is_some() {
                eprintln!("fuzz catalog: case {} [{}] run {status}: {error:?}", info.number, info.family);
            }
            // Every bound on what a page or a walk may take must hold well
            // before the backend's memory runs out: a run that failed for
            // want of memory had no bound that held.
            if error.as_deref().is_some_and(|e| e.to_lowercase().contains("out of memory")) {
                failures.add(
                    info,
                    "a run failed for want of memory (no bound held)",
                    error.clone().unwrap_or_default(),
                );
            }
            if !["ok", "partial", "failed", "skipped"].contains(&status.as_str()) {
                failures.add(info, "a run with a status that is not documented", status.clone());
            }
            let recorded = client.query_one(
                "SELECT status, finished_at IS NOT NULL FROM coursenav.catalog_sync_runs WHERE run_id = $1",
                &[&run_id],
            );
            match recorded {
                Ok(r) if r.get::<_, String>(0) == status && r.get::<_, bool>(1) => {}
                Ok(r) => failures.add(
                    info,
                    "the run's row does not say how it ended",
                    format!("{:?} finished {:?}", r.get::<_, String>(0), r.get::<_, bool>(1)),
                ),
                Err(e) => failures.add(info, "the run's row cannot be read", e.to_string()),
            }
            (Some(status), error)
        }
    };
    let after = match overviews(client) {
        Ok(after) => after,
        Err(e) => return judge_refusal(failures, info, &e).map(|_| ()),
    };
    let requested: HashSet<usize> = server.requested().into_iter().collect();
    let status = status.as_deref();
    let error_text = error.unwrap_or_default();
    for (course, now) in &after {
        let Some(was) = before.get(course) else { continue };
        if now.course_owned != was.course_owned {
            failures.add(info, "a catalog run changed a course-owned column", course.clone());
        }
        let changed = now.given != was.given || now.has_nul != was.has_nul;
        if changed && now.has_nul {
            failures.add(info, "a catalog run stored broken text (NUL)", format!("{course}: {:?}", now.given));
        }
        if let (true, Some(url)) = (changed, &now.given.marketing_url) {
            if let Err(why) = sane_marketing_url(url) {
                failures.add(info, "a catalog run stored an unsafe marketing URL", format!("{course}: {why}"));
            }
        }
        let unchanged_required = matches!(status, None | Some("failed") | Some("skipped"));
        if unchanged_required && (changed || now.synced_at != was.synced_at) {
            failures.add(
                info,
                format!("a {} run changed an overview", status.unwrap_or("raised")),
                format!("{course}: {:?} became {:?} ({error_text})", was.given, now.given),
            );
            continue;
        }
        let named_by_mutation = case.mutated_text.contains(course.as_str());
        let offered: Vec<&Given> = case
            .clean
            .iter()
            .filter(|(page, _)| requested.contains(page))
            .flat_map(|(_, runs)| runs.iter().filter(|(c, _)| c == course).map(|(_, g)| g))
            .collect();
        if changed && !named_by_mutation && !offered.contains(&&now.given) {
            failures.add(
                info,
                "an overview took a value no page read gave",
                format!("{course}: {:?} became {:?}", was.given, now.given),
            );
        }
        if status == Some("ok") && !named_by_mutation {
            if let Some(given) = offered.first() {
                if now.given != **given {
                    failures.add(
                        info,
                        "an ok run did not apply a page it read",
                        format!("{course}: {:?}, the page gave {given:?}", now.given),
                    );
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn run(fuzz: Fuzz) {
    let cluster = fuzz_cluster("fuzz-catalog");
    let mut failures = Failures::new(&fuzz);
    let server = PageServer::start();
    {
        let mut setup = cluster.connect();
        for k in 0..COURSES {
            let overview = format!("{{\"display_name\": \"Course {k}\", \"start\": \"2030-01-01T00:00:00Z\"}}");
            setup
                .execute("SELECT coursenav.publish_course($1, 'v1', $2::text::jsonb)", &[&course_id(k), &overview])
                .unwrap();
        }
        setup.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();
    }
    let settings = format!(
        "SET coursenav.catalog_api_url = '{}'; SET coursenav.catalog_read_timeout = '20s'; SET coursenav.catalog_connect_timeout = '5s';",
        server.url()
    );
    let mut session = Session::open(&cluster);
    session.client.batch_execute(&settings).unwrap();
    let postmaster_started = cluster.postmaster_start_time();
    for number in 0..fuzz.cases {
        let case = generate(&fuzz, number, server.port);
        let started = std::time::Instant::now();
        let outcome = run_case(&mut session, &server, &mut failures, &case);
        failures.timed(&case.info, started.elapsed());
        match outcome {
            Ok(()) => session.note_peak("catalog", &case.info),
            Err(Died) => {
                session.reopen();
                session.client.batch_execute(&settings).unwrap();
            }
        }
    }
    let bad: i64 = session
        .client
        .query_one("SELECT count(*) FROM coursenav.catalog_sync_runs WHERE status NOT IN ('ok', 'partial', 'failed', 'skipped') OR finished_at IS NULL", &[])
        .unwrap()
        .get(0);
    if bad > 0 {
        let whole = CaseInfo::new(usize::MAX, "(whole run)", "every run row".into(), "");
        failures.add(&whole, "runs without a documented status or an end", format!("{bad} rows"));
    }
    check_cluster(&mut failures, &cluster, &postmaster_started);
    let (ok, failed) = (failures.count("run ok"), failures.count("run failed"));
    assert!(ok > 0 && failed > 0, "the fuzzer must see runs succeed and fail: {ok} ok, {failed} failed");
    failures.finish();
}
