//! Desktop notifications and the policy that decides them (being built).
