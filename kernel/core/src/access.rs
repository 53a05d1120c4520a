//! Whether a pointer a partition passes in a hypercall is the partition's to use.
//!
//! A hypercall argument is only an allegation that a range of memory belongs to
//! the caller. The kernel believes it only after [`check`] has found every byte
//! of the range inside the caller's grants with the access the call needs. A
//! range may cross from one grant into an adjacent one; it may not wrap around
//! the address space, touch a gap, or touch a device.

use crate::tables::MemoryGrant;
use bulkhead_abi::Error;

/// The access a hypercall needs to a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The kernel will read the range.
    Read,
    /// The kernel will write the range.
    Write,
}

/// Checks that `[address, address + length)` lies entirely in `grants` with
/// the access `need`. A zero-length range is always accepted and names no
/// memory.
pub fn check(grants: &[MemoryGrant], address: u32, length: u32, need: Need) -> Result<(), Error> {
    if length == 0 {
        return Ok(());
    }
    let last = address.checked_add(length - 1).ok_or(Error::BadAddress)?;
    let mut cursor = address;
    // Each pass moves `cursor` past one grant, so the loop runs at most
    // `grants.len()` times.
    for _ in 0..grants.len() {
        let grant =
            grants.iter().find(|grant| grant.base <= cursor && cursor <= grant.limit).ok_or(Error::BadAddress)?;
        let allowed = match need {
            Need::Read => grant.read,
            Need::Write => grant.write,
        };
        if !allowed {
            return Err(Error::BadAddress);
        }
        if last <= grant.limit {
            return Ok(());
        }
        cursor = grant.limit + 1;
    }
    Err(Error::BadAddress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CODE: MemoryGrant =
        MemoryGrant { base: 0x0810_0000, limit: 0x0810_FFFF, read: true, write: false, execute: true };
    const DATA: MemoryGrant =
        MemoryGrant { base: 0x1001_0000, limit: 0x1001_3FFF, read: true, write: true, execute: false };
    const EXTRA: MemoryGrant =
        MemoryGrant { base: 0x1001_4000, limit: 0x1001_4FFF, read: true, write: true, execute: false };
    const GRANTS: [MemoryGrant; 3] = [CODE, DATA, EXTRA];

    #[test]
    fn inside_one_grant() {
        assert_eq!(check(&GRANTS, 0x1001_0000, 0x4000, Need::Write), Ok(()));
        assert_eq!(check(&GRANTS, 0x0810_0010, 16, Need::Read), Ok(()));
    }

    #[test]
    fn across_adjacent_grants() {
        assert_eq!(check(&GRANTS, 0x1001_3FF0, 0x20, Need::Write), Ok(()));
    }

    #[test]
    fn refusals() {
        assert_eq!(check(&GRANTS, 0x0810_0000, 4, Need::Write), Err(Error::BadAddress), "code is read-only");
        assert_eq!(check(&GRANTS, 0x1001_4FF0, 0x20, Need::Read), Err(Error::BadAddress), "runs off the end");
        assert_eq!(check(&GRANTS, 0x1000_0000, 4, Need::Read), Err(Error::BadAddress), "kernel memory");
        assert_eq!(check(&GRANTS, 0xFFFF_FFF0, 0x20, Need::Read), Err(Error::BadAddress), "wraps");
        assert_eq!(check(&GRANTS, 0x0810_FFF0, 0x100, Need::Read), Err(Error::BadAddress), "gap after code");
        assert_eq!(check(&[], 0x1001_0000, 1, Need::Read), Err(Error::BadAddress));
    }

    #[test]
    fn zero_length_names_nothing() {
        assert_eq!(check(&GRANTS, 0xDEAD_BEEF, 0, Need::Write), Ok(()));
    }

    proptest! {
        /// The check accepts a range exactly when every byte of it is in a
        /// grant with the needed access (compared with a byte-by-byte model).
        #[test]
        fn agrees_with_byte_model(address in 0x0810_0000u32..0x1001_6000, length in 0u32..0x300, write in any::<bool>()) {
            let need = if write { Need::Write } else { Need::Read };
            let model = (0..length).all(|offset| {
                address.checked_add(offset).is_some_and(|byte| GRANTS.iter().any(|g| {
                    g.base <= byte && byte <= g.limit && if write { g.write } else { g.read }
                }))
            });
            prop_assert_eq!(check(&GRANTS, address, length, need).is_ok(), model);
        }
    }
}
