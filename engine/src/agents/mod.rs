//! Agent sessions as the engine provides them to stages: the [`launcher::HostLauncher`] the
//! runtime's `agent` import calls, budgets across stage, run and day, and the spend meter that
//! records what each attempt cost.

pub mod budget;
pub mod launcher;
pub mod meter;
pub mod readonly_copy;
pub mod session_checks;
pub mod settings;
pub mod stage_checks;

pub use budget::BudgetView;
pub use launcher::{HostLauncher, LaunchSite};
pub use meter::SpendMeter;
pub use settings::AgentConfig;
