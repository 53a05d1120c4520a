//! PMSAv8-32 EL2 MPU regions: what a region means and the register values for it.
//!
//! This crate owns the translation from a region as the system description
//! states it (base, size, who may do what, memory type) to the `HPRBAR`/`HPRLAR`
//! pair the kernel writes, and back. The encoder is a `const fn`, so the kernel's
//! generated tables are computed by this code at compile time and an invalid
//! region is a build error, never a run-time surprise.
//!
//! It must never touch a register: it is plain arithmetic that builds and is
//! tested on the host. The kernel's `arch::mpu` module is the only writer.
//!
//! # The EL2 MPU as the fence
//!
//! With `HCR.VM` set, every EL1 access is checked against the EL2 MPU after the
//! partition's own EL1 MPU (stage 2). An address that hits no enabled region
//! faults to EL2. One `AP` field serves both exception levels:
//!
//! | AP   | EL2  | EL1  |
//! |------|------|------|
//! | 0b00 | RW   | none |
//! | 0b01 | RW   | RW   |
//! | 0b10 | RO   | none |
//! | 0b11 | RO   | RO   |
//!
//! and one `XN` bit forbids execution at both. Regions are 64-byte granular:
//! `base` is a multiple of 64 and the inclusive `limit` is one less than a
//! multiple of 64. Two enabled regions must never overlap (an access hitting two
//! regions faults), which the generator checks across everything a partition
//! and the kernel have enabled together.

#![no_std]

/// Region granularity in bytes: bases and sizes are multiples of this.
pub const GRANULE: u32 = 64;

/// `HMAIR0` value the kernel programs, giving the attribute indexes below.
///
/// Attr0 = Device-nGnRE (0x04), Attr1 = Normal write-back read/write-allocate
/// inner and outer (0xFF), Attr2 = Normal non-cacheable (0x44), Attr3 = 0.
pub const HMAIR0: u32 = 0x0044_FF04;

/// What EL1 (a partition) may do in a region. EL2 may always read it; it may
/// write it unless EL1 is limited to reading (the architecture gives both levels
/// one `AP` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum El1Access {
    /// EL1 has no access: a kernel-only region.
    None,
    /// EL1 may read (and execute, unless the region is execute-never).
    ReadOnly,
    /// EL1 may read and write.
    ReadWrite,
}

/// How EL2 may use a kernel-only region (ignored when EL1 has access: the
/// architecture then gives EL2 the same read-only or read/write access).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum El2Access {
    /// EL2 may only read.
    ReadOnly,
    /// EL2 may read and write.
    ReadWrite,
}

/// Memory type of a region, as an index into [`HMAIR0`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryType {
    /// Device-nGnRE: peripherals. Never executable.
    Device,
    /// Normal memory, write-back cacheable.
    Normal,
    /// Normal memory, non-cacheable (shared with another processor that does
    /// not snoop the R52's caches).
    NormalNonCacheable,
}

impl MemoryType {
    /// The `AttrIndx` for this type under [`HMAIR0`].
    pub const fn attr_index(self) -> u32 {
        match self {
            MemoryType::Device => 0,
            MemoryType::Normal => 1,
            MemoryType::NormalNonCacheable => 2,
        }
    }

    const fn from_attr_index(index: u32) -> Option<MemoryType> {
        match index {
            0 => Some(MemoryType::Device),
            1 => Some(MemoryType::Normal),
            2 => Some(MemoryType::NormalNonCacheable),
            _ => None,
        }
    }
}

/// Shareability of a region (`SH` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shareability {
    /// Non-shareable: private to this core.
    NonShareable,
    /// Outer shareable: seen coherently by other masters (Cortex-A, DMA).
    OuterShareable,
    /// Inner shareable: seen coherently by the other R52 cores.
    InnerShareable,
}

impl Shareability {
    const fn bits(self) -> u32 {
        match self {
            Shareability::NonShareable => 0b00,
            Shareability::OuterShareable => 0b10,
            Shareability::InnerShareable => 0b11,
        }
    }

    const fn from_bits(bits: u32) -> Option<Shareability> {
        match bits {
            0b00 => Some(Shareability::NonShareable),
            0b10 => Some(Shareability::OuterShareable),
            0b11 => Some(Shareability::InnerShareable),
            _ => None,
        }
    }
}

/// A region as the system description means it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First byte. Multiple of [`GRANULE`].
    pub base: u32,
    /// Last byte, inclusive. One less than a multiple of [`GRANULE`].
    pub limit: u32,
    /// What EL1 may do.
    pub el1: El1Access,
    /// What EL2 may do when EL1 has no access.
    pub el2: El2Access,
    /// Whether instructions may be fetched from the region, at whichever
    /// levels may read it (one `XN` bit serves EL2 and EL1).
    pub executable: bool,
    /// Memory type.
    pub memory: MemoryType,
    /// Shareability.
    pub shareability: Shareability,
}

/// Why a [`Region`] cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// `base` is not a multiple of [`GRANULE`].
    UnalignedBase,
    /// `limit + 1` is not a multiple of [`GRANULE`].
    UnalignedLimit,
    /// `limit` is below `base`.
    Empty,
    /// Device memory marked executable.
    ExecutableDevice,
}

impl EncodeError {
    /// A sentence saying what is wrong.
    pub const fn reason(self) -> &'static str {
        match self {
            EncodeError::UnalignedBase => {
                "base is not a multiple of 64 bytes (PMSAv8 regions have 64-byte granularity)"
            }
            EncodeError::UnalignedLimit => {
                "end is not a multiple of 64 bytes (PMSAv8 regions have 64-byte granularity)"
            }
            EncodeError::Empty => "region is empty",
            EncodeError::ExecutableDevice => "device memory cannot be executable",
        }
    }
}

/// The register pair for one region: `HPRBAR` and `HPRLAR` (with `EN` set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct EncodedRegion {
    /// `HPRBAR`: BASE[31:6], SH[4:3], AP[2:1], XN[0].
    pub prbar: u32,
    /// `HPRLAR`: LIMIT[31:6], AttrIndx[3:1], EN[0].
    pub prlar: u32,
}

const ADDRESS_MASK: u32 = !(GRANULE - 1);
const PRLAR_ENABLE: u32 = 1;

impl Region {
    /// A region from a base and a size in bytes; `None` if it wraps past 4 GiB
    /// or is empty.
    pub const fn from_base_size(
        base: u32,
        size: u32,
        el1: El1Access,
        el2: El2Access,
        executable: bool,
        memory: MemoryType,
        shareability: Shareability,
    ) -> Option<Region> {
        if size == 0 {
            return None;
        }
        let limit = match base.checked_add(size - 1) {
            Some(limit) => limit,
            None => return None,
        };
        Some(Region { base, limit, el1, el2, executable, memory, shareability })
    }

    /// Size in bytes (as u64: a region may span the whole 4 GiB space).
    pub const fn size(&self) -> u64 {
        self.limit as u64 - self.base as u64 + 1
    }

    /// Whether `address` is inside the region.
    pub const fn contains(&self, address: u32) -> bool {
        address >= self.base && address <= self.limit
    }

    /// Whether the two regions share at least one byte.
    pub const fn overlaps(&self, other: &Region) -> bool {
        self.base <= other.limit && other.base <= self.limit
    }

    /// Checks the region against the PMSAv8-32 rules.
    pub const fn validate(&self) -> Result<(), EncodeError> {
        if self.limit < self.base {
            return Err(EncodeError::Empty);
        }
        if !self.base.is_multiple_of(GRANULE) {
            return Err(EncodeError::UnalignedBase);
        }
        if (self.limit % GRANULE) != GRANULE - 1 {
            return Err(EncodeError::UnalignedLimit);
        }
        if self.executable && matches!(self.memory, MemoryType::Device) {
            return Err(EncodeError::ExecutableDevice);
        }
        Ok(())
    }

    const fn access_bits(&self) -> u32 {
        match (self.el1, self.el2) {
            (El1Access::None, El2Access::ReadWrite) => 0b00,
            (El1Access::ReadWrite, _) => 0b01,
            (El1Access::None, El2Access::ReadOnly) => 0b10,
            (El1Access::ReadOnly, _) => 0b11,
        }
    }

    /// Encodes the region into its register pair.
    pub const fn encode(&self) -> Result<EncodedRegion, EncodeError> {
        if let Err(error) = self.validate() {
            return Err(error);
        }
        let prbar = (self.base & ADDRESS_MASK)
            | (self.shareability.bits() << 3)
            | (self.access_bits() << 1)
            | (!self.executable as u32);
        let prlar = (self.limit & ADDRESS_MASK) | (self.memory.attr_index() << 1) | PRLAR_ENABLE;
        Ok(EncodedRegion { prbar, prlar })
    }

    /// Encodes the region, failing compilation when used in a `const` context
    /// with an invalid region. This is what the generated kernel tables call.
    pub const fn encode_or_panic(&self) -> EncodedRegion {
        match self.encode() {
            Ok(encoded) => encoded,
            Err(error) => panic!("{}", error.reason()),
        }
    }
}

impl EncodedRegion {
    /// A disabled slot.
    pub const DISABLED: EncodedRegion = EncodedRegion { prbar: 0, prlar: 0 };

    /// Whether the `EN` bit is set.
    pub const fn is_enabled(&self) -> bool {
        self.prlar & PRLAR_ENABLE != 0
    }

    /// First byte covered.
    pub const fn base(&self) -> u32 {
        self.prbar & ADDRESS_MASK
    }

    /// Last byte covered (inclusive).
    pub const fn limit(&self) -> u32 {
        (self.prlar & ADDRESS_MASK) | (GRANULE - 1)
    }

    /// Whether an enabled region covers `address`, as the hardware decides.
    pub const fn covers(&self, address: u32) -> bool {
        self.is_enabled() && address >= self.base() && address <= self.limit()
    }

    /// Decodes the register pair back into the region it means, or `None` for
    /// a disabled slot or reserved field values.
    pub const fn decode(&self) -> Option<Region> {
        if !self.is_enabled() {
            return None;
        }
        let (el1, el2) = match (self.prbar >> 1) & 0b11 {
            0b00 => (El1Access::None, El2Access::ReadWrite),
            0b01 => (El1Access::ReadWrite, El2Access::ReadWrite),
            0b10 => (El1Access::None, El2Access::ReadOnly),
            _ => (El1Access::ReadOnly, El2Access::ReadOnly),
        };
        let shareability = match Shareability::from_bits((self.prbar >> 3) & 0b11) {
            Some(shareability) => shareability,
            None => return None,
        };
        let memory = match MemoryType::from_attr_index((self.prlar >> 1) & 0b111) {
            Some(memory) => memory,
            None => return None,
        };
        Some(Region {
            base: self.base(),
            limit: self.limit(),
            el1,
            el2,
            executable: self.prbar & 1 == 0,
            memory,
            shareability,
        })
    }

    /// The same range and memory attributes, writable by EL2 and nothing
    /// else: no EL1 access, never executable. The kernel puts this in a
    /// loaded read-only region's slot for the one store it makes on a
    /// partition's behalf into memory that partition may only read (a
    /// queuing reader's `consumed` count), and puts the region back at once.
    pub const fn writable_by_el2_only(&self) -> EncodedRegion {
        EncodedRegion { prbar: (self.prbar & !0b111) | 1, prlar: self.prlar }
    }

    /// Whether EL1 may read `address` through this region.
    pub const fn el1_can_read(&self, address: u32) -> bool {
        self.covers(address) && (self.prbar >> 1) & 0b01 == 0b01
    }

    /// Whether EL1 may write `address` through this region.
    pub const fn el1_can_write(&self, address: u32) -> bool {
        self.covers(address) && (self.prbar >> 1) & 0b11 == 0b01
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writable_by_el2_only_keeps_range_and_memory_and_drops_el1() {
        let read_only = Region {
            base: 0x1010_0000,
            limit: 0x1010_0fff,
            el1: El1Access::ReadOnly,
            el2: El2Access::ReadOnly,
            executable: true,
            memory: MemoryType::NormalNonCacheable,
            shareability: Shareability::OuterShareable,
        };
        let kernel = read_only.encode().unwrap().writable_by_el2_only().decode().unwrap();
        assert_eq!(kernel, Region { el1: El1Access::None, el2: El2Access::ReadWrite, executable: false, ..read_only });
    }

    fn region(base: u32, size: u32) -> Region {
        Region::from_base_size(
            base,
            size,
            El1Access::ReadWrite,
            El2Access::ReadWrite,
            false,
            MemoryType::Normal,
            Shareability::NonShareable,
        )
        .unwrap()
    }

    #[test]
    fn known_encoding_of_a_partition_ram_region() {
        // 16 KiB of RW, XN, normal memory at 0x1001_0000.
        let encoded = region(0x1001_0000, 0x4000).encode().unwrap();
        assert_eq!(encoded.prbar, 0x1001_0000 | (0b01 << 1) | 1);
        assert_eq!(encoded.prlar, 0x1001_3FC0 | (1 << 1) | 1);
    }

    #[test]
    fn known_encoding_of_kernel_code() {
        let code = Region {
            el1: El1Access::None,
            el2: El2Access::ReadOnly,
            executable: false,
            ..region(0x0800_0000, 0x1_0000)
        };
        let encoded = code.encode().unwrap();
        assert_eq!(encoded.prbar & 0b111, (0b10 << 1) | 1);
    }

    #[test]
    fn rejects_pmsav8_violations() {
        let mut r = region(0x1000_0000, 0x100);
        r.base += 4;
        assert_eq!(r.encode(), Err(EncodeError::UnalignedBase));
        let mut r = region(0x1000_0000, 0x100);
        r.limit -= 1;
        assert_eq!(r.encode(), Err(EncodeError::UnalignedLimit));
        let r = Region { executable: true, memory: MemoryType::Device, ..region(0xE000_0000, 0x1000) };
        assert_eq!(r.encode(), Err(EncodeError::ExecutableDevice));
        assert!(
            Region::from_base_size(
                0xFFFF_FFC0,
                0x80,
                El1Access::None,
                El2Access::ReadOnly,
                false,
                MemoryType::Normal,
                Shareability::NonShareable
            )
            .is_none()
        );
        assert!(
            Region::from_base_size(
                0x1000,
                0,
                El1Access::None,
                El2Access::ReadOnly,
                false,
                MemoryType::Normal,
                Shareability::NonShareable
            )
            .is_none()
        );
    }

    #[test]
    fn whole_address_space_top_region_encodes() {
        let r = region(0xFFFF_FFC0, 0x40);
        let encoded = r.encode().unwrap();
        assert!(encoded.covers(0xFFFF_FFFF));
        assert!(!encoded.covers(0xFFFF_FFBF));
    }

    fn arb_access() -> impl Strategy<Value = (El1Access, El2Access)> {
        prop_oneof![
            Just((El1Access::None, El2Access::ReadOnly)),
            Just((El1Access::None, El2Access::ReadWrite)),
            Just((El1Access::ReadOnly, El2Access::ReadOnly)),
            Just((El1Access::ReadWrite, El2Access::ReadWrite)),
        ]
    }

    fn arb_region() -> impl Strategy<Value = Region> {
        (
            0u32..(1 << 26),
            1u32..(1 << 20),
            arb_access(),
            any::<bool>(),
            prop_oneof![Just(MemoryType::Normal), Just(MemoryType::NormalNonCacheable), Just(MemoryType::Device)],
            prop_oneof![
                Just(Shareability::NonShareable),
                Just(Shareability::OuterShareable),
                Just(Shareability::InnerShareable)
            ],
        )
            .prop_filter_map("fits in 4 GiB", |(granule, granules, (el1, el2), exec, memory, shareability)| {
                let base = granule.checked_mul(GRANULE)?;
                let size = granules.checked_mul(GRANULE)?;
                let executable = exec && memory != MemoryType::Device;
                Region::from_base_size(base, size, el1, el2, executable, memory, shareability)
            })
    }

    proptest! {
        /// Every encoded region covers exactly the bytes it was made from: the
        /// first and last byte are in, the bytes either side are out.
        #[test]
        fn encoded_region_covers_exactly_the_described_bytes(r in arb_region(), probe in any::<u32>()) {
            let encoded = r.encode().unwrap();
            prop_assert!(encoded.covers(r.base));
            prop_assert!(encoded.covers(r.limit));
            if r.base > 0 { prop_assert!(!encoded.covers(r.base - 1)); }
            if r.limit < u32::MAX { prop_assert!(!encoded.covers(r.limit + 1)); }
            prop_assert_eq!(encoded.covers(probe), r.contains(probe));
            prop_assert_eq!(encoded.base() as u64 + r.size() - 1, encoded.limit() as u64);
        }

        /// Decoding gives back every property of the region.
        #[test]
        fn decode_inverts_encode(r in arb_region()) {
            prop_assert_eq!(r.encode().unwrap().decode(), Some(r));
        }

        /// EL1 permissions read off the registers match the description.
        #[test]
        fn el1_permissions_follow_the_description(r in arb_region(), offset in any::<u32>()) {
            let encoded = r.encode().unwrap();
            let inside = r.base + (offset as u64 % r.size()) as u32;
            prop_assert_eq!(encoded.el1_can_read(inside), r.el1 != El1Access::None);
            prop_assert_eq!(encoded.el1_can_write(inside), r.el1 == El1Access::ReadWrite);
        }

        /// Any base or end off the 64-byte grid is refused.
        #[test]
        fn misaligned_regions_are_refused(r in arb_region(), skew in 1u32..GRANULE) {
            let shifted = Region { base: r.base.wrapping_add(skew), ..r };
            if shifted.base <= shifted.limit {
                prop_assert_eq!(shifted.encode(), Err(EncodeError::UnalignedBase));
            }
            let shortened = Region { limit: r.limit - skew, ..r };
            if shortened.base <= shortened.limit {
                prop_assert_eq!(shortened.encode(), Err(EncodeError::UnalignedLimit));
            }
        }
    }
}
