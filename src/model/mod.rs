//! The domain model: plain data, no I/O.

mod alert;
mod context;
mod device;
mod ids;
mod severity;

pub(crate) use alert::to_hex;
pub use alert::{Alert, AlertDetails, Format, ParseMode, RawMessage};
pub use context::DeviceContext;
pub use device::{DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation, PatientKeyHash};
pub use ids::AlertId;
pub use severity::{Severity, SeverityLabel};
