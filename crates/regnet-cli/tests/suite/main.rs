//! The command line's integration tests, as one test binary (the pattern of
//! cargo's and ripgrep's `tests/testsuite`): one link instead of one per
//! file, and the tests of every file share the test threads. Each module
//! drives the `regnet` binary on one concern; `common` holds the helpers.

mod common;
#[path = "../../../regnet-store/tests/support/pg_server.rs"]
mod pg_server;

mod cli;
mod configs_cli;
mod export_cli;
mod layout_cli;
mod postgres_cli;
mod refine_cli;
mod report_cli;
mod slurm_cli;
mod space_cli;
mod sweep_cli;
mod time_model_cli;
mod train_cli;
mod trainer_cli;
mod weights_cli;
