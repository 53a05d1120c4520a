//! `[[shared]]`: memory several partitions map, declared once.
//!
//! Owns the checks of each shared region and their messages: its name
//! (well-formed, unique), its `memory_type` and memory, and its `access`
//! table (at least one partition, each a known partition mapping it `r` or
//! `rw`). It requests the region for placement, writable when anyone maps
//! it `rw`, and gives each partition in `access` its claim on it.
//!
//! A channel's window is a shared region too: `channels` requests it
//! through [`push_region`], so it is placed, mapped and made shareable
//! across cores exactly like a `[[shared]]` region, and shares their names.
//!
//! It must never place the region or check overlaps (`placement` does);
//! a shared region is the only way two partitions may map the same memory,
//! so it must never be claimed by a partition not named in its `access`
//! (or, for a channel's window, as its writer or one of its readers).

use super::placement::{self, Claim, Request, Requests};
use super::{Checker, PartitionNames, valid_name};
use crate::model::*;
use crate::raw;
use bulkhead_mpu::MemoryType;

/// A shared region waiting to be placed.
pub(super) struct SharedRequest {
    /// Index into [`Requests::list`].
    pub request: usize,
    /// Its name.
    name: String,
    /// The channel (index in description order) whose window it is.
    channel: Option<usize>,
}

/// A shared region to request: where it goes and who maps it how.
pub(super) struct Region {
    /// Its request (placement facts, `writable` when anyone maps it `rw`).
    pub request: Request,
    /// Its name, in every partition that maps it.
    pub name: String,
    /// Its memory type.
    pub memory_type: MemoryType,
    /// Partitions (indexes in file order) that map it, and how.
    pub users: Vec<(usize, Access)>,
    /// The channel whose window it is.
    pub channel: Option<usize>,
}

/// Requests `region` and gives each of its users a claim on it; returns its
/// index among the shared regions (its [`RegionKind::Shared`]).
pub(super) fn push_region(requests: &mut Requests, shared_requests: &mut Vec<SharedRequest>, region: Region) -> usize {
    let request = requests.push(region.request);
    let shared_index = shared_requests.len();
    shared_requests.push(SharedRequest { request, name: region.name.clone(), channel: region.channel });
    for (partition, access) in region.users {
        requests.claims[partition].push(Claim {
            request,
            kind: RegionKind::Shared(shared_index),
            name: region.name.clone(),
            access,
            memory_type: region.memory_type,
            noinit: false,
        });
    }
    shared_index
}

/// Requests every shared region and gives the partitions that map it their
/// claims on it.
pub(super) fn request(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    names: &PartitionNames,
    requests: &mut Requests,
) -> Vec<SharedRequest> {
    let mut shared_requests = Vec::new();
    let mut shared_names: Vec<String> = Vec::new();
    for shared in &file.shared {
        let s = shared.get_ref();
        let sname = s.name.get_ref();
        let key = format!("shared.{sname}");
        if !valid_name(sname) {
            checker.at(format!("{key}.name"), &s.name, "a shared region name is lower-case letters, digits and '-'");
        } else if shared_names.contains(sname) {
            checker.at(format!("{key}.name"), &s.name, format!("a shared region named `{sname}` already exists"));
        }
        shared_names.push(sname.clone());
        let Some(memory_type) = placement::parse_memory_type(checker, &key, &s.memory_type) else { continue };
        let Some(memory) = placement::memory_index(checker, board, &key, &s.memory) else { continue };
        if s.access.is_empty() {
            checker.at(format!("{key}.access"), shared, "a shared region needs at least one partition in `access`");
        }
        let mut users = Vec::new();
        for (partition, access) in &s.access {
            let Some(index) = names.resolve(checker, format!("{key}.access.{}", partition.get_ref()), partition) else {
                continue;
            };
            let parsed = match access.get_ref().as_str() {
                "r" | "rw" => Access::parse(access.get_ref()),
                _ => None,
            };
            let Some(parsed) = parsed else {
                checker.at(
                    format!("{key}.access.{}", partition.get_ref()),
                    access,
                    format!("`{}` is not a shared access (write r or rw)", access.get_ref()),
                );
                continue;
            };
            users.push((index, parsed));
        }
        let request = Request {
            key: key.clone(),
            span: shared.span(),
            base: s.base.as_ref().map(|b| *b.get_ref()),
            size: s.size.get_ref().0,
            memory,
            want_flash: false,
            writable: s.access.values().any(|access| access.get_ref() == "rw"),
            size_key: None,
        };
        push_region(
            requests,
            &mut shared_requests,
            Region { request, name: sname.clone(), memory_type, users, channel: None },
        );
    }
    shared_requests
}

/// The shared regions of the model, once placed.
pub(super) fn placed(shared_requests: &[SharedRequest], placed: &[Option<Span>]) -> Vec<SharedRegion> {
    shared_requests
        .iter()
        .filter_map(|shared| {
            placed[shared.request].map(|span| SharedRegion { name: shared.name.clone(), span, channel: shared.channel })
        })
        .collect()
}
