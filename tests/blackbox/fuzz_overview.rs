//! The fuzzer's overview family: the optional third argument of
//! `coursenav.publish_course`, mutated. A refusal must carry a documented
//! SQLSTATE and leave the overview and the published version as they were;
//! an accepted overview must hold, field by field, what PostgreSQL's jsonb
//! operators read from what was sent (org, number and run from the key;
//! the catalog's columns untouched).

use crate::fuzz::{
    check_cluster, fuzz_cluster, judge_refusal, refusal, Batch, CaseInfo, Died, Failures, Fuzz, Refusal, Session,
    JSONB_INPUT_SQLSTATES,
};
use crate::fuzz_json::{
    bad_date, deep, duplicate_a_key, edge_number, long_length, long_string, many, other_type, pick, with_nul, Json,
};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const COURSES: usize = 4;
const TEXT_FIELDS: [&str; 7] =
    ["display_name", "language", "course_image_url", "short_description", "effort", "social_sharing_url", "id"];
const DATE_FIELDS: [&str; 4] = ["start", "end", "enrollment_start", "enrollment_end"];
const FLAG_FIELDS: [&str; 3] = ["self_paced", "invitation_only", "visible_to_staff_only"];
/// Fields a publisher may send that coursenav ignores (the catalog's among them).
const IGNORED_FIELDS: [&str; 7] = [
    "marketing_url",
    "eligible_for_financial_aid",
    "org",
    "pacing",
    "lowest_passing_grade",
    "catalog_visibility",
    "advertised_start",
];

fn course_id(k: usize) -> String {
    format!("course-v1:FuzzO+O{k}+2030")
}

fn base_overview(course: &str, number: usize, rng: &mut ChaCha8Rng) -> Json {
    let full = json!({
        "id": course, "display_name": format!("Overview {number}"), "start": "2030-01-15T00:00:00Z",
        "end": "2030-06-30T23:59:59+02:00", "enrollment_start": "2029-12-01T08:00:00.5-05:00", "enrollment_end": null,
        "self_paced": rng.random_bool(0.5), "language": "en", "course_image_url": "/asset-v1:FuzzO+O+2030+type@asset+block@i.jpg",
        "short_description": "A course", "effort": "4 hours", "invitation_only": false, "visible_to_staff_only": rng.random_bool(0.2),
        "social_sharing_url": format!("https://social.example/{number}"), "marketing_url": "https://evil.example/",
        "eligible_for_financial_aid": false, "org": "Ignored", "pacing": "self", "lowest_passing_grade": 0.5,
        "catalog_visibility": "both", "advertised_start": null
    });
    let Json::Obj(pairs) = Json::from_value(&full) else { unreachable!() };
    // A random part of the fields, as publishers send more or fewer.
    Json::Obj(pairs.into_iter().filter(|_| rng.random_bool(0.8)).collect())
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Control,
    TypeSwap,
    EdgeNumber,
    DeepNesting,
    LongString,
    Nul,
    BadDate,
    ManyPairs,
    DuplicateKey,
    WrongId,
    MissingField,
    ExtraField,
    NotAnObject,
}

const OPS: [(Op, &str, u32); 13] = [
    (Op::Control, "control (no mutation)", 4),
    (Op::TypeSwap, "type swap", 14),
    (Op::EdgeNumber, "huge and tiny numbers", 12),
    (Op::DeepNesting, "deep nesting", 6),
    (Op::LongString, "long string", 6),
    (Op::Nul, "NUL", 3),
    (Op::BadDate, "bad date", 14),
    (Op::ManyPairs, "many pairs", 4),
    (Op::DuplicateKey, "duplicate key", 8),
    (Op::WrongId, "wrong key", 6),
    (Op::MissingField, "missing field", 4),
    (Op::ExtraField, "extra field", 5),
    (Op::NotAnObject, "not an object", 3),
];

fn any_field(rng: &mut ChaCha8Rng) -> &'static str {
    let all: Vec<&str> =
        TEXT_FIELDS.iter().chain(&DATE_FIELDS).chain(&FLAG_FIELDS).chain(&IGNORED_FIELDS).copied().collect();
    all.choose(rng).unwrap()
}

fn mutate(op: Op, doc: &mut Json, course: &str, rng: &mut ChaCha8Rng) -> String {
    let field = any_field(rng);
    match op {
        Op::Control => "none".into(),
        Op::TypeSwap => {
            let slot = doc.slot(field).unwrap();
            *slot = other_type(slot, rng);
            format!("\"{field}\" = {}", slot.text())
        }
        Op::EdgeNumber => {
            let value = edge_number(rng);
            let text = value.text();
            *doc.slot(field).unwrap() = value;
            format!("\"{field}\" = {text}")
        }
        Op::DeepNesting => {
            let value = deep(rng);
            let text = match &value {
                Json::Deep { depth, objects } => {
                    format!("{depth} deep {}", if *objects { "objects" } else { "arrays" })
                }
                _ => unreachable!(),
            };
            *doc.slot(field).unwrap() = value;
            format!("\"{field}\" = {text}")
        }
        Op::LongString => {
            let len = long_length(rng);
            let text = long_string(rng, len);
            let len = text.len();
            *doc.slot(field).unwrap() = Json::Str(text);
            format!("\"{field}\" of {len} bytes")
        }
        Op::Nul => {
            let slot = doc.slot(field).unwrap();
            *slot = with_nul(slot, rng);
            format!("NUL in \"{field}\"")
        }
        Op::BadDate => {
            let field = *DATE_FIELDS.choose(rng).unwrap();
            let date = bad_date(rng);
            let text = date.text();
            *doc.slot(field).unwrap() = date;
            format!("\"{field}\" = {text}")
        }
        Op::ManyPairs => {
            let n = many(rng);
            let pairs = doc.pairs_mut().unwrap();
            pairs.reserve(n);
            for i in 0..n {
                pairs.push((format!("f{i}"), Json::Num("1".into())));
            }
            format!("{n} ignored pairs")
        }
        Op::DuplicateKey => {
            duplicate_a_key(doc.pairs_mut().unwrap(), rng);
            "a key given twice".into()
        }
        Op::WrongId => {
            let id = *["course-v1:Other+X+2030", "", "course-v1:FuzzO+O9+2030", "garbage", "COURSE-V1:FUZZO+O0+2030"]
                .choose(rng)
                .unwrap();
            let value = if rng.random_bool(0.8) { Json::str(id) } else { other_type(&Json::str(course), rng) };
            let text = value.text();
            *doc.slot("id").unwrap() = value;
            format!("\"id\" = {}", crate::fuzz_json::truncated(&text, 80))
        }
        Op::MissingField => {
            doc.remove(field);
            format!("\"{field}\" removed")
        }
        Op::ExtraField => {
            let name = *["x", "", "\u{1F600}", "Display_Name", "start ", "number", "run"].choose(rng).unwrap();
            let value = other_type(&Json::Null, rng);
            let text = value.text();
            *doc.slot(name).unwrap() = value;
            format!("field {name:?} = {text}")
        }
        Op::NotAnObject => {
            let node = pick(doc, rng).clone();
            *doc = match rng.random_range(0..3) {
                0 => node,
                1 => Json::Arr(vec![doc.clone()]),
                _ => other_type(&Json::Obj(vec![]), rng),
            };
            format!("the overview replaced by {}", crate::fuzz_json::truncated(&doc.text(), 60))
        }
    }
}

/// The problems of an accepted overview, field by field, as SQL over what
/// was sent and what was stored; empty when it holds what was sent.
fn acceptance_query() -> String {
    let mut checks =
        vec!["CASE WHEN jsonb_typeof(i.j) <> 'object' THEN 'accepted an overview that is a ' || jsonb_typeof(i.j) END"
            .to_string()];
    let typed =
        |f: &str, allowed: &str| format!("coalesce(jsonb_typeof(i.j -> '{f}'), 'null') NOT IN ('null', '{allowed}')");
    for f in TEXT_FIELDS.iter().filter(|f| **f != "id") {
        checks.push(format!(
            "CASE WHEN {} THEN 'accepted \"{f}\" of type ' || jsonb_typeof(i.j -> '{f}')
                  WHEN r.{f} IS DISTINCT FROM i.j ->> '{f}' THEN 'stored \"{f}\" is not what was sent' END",
            typed(f, "string")
        ));
    }
    for f in FLAG_FIELDS {
        checks.push(format!(
            "CASE WHEN {} THEN 'accepted \"{f}\" of type ' || jsonb_typeof(i.j -> '{f}')
                  WHEN r.{f} IS DISTINCT FROM coalesce((i.j ->> '{f}')::boolean, false) THEN 'stored \"{f}\" is not what was sent' END",
            typed(f, "boolean")
        ));
    }
    for f in DATE_FIELDS {
        checks.push(format!(
            "CASE WHEN {} THEN 'accepted \"{f}\" of type ' || jsonb_typeof(i.j -> '{f}')
                  WHEN jsonb_typeof(i.j -> '{f}') = 'string' AND fuzz.epoch(i.j ->> '{f}') IS NULL
                       THEN 'accepted \"{f}\" ' || (i.j ->> '{f}') || ', a date PostgreSQL cannot read'
                  WHEN floor(extract(epoch FROM r.\"{f}\"))::float8 IS DISTINCT FROM fuzz.epoch(i.j ->> '{f}')
                       THEN 'stored \"{f}\" ' || coalesce(r.\"{f}\"::text, 'null') || ' is not ' || coalesce(i.j ->> '{f}', 'null') END",
            typed(f, "string")
        ));
    }
    checks.push(
        "CASE WHEN coalesce(jsonb_typeof(i.j -> 'id'), 'null') <> 'null' AND (jsonb_typeof(i.j -> 'id') <> 'string' OR i.j ->> 'id' <> $1)
              THEN 'accepted an overview whose \"id\" names another course' END"
            .into(),
    );
    checks.push("CASE WHEN (r.org, r.number, r.run) IS DISTINCT FROM ($3::text, $4::text, $5::text) THEN 'org, number and run are not the key''s' END".into());
    // CASE keeps the casts of the branches not taken from running; the
    // materialised input keeps the planner from folding them as constants.
    format!(
        "WITH i AS MATERIALIZED (SELECT $2::text::jsonb AS j)
         SELECT array_remove(ARRAY[{}], NULL) FROM i, coursenav.course_overviews r WHERE r.course_id = $1",
        checks.join(",\n")
    )
}

/// The overview row, its catalog fields and the course's published version,
/// each as text (None where there is no row).
type Snapshot = (Option<String>, Option<String>, Option<String>);

/// The overview row and the course's published version, as text.
fn snapshot(client: &mut postgres::Client, course: &str) -> Result<Snapshot, postgres::Error> {
    let row = client.query_one(
        "SELECT (SELECT o::text FROM coursenav.course_overviews o WHERE o.course_id = $1),
                (SELECT row(o.marketing_url, o.eligible_for_financial_aid, o.content_language, o.catalog_synced_at, o.created)::text
                   FROM coursenav.course_overviews o WHERE o.course_id = $1),
                (SELECT v.published_version FROM coursenav.course_versions v WHERE v.course_id = $1)",
        &[&course],
    )?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

fn harness<T>(failures: &mut Failures, case: &CaseInfo, result: Result<T, postgres::Error>) -> Result<Option<T>, Died> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) => match refusal(&e) {
            Refusal::Died(message) => {
                failures.add(case, "backend died (connection lost)", message);
                Err(Died)
            }
            Refusal::Error { code, message } => {
                failures.add(case, format!("a check query failed with {code}"), message);
                Ok(None)
            }
        },
    }
}

fn run_case(
    session: &mut Session,
    failures: &mut Failures,
    info: &CaseInfo,
    course: &str,
    version: &str,
    text: &str,
) -> Result<(), Died> {
    let client = &mut session.client;
    let Some(before) = harness(failures, info, snapshot(client, course))? else { return Ok(()) };
    harness(failures, info, client.batch_execute("SAVEPOINT fz"))?;
    if let Err(e) = client.query_one("SELECT $1::text::jsonb IS NOT NULL", &[&text]) {
        match refusal(&e) {
            Refusal::Died(_) => return judge_refusal(failures, info, &e).map(|_| ()),
            Refusal::Error { code, message } => {
                if !JSONB_INPUT_SQLSTATES.contains(&code.as_str()) {
                    failures.add(info, format!("jsonb input raised {code}"), message);
                }
                failures.outcome(info, format!("not jsonb ({code})"));
            }
        }
        harness(failures, info, client.batch_execute("ROLLBACK TO SAVEPOINT fz; RELEASE SAVEPOINT fz"))?;
        return Ok(());
    }
    match client.query_one("SELECT coursenav.publish_course($1, $2, $3::text::jsonb)", &[&course, &version, &text]) {
        Err(e) => {
            judge_refusal(failures, info, &e)?;
            harness(failures, info, client.batch_execute("ROLLBACK TO SAVEPOINT fz; RELEASE SAVEPOINT fz"))?;
            if let Some(after) = harness(failures, info, snapshot(client, course))? {
                if after != before {
                    failures.add(
                        info,
                        "a refused overview changed what was stored",
                        format!("before {before:?}, after {after:?}"),
                    );
                }
            }
        }
        Ok(_) => {
            failures.outcome(info, "accepted");
            let parts: Vec<&str> = course.trim_start_matches("course-v1:").split('+').collect();
            let problems = client.query_one(&acceptance_query(), &[&course, &text, &parts[0], &parts[1], &parts[2]]);
            let mut clean = true;
            match problems {
                Ok(row) => {
                    let problems: Vec<String> = row.get(0);
                    if !problems.is_empty() {
                        failures.add(info, "an accepted overview does not hold what was sent", problems.join("; "));
                    }
                }
                Err(e) => {
                    clean = false;
                    if let Refusal::Died(_) = refusal(&e) {
                        return judge_refusal(failures, info, &e).map(|_| ());
                    }
                    failures.add(info, "an accepted overview cannot be checked", e.to_string());
                }
            }
            if clean {
                if let Some(after) = harness(failures, info, snapshot(client, course))? {
                    if after.1 != before.1 {
                        failures.add(
                            info,
                            "a publish changed the catalog's columns",
                            format!("before {:?}, after {:?}", before.1, after.1),
                        );
                    }
                    if after.2.as_deref() != Some(version) {
                        failures.add(
                            info,
                            "an accepted publish is not the published version",
                            format!("{:?}", after.2),
                        );
                    }
                }
                harness(failures, info, client.batch_execute("RELEASE SAVEPOINT fz"))?;
            } else {
                harness(failures, info, client.batch_execute("ROLLBACK TO SAVEPOINT fz; RELEASE SAVEPOINT fz"))?;
            }
        }
    }
    Ok(())
}

pub(crate) fn run(fuzz: Fuzz) {
    let cluster = fuzz_cluster("fuzz-overviews");
    let mut failures = Failures::new(&fuzz);
    let mut session = Session::open(&cluster);
    let postmaster_started = cluster.postmaster_start_time();
    for k in 0..COURSES {
        let overview = json!({"display_name": "Base", "start": "2030-01-01T00:00:00Z"}).to_string();
        session
            .client
            .execute("SELECT coursenav.publish_course($1, 'base', $2::text::jsonb)", &[&course_id(k), &overview])
            .unwrap();
    }
    // What a catalog sync wrote, which no publish may change.
    session
        .client
        .batch_execute(
            "UPDATE coursenav.course_overviews SET marketing_url = 'https://www.example.org/' || course_id,
                    eligible_for_financial_aid = false, content_language = 'fr', catalog_synced_at = now()",
        )
        .unwrap();
    let mut batch = Batch::default();
    for number in 0..fuzz.cases {
        let mut rng = fuzz.rng(number);
        let course = course_id(rng.random_range(0..COURSES));
        let mut doc = base_overview(&course, number, &mut rng);
        let (op, name, _) = *OPS.choose_weighted(&mut rng, |o| o.2).unwrap();
        let mut recipe = vec![mutate(op, &mut doc, &course, &mut rng)];
        if op != Op::Control && rng.random_bool(0.25) {
            let extra = [Op::TypeSwap, Op::EdgeNumber, Op::BadDate, Op::DuplicateKey, Op::ExtraField]
                .choose(&mut rng)
                .copied()
                .unwrap();
            if matches!(doc, Json::Obj(_)) {
                recipe.push(mutate(extra, &mut doc, &course, &mut rng));
            }
        }
        let text = doc.text();
        let info = CaseInfo::new(number, name, format!("publish_course({course}) with {}", recipe.join("; ")), &text);
        let started = std::time::Instant::now();
        let outcome = batch
            .enter(&mut session)
            .and_then(|()| run_case(&mut session, &mut failures, &info, &course, &format!("o{number}"), &text))
            .and_then(|()| batch.settle(&mut session));
        failures.timed(&info, started.elapsed());
        match outcome {
            Ok(()) => session.note_peak("overviews", &info),
            Err(Died) => {
                batch.lost();
                session.reopen();
            }
        }
    }
    batch.commit(&mut session).unwrap_or_else(|_| panic!("the last batch cannot be committed"));
    check_cluster(&mut failures, &cluster, &postmaster_started);
    let (accepted, refused) = (failures.count("accepted"), failures.count("refused"));
    assert!(accepted > 0 && refused > 0, "the fuzzer must see both outcomes: {accepted} accepted, {refused} refused");
    failures.finish();
}
