//! `[[shared]]`: memory several partitions map, declared once.
//!
//! Owns the checks of each shared region and their messages: its name
//! (well-formed, unique), its `memory_type` and memory, and its `access`
//! table (at least one partition, each a known partition mapping it `r` or
//! `rw`). It requests the region for placement, writable when anyone maps
//! it `rw`, and gives each partition in `access` its claim on it.
//!
//! It must never place the region or check overlaps (`placement` does);
//! a shared region is the only way two partitions may map the same memory,
//! so it must never be claimed by a partition not named in its `access`.

use super::placement::{self, Claim, Request, Requests};
use super::{Checker, PartitionNames, valid_name};
use crate::model::*;
use crate::raw;

/// A shared region waiting to be placed.
pub(super) struct SharedRequest {
    /// Index into [`Requests::list`].
    request: usize,
    /// Its name.
    name: String,
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
        let request = requests.push(Request {
            key: key.clone(),
            span: shared.span(),
            base: s.base.as_ref().map(|b| *b.get_ref()),
            size: s.size.get_ref().0,
            memory,
            want_flash: false,
            writable: s.access.values().any(|access| access.get_ref() == "rw"),
        });
        let shared_index = shared_requests.len();
        shared_requests.push(SharedRequest { request, name: sname.clone() });
        if s.access.is_empty() {
            checker.at(format!("{key}.access"), shared, "a shared region needs at least one partition in `access`");
        }
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
            requests.claims[index].push(Claim {
                request,
                kind: RegionKind::Shared(shared_index),
                name: sname.clone(),
                access: parsed,
                memory_type,
            });
        }
    }
    shared_requests
}

/// The shared regions of the model, once placed.
pub(super) fn placed(shared_requests: &[SharedRequest], placed: &[Option<Span>]) -> Vec<SharedRegion> {
    shared_requests
        .iter()
        .filter_map(|shared| placed[shared.request].map(|span| SharedRegion { name: shared.name.clone(), span }))
        .collect()
}
