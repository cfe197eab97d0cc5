//! What a process holding the console's keys does first: it makes no core
//! dump (a dump would hold the database key, the signing key and whatever
//! was being decrypted, in plain), and, as a non-dumpable process, cannot be
//! attached to by other processes of the same user (ptrace).

/// Sets the core-dump limit to zero (soft and hard: it cannot be raised
/// again) and marks the process non-dumpable. Call before any key is loaded.
/// The limit is inherited by child processes; the dumpable flag is not.
pub fn forbid_core_dumps() -> std::io::Result<()> {
    use rustix::process::{set_dumpable_behavior, setrlimit, DumpableBehavior, Resource, Rlimit};
    setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) })?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    Ok(())
}
