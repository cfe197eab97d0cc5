#![no_main]
//! The inventory importer never panics; its plan keeps its books, never
//! leaves two confirmed devices sharing an identity, and what it would write
//! exports and reads back unchanged. The first byte picks the format (`j`
//! JSON, anything else CSV).

use libfuzzer_sys::fuzz_target;
use wardwatch::hospital::inventory::{export, plan, InventoryFormat, Mapping, RowOutcome};
use wardwatch::hospital::{
    AssetId, Criticality, CriticalityTier, Device, DeviceKind, Identity, IdentityKind, Inventory, Location, Patching,
    Ward, WardId, WardKind,
};

fn identity(kind: IdentityKind, value: &str) -> Identity {
    Identity { kind, value: value.to_owned() }
}

fn device(id: &str, identities: Vec<Identity>, staged: bool) -> Device {
    Device {
        id: AssetId(id.to_owned()),
        kind: DeviceKind::InfusionPump,
        manufacturer: Some("BD".to_owned()),
        model: None,
        firmware: None,
        identities,
        location: Location { ward: Some(WardId("icu".to_owned())), room: None, bed: None },
        criticality: Criticality { tier: CriticalityTier::LifeSupporting, factors: None },
        patching: Patching::Manufacturer,
        vulnerabilities: Vec::new(),
        staged,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((first, input)) = data.split_first() else { return };
    let format = if *first == b'j' { InventoryFormat::Json } else { InventoryFormat::Csv };
    let current = Inventory {
        wards: vec![Ward {
            id: WardId("icu".to_owned()),
            site: "Main site".to_owned(),
            name: "ICU".to_owned(),
            kind: WardKind::Icu,
        }],
        devices: vec![
            device("P-1", vec![identity(IdentityKind::Ip, "10.0.0.1"), identity(IdentityKind::Mac, "00:00:00:00:00:01")], false),
            device("P-2", vec![identity(IdentityKind::Ip, "10.0.0.2")], false),
        ],
    };
    let staged = [device("seen-ip-10.0.0.9", vec![identity(IdentityKind::Ip, "10.0.0.9")], true)];
    let Ok(plan) = plan(input, format, &Mapping::default(), &current, &staged) else { return };

    let counts = plan.counts();
    assert_eq!(plan.upserts.len(), counts.new + counts.changed);
    assert!(plan.upserts.iter().all(|d| !d.staged));
    assert!(plan.rows.windows(2).all(|w| w[0].line < w[1].line), "rows in file order");
    for row in &plan.rows {
        if let RowOutcome::Invalid { errors } = &row.outcome {
            assert!(!errors.is_empty());
        }
    }
    let _ = plan.report();

    // Written into the inventory: no identity held twice.
    let mut devices = current.devices.clone();
    for d in &plan.upserts {
        match devices.iter_mut().find(|o| o.id == d.id) {
            Some(o) => *o = d.clone(),
            None => devices.push(d.clone()),
        }
    }
    let mut held = std::collections::HashSet::new();
    for d in &devices {
        for i in &d.identities {
            assert!(held.insert(i.clone()), "{i} held twice");
        }
    }
    // ... and exported, it reads back unchanged, in both formats.
    let after = Inventory { wards: [current.wards.clone(), plan.new_wards.clone()].concat(), devices };
    for format in InventoryFormat::ALL {
        let again = wardwatch::hospital::inventory::plan(&export(&after, format), format, &Mapping::default(), &after, &[]);
        let again = again.unwrap_or_else(|e| panic!("{format:?} export refused: {e}"));
        assert_eq!(again.counts().unchanged, again.rows.len(), "{}", again.report());
    }
});
