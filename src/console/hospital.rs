//! What the console offers about the hospital: the wards and devices as
//! they stand, and the changes people make (each with its audit record,
//! written through the console's own connection for people's changes).

use std::sync::PoisonError;

use chrono::Utc;

use super::{Console, ConsoleError};
use crate::hospital::inventory::{ImportPlan, InventoryError, InventoryFormat, Mapping};
use crate::hospital::{AssetId, Device, Inventory, UseEvidence, UseState};
use crate::model::Alert;
use crate::store::{Assignment, HospitalView, IdentityPeriod, ImportApplied};

impl Console {
    /// Every ward and device with its state now.
    pub fn hospital_view(&self) -> Result<HospitalView, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.hospital_view(Utc::now(), &self.rules)?)
    }

    /// Every ward, by id (without its devices).
    pub fn wards(&self) -> Result<Vec<crate::hospital::Ward>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.wards()?)
    }

    /// The confirmed inventory.
    pub fn inventory(&self) -> Result<Inventory, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.inventory()?)
    }

    /// Devices staged from traffic, waiting for a person.
    pub fn staged_devices(&self) -> Result<Vec<Device>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.staged_devices()?)
    }

    pub fn device_alerts(&self, device: &AssetId, limit: usize) -> Result<Vec<Alert>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.device_alerts(device, limit)?)
    }

    pub fn identity_history(&self, device: &AssetId) -> Result<Vec<IdentityPeriod>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.identity_history(device)?)
    }

    /// The dry run of an import against the inventory as it is now.
    pub fn plan_import(
        &self,
        input: &[u8],
        format: InventoryFormat,
        mapping: &Mapping,
    ) -> Result<Result<ImportPlan, InventoryError>, ConsoleError> {
        let store = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.plan_import(input, format, mapping)?)
    }

    /// Writes a planned import, recorded with who and which file.
    pub fn apply_import(
        &self,
        plan: &ImportPlan,
        actor: &str,
        file: &str,
    ) -> Result<ImportApplied, ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.apply_plan(plan, actor, file, Utc::now())?)
    }

    /// A person confirms a device and puts it in a ward.
    pub fn assign_device(
        &self,
        device: &AssetId,
        to: &Assignment,
        actor: &str,
        reason: &str,
    ) -> Result<Device, ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.assign_device(device, to, actor, reason, Utc::now())?)
    }

    /// A person sets a device's clinical-use state, with a reason.
    pub fn set_clinical_use(
        &self,
        device: &AssetId,
        state: UseState,
        actor: &str,
        reason: &str,
    ) -> Result<UseEvidence, ConsoleError> {
        let mut store = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(store.set_clinical_use(device, state, actor, reason, Utc::now())?)
    }

    /// The simulated hospital's scenario, when this console runs one: the
    /// window says so on every screen.
    pub fn simulated(&self) -> Option<&str> {
        self.simulate.as_deref()
    }
}
