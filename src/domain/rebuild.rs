//! A rebuild's lifecycle, as `coursenav.block_structures.status` stores it.
//!
//! The transitions themselves live in SQL (`sql/lifecycle.sql`: only a
//! `building` rebuild takes blocks, completes or fails; the completion
//! trigger turns a late one `superseded`); this is the one list of the
//! states, which a #[pg_test] pins to the table's CHECK constraint.

/// Where a rebuild is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildStatus {
    /// Begun; takes blocks until it completes or fails.
    Building,
    /// Completed: its structure was validated and bumped the version.
    Complete,
    /// Failed by `fail_rebuild` or a timeout; it never served.
    Failed,
    /// Completed after a newer publish was already serving; it never served.
    Superseded,
}

impl RebuildStatus {
    pub const ALL: [RebuildStatus; 4] =
        [RebuildStatus::Building, RebuildStatus::Complete, RebuildStatus::Failed, RebuildStatus::Superseded];

    pub fn as_str(self) -> &'static str {
        match self {
            RebuildStatus::Building => "building",
            RebuildStatus::Complete => "complete",
            RebuildStatus::Failed => "failed",
            RebuildStatus::Superseded => "superseded",
        }
    }

    /// The status a stored string names, if any.
    pub fn parse(text: &str) -> Option<RebuildStatus> {
        RebuildStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_text() {
        for status in RebuildStatus::ALL {
            assert_eq!(RebuildStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RebuildStatus::parse("done"), None);
    }
}
