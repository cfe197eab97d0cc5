//! Wardwatch JSON alerts (see [`crate::codec::json`]) as alerts.
//!
//! | JSON field          | `Alert` field                                        |
//! |---------------------|------------------------------------------------------|
//! | `event_class`       | `event_class`                                        |
//! | `name`              | `name` (cut to 120 characters; whole in `message`)   |
//! | `severity`          | `severity` (already on the 0–10 scale)               |
//! | `observed_at`       | `event_time`                                         |
//! | `device.hostname`   | `hostname`                                           |
//! | `src_ip` ... `proto`| the same names                                       |
//! | `vendor`, `product` | the same names                                       |
//! | `message`           | `message`; when absent `"{category}: {name}"`, or `name` |
//!
//! `category` is `details.category`; `extensions`, the device's `ip`, `mac`,
//! `eui64` and `serial` (as `device.ip` ...) and `clinical_use` are kept in
//! `details.fields`; each alert also keeps its own object's bytes verbatim
//! as `raw`.

use super::{truncate_chars, Receipt, NAME_MAX_CHARS};
use crate::codec::json::{self, JsonAlert, JsonError};
use crate::model::{Alert, AlertDetails, Format, ParseMode, RawMessage, Severity};

/// One posted alert as an alert; `raw` is that alert's own object.
pub fn from_json(r: &JsonAlert, raw: &[u8], receipt: &Receipt) -> Alert {
    // The codec allows only 0-10; clamping keeps this total anyway.
    let severity = Severity::clamped(i64::from(r.severity));
    let message = match (&r.message, r.category.as_deref().map(str::trim)) {
        (Some(m), _) => m.clone(),
        (None, Some(c)) if !c.is_empty() => format!("{c}: {}", r.name),
        (None, _) => r.name.clone(),
    };
    Alert {
        id: None,
        received_at: receipt.received_at,
        event_time: r.observed_at,
        source_addr: receipt.source_addr,
        listener: receipt.listener.clone(),
        format: Format::Json,
        parse_mode: ParseMode::Strict,
        severity,
        severity_label: severity.label(),
        vendor: r.vendor.clone(),
        product: r.product.clone(),
        event_class: r.event_class.clone(),
        name: truncate_chars(&r.name, NAME_MAX_CHARS),
        message,
        hostname: r.device.as_ref().and_then(|d| d.hostname.clone()),
        src_ip: r.src_ip,
        dst_ip: r.dst_ip,
        src_port: r.src_port,
        dst_port: r.dst_port,
        proto: r.proto.clone(),
        details: json_details(r),
        raw: RawMessage(raw.to_vec()),
    }
}

/// The category, the extensions, and the device's identifiers and clinical
/// use (as `device.ip`, `device.mac`, `device.eui64`, `device.serial`,
/// `clinical_use`: the model has no fields of its own for them yet).
fn json_details(r: &JsonAlert) -> AlertDetails {
    let mut fields = r.extensions.clone();
    if let Some(d) = &r.device {
        let ids = [
            ("device.ip", d.ip.map(|ip| ip.to_string())),
            ("device.mac", d.mac.clone()),
            ("device.eui64", d.eui64.clone()),
            ("device.serial", d.serial.clone()),
        ];
        for (key, value) in ids {
            if let Some(v) = value {
                fields.insert(key.to_owned(), v);
            }
        }
    }
    if let Some(c) = r.clinical_use {
        fields.insert("clinical_use".to_owned(), c.as_str().to_owned());
    }
    AlertDetails { category: r.category.clone(), fields, ..AlertDetails::default() }
}

/// Decodes a document of one or many alerts; each keeps its own bytes.
pub fn decode(raw: &[u8], receipt: &Receipt) -> Result<Vec<(JsonAlert, Alert)>, JsonError> {
    Ok(json::parse_spanned(raw)?
        .into_iter()
        .map(|(span, record)| {
            let own = raw.get(span).unwrap_or(raw);
            let alert = from_json(&record, own, receipt);
            (record, alert)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn receipt() -> Receipt {
        Receipt {
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            source_addr: "127.0.0.1:40000".parse().ok(),
            listener: Some("http://127.0.0.1:8080".into()),
        }
    }

    #[test]
    fn fields_land_where_the_table_says() -> Result<(), JsonError> {
        let raw = br#"{"event_class":"PUMP-FW-1","name":"Unsigned firmware upload","severity":9,
            "observed_at":"2024-05-01T10:00:00+02:00","device":{"hostname":"pump-icu-3","mac":"00:1b:63:84:45:e6"},
            "src_ip":"10.20.0.5","dst_ip":"10.30.1.17","src_port":50432,"dst_port":443,"proto":"TCP",
            "vendor":"Acme","product":"MedGate","category":"firmware",
            "extensions":{"ward":"ICU-3"},"clinical_use":"in_use"}"#;
        let got = decode(raw, &receipt())?;
        assert_eq!(got.len(), 1);
        let a = &got[0].1;
        assert_eq!(a.format, Format::Json);
        assert_eq!((a.severity.value(), a.severity_label.as_str()), (9, "critical"));
        assert_eq!(a.event_class, "PUMP-FW-1");
        assert_eq!(a.name, "Unsigned firmware upload");
        assert_eq!(a.message, "firmware: Unsigned firmware upload");
        assert_eq!(a.hostname.as_deref(), Some("pump-icu-3"));
        assert_eq!(a.event_time.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-01T10:00:00+02:00"));
        assert_eq!(a.src_ip.map(|i| i.to_string()).as_deref(), Some("10.20.0.5"));
        assert_eq!((a.src_port, a.dst_port), (Some(50432), Some(443)));
        assert_eq!((a.vendor.as_deref(), a.product.as_deref()), (Some("Acme"), Some("MedGate")));
        assert_eq!(a.raw.as_bytes(), raw);
        assert_eq!(a.listener.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(a.details.category.as_deref(), Some("firmware"));
        let fields: Vec<(&str, &str)> =
            a.details.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            fields,
            [("clinical_use", "in_use"), ("device.mac", "00:1b:63:84:45:e6"), ("ward", "ICU-3")]
        );
        Ok(())
    }

    #[test]
    fn each_alert_of_an_array_keeps_its_own_bytes() -> Result<(), JsonError> {
        let raw = br#" [ {"event_class":"a","name":"first","severity":1} ,{"event_class":"b","name":"second","severity":2,"message":"text"}] "#;
        let got = decode(raw, &receipt())?;
        let raws: Vec<&[u8]> = got.iter().map(|(_, a)| a.raw.as_bytes()).collect();
        assert_eq!(
            raws,
            [
                &br#"{"event_class":"a","name":"first","severity":1}"#[..],
                &br#"{"event_class":"b","name":"second","severity":2,"message":"text"}"#[..]
            ]
        );
        assert_eq!(got[0].1.message, "first", "no message and no category: the name");
        assert_eq!(got[1].1.message, "text");
        Ok(())
    }

    #[test]
    fn long_names_are_cut_and_kept_whole_in_the_message() -> Result<(), JsonError> {
        let name = "x".repeat(200);
        let raw = format!(r#"{{"event_class":"a","name":"{name}","severity":0}}"#);
        let got = decode(raw.as_bytes(), &receipt())?;
        assert_eq!(got[0].1.name.chars().count(), NAME_MAX_CHARS + 1);
        assert_eq!(got[0].1.message, name);
        Ok(())
    }
}
