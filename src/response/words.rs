//! What the ward is told of a request, in plain language: "IT wants to
//! restart infusion pump INF-0042 in bed 4. It is in use and must not stop:
//! please swap it for a spare first, then confirm it is out of use."

use super::catalogue::Affects;
use super::gate::Gate;
use crate::hospital::Device;

/// The device and where it is: "infusion pump INF-0042 in room 3, bed 4".
pub fn device_words(device: &Device) -> String {
    let mut s = format!("{} {}", device.kind.label().to_lowercase(), device.id.as_str());
    match (&device.location.room, &device.location.bed) {
        (Some(r), Some(b)) => s.push_str(&format!(" in room {r}, bed {b}")),
        (None, Some(b)) => s.push_str(&format!(" in bed {b}")),
        (Some(r), None) => s.push_str(&format!(" in room {r}")),
        (None, None) => {}
    }
    s
}

/// The request as the ward reads it: what IT wants and what is asked of
/// them now that the gate is `gate`.
pub fn ask(ask: &str, device: &str, affects: Affects, gate: Gate) -> String {
    let what = ask.replace("{device}", device);
    let then = match gate {
        Gate::None => "Nothing is needed from the ward.",
        Gate::WardAck if affects == Affects::ClinicalFunction => {
            "Please swap it for a spare at the bedside, then confirm the ward is covering."
        }
        Gate::WardAck => {
            "Please confirm the ward is covering (watch the patient at the bedside while it happens)."
        }
        Gate::ClinicianSignoff => {
            "A clinician must sign off first; someone must watch the patient at the bedside while it happens."
        }
        Gate::OutOfUse => {
            "It is in use and must not stop: please swap it for a spare first, then confirm it is out of use."
        }
    };
    format!("IT wants to {what}. {then}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ward_reads_what_it_must_do() {
        let text =
            ask("restart {device}", "infusion pump B-12 in bed 4", Affects::ClinicalFunction, Gate::OutOfUse);
        assert_eq!(
            text,
            "IT wants to restart infusion pump B-12 in bed 4. It is in use and must not stop: please swap it for a \
             spare first, then confirm it is out of use."
        );
        let text = ask(
            "cut {device} off the network",
            "patient monitor M-3",
            Affects::ClinicalData,
            Gate::ClinicianSignoff,
        );
        assert!(
            text.starts_with(
                "IT wants to cut patient monitor M-3 off the network. A clinician must sign off"
            ),
            "{text}"
        );
    }
}
