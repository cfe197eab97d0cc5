#![no_main]
//! A response catalogue from any text either is refused with a reason or
//! grades every action on every kind of device, tier and clinical-use state
//! without panicking: every grade has its reasons, its gate is the grade's,
//! and the playbook lists every action once (offered or not).

use libfuzzer_sys::fuzz_target;
use wardwatch::hospital::{CriticalityTier, DeviceKind, UseState};
use wardwatch::response::{grade, plan, Catalogue, Subject, Usage};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(catalogue) = Catalogue::parse(text, "fuzz") else { return };
    for kind in DeviceKind::ALL {
        for tier in CriticalityTier::ALL {
            for state in UseState::ALL {
                let subject = Subject { kind: *kind, tier: *tier, usage: Usage::given(state) };
                for spec in &catalogue.actions {
                    let g = grade(&catalogue, spec, Some(&subject));
                    assert!(!g.reasons.is_empty(), "{g:?}");
                    assert_eq!(g.gate, g.grade.gate());
                }
                let p = plan(&catalogue, "exploit", Some(&subject));
                assert_eq!(p.plays.len() + p.not_offered.len(), catalogue.actions.len());
            }
        }
    }
    let p = plan(&catalogue, "scan", None);
    assert_eq!(p.plays.len() + p.not_offered.len(), catalogue.actions.len());
});
