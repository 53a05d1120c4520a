//! What a linked partition image contains, checked against where it may be.
//!
//! After a partition is linked (by cargo with its generated `memory.x`, or
//! by any other toolchain), this module reads its ELF file and checks that
//! it is a linked 32-bit little-endian Arm executable, that every loadable
//! segment lies in the partition's own regions (code and every segment's
//! file contents in the code region, which is flash; everything else in its
//! data or private writable regions), that the entry point is an Arm
//! instruction in its code, and that `.data`, its load image and `.bss` are
//! where the kernel can copy and zero them. It extracts what the kernel
//! tables need: the entry point, the `.data`/`.bss` ranges to restore on
//! restart, and the bytes to place in flash.
//!
//! Toolchains differ in what they emit, and none of that loosens a check:
//! segments with no file contents (`.bss`, stacks, `NOLOAD` sections) are
//! checked only where they run, and their load address, which GNU ld sets
//! to wherever its location counter was, is ignored; segments that hold
//! nothing at all are skipped; `PT_ARM_EXIDX`, `PT_GNU_STACK` and other
//! non-loadable entries describe contents that a loadable segment holds; a
//! segment flagged writable and executable (GNU ld merges `.init_array`,
//! which is writable, into the code) is checked like any other. `.data` and
//! `.bss` are found by aarch32-rt's symbols (`__sdata`, `__edata`,
//! `__sidata`, `__sbss`, `__ebss`), or else by their sections, `.data`'s
//! load address then being the one of the segment that holds its contents.
//!
//! A problem names the ELF file, the segment (its number in the program
//! header table, as `readelf -l` shows it, its addresses, sizes and flags)
//! and the region it should be in. This module must never accept an image
//! whose bytes would land outside its partition's regions, nor change what
//! it reads: the flash contents are the segments' bytes, unmodified.

use crate::diag::Problem;
use crate::model::{Partition, PartitionRegion, RegionKind, Span};
use object::elf::{EM_ARM, ET_DYN, ET_EXEC, ET_REL, FileHeader32, PF_R, PF_W, PF_X, PT_LOAD};
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

/// One loadable segment, as the program header table gives it.
struct Segment<'data> {
    /// Its number in the program header table.
    number: usize,
    /// Where its contents start in the file.
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
    flags: u32,
    /// Its file contents.
    bytes: &'data [u8],
}

impl Segment<'_> {
    /// How a problem names it.
    fn describe(&self) -> String {
        let flag = |bit: u32, letter: char| if self.flags & bit != 0 { letter } else { '-' };
        format!(
            "segment {} (vaddr {:#010x}, paddr {:#010x}, {:#x} bytes in memory, {:#x} in the file, {}{}{})",
            self.number,
            self.vaddr,
            self.paddr,
            self.memsz,
            self.filesz,
            flag(PF_R, 'r'),
            flag(PF_W, 'w'),
            flag(PF_X, 'x')
        )
    }
}

/// `length` bytes from `start` are inside `span` (nothing is inside anything).
fn inside(span: &Span, start: u64, length: u64) -> bool {
    length == 0 || (span.contains(start) && start.checked_add(length - 1).is_some_and(|last| span.contains(last)))
}

/// `` `name` (base..end) ``.
fn region_name(region: &PartitionRegion) -> String {
    format!(
        "`{}` ({:#010x}..{:#010x})",
        region.name,
        region.span.base,
        region.span.base as u64 + region.span.size as u64
    )
}

/// The regions written as a list for a message.
fn region_list(regions: &[&PartitionRegion]) -> String {
    regions.iter().map(|region| region_name(region)).collect::<Vec<_>>().join(", ")
}

/// The writable memory the image may use: data and further private or
/// shared regions it may write (not device frames or VIRTIO windows).
fn writable_regions(partition: &Partition) -> Vec<&PartitionRegion> {
    partition
        .regions
        .iter()
        .filter(|r| r.access.write && !matches!(r.kind, RegionKind::Device(_) | RegionKind::Virtio(_)))
        .collect()
}

/// Reads and checks the image of `partition` from `elf`, the contents of
/// the file at `path`.
pub fn inspect(path: &Path, elf: &[u8], partition: &Partition) -> Result<Image, Problem> {
    let key = format!("partition.{}.image", partition.name);
    let problem = |reason: String| Problem::new(path, key.clone(), reason);
    let file = object::File::parse(elf).map_err(|error| problem(format!("not an ELF file: {error}")))?;
    let header =
        FileHeader32::<Endianness>::parse(elf).map_err(|error| problem(format!("not a 32-bit ELF file: {error}")))?;
    let endian = header.endian().map_err(|error| problem(error.to_string()))?;
    let machine = header.e_machine(endian);
    if machine != EM_ARM {
        return Err(problem(format!("not an Arm image (ELF machine {machine}, Arm is {EM_ARM})")));
    }
    if endian == Endianness::Big {
        return Err(problem("a big-endian image: partitions run little-endian".into()));
    }
    match header.e_type(endian) {
        ET_EXEC => {}
        ET_REL => {
            return Err(problem(
                "a relocatable object, not a linked executable: link it with the partition's linker script".into(),
            ));
        }
        ET_DYN => {
            return Err(problem(
                "a position-independent or shared object: the kernel does not relocate images, so link a static \
                 executable at the partition's addresses (no -pie, no -shared)"
                    .into(),
            ));
        }
        other => return Err(problem(format!("not a linked executable (ELF type {other})"))),
    }

    let code = partition.code();
    let writable = writable_regions(partition);
    let in_writable = |start: u64, length: u64| writable.iter().any(|region| inside(&region.span, start, length));

    let mut segments: Vec<Segment> = Vec::new();
    let program_headers = header.program_headers(endian, elf).map_err(|error| problem(error.to_string()))?;
    for (number, segment) in program_headers.iter().enumerate() {
        if segment.p_type(endian) != PT_LOAD {
            continue;
        }
        let bytes = segment
            .data(endian, elf)
            .map_err(|_| problem(format!("segment {number}: its contents lie beyond the end of the file")))?;
        segments.push(Segment {
            number,
            offset: segment.p_offset(endian) as u64,
            vaddr: segment.p_vaddr(endian) as u64,
            paddr: segment.p_paddr(endian) as u64,
            filesz: segment.p_filesz(endian) as u64,
            memsz: segment.p_memsz(endian) as u64,
            flags: segment.p_flags(endian),
            bytes,
        });
    }

    for segment in &segments {
        if segment.filesz > segment.memsz {
            return Err(problem(format!(
                "{} has more bytes in the file than in memory: not a valid segment",
                segment.describe()
            )));
        }
        let runs_in_place =
            inside(&code.span, segment.vaddr, segment.memsz) || in_writable(segment.vaddr, segment.memsz);
        if !runs_in_place {
            let belongs = if segment.offset == 0 && segment.filesz > 0 {
                format!(
                    "it holds the ELF header and program headers (file offset 0), which the linker loaded in \
                     front of the first section; link so that they are not loaded (with GNU ld or lld: \
                     `-z max-page-size=64`, or a PHDRS command without FILEHDR and PHDRS), or make room for \
                     them in the code region {}",
                    region_name(code)
                )
            } else if segment.flags & PF_X != 0 {
                format!("code belongs in the code region {}", region_name(code))
            } else if segment.flags & PF_W != 0 {
                format!("writable memory belongs in one of the writable regions: {}", region_list(&writable))
            } else {
                format!(
                    "it must be inside the code region {} or one of the writable regions: {}",
                    region_name(code),
                    region_list(&writable)
                )
            };
            return Err(problem(format!(
                "{} lies at {:#010x}..{:#010x}, outside partition `{}`'s regions: {belongs}",
                segment.describe(),
                segment.vaddr,
                segment.vaddr + segment.memsz,
                partition.name
            )));
        }
        if segment.filesz > 0 && !inside(&code.span, segment.paddr, segment.filesz) {
            return Err(problem(format!(
                "{} has its contents at {:#010x}..{:#010x}, outside the code region {}: every segment's contents \
                 are stored in flash, so a segment that runs in RAM needs a load address (paddr) in the code \
                 region (in a GNU ld script: `AT>` the code region)",
                segment.describe(),
                segment.paddr,
                segment.paddr + segment.filesz,
                region_name(code)
            )));
        }
    }
    let mut chunks: Vec<&Segment> = segments.iter().filter(|segment| segment.filesz > 0).collect();
    if chunks.is_empty() {
        return Err(problem("the image has no code: no loadable segment has contents".into()));
    }
    chunks.sort_by_key(|segment| segment.paddr);
    for pair in chunks.windows(2) {
        if pair[0].paddr + pair[0].filesz > pair[1].paddr {
            return Err(problem(format!(
                "{} and {} store their contents at overlapping addresses in flash",
                pair[0].describe(),
                pair[1].describe()
            )));
        }
    }

    let entry = file.entry();
    if !inside(&code.span, entry, 1) {
        return Err(problem(format!("entry point {entry:#010x} is outside the code region {}", region_name(code))));
    }
    if entry & 1 != 0 {
        return Err(problem(format!(
            "entry point {entry:#010x} is a Thumb address: the kernel enters a partition in Arm state, so its \
             entry must be an Arm instruction (`.arm` in assembly, `__attribute__((target(\"arm\")))` in C)"
        )));
    }
    if entry % 4 != 0 {
        return Err(problem(format!("entry point {entry:#010x} is not 4-byte aligned, so not an Arm instruction")));
    }
    if !segments.iter().any(|s| s.flags & PF_X != 0 && s.vaddr <= entry && entry + 4 <= s.vaddr + s.filesz) {
        return Err(problem(format!(
            "entry point {entry:#010x} is in the code region but in no executable segment's contents"
        )));
    }

    let flash_base = chunks[0].paddr as u32;
    let flash_end = chunks.iter().map(|segment| segment.paddr + segment.filesz).max().unwrap_or(0);
    let mut flash = vec![0u8; (flash_end - flash_base as u64) as usize];
    for segment in &chunks {
        let offset = (segment.paddr - flash_base as u64) as usize;
        flash[offset..offset + segment.bytes.len()].copy_from_slice(segment.bytes);
    }

    let symbol = |name: &str| file.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address() as u32);
    let section =
        |name: &str| file.section_by_name(name).map(|s| (s.address() as u32, (s.address() + s.size()) as u32));
    let (data_start, data_end, data_load) = match (symbol("__sdata"), symbol("__edata"), symbol("__sidata")) {
        (Some(start), Some(end), Some(load)) => (start, end, load),
        _ => match section(".data") {
            // Nothing to copy.
            None => (0, 0, 0),
            Some((start, end)) if start == end => (0, 0, 0),
            Some((start, end)) => {
                let holder = segments
                    .iter()
                    .find(|s| s.vaddr <= start as u64 && end as u64 <= s.vaddr + s.filesz)
                    .ok_or_else(|| {
                        problem(format!(
                            "no loadable segment holds the contents of `.data` ({start:#010x}..{end:#010x})"
                        ))
                    })?;
                (start, end, (holder.paddr + (start as u64 - holder.vaddr)) as u32)
            }
        },
    };
    let (bss_start, bss_end) = match (symbol("__sbss"), symbol("__ebss")) {
        (Some(start), Some(end)) => (start, end),
        _ => section(".bss").unwrap_or((0, 0)),
    };
    let bounds = [
        ("`.data` starts", data_start),
        ("`.data` ends", data_end),
        ("the load image of `.data` starts", data_load),
        ("`.bss` starts", bss_start),
        ("`.bss` ends", bss_end),
    ];
    if let Some((what, address)) = bounds.iter().find(|(_, address)| address % 4 != 0) {
        return Err(problem(format!(
            "{what} at {address:#010x}, not on a 4-byte boundary: the kernel copies `.data` and zeroes `.bss` \
             in words, so align both ends of each to 4 bytes"
        )));
    }
    if data_end < data_start || bss_end < bss_start {
        return Err(problem(format!(
            "`.data` ({data_start:#010x}..{data_end:#010x}) or `.bss` ({bss_start:#010x}..{bss_end:#010x}) \
             ends before it starts"
        )));
    }
    let data_length = (data_end - data_start) as u64;
    let bss_length = (bss_end - bss_start) as u64;
    if data_length > 0 {
        if !in_writable(data_start as u64, data_length) {
            return Err(problem(format!(
                "`.data` at {data_start:#010x}..{data_end:#010x} is outside the writable regions: {}",
                region_list(&writable)
            )));
        }
        if !inside(&code.span, data_load as u64, data_length) {
            return Err(problem(format!(
                "the load image of `.data` at {data_load:#010x}..{:#010x} is outside the code region {}",
                data_load as u64 + data_length,
                region_name(code)
            )));
        }
        let stored =
            chunks.iter().any(|s| s.paddr <= data_load as u64 && data_load as u64 + data_length <= s.paddr + s.filesz);
        if !stored {
            return Err(problem(format!(
                "the load image of `.data` at {data_load:#010x}..{:#010x} is not in any segment's contents, so \
                 the kernel would copy whatever flash holds there",
                data_load as u64 + data_length
            )));
        }
    }
    if bss_length > 0 && !in_writable(bss_start as u64, bss_length) {
        return Err(problem(format!(
            "`.bss` at {bss_start:#010x}..{bss_end:#010x} is outside the writable regions: {}",
            region_list(&writable)
        )));
    }
    if data_length > 0 && bss_length > 0 && data_start < bss_end && bss_start < data_end {
        return Err(problem(format!(
            "`.data` ({data_start:#010x}..{data_end:#010x}) and `.bss` ({bss_start:#010x}..{bss_end:#010x}) overlap"
        )));
    }
    Ok(Image { entry: entry as u32, data_start, data_end, data_load, bss_start, bss_end, flash_base, flash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Access, ImageSource};
    use crate::test_elf::{TestElf, TestSection, TestSegment};
    use bulkhead_mpu::MemoryType;
    use object::elf::{ET_REL, PT_ARM_EXIDX, PT_GNU_STACK};

    const CODE: u32 = 0x0810_0000;
    const DATA: u32 = 0x1002_0000;
    const ELF: &str = "guests/guest.elf";

    /// `guest`: 64 KiB of code at [`CODE`], 32 KiB of data at [`DATA`], and a
    /// device frame (which no segment may use).
    fn partition() -> Partition {
        let region = |name: &str, kind: RegionKind, base, size, write| PartitionRegion {
            name: name.into(),
            memory_type: if matches!(kind, RegionKind::Device(_)) { MemoryType::Device } else { MemoryType::Normal },
            kind,
            span: Span { base, size },
            access: Access { read: true, write, execute: !write },
            shareability: bulkhead_mpu::Shareability::NonShareable,
            noinit: false,
        };
        Partition {
            name: "guest".into(),
            image: ImageSource::Elf { path: ELF.into(), build: None },
            health: bulkhead_kernel_core::tables::HealthDesc::uniform(
                bulkhead_kernel_core::tables::HealthAction::Restart,
            ),
            stack_size: 4096,
            exception_stack_size: 512,
            regions: vec![
                region("code", RegionKind::Code, CODE, 0x1_0000, false),
                region("data", RegionKind::Data, DATA, 0x8000, true),
                region("uart2", RegionKind::Device(2), 0xE020_5000, 0x1000, true),
            ],
            interrupts: Vec::new(),
            core: 0,
            mpu_regions: Vec::new(),
        }
    }

    /// What GNU ld makes of a C guest: vectors and text in one segment,
    /// `.data` run in RAM but loaded after the text, `.bss` after `.data` in
    /// the same segment, a `NOLOAD` stack whose load address is wherever the
    /// location counter was in flash, a `PT_ARM_EXIDX` for `.ARM.exidx`
    /// (inside the text segment), a `PT_GNU_STACK` and an empty `PT_LOAD`.
    fn gcc_like() -> TestElf {
        let mut elf = TestElf::new(
            CODE + 0x40,
            vec![
                TestSegment::code(CODE, 0x200),
                TestSegment::ram(DATA, CODE + 0x200, 0x10, 0x110),
                TestSegment::ram(DATA + 0x200, CODE + 0x210, 0, 0x1000),
                TestSegment {
                    kind: PT_ARM_EXIDX,
                    vaddr: CODE + 0x1F0,
                    paddr: CODE + 0x1F0,
                    bytes: vec![],
                    memsz: 0x10,
                    flags: PF_R,
                },
                TestSegment { kind: PT_GNU_STACK, vaddr: 0, paddr: 0, bytes: vec![], memsz: 0, flags: PF_R | PF_W },
                TestSegment { kind: PT_LOAD, vaddr: 0, paddr: 0, bytes: vec![], memsz: 0, flags: PF_R },
            ],
        );
        elf.sections = vec![
            TestSection::named(".text", CODE, 0x1F0),
            TestSection::named(".data", DATA, 0x10),
            TestSection::named(".bss", DATA + 0x10, 0x100),
        ];
        elf
    }

    fn check(elf: &TestElf) -> Result<Image, Problem> {
        inspect(Path::new(ELF), &elf.bytes(), &partition())
    }

    /// The reason `elf` is refused for; panics if it is accepted.
    fn refused(elf: &TestElf) -> String {
        let problem = check(elf).expect_err("the image is refused");
        assert_eq!(problem.key, "partition.guest.image");
        assert_eq!(problem.file, Path::new(ELF), "the problem names the ELF file");
        problem.reason
    }

    #[test]
    fn a_gcc_like_image_that_fits_is_read() {
        let image = check(&gcc_like()).unwrap_or_else(|problem| panic!("{problem}"));
        assert_eq!(image.entry, CODE + 0x40);
        assert_eq!((image.data_start, image.data_end, image.data_load), (DATA, DATA + 0x10, CODE + 0x200));
        assert_eq!((image.bss_start, image.bss_end), (DATA + 0x10, DATA + 0x110));
        assert_eq!((image.flash_base, image.flash.len()), (CODE, 0x210));
        let data: Vec<u8> = (0..0x10u8).map(|byte| 0xD0 ^ byte).collect();
        assert_eq!(&image.flash[0x200..], &data[..], "the .data load image follows the text in flash");
        assert_eq!(image.flash[0x41], 0x41, "the text is copied as it is");
    }

    #[test]
    fn runtime_symbols_take_precedence_over_sections() {
        let mut elf = gcc_like();
        elf.symbols = vec![
            ("__sdata".into(), DATA),
            ("__edata".into(), DATA + 0x8),
            ("__sidata".into(), CODE + 0x200),
            ("__sbss".into(), DATA + 0x8),
            ("__ebss".into(), DATA + 0x100),
        ];
        let image = check(&elf).unwrap_or_else(|problem| panic!("{problem}"));
        assert_eq!((image.data_start, image.data_end, image.data_load), (DATA, DATA + 0x8, CODE + 0x200));
        assert_eq!((image.bss_start, image.bss_end), (DATA + 0x8, DATA + 0x100));
    }

    #[test]
    fn an_image_without_data_or_bss_copies_and_zeroes_nothing() {
        let mut elf = gcc_like();
        elf.sections = vec![TestSection::named(".data", DATA, 0)];
        let image = check(&elf).unwrap_or_else(|problem| panic!("{problem}"));
        assert_eq!(
            (image.data_start, image.data_end, image.data_load, image.bss_start, image.bss_end),
            (0, 0, 0, 0, 0)
        );
    }

    #[test]
    fn a_segment_outside_the_regions_is_named_with_the_region_it_belongs_in() {
        let mut elf = gcc_like();
        elf.segments[2].vaddr = DATA + 0x8000 - 0x800;
        assert_eq!(
            refused(&elf),
            "segment 2 (vaddr 0x10027800, paddr 0x08100210, 0x1000 bytes in memory, 0x0 in the file, rw-) lies at \
             0x10027800..0x10028800, outside partition `guest`'s regions: writable memory belongs in one of the \
             writable regions: `data` (0x10020000..0x10028000)"
        );
        let mut elf = gcc_like();
        elf.segments[0] = TestSegment::code(CODE + 0xFF00, 0x200);
        elf.entry = CODE + 0xFF00;
        let reason = refused(&elf);
        assert!(
            reason.starts_with(
                "segment 0 (vaddr 0x0810ff00, paddr 0x0810ff00, 0x200 bytes in memory, 0x200 in the file, r-x)"
            ),
            "{reason}"
        );
        assert!(reason.ends_with("code belongs in the code region `code` (0x08100000..0x08110000)"), "{reason}");
    }

    #[test]
    fn a_segment_on_a_device_frame_is_refused() {
        let mut elf = gcc_like();
        elf.segments[2].vaddr = 0xE020_5000;
        elf.segments[2].memsz = 0x100;
        assert!(refused(&elf).contains("lies at 0xe0205000..0xe0205100, outside partition `guest`'s regions"));
    }

    #[test]
    fn loaded_elf_headers_are_explained() {
        // A linker with a large page size loads the ELF and program headers
        // in front of the first section: the first segment starts at file
        // offset 0, below the code region.
        let mut elf = gcc_like();
        let headers = 52 + 32 * elf.segments.len() as u32;
        elf.segments[0] = TestSegment::code(CODE - headers, headers + 0x200);
        let mut bytes = elf.bytes();
        // The writer puts each segment's contents after the program headers;
        // point the first one's `p_offset` at the start of the file instead.
        bytes[52 + 4..52 + 8].copy_from_slice(&0u32.to_le_bytes());
        let problem = inspect(Path::new(ELF), &bytes, &partition()).expect_err("refused");
        assert!(
            problem.reason.starts_with("segment 0 (vaddr 0x080fff0c, paddr 0x080fff0c")
                && problem.reason.contains("it holds the ELF header and program headers (file offset 0)"),
            "{}",
            problem.reason
        );
    }

    #[test]
    fn the_entry_must_be_an_arm_instruction_in_the_code() {
        let mut elf = gcc_like();
        elf.entry = DATA;
        assert_eq!(refused(&elf), "entry point 0x10020000 is outside the code region `code` (0x08100000..0x08110000)");
        elf.entry = CODE + 0x41;
        assert!(refused(&elf).starts_with("entry point 0x08100041 is a Thumb address"));
        elf.entry = CODE + 0x42;
        assert_eq!(refused(&elf), "entry point 0x08100042 is not 4-byte aligned, so not an Arm instruction");
        elf.entry = CODE + 0x400;
        assert_eq!(
            refused(&elf),
            "entry point 0x08100400 is in the code region but in no executable segment's contents"
        );
    }

    #[test]
    fn the_data_load_image_must_be_in_the_code_region() {
        // Linked without a load address in flash: the contents would have
        // to be loaded into RAM, which nobody does.
        let mut elf = gcc_like();
        elf.segments[1].paddr = DATA;
        assert_eq!(
            refused(&elf),
            "segment 1 (vaddr 0x10020000, paddr 0x10020000, 0x110 bytes in memory, 0x10 in the file, rw-) has its \
             contents at 0x10020000..0x10020010, outside the code region `code` (0x08100000..0x08110000): every \
             segment's contents are stored in flash, so a segment that runs in RAM needs a load address (paddr) in \
             the code region (in a GNU ld script: `AT>` the code region)"
        );
        // Symbols that point the kernel's copy somewhere else.
        let mut elf = gcc_like();
        elf.symbols =
            vec![("__sdata".into(), DATA), ("__edata".into(), DATA + 0x10), ("__sidata".into(), DATA + 0x4000)];
        assert_eq!(
            refused(&elf),
            "the load image of `.data` at 0x10024000..0x10024010 is outside the code region `code` \
             (0x08100000..0x08110000)"
        );
        elf.symbols[2].1 = CODE + 0x8000;
        assert!(
            refused(&elf)
                .starts_with("the load image of `.data` at 0x08108000..0x08108010 is not in any segment's contents")
        );
    }

    #[test]
    fn data_and_bss_must_be_writable_word_aligned_and_apart() {
        let mut elf = gcc_like();
        elf.symbols = vec![("__sbss".into(), DATA + 0x10), ("__ebss".into(), DATA + 0x8000 + 0x10)];
        assert_eq!(
            refused(&elf),
            "`.bss` at 0x10020010..0x10028010 is outside the writable regions: `data` (0x10020000..0x10028000)"
        );
        elf.symbols = vec![("__sbss".into(), DATA + 0x10), ("__ebss".into(), DATA + 0x103)];
        assert!(refused(&elf).starts_with("`.bss` ends at 0x10020103, not on a 4-byte boundary"));
        elf.symbols = vec![("__sbss".into(), DATA + 0x8), ("__ebss".into(), DATA + 0x100)];
        assert!(refused(&elf).contains("overlap"));
        let mut elf = gcc_like();
        elf.sections[1].address = DATA + 0x8000;
        assert_eq!(refused(&elf), "no loadable segment holds the contents of `.data` (0x10028000..0x10028010)");
    }

    #[test]
    fn malformed_or_foreign_files_are_refused() {
        let mut elf = gcc_like();
        elf.kind = ET_REL;
        assert!(refused(&elf).starts_with("a relocatable object, not a linked executable"));
        let mut elf = gcc_like();
        elf.machine = 62;
        assert_eq!(refused(&elf), "not an Arm image (ELF machine 62, Arm is 40)");
        let mut elf = gcc_like();
        elf.segments[1].memsz = 0x8;
        assert!(refused(&elf).ends_with("has more bytes in the file than in memory: not a valid segment"));
        let mut elf = gcc_like();
        elf.segments[1].paddr = CODE + 0x1F8;
        assert!(refused(&elf).ends_with("store their contents at overlapping addresses in flash"));
        let mut elf = gcc_like();
        elf.segments.truncate(1);
        elf.segments[0].bytes.clear();
        elf.sections.clear();
        assert_eq!(refused(&elf), "the image has no code: no loadable segment has contents");
        let problem = inspect(Path::new(ELF), b"#!/bin/sh\n", &partition()).expect_err("not an ELF");
        assert!(problem.reason.starts_with("not an ELF file"), "{}", problem.reason);
    }
}
