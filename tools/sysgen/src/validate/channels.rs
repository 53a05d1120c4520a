//! `[[channel]]`: sampling and queuing ports from one writer partition to
//! reader partitions.
//!
//! Owns the checks of each channel and their messages: its name
//! (well-formed, unique among channels and `[[shared]]` regions, since its
//! window is a shared region of its name), its kind, writer and readers
//! (known partitions, at least one and at most
//! [`layout::MAX_READERS`] readers, none twice, not the writer), its
//! geometry (`message_size`, `depth` for queuing only, `refresh` for
//! sampling only, within `bulkhead_ports::layout`'s limits), whether its
//! window fits its memory, and the notify SGIs of its readers.
//!
//! A channel is desugared into a shared region ([`shared::push_region`]):
//! one window sized by `bulkhead_ports::layout` and rounded up to the MPU's
//! 64 bytes, always Normal memory in RAM (the kernel zeroes it at boot),
//! mapped `rw` by the writer and `r` by each reader. Placement, the MPU
//! regions, the cross-core shareability rule, linker scripts and the memory
//! map are thus those of any shared region.
//!
//! Notify SGIs: each reader of a channel with `notify = true` gets one SGI
//! for it, numbered per reader partition in description order of the
//! channels it reads with notify (the first gets SGI 0, the next 1, ...);
//! a partition has 16 (0 to 15). They are virtual only: `devices` counts
//! them among the partition's interrupts but routes and owns none.
//!
//! It must never place the window (`placement` does) nor give a partition
//! any memory but the window, and never give an SGI to anyone but a reader
//! of a channel that notifies.

use super::placement::{self, Request, Requests};
use super::shared::{self, SharedRequest};
use super::{Checker, PartitionNames, valid_name};
use crate::model::*;
use crate::raw;
use crate::units::human_size;
use bulkhead_kernel_core::schedule::ticks_from_nanos;
use bulkhead_mpu::GRANULE;
use bulkhead_ports::layout;

/// SGIs a partition has: 0 to 15.
const SGIS: u32 = bulkhead_kernel_core::vgic::FIRST_PPI as u32;

/// A channel whose window waits to be placed.
pub(super) struct ChannelRequest {
    /// Index into [`Requests::list`].
    request: usize,
    /// The channel as it will be, but for its window.
    channel: Channel,
}

/// What the channels give each partition (indexed in file order).
pub(super) struct PartitionChannels {
    /// The notify SGIs each partition reads channels with, in allocation
    /// order (0, 1, ...); `health` appends the monitor's notify SGI to the
    /// monitor's.
    pub notify: Vec<Vec<u32>>,
    /// The channel windows each partition maps: the request of each and
    /// its channel's name, in description order.
    pub windows: Vec<Vec<(usize, String)>>,
}

/// What [`request`] found.
pub(super) struct Requested {
    /// One entry per channel that was requested, in description order.
    pub channels: Vec<ChannelRequest>,
    /// Per partition.
    pub partitions: PartitionChannels,
}

/// Checks every channel, requests its window as a shared region and gives
/// its writer and readers their claims; allocates the readers' notify SGIs.
pub(super) fn request(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    names: &PartitionNames,
    requests: &mut Requests,
    shared_requests: &mut Vec<SharedRequest>,
) -> Requested {
    let count = file.partitions.len();
    let mut partitions = PartitionChannels { notify: vec![Vec::new(); count], windows: vec![Vec::new(); count] };
    let mut channels = Vec::new();
    let mut channel_names: Vec<&str> = Vec::new();
    for (index, spanned) in file.channels.iter().enumerate() {
        let c = spanned.get_ref();
        let cname = c.name.get_ref();
        let key = format!("channel.{cname}");
        if !valid_name(cname) {
            checker.at(
                format!("{key}.name"),
                &c.name,
                "a channel name is lower-case letters, digits and '-', starting with a letter, at most 24 long",
            );
        } else if channel_names.contains(&cname.as_str()) {
            checker.at(format!("{key}.name"), &c.name, format!("a channel named `{cname}` already exists"));
        } else if file.shared.iter().any(|s| s.get_ref().name.get_ref() == cname) {
            checker.at(
                format!("{key}.name"),
                &c.name,
                format!(
                    "a [[shared]] region named `{cname}` already exists; a channel's window is a shared region \
                     of the channel's name"
                ),
            );
        }
        channel_names.push(cname);

        let kind_name = c.kind.get_ref().as_str();
        let mut ok = true;
        let kind = match kind_name {
            "sampling" => {
                if let Some(depth) = &c.depth {
                    checker.at(
                        format!("{key}.depth"),
                        depth,
                        "a sampling channel holds the latest message only: `depth` is for queuing channels",
                    );
                    ok = false;
                }
                Some(ChannelKind::Sampling)
            }
            "queuing" => {
                if let Some(refresh) = &c.refresh {
                    checker.at(
                        format!("{key}.refresh"),
                        refresh,
                        "`refresh` is for sampling channels: a queued message is never stale",
                    );
                    ok = false;
                }
                match &c.depth {
                    None => {
                        checker.at(
                            format!("{key}.depth"),
                            spanned,
                            format!(
                                "a queuing channel needs a `depth`: the messages each reader's queue holds, \
                                 1 to {}",
                                layout::MAX_DEPTH
                            ),
                        );
                        None
                    }
                    Some(depth) if *depth.get_ref() == 0 || *depth.get_ref() > layout::MAX_DEPTH => {
                        checker.at(
                            format!("{key}.depth"),
                            depth,
                            format!("depth {} is not 1 to {}", depth.get_ref(), layout::MAX_DEPTH),
                        );
                        None
                    }
                    Some(depth) => Some(ChannelKind::Queuing { depth: *depth.get_ref() }),
                }
            }
            other => {
                checker.at(
                    format!("{key}.kind"),
                    &c.kind,
                    format!("`{other}` is not a channel kind (write sampling or queuing)"),
                );
                None
            }
        };
        let message_size = c.message_size.get_ref().0;
        if message_size == 0 || message_size > layout::MAX_MESSAGE_SIZE as u64 {
            checker.at(
                format!("{key}.message_size"),
                &c.message_size,
                format!("message_size {message_size} is not 1 to {} bytes", layout::MAX_MESSAGE_SIZE),
            );
            ok = false;
        }
        let refresh = match (&c.refresh, kind) {
            (Some(refresh), Some(ChannelKind::Sampling)) => {
                let nanos = refresh.get_ref().0;
                let ticks = ticks_from_nanos(nanos, board.timer_hz).filter(|ticks| *ticks > 0);
                if ticks.is_none() {
                    checker.at(
                        format!("{key}.refresh"),
                        refresh,
                        format!("{nanos} ns is not a whole, non-zero number of timer ticks at {} Hz", board.timer_hz),
                    );
                    ok = false;
                }
                ticks
            }
            _ => None,
        };

        let writer = names.resolve(checker, format!("{key}.writer"), &c.writer);
        let readers_key = format!("{key}.readers");
        let listed = c.readers.get_ref();
        if listed.is_empty() {
            checker.at(&readers_key, &c.readers, "a channel needs at least one reader");
            ok = false;
        } else if listed.len() > layout::MAX_READERS as usize {
            checker.at(
                &readers_key,
                &c.readers,
                format!("{} readers, and a channel has at most {}", listed.len(), layout::MAX_READERS),
            );
            ok = false;
        }
        let mut readers: Vec<usize> = Vec::new();
        for reader in listed {
            let Some(partition) = names.resolve(checker, readers_key.clone(), reader) else {
                ok = false;
                continue;
            };
            if Some(partition) == writer {
                checker.at(
                    &readers_key,
                    reader,
                    format!("`{}` is the channel's writer; a writer does not read its own channel", reader.get_ref()),
                );
                ok = false;
            } else if readers.contains(&partition) {
                checker.at(&readers_key, reader, format!("`{}` is listed twice", reader.get_ref()));
                ok = false;
            } else {
                readers.push(partition);
            }
        }

        let Some(memory_type) = placement::parse_memory_type(checker, &key, &c.memory_type) else { continue };
        let Some(memory) = placement::memory_index(checker, board, &key, &c.memory) else { continue };
        let (Some(kind), Some(writer), true) = (kind, writer, ok) else { continue };
        let message_size = message_size as u32;
        let reader_count = readers.len() as u32;
        let geometry = match kind {
            ChannelKind::Sampling => layout::check_sampling(message_size, reader_count),
            ChannelKind::Queuing { depth } => layout::check_queuing(message_size, depth, reader_count),
        };
        debug_assert_eq!(geometry, Ok(()), "checked key by key above");
        let size = match kind {
            ChannelKind::Sampling => layout::sampling_window_size(message_size),
            ChannelKind::Queuing { depth } => layout::queuing_window_size(message_size, depth, reader_count),
        };
        let window = (size as u64).next_multiple_of(GRANULE as u64);
        // The memory it goes to when placed automatically (a fixed base is
        // checked against its memory by `placement`).
        let bank = match (c.base.as_ref(), memory) {
            (Some(_), _) => None,
            (None, Some(memory)) => Some(&board.memories[memory]),
            (None, None) => board.memories.iter().find(|m| !m.flash),
        };
        if let Some(bank) = bank
            && window > bank.size
        {
            checker.at(
                &key,
                spanned,
                format!(
                    "the window needs {window} bytes ({}) but memory `{}` holds {}",
                    derivation(kind, message_size, reader_count),
                    bank.name,
                    human_size(bank.size)
                ),
            );
            continue;
        }

        let notify = c.notify.as_ref().is_some_and(|n| *n.get_ref());
        let mut channel_readers = Vec::new();
        for &partition in &readers {
            let sgi = if notify {
                let taken = &mut partitions.notify[partition];
                if taken.len() as u32 >= SGIS {
                    let at = c.notify.as_ref().expect("notify is set");
                    checker.at(
                        format!("{key}.notify"),
                        at,
                        format!(
                            "partition `{}` would need a {}th notify SGI for channel `{cname}`: a partition has {SGIS} \
                             (SGIs 0 to {}), one for each channel it reads with `notify = true`",
                            names.declared[partition],
                            taken.len() + 1,
                            SGIS - 1
                        ),
                    );
                    None
                } else {
                    let sgi = taken.len() as u32;
                    taken.push(sgi);
                    Some(sgi)
                }
            } else {
                None
            };
            channel_readers.push(ChannelReader { partition, notify: sgi });
        }

        let request = Request {
            key: key.clone(),
            span: spanned.span(),
            base: c.base.as_ref().map(|b| *b.get_ref()),
            size: window,
            memory,
            want_flash: false,
            // The writer writes it, and the kernel zeroes it at boot.
            writable: true,
            size_key: Some(key.clone()),
        };
        let mut users = vec![(writer, Access { read: true, write: true, execute: false })];
        users.extend(readers.iter().map(|&r| (r, Access { read: true, write: false, execute: false })));
        let request_index = requests.list.len();
        for &(partition, _) in &users {
            partitions.windows[partition].push((request_index, cname.clone()));
        }
        let shared = shared::push_region(
            requests,
            shared_requests,
            shared::Region { request, name: cname.clone(), memory_type, users, channel: Some(index) },
        );
        channels.push(ChannelRequest {
            request: request_index,
            channel: Channel {
                name: cname.clone(),
                kind,
                message_size,
                refresh,
                notify,
                writer,
                readers: channel_readers,
                window: Span { base: 0, size: window as u32 },
                size,
                shared,
            },
        });
    }
    Requested { channels, partitions }
}

/// How a window's size comes about, for messages.
fn derivation(kind: ChannelKind, message_size: u32, readers: u32) -> String {
    match kind {
        ChannelKind::Sampling => format!(
            "a {}-byte header and 2 slots of {} bytes for {message_size}-byte messages",
            layout::HEADER_SIZE,
            layout::sampling_slot_stride(message_size)
        ),
        ChannelKind::Queuing { depth } => format!(
            "a {}-byte header and {} of {} bytes, each {depth} slots of {} bytes for {message_size}-byte messages",
            layout::HEADER_SIZE,
            if readers == 1 { "1 reader's queue".to_owned() } else { format!("{readers} readers' queues") },
            layout::ring_stride(message_size, depth),
            layout::queue_slot_stride(message_size)
        ),
    }
}

/// The channels of the model, once their windows are placed; in
/// description order, so a channel's index is its id.
pub(super) fn build(requested: Vec<ChannelRequest>, placed: &[Option<Span>]) -> Vec<Channel> {
    requested
        .into_iter()
        .filter_map(|request| {
            let window = placed[request.request]?;
            Some(Channel { window, ..request.channel })
        })
        .collect()
}
