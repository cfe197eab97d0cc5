//! The playbook for an incident: every action that applies, graded, in the
//! order to consider them. The safest actions that contain the threat come
//! first, then the safe ones that only support (evidence, people, tickets),
//! then the same at each stricter grade. An action that is blocked while
//! the device is in use names the safer ones that contain the threat
//! instead, and the swap-first plan.

use serde::Serialize;

use super::catalogue::{Catalogue, Target};
use super::grade::{grade, Grade, Graded, Subject};
use super::ActionId;

/// The action that moves care to a spare, which unblocks the rest.
pub const SWAP: &str = "swap_and_remove";

/// One action of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Play {
    /// 1, 2, ...: the order to consider it in.
    pub order: u32,
    #[serde(flatten)]
    pub graded: Graded,
    pub does: String,
    pub protects: String,
    /// How well it contains this incident's threat: 0 (support) to 3.
    pub contains: u8,
    /// For an action graded *not while in use*: the safer actions that
    /// contain the threat now.
    pub instead: Vec<ActionId>,
    /// For an action graded *not while in use*: swapping the device for a
    /// spare first makes it safe.
    pub swap_first: bool,
}

/// An action the playbook does not offer, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotOffered {
    pub action: ActionId,
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Playbook {
    /// The incident's condition key.
    pub threat: String,
    pub plays: Vec<Play>,
    pub not_offered: Vec<NotOffered>,
}

/// The playbook for `threat` on `subject` (`None`: the incident names no
/// device of the inventory, so device actions are not offered).
pub fn plan(catalogue: &Catalogue, threat: &str, subject: Option<&Subject>) -> Playbook {
    let mut plays = Vec::new();
    let mut not_offered = Vec::new();
    for (index, spec) in catalogue.actions.iter().enumerate() {
        if spec.target == Target::Device && subject.is_none() {
            not_offered.push(NotOffered {
                action: spec.id.clone(),
                title: spec.title.clone(),
                reason: "The incident names no device of the inventory to act on.".into(),
            });
            continue;
        }
        let graded = grade(catalogue, spec, subject);
        plays.push((index, spec, graded));
    }
    plays.sort_by_key(|(index, spec, g)| {
        let strength = spec.strength(threat);
        (g.grade, strength == 0, std::cmp::Reverse(strength), *index)
    });
    let safer = |limit: Grade| -> Vec<ActionId> {
        plays
            .iter()
            .filter(|(_, spec, g)| g.grade < limit && spec.strength(threat) > 0)
            .map(|(_, spec, _)| spec.id.clone())
            .collect()
    };
    let swap = plays.iter().any(|(_, spec, g)| spec.id.as_str() == SWAP && g.grade < Grade::NotWhileInUse);
    let plays = plays
        .iter()
        .enumerate()
        .map(|(n, (_, spec, g))| {
            let blocked = g.grade == Grade::NotWhileInUse;
            Play {
                order: u32::try_from(n + 1).unwrap_or(u32::MAX),
                graded: g.clone(),
                does: spec.does.clone(),
                protects: spec.protects.clone(),
                contains: spec.strength(threat),
                instead: if blocked { safer(Grade::NotWhileInUse) } else { Vec::new() },
                swap_first: blocked && swap,
            }
        })
        .collect();
    Playbook { threat: threat.to_owned(), plays, not_offered }
}
