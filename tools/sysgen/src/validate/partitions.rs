//! `[[partition]]`: names, regions, stacks, core, image and MPU budget.
//!
//! Owns the checks of each partition's own keys and their messages: its
//! name (well-formed, unique), its code, data and further regions as
//! requests for placement (region names, `access`, `memory_type`, memory),
//! its stacks (multiples of 8 that fit the data region), its image (a crate name, or a prebuilt ELF's path and `build` command), and
//! the EL2 MPU budget of its merged regions (naming the channel whose
//! window goes over it, when one does). It builds every
//! [`Partition`] of the model on the core `schedule` decided, calling on
//! `devices` for the devices and interrupts it is given, and maps memory
//! claimed from more than one core shareable ([`cross_core_requests`]).
//!
//! It must never place a region or check overlaps (that is `placement`),
//! nor decide who owns a device or an interrupt (that is `devices`), nor run
//! a prebuilt image's `build` or read its file: validation reads only the
//! description and its board ([`crate::prebuilt`] does that when building).

use super::channels::PartitionChannels;
use super::placement::{self, Claim, Request, Requests};
use super::{Checker, PartitionNames, devices, valid_name};
use crate::model::*;
use crate::raw;
use bulkhead_kernel_core::tables::{HealthDesc, KERNEL_REGION_SLOTS};
use bulkhead_mpu::{MemoryType, Region, Shareability};
use std::collections::{HashMap, HashSet};
use toml::Spanned;

/// Default main stack.
const DEFAULT_STACK: u64 = 4096;
/// Default stack of each exception mode.
const DEFAULT_EXCEPTION_STACK: u64 = 512;
/// FIQ stack (partitions get no FIQs).
pub const FIQ_STACK: u32 = 64;

fn valid_crate_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Where partition `pname`'s image comes from. A prebuilt ELF's file is not
/// read here: its `build` may make it, so a missing file is reported when
/// images are read ([`crate::prebuilt`]).
fn image_source(checker: &mut Checker, pname: &str, image: &Spanned<raw::Image>) -> ImageSource {
    match image.get_ref() {
        raw::Image::Crate(name) => {
            if !valid_crate_name(name) {
                checker.at(
                    format!("partition.{pname}.image"),
                    image,
                    "an image is a crate name (letters, digits, '-' and '_'), or a prebuilt ELF as \
                     { elf = \"PATH\", build = \"COMMAND\" }",
                );
            }
            ImageSource::Crate(name.clone())
        }
        raw::Image::Elf(elf) => {
            if elf.elf.get_ref().trim().is_empty() {
                checker.at(
                    format!("partition.{pname}.image.elf"),
                    &elf.elf,
                    "the path of a prebuilt ELF is empty: write the file's path, relative to this description",
                );
            }
            if let Some(build) = &elf.build
                && build.get_ref().trim().is_empty()
            {
                checker.at(
                    format!("partition.{pname}.image.build"),
                    build,
                    "`build` is an empty command: write the shell command that makes the ELF, or leave `build` out",
                );
            }
            ImageSource::Elf {
                path: description_directory(&checker.file).join(elf.elf.get_ref()),
                build: elf.build.as_ref().map(|build| build.get_ref().clone()),
            }
        }
    }
}

/// Partition names first, so everything else can refer to them.
pub(super) fn names(checker: &mut Checker, file: &raw::SystemFile) -> PartitionNames {
    let mut accepted: HashMap<String, usize> = HashMap::new();
    for (index, partition) in file.partitions.iter().enumerate() {
        let raw = partition.get_ref();
        let name = raw.name.get_ref();
        if !valid_name(name) {
            checker.at(
                format!("partition[{index}].name"),
                &raw.name,
                "a partition name is lower-case letters, digits and '-', starting with a letter, at most 24 long",
            );
        } else if accepted.contains_key(name) {
            checker.at(
                format!("partition.{name}.name"),
                &raw.name,
                format!("a partition named `{name}` already exists"),
            );
        } else {
            accepted.insert(name.clone(), index);
        }
    }
    if file.partitions.is_empty() {
        checker.problem("partition", "the system has no partitions", None);
    }
    let declared = file.partitions.iter().map(|p| p.get_ref().name.get_ref().clone()).collect();
    PartitionNames { accepted, declared }
}

/// Requests every partition's code, data and further regions, and gives
/// each partition its claims (one list per partition, in file order).
pub(super) fn request_regions(checker: &mut Checker, file: &raw::SystemFile, board: &Board, requests: &mut Requests) {
    for partition in &file.partitions {
        let raw = partition.get_ref();
        let pname = raw.name.get_ref();
        let mut claims = Vec::new();
        for (role, placement, kind, access) in [
            ("code", &raw.code, RegionKind::Code, Access { read: true, write: false, execute: true }),
            ("data", &raw.data, RegionKind::Data, Access { read: true, write: true, execute: false }),
        ] {
            let key = format!("partition.{pname}.{role}");
            let Some(memory) = placement::memory_index(checker, board, &key, &placement.get_ref().memory) else {
                continue;
            };
            let request = requests.push(Request {
                key,
                span: placement.span(),
                base: placement.get_ref().base.as_ref().map(|b| *b.get_ref()),
                size: placement.get_ref().size.get_ref().0,
                memory,
                want_flash: kind == RegionKind::Code,
                writable: access.write,
                size_key: None,
            });
            claims.push(Claim {
                request,
                kind,
                name: role.to_owned(),
                access,
                memory_type: MemoryType::Normal,
                noinit: false,
            });
        }
        let mut seen = vec!["code".to_owned(), "data".to_owned()];
        for region in &raw.regions {
            let r = region.get_ref();
            let rname = r.name.get_ref();
            let key = format!("partition.{pname}.regions.{rname}");
            if !valid_name(rname) {
                checker.at(format!("{key}.name"), &r.name, "a region name is lower-case letters, digits and '-'");
            } else if seen.contains(rname) {
                checker.at(
                    format!("{key}.name"),
                    &r.name,
                    format!("partition `{pname}` already has a region `{rname}`"),
                );
            }
            seen.push(rname.clone());
            let Some(access) = Access::parse(r.access.get_ref()) else {
                checker.at(
                    format!("{key}.access"),
                    &r.access,
                    format!("`{}` is not an access (write r, rw, rx or rwx)", r.access.get_ref()),
                );
                continue;
            };
            let Some(memory_type) = placement::parse_memory_type(checker, &key, &r.memory_type) else { continue };
            let Some(memory) = placement::memory_index(checker, board, &key, &r.memory) else { continue };
            let request = requests.push(Request {
                key: key.clone(),
                span: region.span(),
                base: r.base.as_ref().map(|b| *b.get_ref()),
                size: r.size.get_ref().0,
                memory,
                want_flash: false,
                writable: access.write,
                size_key: None,
            });
            let noinit = r.noinit.as_ref().is_some_and(|n| *n.get_ref());
            if let Some(value) = &r.noinit
                && *value.get_ref()
                && !access.write
            {
                checker.at(
                    format!("{key}.noinit"),
                    value,
                    format!(
                        "`noinit` keeps a writable region's contents across a warm restart, but region `{rname}` is \
                         `{}`: no restart writes it",
                        access.name()
                    ),
                );
            }
            claims.push(Claim { request, kind: RegionKind::Private, name: rname.clone(), access, memory_type, noinit });
        }
        requests.claims.push(claims);
    }
}

/// Builds every partition from its placed regions, its devices and
/// interrupts, its channels' notify SGIs and its own keys, partition `p` on
/// core `cores[p]` with health configuration `health[p]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    kernel: &Kernel,
    names: &PartitionNames,
    requests: &Requests,
    placed: &[Option<Span>],
    cores: &[u32],
    channels: &PartitionChannels,
    health: &[HealthDesc],
) -> Vec<Partition> {
    let mut partitions = Vec::new();
    let mut owners = devices::Owners::default();
    let cross_core = cross_core_requests(&requests.claims, cores);
    for (index, partition) in file.partitions.iter().enumerate() {
        let raw = partition.get_ref();
        let pname = raw.name.get_ref().clone();
        let core = cores[index];
        let mut regions = Vec::new();
        // Positions in `regions` of its channel windows, with the channel.
        let mut windows = Vec::new();
        for claim in &requests.claims[index] {
            if let Some(span) = placed[claim.request] {
                if let Some((_, channel)) =
                    channels.windows[index].iter().find(|(request, _)| *request == claim.request)
                {
                    windows.push((regions.len(), channel.clone()));
                }
                regions.push(PartitionRegion {
                    name: claim.name.clone(),
                    kind: claim.kind.clone(),
                    span,
                    access: claim.access,
                    memory_type: claim.memory_type,
                    shareability: if cross_core.contains(&claim.request) {
                        Shareability::OuterShareable
                    } else {
                        Shareability::NonShareable
                    },
                    noinit: claim.noinit,
                });
            }
        }
        let given =
            devices::give(checker, board, kernel, names, index, core, raw, &channels.notify[index], &mut owners);
        regions.extend(given.regions);
        let interrupts = given.interrupts;
        let stack = raw.stack_size.as_ref().map_or(DEFAULT_STACK, |s| s.get_ref().0);
        let exception_stack = raw.exception_stack_size.as_ref().map_or(DEFAULT_EXCEPTION_STACK, |s| s.get_ref().0);
        for (key, value) in [("stack_size", &raw.stack_size), ("exception_stack_size", &raw.exception_stack_size)] {
            if let Some(value) = value
                && (value.get_ref().0 % 8 != 0 || value.get_ref().0 == 0)
            {
                checker.at(
                    format!("partition.{pname}.{key}"),
                    value,
                    "a stack size must be a non-zero multiple of 8 bytes",
                );
            }
        }
        let stacks = stack + 4 * exception_stack + FIQ_STACK as u64;
        let data_size = raw.data.get_ref().size.get_ref().0;
        if stacks > data_size {
            checker.at(
                format!("partition.{pname}.stack_size"),
                raw.stack_size.as_ref().map_or(&raw.name, |_| &raw.name),
                format!("stacks need {stacks} bytes but the data region holds {data_size}"),
            );
        }
        let image = image_source(checker, &pname, &raw.image);
        let mpu_regions = merge_mpu_regions(&regions);
        let budget = board.el2_mpu_regions as usize - KERNEL_REGION_SLOTS.min(board.el2_mpu_regions as usize);
        if mpu_regions.len() > budget {
            let culprit = match over_budget_channel(&regions, &windows, budget) {
                Some(channel) => format!(" (the window of channel `{channel}` is the region that does not fit)"),
                None => String::new(),
            };
            checker.at(
                format!("partition.{pname}"),
                &raw.name,
                format!(
                    "needs {} EL2 MPU regions but board `{}` leaves {budget} per partition on core {core} ({} in all, {} kept by \
                     the kernel); place regions next to each other so they merge, or use fewer{culprit}",
                    mpu_regions.len(),
                    board.name,
                    board.el2_mpu_regions,
                    KERNEL_REGION_SLOTS
                ),
            );
        }
        devices::check_own_frames_apart(checker, &pname, raw, &regions);
        partitions.push(Partition {
            name: pname,
            image,
            health: health[index],
            stack_size: stack as u32,
            exception_stack_size: exception_stack as u32,
            regions,
            interrupts,
            core,
            mpu_regions,
        });
    }
    partitions
}

/// When a partition's regions fit the MPU budget without its channel
/// windows but not with them: the channel whose window, added in
/// description order, is the first that does not fit. `windows` are the
/// positions in `regions` of its channel windows, with their channels'
/// names.
fn over_budget_channel(regions: &[PartitionRegion], windows: &[(usize, String)], budget: usize) -> Option<String> {
    let mut kept: Vec<PartitionRegion> = regions
        .iter()
        .enumerate()
        .filter(|(position, _)| !windows.iter().any(|(window, _)| window == position))
        .map(|(_, region)| region.clone())
        .collect();
    if merge_mpu_regions(&kept).len() > budget {
        return None;
    }
    for (position, channel) in windows {
        kept.push(regions[*position].clone());
        if merge_mpu_regions(&kept).len() > budget {
            return Some(channel.clone());
        }
    }
    None
}

/// The requests (indexes into [`Requests::list`]) that partitions on more
/// than one core claim: `claims[p]` are partition `p`'s, `cores[p]` its
/// core. Their regions are mapped shareable in every partition: the
/// Cortex-R52's L1 data caches are not coherent between cores, and the R52
/// does not cache Normal memory marked shareable, so two cores see each
/// other's writes without cache maintenance. Memory of one core only keeps
/// the caches.
pub(super) fn cross_core_requests(claims: &[Vec<Claim>], cores: &[u32]) -> HashSet<usize> {
    let mut first_core: HashMap<usize, u32> = HashMap::new();
    let mut cross = HashSet::new();
    for (claims, &core) in claims.iter().zip(cores) {
        for claim in claims {
            if *first_core.entry(claim.request).or_insert(core) != core {
                cross.insert(claim.request);
            }
        }
    }
    cross
}

/// Merges regions that touch and have identical attributes into one MPU region.
pub fn merge_mpu_regions(regions: &[PartitionRegion]) -> Vec<Region> {
    let mut sorted: Vec<Region> = regions.iter().map(PartitionRegion::mpu_region).collect();
    sorted.sort_by_key(|region| region.base);
    sorted.dedup();
    let mut merged: Vec<Region> = Vec::new();
    for region in sorted {
        if let Some(last) = merged.last_mut() {
            let same = Region { base: last.base, limit: last.limit, ..region } == *last;
            if same && last.limit.checked_add(1) == Some(region.base) {
                last.limit = region.limit;
                continue;
            }
        }
        merged.push(region);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(base: u32, size: u32, write: bool) -> PartitionRegion {
        PartitionRegion {
            name: "r".into(),
            kind: RegionKind::Private,
            span: Span { base, size },
            access: Access { read: true, write, execute: false },
            memory_type: MemoryType::Normal,
            shareability: Shareability::NonShareable,
            noinit: false,
        }
    }

    #[test]
    fn merging_joins_only_touching_identical_regions() {
        let merged = merge_mpu_regions(&[
            region(0x1000, 0x1000, true),
            region(0x2000, 0x1000, true),
            region(0x3000, 0x1000, false),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!((merged[0].base, merged[0].limit), (0x1000, 0x2FFF));
        let apart = merge_mpu_regions(&[region(0x1000, 0x1000, true), region(0x2040, 0x1000, true)]);
        assert_eq!(apart.len(), 2);
    }
}
