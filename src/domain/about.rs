//! The link to a course's about page, by Open edX's priority: the course's
//! own social sharing URL when custom course URLs are on, else its marketing
//! URL when a marketing site is on, else the LMS's own about page.
//!
//! A CCX course is never in the catalog: it takes its parent course's
//! marketing URL, which Open edX never did.

use crate::keys::CourseKey;

/// The switches and the LMS root, read from the `coursenav.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct AboutSettings<'a> {
    pub custom_course_urls: bool,
    pub marketing_site: bool,
    pub lms_root_url: &'a str,
}

/// The two stored links of one course overview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AboutLinks {
    pub social_sharing_url: Option<String>,
    pub marketing_url: Option<String>,
}

/// An empty link counts as no link, as Open edX tests truthiness.
fn present(link: &Option<String>) -> Option<&str> {
    link.as_deref().filter(|l| !l.is_empty())
}

/// The about-page link of `course`, given its own overview and, for a CCX
/// course, its parent's. None for a course with neither: unknown.
pub fn about_url(
    course: &CourseKey,
    own: Option<&AboutLinks>,
    parent: Option<&AboutLinks>,
    settings: &AboutSettings,
) -> Option<String> {
    let is_ccx = course.ccx_parent().is_some();
    if own.is_none() && !(is_ccx && parent.is_some()) {
        return None;
    }
    let marketing_source = if is_ccx { parent } else { own };
    let social = own.and_then(|o| present(&o.social_sharing_url));
    let marketing = marketing_source.and_then(|o| present(&o.marketing_url));
    let chosen = match (social, marketing) {
        (Some(link), _) if settings.custom_course_urls => link.to_string(),
        (_, Some(link)) if settings.marketing_site => link.to_string(),
        _ => format!("{}/courses/{course}/about", settings.lms_root_url.trim_end_matches('/')),
    };
    Some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LMS: &str = "https://lms.example/";

    fn settings(custom: bool, marketing: bool) -> AboutSettings<'static> {
        AboutSettings { custom_course_urls: custom, marketing_site: marketing, lms_root_url: LMS }
    }

    fn links(social: Option<&str>, marketing: Option<&str>) -> AboutLinks {
        AboutLinks { social_sharing_url: social.map(Into::into), marketing_url: marketing.map(Into::into) }
    }

    fn key(k: &str) -> CourseKey {
        CourseKey::parse(k).unwrap()
    }

    #[test]
    fn social_then_marketing_then_the_lms_page() {
        let course = key("course-v1:A+B+C");
        let both = links(Some("https://s/"), Some("https://m/"));
        let lms = "https://lms.example/courses/course-v1:A+B+C/about";
        assert_eq!(about_url(&course, Some(&both), None, &settings(true, true)).unwrap(), "https://s/");
        assert_eq!(about_url(&course, Some(&both), None, &settings(false, true)).unwrap(), "https://m/");
        assert_eq!(about_url(&course, Some(&both), None, &settings(false, false)).unwrap(), lms);
        assert_eq!(about_url(&course, Some(&both), None, &settings(true, false)).unwrap(), "https://s/");
    }

    #[test]
    fn a_missing_or_empty_link_falls_through_to_the_next_rule() {
        let course = key("course-v1:A+B+C");
        let only_marketing = links(None, Some("https://m/"));
        assert_eq!(about_url(&course, Some(&only_marketing), None, &settings(true, true)).unwrap(), "https://m/");
        let empty = links(Some(""), Some(""));
        assert_eq!(
            about_url(&course, Some(&empty), None, &settings(true, true)).unwrap(),
            "https://lms.example/courses/course-v1:A+B+C/about"
        );
    }

    #[test]
    fn an_unknown_course_has_no_link() {
        assert_eq!(about_url(&key("course-v1:A+B+C"), None, None, &settings(true, true)), None);
        assert_eq!(about_url(&key("ccx-v1:A+B+C+ccx@1"), None, None, &settings(true, true)), None);
    }

    #[test]
    fn a_ccx_course_takes_its_parents_marketing_url() {
        let ccx = key("ccx-v1:A+B+C+ccx@7");
        let parent = links(Some("https://parent-social/"), Some("https://parent-marketing/"));
        let own = links(Some("https://ccx-social/"), Some("https://stale-own-marketing/"));
        assert_eq!(about_url(&ccx, None, Some(&parent), &settings(false, true)).unwrap(), "https://parent-marketing/");
        assert_eq!(
            about_url(&ccx, Some(&own), Some(&parent), &settings(false, true)).unwrap(),
            "https://parent-marketing/"
        );
        // Its own social sharing URL still comes first, and the LMS page is its own.
        assert_eq!(about_url(&ccx, Some(&own), Some(&parent), &settings(true, true)).unwrap(), "https://ccx-social/");
        assert_eq!(
            about_url(&ccx, Some(&own), None, &settings(false, true)).unwrap(),
            "https://lms.example/courses/ccx-v1:A+B+C+ccx@7/about"
        );
    }
}
