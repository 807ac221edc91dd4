//! `olx-course-blocks COURSE.tar.gz`: prints the Course Blocks document of an
//! Open edX OLX export, as `coursenav.rebuild` takes it (see `coursenav_tools::olx`).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: olx-course-blocks COURSE.tar.gz");
        return ExitCode::from(2);
    };
    match coursenav_tools::olx::course_blocks_from_olx_tar_gz(Path::new(path)) {
        Ok(document) => {
            println!("{document}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("olx-course-blocks: {e}");
            ExitCode::FAILURE
        }
    }
}
