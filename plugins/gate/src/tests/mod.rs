//! Host-side tests of the gate's logic.

mod baseline_tests;
mod config_tests;
mod fixture;
mod report_tests;
