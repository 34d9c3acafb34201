//! Encrypted instance configs: a versioned AES-256-GCM envelope bound to the instance id.
//!
//! Envelope layout (all stores keep it as opaque bytes):
//!
//! | bytes | what |
//! |---|---|
//! | 1 | envelope version (`1`) |
//! | 4 | key id: a check value of the key, so a keyring finds the right key without trying all |
//! | 12 | random nonce |
//! | rest | ciphertext and 16-byte tag |
//!
//! The associated data is the version, the key id and the instance id: a ciphertext copied to
//! another row does not decrypt, and neither does one with a flipped bit or a wrong key.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::keys::InstanceId;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 12;
const TAG: usize = 16;

/// What can go wrong with keys and envelopes. Never carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key is needed (a configurable item exists) and none was given.
    #[error(
        "no encryption key: configurable plugin items store encrypted configs; set {hint} to a base64 32-byte key (generate one with `Key::generate().to_base64()` or `plugins keys generate`)"
    )]
    MissingKey {
        /// Where the key was looked for.
        hint: String,
    },
    /// A key string is not base64 of 32 bytes.
    #[error("malformed encryption key #{position} in {origin}: {reason}")]
    MalformedKey {
        /// Where the key came from (`the environment variable PLUGIN_SYSTEM_KEY`).
        origin: String,
        /// 1-based position in the keyring list.
        position: usize,
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// The envelope is too short or of an unknown version.
    #[error("stored config is not a valid envelope: {0}")]
    BadEnvelope(String),
    /// The envelope was sealed with a key the keyring does not hold.
    #[error(
        "stored config was encrypted with key {0}, which is not in the keyring (add it as an old key)"
    )]
    UnknownKey(String),
    /// Authentication failed: wrong key, tampered bytes, or a ciphertext from another row.
    #[error("stored config does not decrypt: tampered, or copied from another instance")]
    Tampered,
}

/// One AES-256 key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: [u8; 4],
}

impl Key {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Key {
        let generated = Aes256Gcm::generate_key(OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&generated);
        Key::from_bytes(bytes)
    }

    /// Parses a base64 key (standard alphabet, padded) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Key, CryptoError> {
        Key::parse(text, 1, "the key")
    }

    fn parse(text: &str, position: usize, origin: &str) -> Result<Key, CryptoError> {
        let decoded =
            Zeroizing::new(
                BASE64
                    .decode(text.trim())
                    .map_err(|_| CryptoError::MalformedKey {
                        origin: origin.into(),
                        position,
                        reason: "not valid base64".into(),
                    })?,
            );
        let array: [u8; 32] =
            decoded
                .as_slice()
                .try_into()
                .map_err(|_| CryptoError::MalformedKey {
                    origin: origin.into(),
                    position,
                    reason: format!("expected 32 bytes, got {}", decoded.len()),
                })?;
        Ok(Key::from_bytes(Zeroizing::new(array)))
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Key {
        let cipher = Aes256Gcm::new(bytes.as_ref().into());
        // Key check value: the first bytes of encrypting zeros under a zero nonce. Identifies
        // the key without revealing it.
        let check = cipher
            .encrypt(Nonce::from_slice(&[0u8; 12]), [0u8; 16].as_slice())
            .unwrap_or_default();
        let mut id = [0u8; 4];
        id.copy_from_slice(check.get(..4).unwrap_or(&[0; 4]));
        Key { bytes, id }
    }

    /// The key as base64, for storing it in a secret manager.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.bytes.as_ref()))
    }

    /// The key's id as hex (safe to log).
    pub fn id(&self) -> String {
        hex(&self.id)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.bytes.as_ref().into())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id())
    }
}

/// The current key (seals new configs) and old keys (still open configs sealed before a
/// rotation).
#[derive(Clone, Debug)]
pub struct Keyring {
    current: Key,
    old: Vec<Key>,
}

impl Keyring {
    /// A keyring with one key.
    pub fn new(current: Key) -> Keyring {
        Keyring {
            current,
            old: Vec::new(),
        }
    }

    /// Adds a key that configs may still be sealed with.
    pub fn with_old(mut self, old: Key) -> Keyring {
        self.old.push(old);
        self
    }

    /// Parses a list of base64 keys separated by commas or whitespace: the first is current,
    /// the rest are old keys (the format of `PLUGIN_SYSTEM_KEY`).
    pub fn from_base64_list(list: &str) -> Result<Keyring, CryptoError> {
        Keyring::parse_list(list, "the key list")
    }

    /// Reads the keyring from an environment variable in the [`Keyring::from_base64_list`]
    /// format. Every error names the variable (unset, set but empty, a malformed key in it).
    pub fn from_env(variable: &str) -> Result<Keyring, CryptoError> {
        let origin = format!("the environment variable {variable}");
        let value = std::env::var(variable).map_err(|_| CryptoError::MissingKey {
            hint: origin.clone(),
        })?;
        Keyring::parse_list(&value, &origin)
    }

    fn parse_list(list: &str, origin: &str) -> Result<Keyring, CryptoError> {
        let mut keys = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .enumerate()
            .map(|(index, part)| Key::parse(part, index + 1, origin));
        let current = keys.next().ok_or_else(|| CryptoError::MissingKey {
            hint: format!("{origin} (it is set, but empty)"),
        })??;
        let old = keys.collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring { current, old })
    }

    /// The key new configs are sealed with.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// Encrypts a config for one instance.
    pub fn seal(&self, instance: InstanceId, plaintext: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(OsRng);
        let mut envelope = Vec::with_capacity(HEADER + plaintext.len() + TAG);
        envelope.push(VERSION);
        envelope.extend_from_slice(&self.current.id);
        envelope.extend_from_slice(&nonce);
        let aad = associated_data(&self.current.id, instance);
        // Encryption with a valid key and nonce cannot fail for inputs below aes-gcm's 64 GiB
        // limit; configs are a few hundred bytes.
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        envelope.extend_from_slice(&ciphertext);
        envelope
    }

    /// Decrypts a config sealed for `instance`.
    pub fn open(
        &self,
        instance: InstanceId,
        envelope: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if envelope.len() < HEADER + TAG {
            return Err(CryptoError::BadEnvelope(format!(
                "{} bytes is shorter than the smallest envelope",
                envelope.len()
            )));
        }
        if envelope[0] != VERSION {
            return Err(CryptoError::BadEnvelope(format!(
                "unknown envelope version {}",
                envelope[0]
            )));
        }
        let key_id = &envelope[1..5];
        let key = std::iter::once(&self.current)
            .chain(&self.old)
            .find(|key| key.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(hex(key_id)))?;
        let nonce = Nonce::from_slice(&envelope[5..HEADER]);
        let aad = associated_data(&key.id, instance);
        key.cipher()
            .decrypt(
                nonce,
                Payload {
                    msg: &envelope[HEADER..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Tampered)
    }

    /// True when the envelope is sealed with an old key (rotation re-encrypts it).
    pub fn needs_rotation(&self, envelope: &[u8]) -> bool {
        envelope.get(1..5).is_some_and(|id| id != self.current.id)
    }
}

fn associated_data(key_id: &[u8; 4], instance: InstanceId) -> [u8; 21] {
    let mut aad = [0u8; 21];
    aad[0] = VERSION;
    aad[1..5].copy_from_slice(key_id);
    aad[5..].copy_from_slice(instance.as_bytes());
    aad
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ring = Keyring::new(Key::generate());
        let id = InstanceId::new();
        let sealed = ring.seal(id, b"{\"api_key\":\"sk_live\"}");
        assert!(!sealed.windows(7).any(|w| w == b"sk_live"));
        assert_eq!(
            ring.open(id, &sealed).unwrap().as_slice(),
            b"{\"api_key\":\"sk_live\"}"
        );
    }

    #[test]
    fn ciphertext_copied_to_another_row_fails() {
        let ring = Keyring::new(Key::generate());
        let sealed = ring.seal(InstanceId::new(), b"secret");
        assert_eq!(
            ring.open(InstanceId::new(), &sealed),
            Err(CryptoError::Tampered)
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let ring = Keyring::new(Key::generate());
        let id = InstanceId::new();
        let sealed = ring.seal(id, b"secret");
        for index in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[index] ^= 0x01;
            assert!(
                ring.open(id, &bad).is_err(),
                "bit flip at byte {index} went unnoticed"
            );
        }
    }

    #[test]
    fn wrong_key_and_rotation() {
        let old = Key::generate();
        let sealed = Keyring::new(old.clone()).seal(InstanceId::from_uuid(uuid::Uuid::nil()), b"x");
        let new_only = Keyring::new(Key::generate());
        let id = InstanceId::from_uuid(uuid::Uuid::nil());
        assert!(matches!(
            new_only.open(id, &sealed),
            Err(CryptoError::UnknownKey(_))
        ));
        let rotated = new_only.clone().with_old(old);
        assert!(rotated.needs_rotation(&sealed));
        assert_eq!(rotated.open(id, &sealed).unwrap().as_slice(), b"x");
    }

    #[test]
    fn keys_parse_and_never_print() {
        let key = Key::generate();
        let text = key.to_base64();
        let ring =
            Keyring::from_base64_list(&format!("{}, {}", *text, *Key::generate().to_base64()))
                .unwrap();
        assert_eq!(ring.current().id(), key.id());
        assert!(!format!("{ring:?}").contains(text.as_str()));
        assert!(matches!(
            Key::from_base64("AAAA"),
            Err(CryptoError::MalformedKey { .. })
        ));
        assert!(matches!(
            Key::from_base64("***"),
            Err(CryptoError::MalformedKey { .. })
        ));
        assert!(matches!(
            Keyring::from_base64_list(" "),
            Err(CryptoError::MissingKey { .. })
        ));
    }

    #[test]
    fn every_key_error_from_the_environment_names_the_variable() {
        // Each case uses a variable of its own: tests run in parallel in one process.
        let cases = [
            ("PLUGIN_SYSTEM_TEST_KEY_UNSET", None, "(it is"),
            (
                "PLUGIN_SYSTEM_TEST_KEY_EMPTY",
                Some(""),
                "(it is set, but empty)",
            ),
            (
                "PLUGIN_SYSTEM_TEST_KEY_BLANK",
                Some(" , "),
                "(it is set, but empty)",
            ),
            (
                "PLUGIN_SYSTEM_TEST_KEY_BAD",
                Some("not-base64!"),
                "not valid base64",
            ),
        ];
        for (variable, value, detail) in cases {
            if let Some(value) = value {
                // SAFETY: no other thread reads or writes this test-only variable.
                unsafe { std::env::set_var(variable, value) };
            }
            let message = Keyring::from_env(variable).unwrap_err().to_string();
            assert!(message.contains(variable), "{variable}: {message}");
            if value.is_some() {
                assert!(message.contains(detail), "{variable}: {message}");
            }
        }
    }

    #[test]
    fn short_and_unknown_envelopes() {
        let ring = Keyring::new(Key::generate());
        let id = InstanceId::new();
        assert!(matches!(
            ring.open(id, b""),
            Err(CryptoError::BadEnvelope(_))
        ));
        let mut sealed = ring.seal(id, b"x");
        sealed[0] = 9;
        assert!(matches!(
            ring.open(id, &sealed),
            Err(CryptoError::BadEnvelope(_))
        ));
    }
}
