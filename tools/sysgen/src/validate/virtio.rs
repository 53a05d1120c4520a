//! `[[virtio]]`: VIRTIO rpmsg links between a partition and another
//! processor.
//!
//! Owns the checks of each link and their messages: its name (well-formed,
//! unique, not one of its partition's regions), its partition, its window
//! (a memory or a base, RAM both processors reach), the resource table and
//! vrings that must fit the window with the driver's buffers, its services
//! and its mailbox (a driver, devices and an interrupt the partition owns).
//! It requests the window for placement and gives the partition its claim
//! on it, read/write and non-cacheable.
//!
//! It must never give a partition a device or an interrupt (the mailbox
//! must name ones `devices` gave it), and never place the window itself.

use super::placement::{self, Claim, Request, Requests};
use super::{Checker, PartitionNames, suggest, valid_name};
use crate::model::*;
use crate::raw;
use bulkhead_mpu::MemoryType;
use toml::Spanned;

/// A link's window waiting to be placed.
#[derive(Clone, Copy)]
pub(super) struct WindowRequest {
    /// Index into [`Requests::list`].
    request: usize,
    /// The partition that is the device.
    owner: usize,
}

/// VIRTIO windows: one region of the owning partition each. One entry per
/// link, `None` for a link whose window was not requested (reported).
pub(super) fn request_windows(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    names: &PartitionNames,
    requests: &mut Requests,
) -> Vec<Option<WindowRequest>> {
    let mut window_requests: Vec<Option<WindowRequest>> = Vec::new();
    let mut virtio_names: Vec<String> = Vec::new();
    for (link_index, link) in file.virtio.iter().enumerate() {
        let v = link.get_ref();
        let vname = v.name.get_ref();
        let key = format!("virtio.{vname}");
        window_requests.push(None);
        if !valid_name(vname) {
            checker.at(format!("{key}.name"), &v.name, "a link name is lower-case letters, digits and '-'");
        } else if virtio_names.contains(vname) {
            checker.at(format!("{key}.name"), &v.name, format!("a VIRTIO link named `{vname}` already exists"));
        }
        virtio_names.push(vname.clone());
        let Some(owner) = names.resolve(checker, format!("{key}.partition"), &v.partition) else {
            continue;
        };
        let owner_raw = file.partitions[owner].get_ref();
        if owner_raw.regions.iter().any(|r| r.get_ref().name.get_ref() == vname)
            || ["code", "data"].contains(&vname.as_str())
        {
            checker.at(
                format!("{key}.name"),
                &v.name,
                format!(
                    "partition `{}` already has a region `{vname}`; the window takes the link's name",
                    v.partition.get_ref()
                ),
            );
        }
        let window = v.window.get_ref();
        if window.memory.is_none() && window.base.is_none() {
            checker.at(
                format!("{key}.window"),
                &v.window,
                "a VIRTIO window needs a `memory` (one the other processor reaches) or a `base`",
            );
            continue;
        }
        let Some(memory) = placement::memory_index(checker, board, &format!("{key}.window"), &window.memory) else {
            continue;
        };
        let request = requests.push(Request {
            key: format!("{key}.window"),
            span: v.window.span(),
            base: window.base.as_ref().map(|b| *b.get_ref()),
            size: window.size.get_ref().0,
            memory,
            want_flash: false,
            // Written by both processors, but checked on its own in
            // `build_link`, with a reason that names the other processor.
            writable: false,
            size_key: None,
        });
        requests.claims[owner].push(Claim {
            request,
            kind: RegionKind::Virtio(link_index),
            name: vname.clone(),
            access: Access { read: true, write: true, execute: false },
            memory_type: MemoryType::NormalNonCacheable,
            noinit: false,
        });
        window_requests[link_index] = Some(WindowRequest { request, owner });
    }
    window_requests
}

/// VIRTIO links, once windows are placed and devices given.
pub(super) fn build_links(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    window_requests: &[Option<WindowRequest>],
    placed: &[Option<Span>],
    partitions: &[Partition],
) -> Vec<VirtioLink> {
    let mut virtio = Vec::new();
    for (link, window_request) in file.virtio.iter().zip(window_requests) {
        let Some(WindowRequest { request, owner }) = *window_request else { continue };
        let Some(window) = placed[request] else { continue };
        if let Some(built) = build_link(checker, board, link, owner, window, partitions) {
            virtio.push(built);
        }
    }
    virtio
}

/// The smallest driver buffer pool: Linux's `virtio_rpmsg_bus` allocates two
/// 512-byte buffers per ring entry, up to 512 buffers.
fn rpmsg_pool_bytes(num: u32) -> u64 {
    2 * num.min(256) as u64 * bulkhead_virtio::rpmsg::BUFFER_SIZE as u64
}

/// Checks the rest of a VIRTIO link once its window is placed and its
/// partition's devices are known.
fn build_link(
    checker: &mut Checker,
    board: &Board,
    link: &Spanned<raw::Virtio>,
    owner: usize,
    window: Span,
    partitions: &[Partition],
) -> Option<VirtioLink> {
    use bulkhead_virtio::resource_table;
    use bulkhead_virtio::vring::Vring;
    let v = link.get_ref();
    let key = format!("virtio.{}", v.name.get_ref());
    let partition = partitions.get(owner)?;
    let mut ok = true;

    if board
        .memories
        .iter()
        .any(|m| m.flash && m.base <= window.base as u64 && (window.limit() as u64) < m.base + m.size)
    {
        checker.at(
            format!("{key}.window.memory"),
            &v.window,
            "a VIRTIO window must be RAM both processors reach, not flash",
        );
        ok = false;
    }
    let remote_base = v.window.get_ref().remote_base.as_ref().map_or(window.base as u64, |b| *b.get_ref());

    // Resource table.
    let table = v.resource_table.as_ref().map_or(0, |t| t.get_ref().0);
    let table_end = table + resource_table::SIZE as u64;
    if !table.is_multiple_of(8) || table_end > window.size as u64 {
        let span = v.resource_table.as_ref().map_or(v.window.span(), |t| t.span());
        checker.problem(
            format!("{key}.resource_table"),
            format!(
                "the resource table ({} bytes) must start on an 8-byte boundary inside the {}-byte window",
                resource_table::SIZE,
                window.size
            ),
            Some(span),
        );
        return None;
    }
    let table = table as u32;

    // Rings.
    let vrings = v.vrings.get_ref();
    let num = *vrings.num.get_ref();
    let align = vrings.align.as_ref().map_or(4096, |a| a.get_ref().0);
    let ring_size = u16::try_from(num).ok().zip(u32::try_from(align).ok()).and_then(|(n, a)| Vring::size(n, a));
    let Some(ring_size) = ring_size.filter(|_| num >= 2 && align >= 4) else {
        checker.at(
            format!("{key}.vrings"),
            &v.vrings,
            format!("{num} entries aligned to {align} is not a vring: entries must be a power of two from 2 to 32768, the alignment a power of two of at least 4"),
        );
        return None;
    };
    let align = align as u32;
    let driver_places = match vrings.placement.as_ref().map(|p| p.get_ref().as_str()) {
        None | Some("device") => false,
        Some("driver") => true,
        Some(other) => {
            let value = vrings.placement.as_ref()?;
            checker.at(
                format!("{key}.vrings.placement"),
                value,
                format!("`{other}` is not a placement (write device or driver)"),
            );
            return None;
        }
    };
    let up = |value: u64, to: u64| value.div_ceil(to) * to;
    let (offsets, after_rings) = if driver_places {
        ([None, None], table_end)
    } else {
        let first = up(table_end, align as u64);
        let second = up(first + ring_size as u64, align as u64);
        ([Some(first as u32), Some(second as u32)], second + ring_size as u64)
    };
    let pool = up(after_rings, 64);
    let mut needed = rpmsg_pool_bytes(num);
    if driver_places {
        needed += 2 * (ring_size as u64 + align as u64);
    }
    if pool + needed > window.size as u64 {
        checker.at(
            format!("{key}.window.size"),
            &v.window,
            format!(
                "the window holds the table and rings up to offset {pool:#x} and leaves {} bytes, but the driver needs {needed} \
                 ({} rpmsg buffers of 512 bytes{}): make it at least {:#x} bytes",
                (window.size as u64).saturating_sub(pool),
                2 * num.min(256),
                if driver_places { " and both rings" } else { "" },
                pool + needed
            ),
        );
        ok = false;
    }
    let ring = |offset: Option<u32>| VringPlacement { offset, num: num as u16, align };

    // Services.
    let mut services: Vec<Service> = Vec::new();
    for (position, service) in v.services.iter().enumerate() {
        let s = service.get_ref();
        let skey = format!("{key}.services");
        let kind = match s.kind.get_ref().as_str() {
            "tty" => ServiceKind::Tty,
            "echo" => ServiceKind::Echo,
            other => {
                checker.at(
                    format!("{skey}.kind"),
                    &s.kind,
                    format!("no service kind `{other}`{}", suggest(other, ["tty", "echo"])),
                );
                ok = false;
                continue;
            }
        };
        let default_name = match kind {
            ServiceKind::Tty => "rpmsg-tty",
            ServiceKind::Echo => "rpmsg-client-sample",
        };
        let name = s.name.as_ref().map_or(default_name.to_owned(), |n| n.get_ref().clone());
        let address =
            s.address.as_ref().map_or(bulkhead_virtio::rpmsg::RESERVED_ADDRESSES + position as u32, |a| *a.get_ref());
        let at = s.name.as_ref().map_or(service.span(), |n| n.span());
        if name.is_empty() || name.len() >= bulkhead_virtio::rpmsg::NS_NAME_SIZE || !name.is_ascii() {
            checker.problem(
                format!("{skey}.name"),
                format!("`{name}` is not a service name: 1 to 31 ASCII characters"),
                Some(at),
            );
            ok = false;
        } else if services.iter().any(|other| other.name == name) {
            checker.problem(
                format!("{skey}.name"),
                format!("a service named `{name}` already exists on this link"),
                Some(at),
            );
            ok = false;
        }
        let at = s.address.as_ref().map_or(service.span(), |a| a.span());
        if address < bulkhead_virtio::rpmsg::RESERVED_ADDRESSES || address == u32::MAX {
            checker.problem(
                format!("{skey}.address"),
                format!("address {address} is reserved: use 1024 or above"),
                Some(at),
            );
            ok = false;
        } else if services.iter().any(|other| other.address == address) {
            checker.problem(
                format!("{skey}.address"),
                format!("address {address} is already a service's on this link"),
                Some(at),
            );
            ok = false;
        }
        services.push(Service { kind, name, address });
    }

    // Mailbox.
    let m = v.mailbox.get_ref();
    let driver = match m.driver.get_ref().as_str() {
        "uart" => MailboxDriver::Uart,
        "nxp-mru" => MailboxDriver::NxpMru,
        "arm-mhuv2" => MailboxDriver::ArmMhuv2,
        other => {
            checker.at(
                format!("{key}.mailbox.driver"),
                &m.driver,
                format!("no mailbox driver `{other}`{}", suggest(other, ["uart", "nxp-mru", "arm-mhuv2"])),
            );
            return None;
        }
    };
    let owned_device = |checker: &mut Checker, field: &str, name: &Spanned<String>| -> Option<usize> {
        let index = board.devices.iter().position(|d| &d.name == name.get_ref());
        let owned = index.filter(|i| partition.regions.iter().any(|r| r.kind == RegionKind::Device(*i)));
        if owned.is_none() {
            checker.at(
                format!("{key}.mailbox.{field}"),
                name,
                format!(
                    "`{}` is not one of partition `{}`'s devices: give it to the partition in its `devices`",
                    name.get_ref(),
                    partition.name
                ),
            );
        }
        owned
    };
    let device = owned_device(checker, "device", &m.device);
    let send_device = match &m.send_device {
        Some(name) => owned_device(checker, "send_device", name),
        None => device,
    };
    let (device, send_device) = (device?, send_device?);
    let channel = m.channel.as_ref().map_or(0, |c| *c.get_ref());
    let channels = match driver {
        MailboxDriver::Uart => 1,
        MailboxDriver::NxpMru => 12,
        MailboxDriver::ArmMhuv2 => 124,
    };
    if channel >= channels {
        let at = m.channel.as_ref().map_or(v.mailbox.span(), |c| c.span());
        checker.problem(
            format!("{key}.mailbox.channel"),
            format!("a `{}` mailbox has channels 0 to {}", driver.name(), channels - 1),
            Some(at),
        );
        ok = false;
    }
    let interrupt = match &m.interrupt {
        Some(interrupt) => *interrupt.get_ref(),
        None => match board.devices[device].interrupts.first() {
            Some(first) => *first,
            None => {
                checker.at(
                    format!("{key}.mailbox.interrupt"),
                    &m.device,
                    format!("device `{}` raises no interrupt; name one with `interrupt`", board.devices[device].name),
                );
                return None;
            }
        },
    };
    if !partition.interrupts.contains(&interrupt) {
        let at = m.interrupt.as_ref().map_or(v.mailbox.span(), |i| i.span());
        checker.problem(
            format!("{key}.mailbox.interrupt"),
            format!("interrupt {interrupt} is not partition `{}`'s", partition.name),
            Some(at),
        );
        ok = false;
    }

    ok.then(|| VirtioLink {
        name: v.name.get_ref().clone(),
        partition: owner,
        window,
        remote_base,
        table,
        vrings: [ring(offsets[0]), ring(offsets[1])],
        pool: pool as u32,
        services,
        mailbox: Mailbox { driver, device, send_device, channel, interrupt },
        demo: v.demo.as_ref().is_some_and(|d| *d.get_ref()),
    })
}
