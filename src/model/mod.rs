//! The domain model: plain data, no I/O.

mod alert;
mod device;
mod ids;
mod severity;

pub(crate) use alert::to_hex;
pub use alert::{Alert, Format, RawMessage};
pub use device::{DeviceAlarm, DeviceId, DeviceLocation, DeviceObservation, PatientKeyHash};
pub use ids::AlertId;
pub use severity::{Severity, SeverityLabel};
