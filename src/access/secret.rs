//! Password and PIN hashes: Argon2id in the PHC string format, which keeps
//! the algorithm, its parameters and the salt with the hash, so the cost can
//! be raised later without losing old accounts.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane.
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// A PIN's length, in digits.
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a password has at least {MIN_PASSWORD} characters")]
    PasswordTooShort,
    #[error("a PIN is 4 to 8 digits")]
    BadPin,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

impl SecretError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::PasswordTooShort => "access.password_too_short",
            Self::BadPin => "access.bad_pin",
            Self::Hash(_) => "access.hash",
        }
    }
}

fn argon() -> Result<Argon2<'static>, SecretError> {
    let params =
        Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| SecretError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash(secret: &str) -> Result<String, SecretError> {
    let salt = SaltString::generate(&mut OsRng);
    argon()?
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// The PHC string of `password` (at least [`MIN_PASSWORD`] characters).
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(SecretError::PasswordTooShort);
    }
    hash(password)
}

/// The PHC string of `pin` (4 to 8 digits).
pub fn hash_pin(pin: &str) -> Result<String, SecretError> {
    if !PIN_DIGITS.contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SecretError::BadPin);
    }
    hash(pin)
}

/// Whether `secret` matches the PHC string `phc`, with the parameters it
/// names; an unreadable hash matches nothing.
pub fn verify(phc: &str, secret: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_keeps_its_algorithm_and_parameters_and_verifies() -> Result<(), SecretError> {
        let phc = hash_password("correct horse battery")?;
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(&phc, "correct horse battery"));
        assert!(!verify(&phc, "correct horse batterY"));
        assert!(!verify("not a hash", "correct horse battery"));
        // Salted: the same password hashes differently each time.
        assert_ne!(phc, hash_password("correct horse battery")?);
        Ok(())
    }

    #[test]
    fn short_passwords_and_bad_pins_are_refused() -> Result<(), SecretError> {
        assert_eq!(hash_password("short"), Err(SecretError::PasswordTooShort));
        assert_eq!(hash_pin("12"), Err(SecretError::BadPin));
        assert_eq!(hash_pin("12a4"), Err(SecretError::BadPin));
        assert_eq!(hash_pin("123456789"), Err(SecretError::BadPin));
        let pin = hash_pin("4821")?;
        assert!(verify(&pin, "4821") && !verify(&pin, "4822"));
        Ok(())
    }
}
