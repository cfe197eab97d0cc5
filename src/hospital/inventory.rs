//! Inventory files in and out (CSV and JSON exports of a CMMS or asset
//! list). Placeholder until the importer lands in this change.
