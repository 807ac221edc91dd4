//! The README and the golden tests must agree, so the documentation cannot
//! drift from the code. `.ci/regress.sh` runs `tests/regress/sql/*.sql` and
//! compares their output with `tests/regress/expected/*.out`; these tests
//! check that what those files run is what the README shows:
//!
//! - every SQLSTATE of the README's "### Errors" table is raised in
//!   `errors.sql` (its output shows `SQLSTATE XXXXX` after each error), unless
//!   a `<!-- not raised: SQLSTATE reason -->` line under the table says why no
//!   golden test can, and every SQLSTATE raised there is in the table;
//! - every ```sql block of the sections in `CHECKED_SECTIONS` appears in one
//!   golden `.sql` file as it is written (whitespace aside; psql
//!   meta-command lines such as `\o` may stand between its lines), unless the
//!   README marks it `<!-- not run: reason -->` on the line before.
//!
//! No cluster: they read files only. `COURSENAV_README` names another README
//! to check (a proposed edit, before it lands).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The README sections whose SQL examples must each run in a golden test
/// (a section runs to the next heading of its level or above).
const CHECKED_SECTIONS: &[&str] =
    &["## SQL API", "## What a DBA reads", "### Roles and what each may do", "### What to monitor"];

const NOT_RUN_MARKER: &str = "<!-- not run:";
const NOT_RAISED_MARKER: &str = "<!-- not raised:";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    let path = std::env::var_os("COURSENAV_README").map(PathBuf::from).unwrap_or_else(|| root().join("README.md"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The golden tests' names and SQL, by name.
fn golden_sql_files() -> Vec<(String, String)> {
    let dir = root().join("tests/regress/sql");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| (path.file_stem().unwrap().to_string_lossy().into_owned(), read(&path)))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden tests in {}", dir.display());
    files
}

/// A fenced code block of the README.
#[derive(Debug)]
struct CodeBlock {
    /// The README line its opening fence is on (1-based), for messages.
    line: usize,
    language: String,
    text: String,
    /// The heading it sits under, with its `#`s.
    heading: String,
    /// Under one of `CHECKED_SECTIONS`, or under a deeper heading inside one.
    in_checked_section: bool,
    /// Marked `<!-- not run: reason -->` on the line before its fence.
    not_run: bool,
}

/// The README's fenced code blocks. A `#` line inside a code block (a shell
/// comment) is not a heading.
fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    // The level of the checked section we are in, if any.
    let mut checked_level: Option<usize> = None;
    let mut previous_text_line = "";
    let mut open: Option<CodeBlock> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(block) = open.as_mut() {
            if trimmed.starts_with("```") {
                blocks.extend(open.take());
                previous_text_line = trimmed;
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        if trimmed.starts_with("```") {
            open = Some(CodeBlock {
                line: number + 1,
                language: trimmed.trim_start_matches('`').trim().to_string(),
                text: String::new(),
                heading: heading.clone(),
                in_checked_section: checked_level.is_some(),
                not_run: previous_text_line.starts_with(NOT_RUN_MARKER),
            });
            previous_text_line = trimmed;
            continue;
        }
        if trimmed.starts_with('#') {
            let level = trimmed.chars().take_while(|c| *c == '#').count();
            if checked_level.is_some_and(|checked| level <= checked) {
                checked_level = None;
            }
            if CHECKED_SECTIONS.contains(&trimmed) {
                checked_level = Some(level);
            }
            heading = trimmed.to_string();
        }
        if !trimmed.is_empty() {
            previous_text_line = trimmed;
        }
    }
    assert!(open.is_none(), "README: a code block is never closed");
    blocks
}

/// The ```sql blocks of the checked sections.
fn checked_sql_blocks(markdown: &str) -> Vec<CodeBlock> {
    code_blocks(markdown).into_iter().filter(|block| block.in_checked_section && block.language == "sql").collect()
}

/// Whitespace runs become one space, so indentation and line breaks do not
/// count.
fn normalised(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A golden file's SQL without its psql meta-command lines (`\o`, `\echo`,
/// `\gset` on a line of its own...), normalised.
fn without_meta_commands(sql: &str) -> String {
    normalised(&sql.lines().filter(|line| !line.trim_start().starts_with('\\')).collect::<Vec<_>>().join("\n"))
}

/// README blocks that no golden file runs, as messages.
fn examples_not_run(markdown: &str, golden: &[(String, String)]) -> Vec<String> {
    let corpora: Vec<String> = golden.iter().map(|(_, sql)| without_meta_commands(sql)).collect();
    checked_sql_blocks(markdown)
        .into_iter()
        .filter(|block| !block.not_run)
        .filter(|block| !corpora.iter().any(|corpus| corpus.contains(&normalised(&block.text))))
        .map(|block| {
            format!(
                "README.md line {} (under \"{}\"), the block starting {:?}",
                block.line,
                block.heading,
                block.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
            )
        })
        .collect()
}

/// The README's "### Errors" table: the SQLSTATEs of its first column, and
/// those a `<!-- not raised: ... -->` comment in the section exempts from
/// the golden tests (an error no golden test can provoke, such as an
/// allocation failing, with the reason in the comment).
struct ErrorsTable {
    listed: BTreeSet<String>,
    not_raised: BTreeSet<String>,
}

fn errors_table(markdown: &str) -> ErrorsTable {
    let mut table = ErrorsTable { listed: BTreeSet::new(), not_raised: BTreeSet::new() };
    let mut in_errors = false;
    let mut in_code = false;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code && trimmed.starts_with('#') {
            in_errors = trimmed == "### Errors";
            continue;
        }
        if !in_errors {
            continue;
        }
        if trimmed.starts_with('|') {
            let first_cell = trimmed.trim_start_matches('|').split('|').next().unwrap_or("");
            if let Some(code) = first_cell.split('`').nth(1).filter(|code| is_sqlstate(code)) {
                table.listed.insert(code.to_string());
            }
        } else if trimmed.starts_with(NOT_RAISED_MARKER) {
            // SQLSTATEs have a digit; an upper-case word of five letters is not one.
            let codes = trimmed
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|word| is_sqlstate(word) && word.contains(|c: char| c.is_ascii_digit()));
            table.not_raised.extend(codes.map(str::to_string));
        }
    }
    table
}

fn is_sqlstate(code: &str) -> bool {
    code.len() == 5 && code.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// The SQLSTATEs a golden output shows: `\echo SQLSTATE :SQLSTATE` prints
/// `SQLSTATE 22023` on a line of its own after each error.
fn shown_sqlstates(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("SQLSTATE "))
        .filter(|code| is_sqlstate(code))
        .map(str::to_string)
        .collect()
}

fn errors_output() -> String {
    read(&root().join("tests/regress/expected/errors.out"))
}

#[test]
fn every_sqlstate_of_the_readme_errors_table_is_raised_by_the_errors_golden_test() {
    let table = errors_table(&readme());
    assert!(table.listed.len() >= 5, "README's \"### Errors\" table not found or nearly empty: {:?}", table.listed);
    let shown = shown_sqlstates(&errors_output());
    let missing: Vec<_> =
        table.listed.iter().filter(|code| !shown.contains(*code) && !table.not_raised.contains(*code)).collect();
    assert!(
        missing.is_empty(),
        "README lists {missing:?}, which tests/regress/sql/errors.sql never raises (raise it there, or say why no \
         golden test can in a <!-- not raised: SQLSTATE reason --> line under the table)"
    );
}

#[test]
fn every_sqlstate_the_errors_golden_test_raises_is_in_the_readme_errors_table() {
    let shown = shown_sqlstates(&errors_output());
    assert!(!shown.is_empty(), "tests/regress/expected/errors.out shows no \"SQLSTATE XXXXX\" line");
    let table = errors_table(&readme());
    let undocumented: Vec<_> = shown.difference(&table.listed).collect();
    assert!(
        undocumented.is_empty(),
        "tests/regress/sql/errors.sql raises {undocumented:?}, which README's \"### Errors\" table does not list \
         (00000 means a statement there did not fail)"
    );
}

#[test]
fn every_sql_example_of_the_readme_runs_in_a_golden_test() {
    let markdown = readme();
    let sections: BTreeSet<String> = checked_sql_blocks(&markdown).into_iter().map(|b| b.heading).collect();
    assert!(!sections.is_empty(), "no ```sql block found under {CHECKED_SECTIONS:?}");
    let missing = examples_not_run(&markdown, &golden_sql_files());
    assert!(
        missing.is_empty(),
        "these README examples run in no tests/regress/sql file as they are written (copy each into one, \
         psql lines such as \\o may stand between its lines; or mark it <!-- not run: reason -->):\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_golden_test_has_its_expected_output() {
    for (name, _) in golden_sql_files() {
        let expected = root().join(format!("tests/regress/expected/{name}.out"));
        assert!(expected.is_file(), "tests/regress/sql/{name}.sql has no {}", expected.display());
    }
}

// The check itself, on small made-up READMEs: it must be able to fail.

const MADE_UP_README: &str = "\
# coursenav
## SQL API
```sql
SELECT coursenav.publish_course('course-v1:A+B+C', 'v1');
```
### Errors
| SQLSTATE | when |
| --- | --- |
| `22023` invalid_parameter_value | a bad key |
| `42704` undefined_object | an unknown rebuild id |
| `53200` out_of_memory | no memory for a document |

<!-- not raised: 53200 needs an allocation to fail -->
## Elsewhere
```sh
# not a heading: a comment in a shell block
```
```sql
SELECT 'not checked';
```
### What to monitor
<!-- not run: needs a production catalog -->
```sql
SELECT coursenav.catalog_sync();
```
```sql
SELECT count(*)
  FROM coursenav.course_status;
```
";

fn made_up_golden(sql: &str) -> Vec<(String, String)> {
    vec![("made_up".to_string(), sql.to_string())]
}

#[test]
fn an_example_run_as_written_with_psql_lines_between_passes_the_check() {
    let golden = made_up_golden(
        "\\o /dev/null\nSELECT coursenav.publish_course('course-v1:A+B+C',\n   'v1');\n\\o\n\
         SELECT count(*) FROM coursenav.course_status;",
    );
    assert_eq!(examples_not_run(MADE_UP_README, &golden), Vec::<String>::new());
}

#[test]
fn an_example_changed_in_the_readme_but_not_in_the_golden_tests_fails_the_check() {
    let golden = made_up_golden(
        "SELECT coursenav.publish_course('course-v1:A+B+C', 'v2');\nSELECT count(*) FROM coursenav.course_status;",
    );
    let missing = examples_not_run(MADE_UP_README, &golden);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("line 3") && missing[0].contains("## SQL API"), "{missing:?}");
}

#[test]
fn only_sql_blocks_of_the_checked_sections_not_marked_not_run_are_checked() {
    let blocks = checked_sql_blocks(MADE_UP_README);
    let checked: Vec<(&str, bool)> = blocks.iter().map(|b| (b.heading.as_str(), b.not_run)).collect();
    assert_eq!(checked, [("## SQL API", false), ("### What to monitor", true), ("### What to monitor", false)]);
}

#[test]
fn the_errors_table_and_an_errors_output_give_their_sqlstates() {
    let table = errors_table(MADE_UP_README);
    assert_eq!(table.listed.into_iter().collect::<Vec<_>>(), ["22023", "42704", "53200"]);
    assert_eq!(table.not_raised.into_iter().collect::<Vec<_>>(), ["53200"]);
    let output = "SELECT 1/0;\nERROR:  division by zero\n\\echo SQLSTATE :SQLSTATE\nSQLSTATE 22012\nSQLSTATE 00000\n";
    let shown: Vec<String> = shown_sqlstates(output).into_iter().collect();
    assert_eq!(shown, ["00000", "22012"]);
}
