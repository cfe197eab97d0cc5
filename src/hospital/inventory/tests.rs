use proptest::prelude::*;

use super::*;
use crate::hospital::{
    Criticality, CriticalityTier, DeviceKind, Factors, IdentityKind, Location, Patching, Vulnerability,
    WardKind,
};

/// An identity in its canonical spelling.
fn id(kind: IdentityKind, value: &str) -> Identity {
    Identity { kind, value: value.into() }
}

fn factors(function: u8, physical_risk: u8, maintenance: u8) -> Factors {
    Factors { function, physical_risk, maintenance }
}

type R = Result<(), Box<dyn std::error::Error>>;

/// The error of `result`, which must be one.
#[track_caller]
fn refused<T: std::fmt::Debug, E>(result: Result<T, E>) -> E {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// The value of `result`, which must be one.
#[track_caller]
fn accepted<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("expected a value, got {e:?}"),
    }
}

fn ward(id: &str, site: &str, name: &str, kind: WardKind) -> Ward {
    Ward { id: WardId(id.into()), site: site.into(), name: name.into(), kind }
}

/// A small inventory with every field used somewhere.
fn inventory() -> Inventory {
    let pump = Device {
        id: AssetId("INF-0001".into()),
        kind: DeviceKind::InfusionPump,
        manufacturer: Some("BD".into()),
        model: Some("Alaris 8015, PC unit".into()),
        firmware: Some("12.1.2".into()),
        identities: {
            let mut ids = vec![
                id(IdentityKind::Ip, "10.1.2.3"),
                id(IdentityKind::Mac, "00:1a:2b:3c:4d:5e"),
                id(IdentityKind::Hostname, "icu-pump-01"),
                id(IdentityKind::Eui64, "001A2BFFFE3C4D5E"),
                id(IdentityKind::Serial, "SN 8015-77"),
            ];
            ids.sort();
            ids
        },
        location: Location {
            ward: Some(WardId("icu".into())),
            room: Some("R1".into()),
            bed: Some("Bed 2".into()),
        },
        criticality: Criticality { tier: CriticalityTier::LifeSustaining, factors: Some(factors(9, 5, 4)) },
        patching: Patching::Manufacturer,
        vulnerabilities: vec![
            Vulnerability { cve: "CVE-2019-0708".into(), known_exploited: true },
            Vulnerability { cve: "CVE-2020-25165".into(), known_exploited: false },
        ],
        staged: false,
    };
    let monitor = Device {
        id: AssetId("MON-0002".into()),
        kind: DeviceKind::PatientMonitor,
        manufacturer: Some("Philips".into()),
        model: Some("IntelliVue \"MX450\"".into()),
        firmware: None,
        identities: vec![id(IdentityKind::Ip, "fd00::2")],
        location: Location { ward: Some(WardId("onc-4".into())), room: None, bed: None },
        criticality: Criticality { tier: CriticalityTier::Diagnostic, factors: None },
        patching: Patching::Hospital,
        vulnerabilities: Vec::new(),
        staged: false,
    };
    let workstation = Device {
        id: AssetId("WS-0003".into()),
        kind: DeviceKind::Workstation,
        manufacturer: None,
        model: None,
        firmware: None,
        identities: Vec::new(),
        location: Location::default(),
        criticality: Criticality::from_factors(factors(3, 1, 1)),
        patching: Patching::NotPatchable,
        vulnerabilities: Vec::new(),
        staged: false,
    };
    let seen = Device::staged_from(id(IdentityKind::Ip, "10.1.9.8"));
    Inventory {
        wards: vec![
            ward("icu", "St Mary's", "Intensive care, east", WardKind::Icu),
            ward("onc-4", "Main site", "Oncology 4", WardKind::Oncology),
        ],
        devices: vec![pump, monitor, workstation, seen],
    }
}

/// A device staged from traffic with an IP and a MAC.
fn staged() -> Vec<Device> {
    let mut d = Device::staged_from(id(IdentityKind::Ip, "10.1.9.9"));
    d.identities.push(id(IdentityKind::Mac, "02:00:00:00:09:09"));
    d.identities.sort();
    vec![d]
}

fn csv_plan(text: &str) -> ImportPlan {
    accepted(plan(text.as_bytes(), InventoryFormat::Csv, &Mapping::default(), &inventory(), &staged()))
}

fn json_plan(text: &str) -> ImportPlan {
    accepted(plan(text.as_bytes(), InventoryFormat::Json, &Mapping::default(), &inventory(), &staged()))
}

/// (line, outcome) of every row.
fn outcomes(plan: &ImportPlan) -> Vec<(u64, RowOutcome)> {
    plan.rows.iter().map(|r| (r.line, r.outcome.clone())).collect()
}

fn invalid(errors: &[&str]) -> RowOutcome {
    RowOutcome::Invalid { errors: errors.iter().map(|e| e.to_string()).collect() }
}

fn conflict(reason: &str) -> RowOutcome {
    RowOutcome::Conflict { reason: reason.into() }
}

fn changed(fields: &[&'static str]) -> RowOutcome {
    RowOutcome::Changed { fields: fields.to_vec() }
}

fn file_error(input: &[u8], format: InventoryFormat) -> InventoryError {
    refused(plan(input, format, &Mapping::default(), &inventory(), &[]))
}

#[test]
fn export_then_import_changes_nothing() -> R {
    let inv = inventory();
    for format in InventoryFormat::ALL {
        let file = export(&inv, format);
        let plan = plan(&file, format, &Mapping::default(), &inv, &[])?;
        let all_unchanged: Vec<_> = (0..3).map(|_| RowOutcome::Unchanged).collect();
        assert_eq!(
            plan.rows.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>(),
            all_unchanged,
            "{format:?}"
        );
        let lines = if format == InventoryFormat::Csv { [2, 3, 4] } else { [1, 2, 3] };
        assert_eq!(plan.rows.iter().map(|r| r.line).collect::<Vec<_>>(), lines);
        assert!(plan.upserts.is_empty() && plan.new_wards.is_empty() && plan.adopted.is_empty());
        assert!(plan.ignored_columns.is_empty(), "{:?}", plan.ignored_columns);
        assert_eq!((plan.untouched, plan.blank_rows), (0, 0));
        assert_eq!(plan.report(), "3 rows: 0 new, 0 changed, 3 unchanged, 0 conflicting, 0 invalid\n");

        // Into an empty inventory, the same devices and wards, the staged one left out.
        let fresh = super::plan(&file, format, &Mapping::default(), &Inventory::default(), &[])?;
        let confirmed: Vec<Device> = inv.devices.iter().filter(|d| !d.staged).cloned().collect();
        assert_eq!(fresh.upserts, confirmed, "{format:?}");
        assert_eq!(fresh.new_wards, inv.wards, "{format:?}");
        assert_eq!(fresh.counts(), PlanCounts { new: 3, ..PlanCounts::default() });
    }
    Ok(())
}

#[test]
fn export_writes_every_field_under_its_column() -> R {
    let csv = String::from_utf8(export(&inventory(), InventoryFormat::Csv))?;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(Field::ALL.map(Field::column).join(",").as_str()));
    assert_eq!(
        lines.next(),
        Some(
            "INF-0001,infusion_pump,BD,\"Alaris 8015, PC unit\",12.1.2,St Mary's,icu,\"Intensive care, east\",icu,\
             R1,Bed 2,10.1.2.3,00:1a:2b:3c:4d:5e,icu-pump-01,001A2BFFFE3C4D5E,SN 8015-77,life_sustaining,9,5,4,\
             manufacturer,CVE-2019-0708!;CVE-2020-25165"
        )
    );
    assert_eq!(
        lines.next(),
        Some("MON-0002,patient_monitor,Philips,\"IntelliVue \"\"MX450\"\"\",,Main site,onc-4,Oncology 4,oncology,,,fd00::2,,,,,diagnostic,,,,hospital,")
    );
    assert_eq!(lines.next(), Some("WS-0003,workstation,,,,,,,,,,,,,,,non_clinical,3,1,1,not_patchable,"));
    assert_eq!(lines.next(), None, "the staged device is not exported");

    let json: serde_json::Value = serde_json::from_slice(&export(&inventory(), InventoryFormat::Json))?;
    let records = json.as_array().ok_or("an array")?;
    assert_eq!(records.len(), 3);
    for r in records {
        let keys: Vec<&str> = r.as_object().ok_or("an object")?.keys().map(String::as_str).collect();
        let mut expected = Field::ALL.map(Field::column).to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }
    assert_eq!(records[2]["function"], serde_json::json!(3));
    assert_eq!(records[2]["model"], serde_json::Value::Null);

    let empty = export(&Inventory::default(), InventoryFormat::Csv);
    assert_eq!(empty, format!("{}\n", Field::ALL.map(Field::column).join(",")).into_bytes());
    assert_eq!(export(&Inventory::default(), InventoryFormat::Json), b"[]\n");
    for format in InventoryFormat::ALL {
        let plan =
            plan(&export(&Inventory::default(), format), format, &Mapping::default(), &inventory(), &[])?;
        assert!(plan.rows.is_empty());
        assert_eq!(plan.untouched, 3);
    }
    Ok(())
}

/// The errors of a new row `A-1,infusion_pump,therapeutic` with `column`
/// set to `value` (CSV written by the csv crate, so quoting is right).
fn row_errors(column: &str, value: &str) -> Vec<String> {
    let mut cells = vec![("asset_id", "A-1"), ("kind", "infusion_pump"), ("tier", "therapeutic")];
    match cells.iter_mut().find(|(c, _)| *c == column) {
        Some(cell) => cell.1 = value,
        None => cells.push((column, value)),
    }
    let mut w = ::csv::Writer::from_writer(Vec::new());
    accepted(w.write_record(cells.iter().map(|c| c.0)));
    accepted(w.write_record(cells.iter().map(|c| c.1)));
    let file = accepted(w.into_inner());
    let plan = accepted(plan(&file, InventoryFormat::Csv, &Mapping::default(), &inventory(), &[]));
    match &plan.rows[..] {
        [RowReport { line: 2, outcome: RowOutcome::Invalid { errors }, .. }] => errors.clone(),
        other => panic!("{column}={value:?}: {other:?}"),
    }
}

#[test]
fn every_column_says_what_is_wrong_with_its_value() {
    let check = |column: &str, value: &str, expected: &[&str]| {
        assert_eq!(row_errors(column, value), expected, "{column}={value:?}");
    };
    let long = |n| "x".repeat(n);
    let kinds =
        "infusion_pump, syringe_pump, patient_monitor, ventilator, anaesthesia_machine, glucose_monitor, \
                 insulin_pump, imaging_modality, lab_analyser, nurse_call, workstation, gateway, other";
    check("asset_id", " ", &["asset_id: missing"]);
    check(
        "asset_id",
        "seen-ip-10.1.2.3",
        &["asset_id: \"seen-ip-10.1.2.3\" is reserved for devices staged from traffic (seen-...)"],
    );
    check("asset_id", &long(65), &["asset_id: longer than 64 characters"]);
    check("kind", "", &["kind: missing"]);
    check("kind", "toaster", &[&format!("kind: \"toaster\" is not a device kind ({kinds})")]);
    check("manufacturer", "B\u{7}D", &["manufacturer: \"B\\u{7}D\" contains a control character"]);
    check("model", &long(129), &["model: longer than 128 characters"]);
    check("firmware", "1.2\t3", &["firmware: \"1.2\\t3\" contains a control character"]);
    check("site", &long(129), &["site: longer than 128 characters"]);
    check("ward", "ICU 4", &["ward: \"ICU 4\" is not a ward id (1-32 letters, digits, - or _)"]);
    check(
        "ward",
        &long(33),
        &[&format!("ward: {:?} is not a ward id (1-32 letters, digits, - or _)", long(33))],
    );
    check("ward", "Stațion", &["ward: \"Stațion\" is not a ward id (1-32 letters, digits, - or _)"]);
    check("ward_name", "East\nWing", &["ward_name: \"East\\nWing\" contains a control character"]);
    check("room", &long(65), &["room: longer than 64 characters"]);
    check("bed", "Bed\u{1b}2", &["bed: \"Bed\\u{1b}2\" contains a control character"]);
    check("ip", "10.1.2", &["ip: \"10.1.2\" is not an IP address"]);
    check("mac", "00:1a:2b:3c:4d", &["mac: \"00:1a:2b:3c:4d\" is not a MAC address"]);
    check("hostname", "bad host", &["hostname: \"bad host\" is not a host name"]);
    check("eui64", "001a2b", &["eui64: \"001a2b\" is not an EUI-64"]);
    check(
        "serial",
        &long(65),
        &[&format!("serial: {:?} is not a serial number (1-64 printable characters)", long(65))],
    );
    check(
        "tier",
        "high",
        &["tier: \"high\" is not a criticality tier (life_sustaining, life_supporting, therapeutic, diagnostic, non_clinical)"],
    );
    check("tier", "", &["no criticality: give tier, or function, physical_risk and maintenance"]);
    let together = "missing (function, physical_risk and maintenance go together)";
    check(
        "function",
        "11",
        &[
            "function: function must be 2-10, not 11",
            &format!("physical_risk: {together}"),
            &format!("maintenance: {together}"),
        ],
    );
    check(
        "physical_risk",
        "x",
        &[
            &format!("function: {together}"),
            "physical_risk: \"x\" is not a whole number",
            &format!("maintenance: {together}"),
        ],
    );
    check(
        "maintenance",
        "300",
        &[
            &format!("function: {together}"),
            &format!("physical_risk: {together}"),
            "maintenance: \"300\" is out of range",
        ],
    );
    check(
        "maintenance",
        "4.5",
        &[
            &format!("function: {together}"),
            &format!("physical_risk: {together}"),
            "maintenance: \"4.5\" is not a whole number",
        ],
    );
    check(
        "patching",
        "sometimes",
        &["patching: \"sometimes\" is not a patching value (hospital, manufacturer, not_patchable, unknown)"],
    );
    check(
        "vulnerabilities",
        "CVE-2020-1; CVE-2020-25165 ,CVE-20-1!",
        &[
            "vulnerabilities: \"CVE-2020-1\" is not a CVE id (CVE-2020-25165)",
            "vulnerabilities: \"CVE-20-1!\" is not a CVE id (CVE-2020-25165)",
        ],
    );
}

#[test]
fn every_problem_of_a_row_is_listed() {
    let plan = csv_plan(
        "asset_id,kind,ip,mac,tier,function,physical_risk,maintenance\n\
         A-1,infusion_pump,10.1.2,00:1a,,1,0,6\n\
         ,,,,,,,x\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (
                2,
                invalid(&[
                    "ip: \"10.1.2\" is not an IP address",
                    "mac: \"00:1a\" is not a MAC address",
                    "function: function must be 2-10, not 1",
                    "physical_risk: physical risk must be 1-5, not 0",
                    "maintenance: maintenance must be 1-5, not 6",
                ])
            ),
            (
                3,
                invalid(&[
                    "asset_id: missing",
                    "kind: missing",
                    "function: missing (function, physical_risk and maintenance go together)",
                    "physical_risk: missing (function, physical_risk and maintenance go together)",
                    "maintenance: \"x\" is not a whole number",
                ])
            ),
        ]
    );
    assert_eq!(plan.rows[0].asset, Some(AssetId("A-1".into())));
    assert_eq!(plan.rows[1].asset, None);
    assert!(plan.upserts.is_empty());
    assert_eq!(
        plan.report(),
        "2 rows: 0 new, 0 changed, 0 unchanged, 0 conflicting, 2 invalid\n\
         line 2 (A-1): invalid: ip: \"10.1.2\" is not an IP address; mac: \"00:1a\" is not a MAC address; \
         function: function must be 2-10, not 1; physical_risk: physical risk must be 1-5, not 0; \
         maintenance: maintenance must be 1-5, not 6\n\
         line 3: invalid: asset_id: missing; kind: missing; \
         function: missing (function, physical_risk and maintenance go together); \
         physical_risk: missing (function, physical_risk and maintenance go together); \
         maintenance: \"x\" is not a whole number\n\
         3 devices of the inventory not in the file left as they are\n"
    );
}

#[test]
fn values_are_read_in_their_spellings() {
    let plan = csv_plan(
        "asset_id,kind,tier,function,physical_risk,maintenance,patching,vulnerabilities,ward,ward_name,ward_kind,ip\n\
         A-1, Infusion pump ,,9,5,4,vendor,cve-2020-25165; CVE-2019-0708 !;CVE-2020-25165!,ICU-2,,home care, 10.7.0.1 \n\
         A-2,ventilator,Life-sustaining,,,,none,,icu,Ignored,theatre,\n\
         A-3,gateway,NON_CLINICAL,3,1,1,no,,new-ward,New Ward,cardiology,\n",
    );
    assert_eq!(plan.counts(), PlanCounts { new: 3, ..PlanCounts::default() });
    let [a1, a2, a3] = &plan.upserts[..] else { panic!("{:?}", plan.upserts) };
    assert_eq!(a1.kind, DeviceKind::InfusionPump);
    assert_eq!(a1.criticality, Criticality::from_factors(factors(9, 5, 4)));
    assert_eq!(a1.patching, Patching::Manufacturer);
    assert_eq!(
        a1.vulnerabilities,
        [
            Vulnerability { cve: "CVE-2019-0708".into(), known_exploited: true },
            Vulnerability { cve: "CVE-2020-25165".into(), known_exploited: true },
        ]
    );
    assert_eq!(a1.location.ward, Some(WardId("icu-2".into())));
    assert_eq!(a1.identities, [id(IdentityKind::Ip, "10.7.0.1")]);
    assert_eq!(a2.criticality, Criticality { tier: CriticalityTier::LifeSustaining, factors: None });
    assert_eq!(a2.patching, Patching::NotPatchable);
    // A tier given with factors wins; the factors are kept beside it.
    assert_eq!(
        a3.criticality,
        Criticality { tier: CriticalityTier::NonClinical, factors: Some(factors(3, 1, 1)) }
    );
    // `icu` exists and is not renamed; the others are new.
    assert_eq!(
        plan.new_wards,
        [
            ward("icu-2", "Main site", "icu-2", WardKind::HomeCare),
            ward("new-ward", "Main site", "New Ward", WardKind::Other),
        ]
    );
    assert_eq!(
        plan.report(),
        "3 rows: 3 new, 0 changed, 0 unchanged, 0 conflicting, 0 invalid\n\
         line 2 (A-1): new\nline 3 (A-2): new\nline 4 (A-3): new\n\
         new ward icu-2: icu-2 (Home care, Main site)\n\
         new ward new-ward: New Ward (Other, Main site)\n\
         3 devices of the inventory not in the file left as they are\n"
    );
}

#[test]
fn changed_rows_name_their_fields_and_absent_columns_keep_values() {
    let plan = csv_plan(
        "asset_id,kind,tier,function,physical_risk,maintenance,firmware,ward,room,bed,ip,patching,notes\n\
         INF-0001,infusion_pump,life_sustaining,9,5,4,12.2.0,onc-4,R1,Bed 2,10.1.2.3,manufacturer,moved\n\
         MON-0002,patient_monitor,diagnostic,,,,,onc-4,,,fd00::2,hospital,\n\
         WS-0003,workstation,,3,1,1,,,,,,,retired soon\n",
    );
    assert_eq!(
        outcomes(&plan),
        [(2, changed(&["firmware", "location"])), (3, RowOutcome::Unchanged), (4, changed(&["patching"]))]
    );
    let pump = &plan.upserts[0];
    // Columns the file lacks (manufacturer, model, mac, ... vulnerabilities) keep their values.
    let mut expected = inventory().devices[0].clone();
    expected.firmware = Some("12.2.0".into());
    expected.location.ward = Some(WardId("onc-4".into()));
    assert_eq!(pump, &expected);
    // An empty cell clears: WS-0003's patching is unknown now.
    assert_eq!(plan.upserts[1].patching, Patching::Unknown);
    assert_eq!(plan.ignored_columns, ["notes"]);
    assert_eq!(plan.untouched, 0);
    assert!(plan.report().contains("line 2 (INF-0001): changed: firmware, location\n"));
    assert!(plan.report().contains("columns ignored: \"notes\"\n"));

    let plan = csv_plan("asset_id,kind,tier,ip\nMON-0002,patient_monitor,diagnostic,\n");
    assert_eq!(outcomes(&plan), [(2, changed(&["identities"]))]);
    assert!(plan.upserts[0].identities.is_empty());
}

#[test]
fn quoted_fields_may_hold_commas_quotes_and_newlines() {
    let plan = csv_plan(
        "asset_id,kind,tier,model,notes\n\
         A-1,ventilator,life_sustaining,\"Servo-u, MR\",\"first line\nsecond, \"\"quoted\"\" line\n\nthird\"\n\
         A-2,ventilator,life_sustaining,\"Servo-i\",\n\
         A-3,ventilator,life_sustaining,\"Servo\ni\",\n\
         A-4,ventilator,bad,,\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (2, RowOutcome::New),
            (6, RowOutcome::New),
            (7, invalid(&["model: \"Servo\\ni\" contains a control character"])),
            (9, invalid(&["tier: \"bad\" is not a criticality tier (life_sustaining, life_supporting, therapeutic, diagnostic, non_clinical)"])),
        ]
    );
    assert_eq!(plan.upserts[0].model.as_deref(), Some("Servo-u, MR"));
}

#[test]
fn lines_end_at_lf_crlf_or_a_lone_cr() {
    for newline in ["\n", "\r\n", "\r"] {
        let file = [
            "asset_id,kind,tier,notes",
            "A-1,ventilator,life_sustaining,\"two\nlines\"",
            "",
            "A-2,ventilator,bad,",
            "A-3,ventilator,life_sustaining,\"x\ry\"",
            "A-4,ventilator,life_sustaining,",
        ]
        .join(newline);
        let lines: Vec<u64> = csv_plan(&file).rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 5, 6, 8], "{newline:?}");
    }
}

#[test]
fn a_cell_that_is_not_utf8_makes_its_row_invalid() -> R {
    let input = b"asset_id,kind,tier,model,notes\n\
                  A-1,infusion_pump,therapeutic,Caf\xE9 pump,\n\
                  A-2,infusion_pump,therapeutic,ok,caf\xE9\n\
                  A-3,infusion_pump,\xFFtherapeutic,ok,\n";
    let plan = plan(input, InventoryFormat::Csv, &Mapping::default(), &inventory(), &[])?;
    assert_eq!(
        outcomes(&plan),
        [
            (2, invalid(&["model: not UTF-8 (byte 0xE9 at offset 3); save the file as UTF-8"])),
            (3, RowOutcome::New), // the ignored column is not read
            (4, invalid(&["tier: not UTF-8 (byte 0xFF at offset 0); save the file as UTF-8"])),
        ]
    );
    assert_eq!(
        file_error(b"asset_id,kind,tier,mod\xE8le\nA-1,pump,x,y\n", InventoryFormat::Csv),
        InventoryError::HeaderNotUtf8 { column: 4, byte: 0xE8, offset: 3 }
    );
    assert_eq!(
        file_error(b"asset_id,kind,\xE9\n", InventoryFormat::Csv).to_string(),
        "the header is not UTF-8 (column 3, byte 0xE9 at offset 0); save the file as UTF-8"
    );
    Ok(())
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let plan = csv_plan("\u{FEFF}asset_id,kind,tier\nA-1,ventilator,life_sustaining\n");
    assert_eq!(outcomes(&plan), [(2, RowOutcome::New)]);
    assert!(plan.ignored_columns.is_empty());
    let plan = json_plan(
        "\u{FEFF}[{\"asset_id\": \"A-1\", \"kind\": \"ventilator\", \"tier\": \"life_sustaining\"}]",
    );
    assert_eq!(outcomes(&plan), [(1, RowOutcome::New)]);
}

#[test]
fn ragged_rows_are_invalid_and_reading_goes_on() {
    let plan = csv_plan(
        "asset_id,kind,tier\n\
         A-1,ventilator\n\
         A-2,ventilator,life_sustaining,extra\n\
         A-3,ventilator,life_sustaining\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (2, invalid(&["expected 3 fields, found 2"])),
            (3, invalid(&["expected 3 fields, found 4"])),
            (4, RowOutcome::New),
        ]
    );
}

#[test]
fn blank_rows_are_skipped_and_counted() {
    let plan = csv_plan("asset_id,kind,tier\n\n,,\n , \nA-1,ventilator,life_sustaining\n,,\n");
    assert_eq!(outcomes(&plan), [(5, RowOutcome::New)]);
    assert_eq!(plan.blank_rows, 3);
    assert!(plan.report().contains("3 blank rows skipped\n"));
    let plan = json_plan("[{}, {\"asset_id\": null, \"kind\": \" \"}]");
    assert_eq!((plan.rows.len(), plan.blank_rows), (0, 2));
}

#[test]
fn a_repeated_asset_id_is_invalid() {
    let plan = csv_plan(
        "asset_id,kind,tier\n\
         A-1,ventilator,life_sustaining\n\
         A-2,ventilator,life_sustaining\n\
         A-1,ventilator,life_sustaining\n\
         A-2,toaster,life_sustaining\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (2, RowOutcome::New),
            (3, RowOutcome::New),
            (4, invalid(&["duplicate of line 2"])),
            (
                5,
                invalid(&[
                    "duplicate of line 3",
                    &format!(
                        "kind: \"toaster\" is not a device kind ({})",
                        DeviceKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    )
                ])
            ),
        ]
    );
    assert_eq!(plan.upserts.len(), 2);
    let plan = json_plan(
        r#"[{"asset_id": "A-1", "kind": "ventilator", "tier": "therapeutic"}, {"asset_id": "A-1", "kind": "ventilator", "tier": "therapeutic"}]"#,
    );
    assert_eq!(outcomes(&plan), [(1, RowOutcome::New), (2, invalid(&["duplicate of record 1"]))]);
}

#[test]
fn identities_claimed_twice_conflict() {
    let plan = csv_plan(
        "asset_id,kind,tier,ip,mac\n\
         A-1,ventilator,life_sustaining,10.9.9.9,\n\
         A-2,ventilator,life_sustaining,10.9.9.9,02-00-00-00-00-01\n\
         A-3,ventilator,life_sustaining,10.9.9.10,00:1A:2B:3C:4D:5E\n\
         A-4,ventilator,life_sustaining,10.1.2,02:00:00:00:00:01\n\
         A-5,ventilator,life_sustaining,,02:00:00:00:00:01\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (2, RowOutcome::New),
            (3, conflict("ip 10.9.9.9 is also claimed by line 2 (A-1)")),
            (4, conflict("mac 00:1a:2b:3c:4d:5e belongs to INF-0001 in the inventory")),
            (5, invalid(&["ip: \"10.1.2\" is not an IP address"])),
            // The first valid claim holds it, even when that row is not written.
            (6, conflict("mac 02:00:00:00:00:01 is also claimed by line 3 (A-2)")),
        ]
    );
    assert_eq!(plan.upserts.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["A-1"]);
    assert!(plan
        .report()
        .contains("line 4 (A-3): conflict: mac 00:1a:2b:3c:4d:5e belongs to INF-0001 in the inventory\n"));
}

#[test]
fn identities_move_between_devices_only_when_given_up() {
    // The pump and the monitor swap addresses in one file: no conflict.
    let plan = csv_plan(
        "asset_id,kind,tier,ip\n\
         INF-0001,infusion_pump,life_sustaining,fd00::2\n\
         MON-0002,patient_monitor,diagnostic,10.1.2.3\n",
    );
    assert_eq!(
        outcomes(&plan),
        [(2, changed(&["identities", "criticality"])), (3, changed(&["identities"]))]
    );

    // A-1 takes the monitor's address, which the monitor's row gives up, but
    // that row is invalid: the monitor keeps it, A-1 conflicts. B-1 takes the
    // pump's address, which the pump's row gives up, but that row conflicts:
    // the pump keeps it, and B-1 conflicts too.
    let plan = csv_plan(
        "asset_id,kind,tier,ip\n\
         A-1,ventilator,life_sustaining,fd00::2\n\
         MON-0002,patient_monitor,bad,10.5.5.5\n\
         B-1,ventilator,life_sustaining,10.1.2.3\n\
         INF-0001,infusion_pump,life_sustaining,fd00::2\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (2, conflict("ip fd00::2 belongs to MON-0002 in the inventory")),
            (3, invalid(&["tier: \"bad\" is not a criticality tier (life_sustaining, life_supporting, therapeutic, diagnostic, non_clinical)"])),
            (4, conflict("ip 10.1.2.3 belongs to INF-0001 in the inventory")),
            (5, conflict("ip fd00::2 is also claimed by line 2 (A-1); ip fd00::2 belongs to MON-0002 in the inventory")),
        ]
    );
    assert!(plan.upserts.is_empty());
}

#[test]
fn a_row_takes_over_a_staged_device() {
    let plan = csv_plan(
        "asset_id,kind,tier,ip,mac\n\
         A-7,syringe_pump,therapeutic,10.1.9.9,\n\
         A-8,syringe_pump,therapeutic,,02:00:00:00:09:09\n\
         A-9,syringe_pump,therapeutic,10.1.9.8,\n",
    );
    assert_eq!(
        outcomes(&plan),
        [
            (2, RowOutcome::New),
            (3, conflict("mac 02:00:00:00:09:09 is of the staged device seen-ip-10.1.9.9, which line 2 (A-7) takes over")),
            (4, RowOutcome::New),
        ]
    );
    // Staged devices come from `staged` and from `current` (marked staged).
    assert_eq!(
        plan.adopted,
        [
            (AssetId("seen-ip-10.1.9.9".into()), AssetId("A-7".into())),
            (AssetId("seen-ip-10.1.9.8".into()), AssetId("A-9".into())),
        ]
    );
    assert!(plan.upserts.iter().all(|d| !d.staged));
    assert!(plan.report().contains(
        "staged device seen-ip-10.1.9.9 is taken over by A-7\nstaged device seen-ip-10.1.9.8 is taken over by A-9\n"
    ));
}

#[test]
fn a_mapping_reads_a_cmms_header() -> R {
    let mapping = Mapping::with_overrides(&[
        "asset_id=Asset Tag",
        "kind = Device Type",
        "ip=IP Address",
        "tier=Criticality",
        "ward=Department",
    ])?;
    assert_eq!(mapping.column(Field::Ip), "IP Address");
    assert_eq!(mapping.column(Field::Mac), "mac");
    let file =
        "\"Asset Tag\",\"Device Type\",\"IP Address\",\"Criticality\",\"Department\",\"Cost Centre\",mac\n\
                INF-0001,Infusion pump,10.1.2,high,ICU,4410,\n\
                X-1,Ventilator,10.3.0.1,Life-sustaining,icu,4410,02:00:00:00:00:0x\n\
                X-2,Ventilator,10.3.0.2,Life-sustaining,icu,4410,\n";
    let plan = plan(file.as_bytes(), InventoryFormat::Csv, &mapping, &inventory(), &[])?;
    assert_eq!(
        outcomes(&plan),
        [
            (
                2,
                invalid(&[
                    "IP Address: \"10.1.2\" is not an IP address",
                    "Criticality: \"high\" is not a criticality tier (life_sustaining, life_supporting, therapeutic, diagnostic, non_clinical)",
                ])
            ),
            (3, invalid(&["mac: \"02:00:00:00:00:0x\" is not a MAC address"])),
            (4, RowOutcome::New),
        ]
    );
    assert_eq!(plan.ignored_columns, ["Cost Centre"]);
    assert_eq!(plan.upserts[0].location.ward, Some(WardId("icu".into())));

    let no_criticality = Mapping::with_overrides(&["tier=Crit", "function=Fn"])?;
    let plan = super::plan(
        b"asset_id,kind\nA-1,ventilator\n",
        InventoryFormat::Csv,
        &no_criticality,
        &inventory(),
        &[],
    )?;
    assert_eq!(
        outcomes(&plan),
        [(2, invalid(&["no criticality: give Crit, or Fn, physical_risk and maintenance"]))]
    );

    // The missing columns are named as mapped.
    assert_eq!(
        super::plan(b"asset_id,kind,ip\n", InventoryFormat::Csv, &mapping, &inventory(), &[])
            .err()
            .ok_or("refused")?,
        InventoryError::MissingColumns {
            missing: vec!["Asset Tag".into(), "Device Type".into()],
            found: vec!["asset_id".into(), "kind".into(), "ip".into()],
        }
    );
    Ok(())
}

#[test]
fn a_mapping_refuses_what_it_cannot_read() -> R {
    let err = Mapping::with_overrides(&["asset_id=Tag", "asset=Asset Tag"]).err().ok_or("refused")?;
    assert_eq!(
        err.to_string(),
        "unknown field \"asset\" in the mapping; the fields are asset_id, kind, manufacturer, model, firmware, site, \
         ward, ward_name, ward_kind, room, bed, ip, mac, hostname, eui64, serial, tier, function, physical_risk, \
         maintenance, patching, vulnerabilities"
    );
    for entry in ["asset_id", "asset_id=", "asset_id=  "] {
        assert_eq!(
            Mapping::with_overrides(&[entry]).err().ok_or("refused")?,
            InventoryError::BadOverride { entry: entry.into() }
        );
    }
    let later = Mapping::with_overrides(&["ip=A", "ip=B"])?;
    assert_eq!(later.column(Field::Ip), "B");
    assert_eq!(Mapping::with_overrides::<&str>(&[])?, Mapping::default());
    for f in Field::ALL {
        assert_eq!(Field::parse(f.column()), Some(f));
        assert_eq!(Mapping::default().column(f), f.column());
    }
    Ok(())
}

#[test]
fn formats_are_named_by_extension_or_name() {
    use std::path::Path;
    assert_eq!(InventoryFormat::from_path(Path::new("/tmp/assets.CSV")), Some(InventoryFormat::Csv));
    assert_eq!(InventoryFormat::from_path(Path::new("export.json")), Some(InventoryFormat::Json));
    assert_eq!(InventoryFormat::from_path(Path::new("export.xlsx")), None);
    assert_eq!(InventoryFormat::from_path(Path::new("csv")), None);
    assert_eq!(InventoryFormat::parse(" Json "), Some(InventoryFormat::Json));
    assert_eq!(InventoryFormat::parse("xml"), None);
}

#[test]
fn file_level_problems_are_errors() -> R {
    use InventoryFormat::{Csv, Json};
    let check = |input: &[u8], format, expected: InventoryError, text: &str| {
        let err = file_error(input, format);
        assert_eq!(err, expected, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(err.to_string(), text);
    };
    check(b"", Csv, InventoryError::Empty, "the file is empty");
    check(b"\xEF\xBB\xBF \n\r\n", Csv, InventoryError::Empty, "the file is empty");
    check(b"", Json, InventoryError::Empty, "the file is empty");
    check(
        b"id,type\nA-1,ventilator\n",
        Csv,
        InventoryError::MissingColumns {
            missing: vec!["asset_id".into(), "kind".into()],
            found: vec!["id".into(), "type".into()],
        },
        "missing columns \"asset_id\", \"kind\"; the file has \"id\", \"type\"",
    );
    check(
        b"asset_id;kind;tier\n",
        Csv,
        InventoryError::MissingColumns {
            missing: vec!["asset_id".into(), "kind".into()],
            found: vec!["asset_id;kind;tier".into()],
        },
        "missing columns \"asset_id\", \"kind\"; the file has \"asset_id;kind;tier\"",
    );
    check(
        b" asset_id ,tier\n",
        Csv,
        InventoryError::MissingColumns {
            missing: vec!["kind".into()],
            found: vec!["asset_id".into(), "tier".into()],
        },
        "missing column \"kind\"; the file has \"asset_id\", \"tier\"",
    );
    check(
        b"asset_id,kind,ip,ip\n",
        Csv,
        InventoryError::DuplicateColumn { column: "ip".into() },
        "column \"ip\" is in the header more than once",
    );
    check(
        b"[{\"asset_id\": 1,",
        Json,
        InventoryError::NotJson { line: 1, column: 16, reason: "EOF while parsing a value".into() },
        "not JSON: EOF while parsing a value at line 1, column 16",
    );
    check(
        b"asset_id,kind\nA-1,pump\n",
        Json,
        InventoryError::NotJson { line: 1, column: 1, reason: "expected value".into() },
        "not JSON: expected value at line 1, column 1",
    );
    check(
        br#"{"asset_id": "A-1"}"#,
        Json,
        InventoryError::NotAnArray { found: "an object" },
        "the JSON document is an object, not an array of objects",
    );
    check(
        br#"[{"asset_id": "A-1", "kind": "ventilator"}, ["A-2"]]"#,
        Json,
        InventoryError::NotAnObject { record: 2, found: "an array" },
        "JSON record 2 is an array, not an object",
    );
    check(
        br#"[{"asset": "A-1"}, {"kind": "ventilator"}]"#,
        Json,
        InventoryError::MissingColumns {
            missing: vec!["asset_id".into()],
            found: vec!["asset".into(), "kind".into()],
        },
        "missing column \"asset_id\"; the file has \"asset\", \"kind\"",
    );
    let big = vec![b' '; MAX_BYTES + 1];
    check(
        &big,
        Csv,
        InventoryError::TooLarge { bytes: MAX_BYTES + 1, limit: MAX_BYTES },
        "the file is 16777217 bytes; inventory files are at most 16777216 bytes",
    );
    let mut many = b"asset_id,kind\n".to_vec();
    many.extend(b",\n".repeat(MAX_ROWS + 1));
    check(
        &many,
        Csv,
        InventoryError::TooManyRows { limit: MAX_ROWS },
        "the file has more than 100000 records",
    );
    let mut at_limit = b"asset_id,kind\n".to_vec();
    at_limit.extend(b",\n".repeat(MAX_ROWS));
    let plan = plan(&at_limit, Csv, &Mapping::default(), &inventory(), &[])?;
    assert_eq!(plan.blank_rows, MAX_ROWS);
    let mut many = b"[".to_vec();
    many.extend(b"{},".repeat(MAX_ROWS));
    many.extend(b"{}]");
    check(
        &many,
        Json,
        InventoryError::TooManyRows { limit: MAX_ROWS },
        "the file has more than 100000 records",
    );
    Ok(())
}

#[test]
fn a_header_alone_or_an_empty_array_holds_no_rows() -> R {
    for (input, format) in [
        ("asset_id,kind,tier\n", InventoryFormat::Csv),
        ("asset_id,kind", InventoryFormat::Csv),
        ("[]", InventoryFormat::Json),
        (" [ ] \n", InventoryFormat::Json),
    ] {
        let plan = plan(input.as_bytes(), format, &Mapping::default(), &inventory(), &staged())?;
        assert!(plan.rows.is_empty() && plan.upserts.is_empty(), "{input:?}");
        assert_eq!(plan.untouched, 3);
        assert_eq!(
            plan.report(),
            "0 rows: 0 new, 0 changed, 0 unchanged, 0 conflicting, 0 invalid\n\
             3 devices of the inventory not in the file left as they are\n"
        );
    }
    Ok(())
}

#[test]
fn json_values_are_text_numbers_or_null() {
    let plan = json_plan(
        r#"[
            {"asset_id": "A-1", "kind": "ventilator", "function": 10, "physical_risk": 5.0, "maintenance": 5,
             "model": null, "ip": "10.4.0.1", "extra": {"nested": [1, 2]}},
            {"asset_id": 4711, "kind": "ventilator", "tier": "therapeutic", "ip": ["10.4.0.2"], "mac": {"a": 1},
             "room": true, "maintenance": 4.5},
            {"asset_id": "A-3", "kind": "ventilator", "tier": "therapeutic", "function": -1, "physical_risk": 1e300,
             "maintenance": 2}
        ]"#,
    );
    let together = "missing (function, physical_risk and maintenance go together)";
    assert_eq!(
        outcomes(&plan),
        [
            (1, RowOutcome::New),
            (
                2,
                invalid(&[
                    "room: expected text, a number or null, found a boolean",
                    "ip: expected text, a number or null, found an array",
                    "mac: expected text, a number or null, found an object",
                    &format!("function: {together}"),
                    &format!("physical_risk: {together}"),
                    "maintenance: \"4.5\" is not a whole number",
                ])
            ),
            (
                3,
                invalid(&[
                    "function: \"-1\" is out of range",
                    "physical_risk: \"1e+300\" is not a whole number",
                ])
            ),
        ]
    );
    assert_eq!(plan.rows[1].asset, Some(AssetId("4711".into())));
    assert_eq!(plan.upserts[0].criticality, Criticality::from_factors(factors(10, 5, 5)));
    assert_eq!(plan.upserts[0].model, None);
    assert_eq!(plan.ignored_columns, ["extra"]);
    assert!(plan.report().starts_with(
        "3 rows: 1 new, 0 changed, 0 unchanged, 0 conflicting, 2 invalid\nrecord 1 (A-1): new\nrecord 2 (4711): invalid: "
    ));
}

#[test]
fn the_plan_serialises_for_the_ui() -> R {
    let plan = csv_plan("asset_id,kind,tier\nWS-0003,workstation,non_clinical\nA-1,x,y\n");
    let json = serde_json::to_value(&plan)?;
    assert_eq!(json["format"], "csv");
    assert_eq!(
        json["rows"][0],
        serde_json::json!({"line": 2, "asset": "WS-0003", "outcome": {"outcome": "changed", "fields": ["criticality"]}})
    );
    assert_eq!(json["rows"][1]["outcome"]["outcome"], "invalid");
    assert_eq!(serde_json::to_value(plan.counts())?["invalid"], 1);
    Ok(())
}

/// Cells a random file is made of: valid and invalid values of every kind,
/// identities of the test inventory and the staged device, CSV specials.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "INF-0001",
            "MON-0002",
            "WS-0003",
            "A-1",
            "A-2",
            "seen-ip-10.1.9.9",
            "ventilator",
            "infusion_pump",
            "therapeutic",
            "life_sustaining",
            "9",
            "5",
            "4",
            "11",
            "10.1.2.3",
            "fd00::2",
            "10.1.9.9",
            "10.1.9.8",
            "00:1a:2b:3c:4d:5e",
            "02:00:00:00:09:09",
            "icu",
            "ICU 4",
            "vendor",
            "CVE-2019-0708!;CVE-2020-25165",
            "\"",
            "\"a,b\"",
            "\"x\ny\"",
            "\u{FEFF}",
            "caf\u{e9}",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
    ]
}

fn random_csv() -> impl Strategy<Value = String> {
    let header = prop::sample::subsequence(Field::ALL.map(Field::column).to_vec(), 0..=22).prop_shuffle();
    (header, prop::collection::vec(prop::collection::vec(cell(), 0..10), 0..12)).prop_map(
        |(mut header, rows)| {
            for required in ["asset_id", "kind"] {
                if !header.contains(&required) {
                    header.push(required);
                }
            }
            let mut out = header.join(",");
            for row in rows {
                out.push('\n');
                out.push_str(&row.join(","));
            }
            out
        },
    )
}

/// Rows that mostly read, and clash: a few asset ids (the inventory's and
/// new ones), the inventory's and the staged device's identities.
fn clashing_csv() -> impl Strategy<Value = String> {
    let pick = |values: &[&'static str]| prop::sample::select(values.to_vec());
    let row = (
        pick(&["INF-0001", "MON-0002", "WS-0003", "A-1", "A-2", "A-3", "A-4", ""]),
        pick(&["infusion_pump", "patient_monitor", "workstation", "ventilator"]),
        pick(&["life_sustaining", "diagnostic", "non_clinical", "", "bad"]),
        pick(&["10.1.2.3", "fd00::2", "10.1.9.9", "10.1.9.8", "10.5.5.5", "10.5.5.6", "", "10.1.2"]),
        pick(&["00:1a:2b:3c:4d:5e", "02:00:00:00:09:09", "02:00:00:00:00:01", ""]),
        pick(&["icu", "onc-4", "new-1", ""]),
    )
        .prop_map(|(a, k, t, ip, mac, ward)| [a, k, t, ip, mac, ward].join(","));
    (any::<bool>(), prop::collection::vec(row, 0..8)).prop_map(|(with_mac, rows)| {
        let mut out = String::from("asset_id,kind,tier,ip,mac,ward");
        for row in rows {
            out.push('\n');
            out.push_str(&row);
        }
        if !with_mac {
            // Without the column, devices keep their MACs.
            out = out
                .lines()
                .map(|l| {
                    let mut cells: Vec<&str> = l.split(',').collect();
                    cells.remove(4);
                    cells.join(",")
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        out
    })
}

/// The confirmed devices after `plan` is written into `current`.
fn apply(current: &Inventory, plan: &ImportPlan) -> Vec<Device> {
    let mut devices: Vec<Device> = current.devices.iter().filter(|d| !d.staged).cloned().collect();
    for d in &plan.upserts {
        match devices.iter_mut().find(|o| o.id == d.id) {
            Some(o) => *o = d.clone(),
            None => devices.push(d.clone()),
        }
    }
    devices
}

proptest! {
    #[test]
    fn plan_never_panics_on_any_bytes(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        for format in InventoryFormat::ALL {
            let _ = plan(&input, format, &Mapping::default(), &inventory(), &staged());
        }
    }

    #[test]
    fn plan_never_panics_on_json_ish_text(input in r#"[\[\]{}",:0-9a-z_ .\\-]{0,200}"#) {
        let _ = plan(input.as_bytes(), InventoryFormat::Json, &Mapping::default(), &inventory(), &staged());
    }

    #[test]
    fn plan_never_panics_on_csv_ish_text(file in random_csv()) {
        let _ = plan(file.as_bytes(), InventoryFormat::Csv, &Mapping::default(), &inventory(), &staged());
    }

    /// However the rows clash, the plan keeps its books and never leaves two
    /// confirmed devices sharing an identity.
    #[test]
    fn no_two_devices_share_an_identity_after_an_import(file in clashing_csv()) {
        let current = inventory();
        let Ok(plan) = plan(file.as_bytes(), InventoryFormat::Csv, &Mapping::default(), &current, &staged()) else {
            return Ok(());
        };
        let c = plan.counts();
        prop_assert_eq!(plan.upserts.len(), c.new + c.changed);
        prop_assert_eq!(c.new + c.changed + c.unchanged + c.conflicting + c.invalid, plan.rows.len());
        prop_assert!(plan.upserts.iter().all(|d| !d.staged));
        let devices = apply(&current, &plan);
        let mut seen = std::collections::HashMap::new();
        for d in &devices {
            for i in &d.identities {
                if let Some(other) = seen.insert(i.clone(), d.id.clone()) {
                    prop_assert!(false, "{} held by {} and {}\n{}\n{}", i, other, d.id, file, plan.report());
                }
            }
        }
        let mut adopted: Vec<_> = plan.adopted.iter().map(|(s, _)| s).collect();
        adopted.sort();
        let n = adopted.len();
        adopted.dedup();
        prop_assert_eq!(adopted.len(), n, "a staged device is taken over once");
        // A file exported from the plan's result reads back unchanged.
        let after = Inventory { wards: [current.wards.clone(), plan.new_wards.clone()].concat(), devices };
        let again = super::plan(&export(&after, InventoryFormat::Csv), InventoryFormat::Csv, &Mapping::default(), &after, &[]);
        let again = again.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again.counts().unchanged, again.rows.len(), "{}", again.report());
    }
}
