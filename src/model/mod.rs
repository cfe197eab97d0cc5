//! The domain model: plain data, no I/O.

mod alert;
mod context;
mod ids;
mod severity;

pub use alert::{Alert, Format, ParseMode, RawMessage};
pub use context::DeviceContext;
pub use ids::AlertId;
pub use severity::{Severity, SeverityLabel};
