//! What a linked partition image contains, checked against where it may be.
//!
//! After a partition is linked with its generated `memory.x`, this module
//! reads its ELF file and checks that every loadable segment lies in the
//! partition's own regions (code and its load image in the code region, RAM
//! contents in its data or private regions) and that the entry point is in
//! its code. It extracts what the kernel tables need: the entry point, the
//! `.data`/`.bss` ranges to restore on restart, and the bytes to place in
//! flash.

use crate::diag::Problem;
use crate::model::{Partition, RegionKind, Span};
use object::elf::{FileHeader32, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::path::Path;

/// The parts of a linked partition image the kernel needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Entry point.
    pub entry: u32,
    /// `.data` at run time.
    pub data_start: u32,
    /// End of `.data`.
    pub data_end: u32,
    /// Pristine `.data` in the code region.
    pub data_load: u32,
    /// `.bss`.
    pub bss_start: u32,
    /// End of `.bss`.
    pub bss_end: u32,
    /// Where the flash contents start.
    pub flash_base: u32,
    /// The flash contents (code, read-only data, `.data` load image).
    pub flash: Vec<u8>,
}

/// Reads and checks the image of `partition` from `elf`.
pub fn inspect(path: &Path, elf: &[u8], partition: &Partition) -> Result<Image, Problem> {
    let key = format!("partition.{}.image", partition.name);
    let problem = |reason: String| Problem::new(path, key.clone(), reason);
    let file = object::File::parse(elf).map_err(|error| problem(format!("not an ELF file: {error}")))?;
    let header =
        FileHeader32::<Endianness>::parse(elf).map_err(|error| problem(format!("not a 32-bit ELF file: {error}")))?;
    let endian = header.endian().map_err(|error| problem(error.to_string()))?;
    let code = partition.code().span;
    let ram: Vec<Span> = partition
        .regions
        .iter()
        .filter(|r| r.access.write && !matches!(r.kind, RegionKind::Device(_) | RegionKind::Virtio(_)))
        .map(|r| r.span)
        .collect();
    let inside = |span: &Span, start: u64, length: u64| {
        length == 0 || (span.contains(start) && span.contains(start + length - 1))
    };

    let entry = file.entry();
    if !inside(&code, entry, 1) {
        return Err(problem(format!("entry point {entry:#010x} is outside the partition's code region")));
    }
    let mut chunks: Vec<(u32, &[u8])> = Vec::new();
    for segment in header.program_headers(endian, elf).map_err(|error| problem(error.to_string()))? {
        if segment.p_type(endian) != PT_LOAD {
            continue;
        }
        let (vaddr, paddr) = (segment.p_vaddr(endian) as u64, segment.p_paddr(endian) as u64);
        let (filesz, memsz) = (segment.p_filesz(endian) as u64, segment.p_memsz(endian) as u64);
        let runs_in_place = inside(&code, vaddr, memsz) || ram.iter().any(|span| inside(span, vaddr, memsz));
        if !runs_in_place {
            return Err(problem(format!(
                "a segment at {vaddr:#010x}..{:#010x} lies outside the partition's regions",
                vaddr + memsz
            )));
        }
        if filesz > 0 {
            if !inside(&code, paddr, filesz) {
                return Err(problem(format!(
                    "initialised contents at {paddr:#010x}..{:#010x} are outside the code region (flash)",
                    paddr + filesz
                )));
            }
            let bytes = segment.data(endian, elf).map_err(|_| problem("segment data out of the file".into()))?;
            chunks.push((paddr as u32, bytes));
        }
    }
    if chunks.is_empty() {
        return Err(problem("the image has no code".into()));
    }
    chunks.sort_by_key(|(address, _)| *address);
    let flash_base = chunks[0].0;
    let flash_end = chunks.iter().map(|(address, bytes)| *address as usize + bytes.len()).max().unwrap_or(0);
    let mut flash = vec![0u8; flash_end - flash_base as usize];
    for (address, bytes) in chunks {
        let offset = (address - flash_base) as usize;
        flash[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    let symbol = |name: &str| file.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address() as u32);
    let section =
        |name: &str| file.section_by_name(name).map(|s| (s.address() as u32, (s.address() + s.size()) as u32));
    let (data_start, data_end, data_load) = match (symbol("__sdata"), symbol("__edata"), symbol("__sidata")) {
        (Some(start), Some(end), Some(load)) => (start, end, load),
        _ => match section(".data") {
            None => (0, 0, 0),
            Some((start, end)) => {
                let load = header
                    .program_headers(endian, elf)
                    .ok()
                    .and_then(|segments| {
                        segments
                            .iter()
                            .find(|s| {
                                s.p_type(endian) == PT_LOAD
                                    && s.p_vaddr(endian) <= start
                                    && start < s.p_vaddr(endian) + s.p_memsz(endian)
                            })
                            .map(|s| s.p_paddr(endian) + (start - s.p_vaddr(endian)))
                    })
                    .ok_or_else(|| problem("cannot find the load address of .data".into()))?;
                (start, end, load)
            }
        },
    };
    let (bss_start, bss_end) = match (symbol("__sbss"), symbol("__ebss")) {
        (Some(start), Some(end)) => (start, end),
        _ => section(".bss").unwrap_or((0, 0)),
    };
    let words = data_start | data_end | data_load | bss_start | bss_end;
    if words % 4 != 0 {
        return Err(problem(".data and .bss must start and end on 4-byte boundaries".into()));
    }
    if data_end < data_start || bss_end < bss_start {
        return Err(problem(".data or .bss ends before it starts".into()));
    }
    let data_length = (data_end - data_start) as u64;
    if data_length > 0
        && (!ram.iter().any(|s| inside(s, data_start as u64, data_length))
            || !inside(&code, data_load as u64, data_length))
    {
        return Err(problem(".data or its load image lies outside the partition's regions".into()));
    }
    if bss_end > bss_start && !ram.iter().any(|s| inside(s, bss_start as u64, (bss_end - bss_start) as u64)) {
        return Err(problem(".bss lies outside the partition's writable regions".into()));
    }
    Ok(Image { entry: entry as u32, data_start, data_end, data_load, bss_start, bss_end, flash_base, flash })
}
