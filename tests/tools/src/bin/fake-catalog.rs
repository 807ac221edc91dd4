//! `fake-catalog --runs N [options]`: a course-discovery catalog for timing
//! `coursenav.catalog_sync()`. Serves GET /api/v1/course_runs/?page_size=N&exclude_utm=1[&page=P]
//! as Django REST Framework pages (`{"count", "next", "previous", "results"}`)
//! of N course runs generated from their index (`coursenav_tools::fake_catalog`),
//! to clients that send `Authorization: Bearer TOKEN`. Listens on 127.0.0.1
//! only and runs until killed; writes its port to --port-file once listening.
//!
//!     fake-catalog --runs 100000 --port-file /tmp/catalog.port &

use coursenav_tools::fake_catalog::{FakeCatalog, Runs};
use std::process::ExitCode;

const USAGE: &str =
    "usage: fake-catalog --runs N [--port P] [--port-file FILE] [--key-format KEY] [--label L] [--token T]
  --runs N          how many course runs the catalog lists
  --port P          port on 127.0.0.1 (default 0: any free port)
  --port-file FILE  write the port here once listening
  --key-format KEY  course run key, {i} = 0..N-1 (default course-v1:BenchOrg+C{i}+2030)
  --label L         goes into every marketing URL; change it to make a sync update (default a)
  --token T         the bearer token the catalog accepts (default bench-token)";

struct Options {
    runs: usize,
    port: u16,
    port_file: Option<String>,
    key_format: String,
    label: String,
    token: String,
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("{name}: {value:?} is out of range or not a number"))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        runs: usize::MAX,
        port: 0,
        port_file: None,
        key_format: "course-v1:BenchOrg+C{i}+2030".into(),
        label: "a".into(),
        token: "bench-token".into(),
    };
    let mut args = args.iter();
    while let Some(name) = args.next() {
        let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
        match name.as_str() {
            "--runs" => options.runs = number(name, value)?,
            "--port" => options.port = number(name, value)?,
            "--port-file" => options.port_file = Some(value.clone()),
            "--key-format" => options.key_format = value.clone(),
            "--label" => options.label = value.clone(),
            "--token" => options.token = value.clone(),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    if options.runs == usize::MAX {
        return Err("--runs is required".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("fake-catalog: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runs = Runs::Generated { count: options.runs, key_format: options.key_format, label: options.label };
    let catalog = match FakeCatalog::serve(options.port, &options.token, runs) {
        Ok(catalog) => catalog,
        Err(e) => {
            eprintln!("fake-catalog: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(file) = &options.port_file {
        // Written whole, then renamed: a reader never sees half a port.
        let partial = format!("{file}.tmp");
        if let Err(e) =
            std::fs::write(&partial, format!("{}\n", catalog.port)).and_then(|()| std::fs::rename(&partial, file))
        {
            eprintln!("fake-catalog: {file}: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("fake catalog: {} course runs on {}", options.runs, catalog.url());
    loop {
        std::thread::park();
    }
}
