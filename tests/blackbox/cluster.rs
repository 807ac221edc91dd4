//! The black-box tests' throwaway clusters: the harness of the test tools
//! (`tests/tools/src/cluster.rs`), which `.ci/regress.sh`, `.ci/bench.sh` and
//! `.ci/demo.sh` use too, through its `pg-cluster` binary.

pub(crate) use coursenav_tools::cluster::{Cluster, PG_BIN};
