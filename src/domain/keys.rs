//! Open edX course and block keys, parsed just far enough to know which
//! course a block belongs to and what type it is.
//!
//! Accepted course keys: `course-v1:ORG+COURSE+RUN`, legacy `ORG/COURSE/RUN`
//! and CCX `ccx-v1:ORG+COURSE+RUN+ccx@N`. Accepted block keys:
//! `block-v1:ORG+COURSE+RUN+type@TYPE+block@NAME`, legacy
//! `i4x://ORG/COURSE/TYPE/NAME` and CCX
//! `ccx-block-v1:ORG+COURSE+RUN+ccx@N+type@TYPE+block@NAME`.
//!
//! Every part is limited to word characters and `-~.:%` (the opaque-keys
//! alphabet). Besides matching Open edX, that guarantees a key never holds a
//! comma, brace, quote, backslash or space, which the shell relies on when it
//! writes keys into a Postgres array literal.

use crate::problem::{Problem, ProblemKind};

/// The longest course or block key accepted, in bytes: Open edX stores keys
/// in `CourseKeyField`/`UsageKeyField` columns of 255 characters. The bound
/// also keeps every NOTIFY payload (course key, version stamps) far below
/// PostgreSQL's 8,000 bytes, so a course that can be published can always be
/// rebuilt and deleted.
pub const MAX_KEY_BYTES: usize = 255;

/// A key too long to be a key, shown by its first characters only: an
/// error message must not echo megabytes of input.
fn overlong_key(what: &str, key: &str) -> Problem {
    let shown: String = key.chars().take(64).collect();
    Problem::new(
        ProblemKind::BadKey,
        format!("invalid {what} key \"{shown}...\": {} bytes, more than the {MAX_KEY_BYTES} a key may hold", key.len()),
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourseKey {
    V1 { org: String, course: String, run: String },
    Legacy { org: String, course: String, run: String },
    Ccx { org: String, course: String, run: String, ccx: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockKey<'a> {
    pub block_type: &'a str,
    pub name: &'a str,
    /// Which course the key names: (org, course, run or None for i4x keys, ccx id).
    org: &'a str,
    course: &'a str,
    run: Option<&'a str>,
    ccx: Option<&'a str>,
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '~' | '.' | ':' | '%')
}

/// Which ASCII bytes may appear in a key part (non-ASCII is checked as chars).
const KEY_BYTES: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'~' | b'.' | b':' | b'%');
        b += 1;
    }
    table
};

/// Whether `s` can be one part of a key (an org, a run, a block name): not
/// empty, word characters and `-~.:%` only. Tools that make keys (the OLX
/// reader) check names with this, so they make only keys coursenav takes.
pub fn is_key_part(s: &str) -> bool {
    // Keys are checked by the hundred thousand per large course: ASCII,
    // by far the common case, is checked a byte at a time from a table.
    let mut ascii_ok = true;
    for b in s.bytes() {
        match KEY_BYTES.get(b as usize) {
            Some(true) => {}
            Some(false) => return false,
            None => ascii_ok = false,
        }
    }
    !s.is_empty() && (ascii_ok || s.chars().all(is_key_char))
}

fn bad_course_key(key: &str) -> Problem {
    Problem::new(
        ProblemKind::BadKey,
        format!(
            "invalid course key \"{key}\": expected course-v1:ORG+COURSE+RUN, ORG/COURSE/RUN or ccx-v1:ORG+COURSE+RUN+ccx@N"
        ),
    )
}

fn bad_block_key(key: &str) -> Problem {
    Problem::new(
        ProblemKind::BadKey,
        format!("invalid block key \"{key}\": expected block-v1:ORG+COURSE+RUN+type@TYPE+block@NAME"),
    )
}

/// Splits `ORG+COURSE+RUN[+ccx@N]` into its parts.
fn plus_parts(body: &str) -> Option<(&str, &str, &str, Option<&str>)> {
    let mut parts = body.split('+');
    match [parts.next(), parts.next(), parts.next(), parts.next(), parts.next()] {
        [Some(org), Some(course), Some(run), None, None] if [org, course, run].iter().all(|p| is_key_part(p)) => {
            Some((org, course, run, None))
        }
        [Some(org), Some(course), Some(run), Some(ccx), None] => {
            let n = ccx.strip_prefix("ccx@")?;
            let ok = [org, course, run].iter().all(|p| is_key_part(p))
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit());
            ok.then_some((org, course, run, Some(n)))
        }
        _ => None,
    }
}

impl CourseKey {
    pub fn parse(key: &str) -> Result<CourseKey, Problem> {
        if key.len() > MAX_KEY_BYTES {
            return Err(overlong_key("course", key));
        }
        let owned = |s: &str| s.to_string();
        if let Some(body) = key.strip_prefix("course-v1:") {
            if let Some((org, course, run, None)) = plus_parts(body) {
                return Ok(CourseKey::V1 { org: owned(org), course: owned(course), run: owned(run) });
            }
        } else if let Some(body) = key.strip_prefix("ccx-v1:") {
            if let Some((org, course, run, Some(ccx))) = plus_parts(body) {
                return Ok(CourseKey::Ccx { org: owned(org), course: owned(course), run: owned(run), ccx: owned(ccx) });
            }
        } else if let [org, course, run] = key.split('/').collect::<Vec<_>>().as_slice() {
            if [org, course, run].iter().all(|p| is_key_part(p)) {
                return Ok(CourseKey::Legacy { org: owned(org), course: owned(course), run: owned(run) });
            }
        }
        Err(bad_course_key(key))
    }

    /// The course a CCX course was made from; None for any other course.
    pub fn ccx_parent(&self) -> Option<CourseKey> {
        match self {
            CourseKey::Ccx { org, course, run, .. } => {
                Some(CourseKey::V1 { org: org.clone(), course: course.clone(), run: run.clone() })
            }
            _ => None,
        }
    }

    pub fn org(&self) -> &str {
        match self {
            CourseKey::V1 { org, .. } | CourseKey::Legacy { org, .. } | CourseKey::Ccx { org, .. } => org,
        }
    }

    pub fn number(&self) -> &str {
        match self {
            CourseKey::V1 { course, .. } | CourseKey::Legacy { course, .. } | CourseKey::Ccx { course, .. } => course,
        }
    }

    pub fn run(&self) -> &str {
        match self {
            CourseKey::V1 { run, .. } | CourseKey::Legacy { run, .. } | CourseKey::Ccx { run, .. } => run,
        }
    }

    fn ccx(&self) -> Option<&str> {
        match self {
            CourseKey::Ccx { ccx, .. } => Some(ccx),
            _ => None,
        }
    }
}

impl std::fmt::Display for CourseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CourseKey::V1 { org, course, run } => write!(f, "course-v1:{org}+{course}+{run}"),
            CourseKey::Legacy { org, course, run } => write!(f, "{org}/{course}/{run}"),
            CourseKey::Ccx { org, course, run, ccx } => write!(f, "ccx-v1:{org}+{course}+{run}+ccx@{ccx}"),
        }
    }
}

impl<'a> BlockKey<'a> {
    pub fn parse(key: &'a str) -> Result<BlockKey<'a>, Problem> {
        if key.len() > MAX_KEY_BYTES {
            return Err(overlong_key("block", key));
        }
        Self::try_parse(key).ok_or_else(|| bad_block_key(key))
    }

    fn try_parse(key: &'a str) -> Option<BlockKey<'a>> {
        if let Some(path) = key.strip_prefix("i4x://") {
            return Self::parse_i4x(path);
        }
        let (body, must_be_ccx) = if let Some(b) = key.strip_prefix("block-v1:") {
            (b, false)
        } else {
            (key.strip_prefix("ccx-block-v1:")?, true)
        };
        // No part may hold a '+', so splitting on it finds the parts; it is
        // also much cheaper than searching for "+type@" in every key.
        let mut parts = body.split('+');
        let (org, course, run) = (parts.next()?, parts.next()?, parts.next()?);
        let mut next = parts.next()?;
        let ccx = match next.strip_prefix("ccx@") {
            Some(n) => {
                next = parts.next()?;
                Some(n)
            }
            None => None,
        };
        let block_type = next.strip_prefix("type@")?;
        let name = parts.next()?.strip_prefix("block@")?;
        let well_formed = parts.next().is_none()
            && [org, course, run, block_type, name].iter().all(|p| is_key_part(p))
            && ccx.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed || must_be_ccx != ccx.is_some() {
            return None;
        }
        Some(BlockKey { block_type, name, org, course, run: Some(run), ccx })
    }

    fn parse_i4x(path: &'a str) -> Option<BlockKey<'a>> {
        match path.split('/').collect::<Vec<_>>().as_slice() {
            [org, course, block_type, name] if [org, course, block_type, name].iter().all(|p| is_key_part(p)) => {
                Some(BlockKey { block_type, name, org, course, run: None, ccx: None })
            }
            _ => None,
        }
    }

    /// Whether this block key names a block of `course`. Legacy i4x keys carry
    /// no run, so only organisation and number are compared for them.
    pub fn belongs_to(&self, course: &CourseKey) -> bool {
        let legacy_block = self.run.is_none();
        let legacy_course = matches!(course, CourseKey::Legacy { .. });
        if legacy_block != legacy_course {
            return false;
        }
        self.org == course.org()
            && self.course == course.number()
            && self.run.is_none_or(|r| r == course.run())
            && self.ccx == course.ccx()
    }
}

/// Parses `key` as a block key of `course`, or says which course it is not part of.
pub fn block_key_of_course<'a>(key: &'a str, course: &CourseKey) -> Result<BlockKey<'a>, Problem> {
    let block = BlockKey::parse(key)?;
    if block.belongs_to(course) {
        Ok(block)
    } else {
        Err(Problem::new(ProblemKind::BadKey, format!("block \"{key}\" does not belong to course \"{course}\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_course_key_forms() {
        let v1 = CourseKey::parse("course-v1:OpenedX+DemoX+DemoCourse").unwrap();
        assert_eq!((v1.org(), v1.number(), v1.run()), ("OpenedX", "DemoX", "DemoCourse"));
        assert!(matches!(CourseKey::parse("MITx/6.002x/2012_Fall").unwrap(), CourseKey::Legacy { .. }));
        let ccx = CourseKey::parse("ccx-v1:edX+DemoX+Demo_Course+ccx@3").unwrap();
        assert_eq!(ccx.ccx_parent().unwrap().to_string(), "course-v1:edX+DemoX+Demo_Course");
        assert_eq!(ccx.to_string(), "ccx-v1:edX+DemoX+Demo_Course+ccx@3");
    }

    #[test]
    fn rejects_malformed_course_keys() {
        for bad in [
            "",
            "course-v1:",
            "course-v1:A+B",
            "course-v1:A+B+C+D",
            "course-v1:A+B+C+ccx@1",
            "ccx-v1:A+B+C",
            "ccx-v1:A+B+C+ccx@x",
            "A/B",
            "A/B/C/D",
            "course-v1:A B+C+D",
            "course-v1:A+B+C,D",
            "block-v1:A+B+C+type@course+block@course",
        ] {
            let err = CourseKey::parse(bad).unwrap_err();
            assert_eq!(err.kind, ProblemKind::BadKey, "{bad}");
            assert!(err.message.contains(&format!("\"{bad}\"")), "{}", err.message);
        }
    }

    #[test]
    fn block_keys_know_their_course_and_type() {
        let course = CourseKey::parse("course-v1:OpenedX+DemoX+DemoCourse").unwrap();
        let key = "block-v1:OpenedX+DemoX+DemoCourse+type@sequential+block@abc123";
        let block = block_key_of_course(key, &course).unwrap();
        assert_eq!((block.block_type, block.name), ("sequential", "abc123"));

        let legacy = CourseKey::parse("MITx/6.002x/2012_Fall").unwrap();
        assert!(block_key_of_course("i4x://MITx/6.002x/chapter/week1", &legacy).is_ok());
        assert!(block_key_of_course("i4x://MITx/6.002x/chapter/week1", &course).is_err());

        let ccx = CourseKey::parse("ccx-v1:OpenedX+DemoX+DemoCourse+ccx@7").unwrap();
        assert!(block_key_of_course("ccx-block-v1:OpenedX+DemoX+DemoCourse+ccx@7+type@html+block@x", &ccx).is_ok());
        assert!(block_key_of_course(key, &ccx).is_err());
    }

    #[test]
    fn a_block_of_another_course_is_named_in_the_error() {
        let course = CourseKey::parse("course-v1:OpenedX+DemoX+DemoCourse").unwrap();
        let key = "block-v1:OpenedX+Other+DemoCourse+type@chapter+block@c1";
        let err = block_key_of_course(key, &course).unwrap_err();
        assert_eq!(err.kind, ProblemKind::BadKey);
        assert!(err.message.contains(key) && err.message.contains("course-v1:OpenedX+DemoX+DemoCourse"));
    }

    #[test]
    fn keys_longer_than_open_edx_stores_are_refused_without_echoing_them() {
        let run = "R".repeat(MAX_KEY_BYTES);
        let course = format!("course-v1:A+B+{run}");
        let err = CourseKey::parse(&course).unwrap_err();
        assert_eq!(err.kind, ProblemKind::BadKey);
        assert!(err.message.contains("more than the 255") && err.message.len() < 200, "{}", err.message);
        let block = format!("block-v1:A+B+C+type@html+block@{run}");
        assert!(BlockKey::parse(&block).unwrap_err().message.contains("more than the 255"));
        let longest = format!("course-v1:A+B+{}", "R".repeat(MAX_KEY_BYTES - "course-v1:A+B+".len()));
        assert_eq!(longest.len(), MAX_KEY_BYTES);
        assert!(CourseKey::parse(&longest).is_ok());
    }

    #[test]
    fn rejects_malformed_block_keys() {
        for bad in [
            "block-v1:A+B+C+type@chapter",
            "block-v1:A+B+C+block@x+type@chapter",
            "block-v1:A+B+C+type@+block@x",
            "block-v1:A+B+C+type@chapter+block@x y",
            "block-v1:A+B+C+ccx@1+type@chapter+block@x",
            "i4x://A/B/chapter",
            "chapter1",
        ] {
            assert_eq!(BlockKey::parse(bad).unwrap_err().kind, ProblemKind::BadKey, "{bad}");
        }
    }
}
