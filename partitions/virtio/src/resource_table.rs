//! The remoteproc resource table with one rpmsg virtio device, as Linux's
//! remoteproc and OpenAMP read it.
//!
//! ```text
//! offset  field                              written by
//! 0       u32 ver = 1                        device
//! 4       u32 num = 1                        device
//! 8       u32 reserved[2] = 0                device
//! 16      u32 offset[1] = 20                 device
//! 20      fw_rsc_vdev:
//!  +0       u32 type = 3 (RSC_VDEV)          device
//!  +4       u32 id = 7 (VIRTIO_ID_RPMSG)     device
//!  +8       u32 notifyid = 2                 device (vring n: n; all distinct)
//!  +12      u32 dfeatures                    device
//!  +16      u32 gfeatures                    driver
//!  +20      u32 config_len = 0               device
//!  +24      u8  status                       driver (device sets NEEDS_RESET)
//!  +25      u8  num_of_vrings = 2            device
//!  +26      u8  reserved[2]                  -
//!  +28      fw_rsc_vdev_vring[0]: u32 da, align, num, notifyid, pa
//!  +48      fw_rsc_vdev_vring[1]: u32 da, align, num, notifyid, pa
//! 88      (end)
//! ```
//!
//! `da` is the ring's address as the island sees it; `0xFFFFFFFF`
//! (`FW_RSC_ADDR_ANY`) asks the driver to place the ring and write its
//! address back. The device reads each driver-written field once per look
//! and checks it before use.

use crate::vring::{AddressMap, Vring};
use crate::window::Window;

/// `resource_table.ver`.
pub const VERSION: u32 = 1;
/// `RSC_VDEV`.
pub const RSC_VDEV: u32 = 3;
/// `VIRTIO_ID_RPMSG`.
pub const VIRTIO_ID_RPMSG: u32 = 7;
/// `FW_RSC_ADDR_ANY`: the driver chooses.
pub const ADDR_ANY: u32 = u32::MAX;
/// Offset of the vdev entry from the table's start.
pub const VDEV: u32 = 20;
/// Bytes of the whole table.
pub const SIZE: u32 = VDEV + 28 + 2 * VRING_ENTRY_SIZE;
/// Bytes of one `fw_rsc_vdev_vring`.
pub const VRING_ENTRY_SIZE: u32 = 20;
/// Notify ids, all distinct (OpenAMP/libmetal v2023.10's `handle_rsc_table`
/// refuses a table where two are equal, and OpenAMP ignores a kick whose id
/// is the vdev's): vring `n` has id `n`, as Linux's remoteproc numbers them
/// again from 0 when it attaches, and the vdev the first id after them, so
/// the ids stay distinct after Linux rewrites the vrings'.
pub const fn notify_id(vring: u32) -> u32 {
    vring
}
/// The vdev's notify id (see [`notify_id`]).
pub const VDEV_NOTIFY_ID: u32 = 2;

/// Offsets of the vdev fields, from the table's start.
pub mod field {
    use super::VDEV;
    /// `type`.
    pub const TYPE: u32 = VDEV;
    /// `id`.
    pub const ID: u32 = VDEV + 4;
    /// `notifyid`.
    pub const NOTIFY_ID: u32 = VDEV + 8;
    /// `dfeatures`.
    pub const DEVICE_FEATURES: u32 = VDEV + 12;
    /// `gfeatures`.
    pub const DRIVER_FEATURES: u32 = VDEV + 16;
    /// `config_len`.
    pub const CONFIG_LEN: u32 = VDEV + 20;
    /// `status` (one byte).
    pub const STATUS: u32 = VDEV + 24;
    /// `num_of_vrings` (one byte).
    pub const NUM_VRINGS: u32 = VDEV + 25;
    /// `vring[n].da`.
    pub const fn vring_da(n: u32) -> u32 {
        VDEV + 28 + n * super::VRING_ENTRY_SIZE
    }
    /// `vring[n].align`.
    pub const fn vring_align(n: u32) -> u32 {
        vring_da(n) + 4
    }
    /// `vring[n].num`.
    pub const fn vring_num(n: u32) -> u32 {
        vring_da(n) + 8
    }
    /// `vring[n].notifyid`.
    pub const fn vring_notify_id(n: u32) -> u32 {
        vring_da(n) + 12
    }
    /// `vring[n].pa`.
    pub const fn vring_pa(n: u32) -> u32 {
        vring_da(n) + 16
    }
}

/// Device status bits (VIRTIO 1.x section 2.1).
pub mod status {
    /// The driver found the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The driver knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// The driver is ready.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation done (not used by legacy drivers).
    pub const FEATURES_OK: u8 = 8;
    /// The device hit an error it cannot recover from without a reset.
    pub const NEEDS_RESET: u8 = 0x40;
    /// The driver gave up.
    pub const FAILED: u8 = 0x80;
}

/// What the status byte says about the driver, by the one rule both the
/// handshake and the resume after a restart follow: VIRTIO 1.x 3.1.1's
/// sequence, in which each step adds its bit and none is cleared but by a
/// reset: 0, ACKNOWLEDGE, DRIVER, (FEATURES_OK,) DRIVER_OK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverStatus {
    /// 0: reset. Also `NEEDS_RESET` alone, which OpenAMP's driver writes to
    /// reset a device (`rproc_virtio_reset_device`).
    Reset,
    /// A step before DRIVER_OK: ACKNOWLEDGE, then DRIVER, then FEATURES_OK.
    Initializing,
    /// DRIVER_OK after the steps before it; or DRIVER_OK alone, the one
    /// shortened form taken, because OpenAMP's driver writes nothing else
    /// (`rpmsg_init_vdev_with_config` sets DRIVER_OK through
    /// `rproc_virtio_set_status`, which stores the byte as given).
    Ready,
    /// `NEEDS_RESET` with other bits: the device's own mark, until a reset.
    NeedsReset,
    /// `FAILED`: the driver gave up (and must reset before trying again).
    Failed,
    /// Any other byte: bits out of order (DRIVER without ACKNOWLEDGE,
    /// DRIVER_OK after only part of the steps) or not defined.
    OutOfSequence,
}

/// The rule of [`DriverStatus`].
pub const fn driver_status(byte: u8) -> DriverStatus {
    use status::*;
    if byte & FAILED != 0 {
        return DriverStatus::Failed;
    }
    if byte & !NEEDS_RESET == 0 {
        return DriverStatus::Reset;
    }
    if byte & NEEDS_RESET != 0 {
        return DriverStatus::NeedsReset;
    }
    const STEPS: u8 = ACKNOWLEDGE | DRIVER;
    match byte {
        ACKNOWLEDGE | STEPS => DriverStatus::Initializing,
        _ if byte == STEPS | FEATURES_OK => DriverStatus::Initializing,
        DRIVER_OK => DriverStatus::Ready,
        _ if byte == STEPS | DRIVER_OK || byte == STEPS | FEATURES_OK | DRIVER_OK => DriverStatus::Ready,
        _ => DriverStatus::OutOfSequence,
    }
}

/// One vring as the table describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VringSpec {
    /// The ring's address as the island sees it, or [`ADDR_ANY`].
    pub da: u32,
    /// Alignment of the used ring.
    pub align: u32,
    /// Entries.
    pub num: u16,
}

/// The static facts of one link: where the table and rings are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkLayout {
    /// The window's first byte, as the island sees it.
    pub local_base: u32,
    /// Window size.
    pub size: u32,
    /// The window's first byte, as the driver sees it (for descriptor
    /// addresses).
    pub remote_base: u64,
    /// Offset of the resource table in the window.
    pub table: u32,
    /// Offset of the buffer area: the driver's buffers lie in
    /// `pool..size`, apart from the rings when the driver places them there.
    pub pool: u32,
    /// vring 0 (device to driver) and vring 1 (driver to device).
    pub vrings: [VringSpec; 2],
    /// Features the device offers (`dfeatures`).
    pub features: u32,
}

/// Why the driver's side of the table is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// The driver acknowledged features the device never offered.
    UnofferedFeatures(u32),
    /// A ring address (`da`) that is unaligned or whose ring does not fit in
    /// the window, or that overlaps the table or the other ring.
    BadRing(u32),
    /// The table itself is not in the window (a layout bug).
    TableOutsideWindow,
}

impl TableError {
    /// A short, stable reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            TableError::UnofferedFeatures(_) => "unoffered-features",
            TableError::BadRing(_) => "bad-ring-address",
            TableError::TableOutsideWindow => "table-outside-window",
        }
    }
}

impl LinkLayout {
    /// The address map for descriptor addresses once the rings are known:
    /// buffers only in the buffer area (`pool..size`), never over the
    /// table or a ring.
    pub fn address_map(&self, rings: &[Vring; 2]) -> AddressMap {
        let [a, b] = rings;
        AddressMap::buffer_area(
            self.remote_base,
            self.size,
            self.pool,
            [(self.table, self.table.saturating_add(SIZE)), (a.desc, a.end()), (b.desc, b.end())],
        )
    }

    /// Writes the table as the device presents it before any driver: status
    /// 0, no driver features, rings as configured.
    pub fn write_table(&self, window: &mut impl Window) -> Result<(), TableError> {
        let t = self.table;
        let mut driver_fields = [(field::DRIVER_FEATURES, 0u32); 3];
        for (n, spec) in (0u32..).zip(self.vrings) {
            if spec.da == ADDR_ANY {
                driver_fields[1 + n as usize] = (field::vring_da(n), ADDR_ANY);
            }
        }
        for (offset, value) in driver_fields {
            window.write_u32(t + offset, value).ok_or(TableError::TableOutsideWindow)?;
        }
        window.write_u8(t + field::STATUS, 0).ok_or(TableError::TableOutsideWindow)?;
        self.restore_table(window)
    }

    /// Writes the fields only the device writes (everything but
    /// `gfeatures`, `status` and the addresses of rings the driver
    /// places): after a reset, so that a table a driver scribbled on is
    /// whole again, without touching what a driver attaching at the same
    /// time may already have written.
    pub fn restore_table(&self, window: &mut impl Window) -> Result<(), TableError> {
        let t = self.table;
        let words: [(u32, u32); 9] = [
            (0, VERSION),
            (4, 1),
            (8, 0),
            (12, 0),
            (16, VDEV),
            (field::TYPE, RSC_VDEV),
            (field::ID, VIRTIO_ID_RPMSG),
            (field::NOTIFY_ID, VDEV_NOTIFY_ID),
            (field::DEVICE_FEATURES, self.features),
        ];
        for (offset, value) in words {
            window.write_u32(t + offset, value).ok_or(TableError::TableOutsideWindow)?;
        }
        window.write_u32(t + field::CONFIG_LEN, 0).ok_or(TableError::TableOutsideWindow)?;
        // num_of_vrings 2, reserved 0 (the status byte before them is the driver's).
        window.write_u8(t + field::NUM_VRINGS, 2).ok_or(TableError::TableOutsideWindow)?;
        window.write_u16(t + field::NUM_VRINGS + 1, 0).ok_or(TableError::TableOutsideWindow)?;
        for (n, spec) in (0u32..).zip(self.vrings) {
            if spec.da != ADDR_ANY {
                window.write_u32(t + field::vring_da(n), spec.da).ok_or(TableError::TableOutsideWindow)?;
            }
            for (offset, value) in [
                (field::vring_align(n), spec.align),
                (field::vring_num(n), spec.num as u32),
                (field::vring_notify_id(n), notify_id(n)),
                (field::vring_pa(n), 0),
            ] {
                window.write_u32(t + offset, value).ok_or(TableError::TableOutsideWindow)?;
            }
        }
        window.barrier();
        Ok(())
    }

    /// The status byte the driver last wrote.
    pub fn status(&self, window: &impl Window) -> Result<u8, TableError> {
        window.read_u8(self.table + field::STATUS).ok_or(TableError::TableOutsideWindow)
    }

    /// Sets status bits (the device only ever sets NEEDS_RESET).
    pub fn set_status_bits(&self, window: &mut impl Window, bits: u8) -> Result<(), TableError> {
        let current = self.status(window)?;
        window.write_u8(self.table + field::STATUS, current | bits).ok_or(TableError::TableOutsideWindow)?;
        window.barrier();
        Ok(())
    }

    /// Once the driver is ready: the features it took (checked against the
    /// offer) and the two rings (checked to lie in the window, apart from the
    /// table and each other). The sizes and alignments are the device's own;
    /// only the addresses may come from the driver.
    pub fn negotiated(&self, window: &impl Window) -> Result<(u32, [Vring; 2]), TableError> {
        let t = self.table;
        let features = window.read_u32(t + field::DRIVER_FEATURES).ok_or(TableError::TableOutsideWindow)?;
        if features & !self.features != 0 {
            return Err(TableError::UnofferedFeatures(features));
        }
        let mut rings = [Vring { desc: 0, avail: 0, used: 0, num: 0 }; 2];
        for (n, spec) in (0u32..).zip(self.vrings) {
            let da = window.read_u32(t + field::vring_da(n)).ok_or(TableError::TableOutsideWindow)?;
            let ring = da
                .checked_sub(self.local_base)
                .and_then(|offset| Vring::at(offset, spec.num, spec.align, self.size))
                .ok_or(TableError::BadRing(da))?;
            let overlaps_table = ring.desc < t + SIZE && t < ring.end();
            if overlaps_table {
                return Err(TableError::BadRing(da));
            }
            rings[n as usize] = ring;
        }
        let [a, b] = rings;
        if a.desc < b.end() && b.desc < a.end() {
            return Err(TableError::BadRing(b.desc.wrapping_add(self.local_base)));
        }
        Ok((features, rings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::SliceWindow;

    const LAYOUT: LinkLayout = LinkLayout {
        local_base: 0x2000_0000,
        size: 0x10000,
        remote_base: 0x8000_0000,
        table: 0,
        pool: 0x4000,
        vrings: [
            VringSpec { da: 0x2000_1000, align: 0x1000, num: 16 },
            VringSpec { da: 0x2000_3000, align: 0x1000, num: 16 },
        ],
        features: 1,
    };

    #[test]
    fn the_table_has_the_published_byte_layout() {
        let mut bytes = vec![0u8; 0x10000];
        let mut w = SliceWindow::new(&mut bytes);
        LAYOUT.write_table(&mut w).unwrap();
        let words: Vec<u32> =
            w.bytes()[..SIZE as usize].chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
        #[rustfmt::skip]
        let expected = [
            1, 1, 0, 0, 20,                      // header, offset[0]
            3, 7, 2, 1, 0, 0, 0x0200,            // vdev: type id notifyid dfeatures gfeatures config_len status|num_of_vrings
            0x2000_1000, 0x1000, 16, 0, 0,       // vring 0: da align num notifyid pa
            0x2000_3000, 0x1000, 16, 1, 0,       // vring 1
        ];
        assert_eq!(words, expected);
        assert_eq!(SIZE, 88);
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever the layout, the table's notify ids are all distinct.
        #[test]
        fn notify_ids_are_distinct(
            table in (0u32..0x100).prop_map(|t| t * 8),
            nums in (1u32..=15, 1u32..=15),
            aligns in (2u32..=12, 2u32..=12),
            features in any::<u32>(),
        ) {
            let layout = LinkLayout {
                table,
                vrings: [
                    VringSpec { da: 0x2000_4000, align: 1 << aligns.0, num: 1 << nums.0 },
                    VringSpec { da: ADDR_ANY, align: 1 << aligns.1, num: 1 << nums.1 },
                ],
                features,
                ..LAYOUT
            };
            let mut bytes = vec![0u8; 0x1000];
            let mut w = SliceWindow::new(&mut bytes);
            layout.write_table(&mut w).unwrap();
            let ids = [field::NOTIFY_ID, field::vring_notify_id(0), field::vring_notify_id(1)]
                .map(|at| w.read_u32(table + at).unwrap());
            prop_assert!(ids[0] != ids[1] && ids[0] != ids[2] && ids[1] != ids[2], "{ids:?}");
        }
    }

    #[test]
    fn what_the_driver_writes_back_is_checked() {
        let mut bytes = vec![0u8; 0x10000];
        let mut w = SliceWindow::new(&mut bytes);
        LAYOUT.write_table(&mut w).unwrap();
        w.write_u32(field::DRIVER_FEATURES, 1).unwrap();
        let (features, rings) = LAYOUT.negotiated(&w).unwrap();
        assert_eq!((features, rings[0].desc, rings[1].desc), (1, 0x1000, 0x3000));

        w.write_u32(field::DRIVER_FEATURES, 1 << 29).unwrap();
        assert_eq!(LAYOUT.negotiated(&w), Err(TableError::UnofferedFeatures(1 << 29)));
        w.write_u32(field::DRIVER_FEATURES, 1).unwrap();
        for bad in [0x1000_0000, 0x2000_0000, 0x2000_3000, 0x2000_1800, 0x2000_F000, ADDR_ANY] {
            w.write_u32(field::vring_da(0), bad).unwrap();
            assert_eq!(LAYOUT.negotiated(&w), Err(TableError::BadRing(bad)), "{bad:#x}");
        }
    }

    #[test]
    fn needs_reset_is_or_ed_into_the_status() {
        let mut bytes = vec![0u8; 0x1000];
        let mut w = SliceWindow::new(&mut bytes);
        LAYOUT.write_table(&mut w).unwrap();
        w.write_u8(field::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK).unwrap();
        LAYOUT.set_status_bits(&mut w, status::NEEDS_RESET).unwrap();
        assert_eq!(LAYOUT.status(&w), Ok(0x47));
        assert_eq!(w.read_u8(field::NUM_VRINGS), Some(2), "the neighbouring byte is untouched");
    }
}
