//! Small ELF files written byte by byte, for tests of [`crate::image`].
//!
//! A [`TestElf`] is a 32-bit little-endian Arm executable with exactly the
//! program headers, sections and symbols a test gives it, so a test can
//! reproduce what a toolchain emits (a `.data` load address apart from its
//! run address, `NOBITS` segments, a non-loadable `PT_ARM_EXIDX`) without
//! that toolchain. Section headers carry only names, types, addresses and
//! sizes: the generator reads sections for nothing else.

use object::elf::{
    EM_ARM, ET_EXEC, PF_R, PF_W, PF_X, PT_LOAD, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_ABS, SHT_NOBITS, SHT_PROGBITS,
    SHT_STRTAB, SHT_SYMTAB, STB_GLOBAL, STT_NOTYPE,
};

const HEADER_SIZE: u32 = 52;
const PROGRAM_HEADER_SIZE: u32 = 32;
const SECTION_HEADER_SIZE: u32 = 40;
const SYMBOL_SIZE: u32 = 16;

/// One program header; a loadable one's contents are `bytes`.
#[derive(Clone, Debug)]
pub struct TestSegment {
    /// `PT_*`.
    pub kind: u32,
    /// Run address.
    pub vaddr: u32,
    /// Load address.
    pub paddr: u32,
    /// Contents in the file (`p_filesz` is their length).
    pub bytes: Vec<u8>,
    /// `p_memsz`.
    pub memsz: u32,
    /// `PF_*`.
    pub flags: u32,
}

impl TestSegment {
    /// Code or read-only data that runs where it is loaded.
    pub fn code(address: u32, length: u32) -> TestSegment {
        let bytes = (0..length).map(|byte| byte as u8).collect();
        TestSegment { kind: PT_LOAD, vaddr: address, paddr: address, bytes, memsz: length, flags: PF_R | PF_X }
    }

    /// RAM that runs at `vaddr`, with `contents` bytes loaded from `paddr`
    /// and the rest of `memsz` zero-filled.
    pub fn ram(vaddr: u32, paddr: u32, contents: u32, memsz: u32) -> TestSegment {
        let bytes = (0..contents).map(|byte| 0xD0 ^ byte as u8).collect();
        TestSegment { kind: PT_LOAD, vaddr, paddr, bytes, memsz, flags: PF_R | PF_W }
    }
}

/// A section header: name, type, address and size.
#[derive(Clone, Debug)]
pub struct TestSection {
    /// Name.
    pub name: String,
    /// `SHT_*`.
    pub kind: u32,
    /// `SHF_*`.
    pub flags: u32,
    /// Address.
    pub address: u32,
    /// Size.
    pub size: u32,
}

impl TestSection {
    /// `.text`, `.data` (`PROGBITS`) or `.bss` (`NOBITS`) at `address`.
    pub fn named(name: &str, address: u32, size: u32) -> TestSection {
        let (kind, flags) = match name {
            ".bss" => (SHT_NOBITS, SHF_ALLOC | SHF_WRITE),
            ".text" | ".vector_table" => (SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR),
            _ => (SHT_PROGBITS, SHF_ALLOC | SHF_WRITE),
        };
        TestSection { name: name.to_owned(), kind, flags, address, size }
    }
}

/// An ELF file to write.
#[derive(Clone, Debug)]
pub struct TestElf {
    /// `e_type`.
    pub kind: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_entry`.
    pub entry: u32,
    /// Program headers, in order.
    pub segments: Vec<TestSegment>,
    /// Section headers after the null one (and before the string and
    /// symbol tables, which are added).
    pub sections: Vec<TestSection>,
    /// Global absolute symbols.
    pub symbols: Vec<(String, u32)>,
}

impl TestElf {
    /// An Arm executable entered at `entry`, with these segments and
    /// nothing else.
    pub fn new(entry: u32, segments: Vec<TestSegment>) -> TestElf {
        TestElf { kind: ET_EXEC, machine: EM_ARM, entry, segments, sections: Vec::new(), symbols: Vec::new() }
    }

    /// The file.
    pub fn bytes(&self) -> Vec<u8> {
        let program_headers = HEADER_SIZE;
        let mut offset = program_headers + PROGRAM_HEADER_SIZE * self.segments.len() as u32;
        let mut contents = Vec::new();
        let mut segment_offsets = Vec::new();
        for segment in &self.segments {
            segment_offsets.push(offset + contents.len() as u32);
            contents.extend_from_slice(&segment.bytes);
        }
        offset += contents.len() as u32;

        // Section names, then symbol names, then symbols.
        let mut section_names = vec![0u8];
        let section_name_offsets: Vec<u32> =
            self.sections.iter().map(|section| name_of(&mut section_names, &section.name)).collect();
        let shstrtab_name = name_of(&mut section_names, ".shstrtab");
        let strtab_name = name_of(&mut section_names, ".strtab");
        let symtab_name = name_of(&mut section_names, ".symtab");
        let mut symbol_names = vec![0u8];
        let symbol_name_offsets: Vec<u32> =
            self.symbols.iter().map(|(name, _)| name_of(&mut symbol_names, name)).collect();
        let mut symbols = vec![0u8; SYMBOL_SIZE as usize];
        for ((_, value), name) in self.symbols.iter().zip(&symbol_name_offsets) {
            put32(&mut symbols, *name);
            put32(&mut symbols, *value);
            put32(&mut symbols, 0);
            symbols.push((STB_GLOBAL << 4) | STT_NOTYPE);
            symbols.push(0);
            put16(&mut symbols, SHN_ABS);
        }
        let shstrtab_offset = offset;
        let strtab_offset = shstrtab_offset + section_names.len() as u32;
        let symtab_offset = (strtab_offset + symbol_names.len() as u32).next_multiple_of(4);
        let section_headers = (symtab_offset + symbols.len() as u32).next_multiple_of(4);

        let mut out = Vec::new();
        out.extend_from_slice(&[0x7F, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        put16(&mut out, self.kind);
        put16(&mut out, self.machine);
        put32(&mut out, 1);
        put32(&mut out, self.entry);
        put32(&mut out, program_headers);
        put32(&mut out, section_headers);
        put32(&mut out, 0x0500_0400); // EABI version 5, hard-float.
        put16(&mut out, HEADER_SIZE as u16);
        put16(&mut out, PROGRAM_HEADER_SIZE as u16);
        put16(&mut out, self.segments.len() as u16);
        put16(&mut out, SECTION_HEADER_SIZE as u16);
        let first_table = 1 + self.sections.len() as u16;
        put16(&mut out, first_table + 3);
        put16(&mut out, first_table);
        for (segment, file_offset) in self.segments.iter().zip(&segment_offsets) {
            for word in [
                segment.kind,
                *file_offset,
                segment.vaddr,
                segment.paddr,
                segment.bytes.len() as u32,
                segment.memsz,
                segment.flags,
                4,
            ] {
                put32(&mut out, word);
            }
        }
        out.extend_from_slice(&contents);
        out.extend_from_slice(&section_names);
        out.extend_from_slice(&symbol_names);
        out.resize(symtab_offset as usize, 0);
        out.extend_from_slice(&symbols);
        out.resize(section_headers as usize, 0);

        section_header(&mut out, [0; 10]);
        for (section, name) in self.sections.iter().zip(&section_name_offsets) {
            let file_offset = self
                .segments
                .iter()
                .zip(&segment_offsets)
                .find(|(segment, _)| {
                    segment.vaddr <= section.address
                        && section.address + section.size <= segment.vaddr + segment.bytes.len() as u32
                })
                .map_or(0, |(segment, at)| at + (section.address - segment.vaddr));
            section_header(
                &mut out,
                [*name, section.kind, section.flags, section.address, file_offset, section.size, 0, 0, 4, 0],
            );
        }
        let table_flags = 0;
        section_header(
            &mut out,
            [shstrtab_name, SHT_STRTAB, table_flags, 0, shstrtab_offset, section_names.len() as u32, 0, 0, 1, 0],
        );
        section_header(
            &mut out,
            [strtab_name, SHT_STRTAB, table_flags, 0, strtab_offset, symbol_names.len() as u32, 0, 0, 1, 0],
        );
        section_header(
            &mut out,
            [
                symtab_name,
                SHT_SYMTAB,
                table_flags,
                0,
                symtab_offset,
                symbols.len() as u32,
                first_table as u32 + 1,
                1,
                4,
                SYMBOL_SIZE,
            ],
        );
        out
    }
}

/// Adds `name` to a string table; returns its offset.
fn name_of(names: &mut Vec<u8>, name: &str) -> u32 {
    let at = names.len() as u32;
    names.extend_from_slice(name.as_bytes());
    names.push(0);
    at
}

fn section_header(out: &mut Vec<u8>, words: [u32; 10]) {
    for word in words {
        put32(out, word);
    }
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}
