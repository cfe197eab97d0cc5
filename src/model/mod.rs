//! The domain model: plain data, no I/O.

mod alert;
mod device;
mod ids;
mod severity;

pub use device::{DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation, PatientKeyHash};
pub use alert::{Alert, Format, RawMessage};
pub(crate) use alert::to_hex;
pub use ids::AlertId;
pub use severity::{Severity, SeverityLabel};
