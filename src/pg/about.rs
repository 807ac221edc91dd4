//! `coursenav.course_about_url(course_id)`: the about-page link, by the
//! rules in `domain::about`, from the stored overviews and the settings.

use crate::pg::errors::{required, OrRaise};
use crate::pg::settings::{text, ENABLE_CUSTOM_COURSE_URLS, ENABLE_MARKETING_SITE, LMS_ROOT_URL};
use coursenav_domain::about::{about_url, AboutLinks, AboutSettings};
use coursenav_domain::keys::CourseKey;
use pgrx::prelude::*;
use std::collections::HashMap;

/// The links of the given courses that have an overview, in one lookup.
fn stored_links(course_ids: Vec<String>) -> HashMap<String, AboutLinks> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT course_id, social_sharing_url, marketing_url FROM coursenav.course_overviews
              WHERE course_id = ANY($1)",
            None,
            &[course_ids.into()],
        )?;
        let mut links = HashMap::new();
        for row in rows {
            let id: String = row.get(1)?.unwrap_or_default();
            links.insert(id, AboutLinks { social_sharing_url: row.get(2)?, marketing_url: row.get(3)? });
        }
        Ok::<_, pgrx::spi::Error>(links)
    })
    .or_raise()
}

/// The link to a course's about page, or NULL for a course with no overview.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn course_about_url(course_id: Option<&str>) -> Option<String> {
    let course_id = required(course_id, "course_id", "course_about_url");
    let course = CourseKey::parse(course_id).or_raise();
    let parent = course.ccx_parent().map(|p| p.to_string());
    let mut wanted = vec![course_id.to_string()];
    wanted.extend(parent.clone());
    let links = stored_links(wanted);
    let lms_root_url = text(&LMS_ROOT_URL);
    let settings = AboutSettings {
        custom_course_urls: ENABLE_CUSTOM_COURSE_URLS.get(),
        marketing_site: ENABLE_MARKETING_SITE.get(),
        lms_root_url: &lms_root_url,
    };
    about_url(&course, links.get(course_id), parent.and_then(|p| links.get(&p)), &settings)
}
