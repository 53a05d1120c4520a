//! Checks on the built kernel image that no unit test can make.

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::path::Path;

/// The kernel's `.text`, split into its functions.
struct KernelText {
    base: u64,
    bytes: Vec<u8>,
    /// (address, size, symbol name), sorted, one per address.
    functions: Vec<(u64, u64, String)>,
}

impl KernelText {
    fn load(kernel: &Path) -> Result<KernelText> {
        let bytes = std::fs::read(kernel).with_context(|| format!("reading {}", kernel.display()))?;
        let file = object::File::parse(&*bytes)?;
        let text = file.section_by_name(".text").context("kernel has no .text")?;
        let (base, end) = (text.address(), text.address() + text.size());
        let mut functions: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
            .map(|s| (s.address() & !1, s.size(), s.name().unwrap_or("?").to_owned()))
            .filter(|(address, size, _)| *address >= base && address + size <= end)
            .collect();
        functions.sort();
        functions.dedup_by_key(|f| f.0);
        Ok(KernelText { base, bytes: text.data()?.to_vec(), functions })
    }

    /// The A32 words of function `index`, with their addresses.
    fn words(&self, index: usize) -> impl Iterator<Item = (u64, u32)> + '_ {
        let (start, size, _) = &self.functions[index];
        let offset = (start - self.base) as usize;
        self.bytes[offset..offset + *size as usize]
            .chunks_exact(4)
            .enumerate()
            .map(move |(n, w)| (start + n as u64 * 4, u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
    }

    /// The function containing `address`.
    fn containing(&self, address: u64) -> Option<usize> {
        self.functions.iter().position(|(start, size, _)| (*start..start + size).contains(&address))
    }
}

/// Functions allowed to touch FP/SIMD registers: the context switch, which
/// saves and restores them, the boot check's read of `MVFR0` (an ID
/// register: no data register moves), and the runtime's reset code, which
/// enables the FPU before any partition exists.
const FPU_ALLOWED: [&str; 4] = ["bulkhead_save_vfp", "bulkhead_restore_vfp", "bulkhead_read_mvfr0", "_default_start"];

/// Whether a 32-bit A32 word is a VFP or Advanced SIMD instruction.
///
/// VFP data processing, transfers and loads/stores use coprocessors 10 and
/// 11 (bits 11:9 = 0b101) in the 0b110x/0b1110 coprocessor space; Advanced
/// SIMD uses the unconditional 0b1111_001x (data processing) and 0b1111_0100
/// with bit 20 clear (element and structure loads/stores) spaces.
pub fn is_fpu_instruction(word: u32) -> bool {
    let cond = word >> 28;
    let coprocessor_space = (word >> 25) & 0b111 == 0b110 || (word >> 24) & 0b1111 == 0b1110;
    let vfp = cond != 0b1111 && coprocessor_space && (word >> 9) & 0b111 == 0b101;
    let simd_data = word >> 25 == 0b111_1001; // 0b1111_001x
    let simd_memory = word >> 24 == 0b1111_0100 && word & (1 << 20) == 0;
    vfp || simd_data || simd_memory
}

/// Fails if kernel code outside [`FPU_ALLOWED`] contains an FP/SIMD
/// instruction: the kernel must never disturb a partition's FP registers
/// between saving and restoring them, and must work with FPEXC.EN clear.
pub fn kernel_uses_no_fpu(kernel: &Path) -> Result<()> {
    let text = KernelText::load(kernel)?;
    let mut offenders = Vec::new();
    for (index, (start, _, name)) in text.functions.iter().enumerate() {
        if FPU_ALLOWED.contains(&name.as_str()) {
            continue;
        }
        // Literal pools live inside functions; a literal that happens to decode
        // as an FP instruction would be a false alarm, so report with the
        // function name for a human to look at rather than guessing.
        if let Some((address, _)) = text.words(index).find(|(_, word)| is_fpu_instruction(*word)) {
            offenders.push(format!("{name} (+{:#x})", address - start));
        }
    }
    if !offenders.is_empty() {
        bail!("kernel code uses FP/SIMD registers outside the context switch: {}", offenders.join(", "));
    }
    Ok(())
}

/// Kernel functions reached from EL1: the two exception entry points.
const PARTITION_ENTRIES: [&str; 2] = ["bulkhead_trap_from_el1", "bulkhead_irq_from_el1"];

/// The target of an A32 `b`, `bl` or `blx <imm>` at `address`, if `word` is one.
pub fn branch_target(word: u32, address: u64) -> Option<u64> {
    let offset = (((word & 0x00FF_FFFF) << 8) as i32 >> 6) as i64;
    let cond = word >> 28;
    let target = if cond != 0xF && (word >> 25) & 0b111 == 0b101 {
        address as i64 + 8 + offset
    } else if cond == 0xF && (word >> 25) & 0b111 == 0b101 {
        address as i64 + 8 + offset + (((word >> 24) & 1) << 1) as i64
    } else {
        return None;
    };
    u64::try_from(target).ok()
}

/// Fails if a Rust panic is reachable from the kernel's exception entry points
/// through direct calls and branches: nothing a partition does may panic the
/// kernel. (Indirect calls are not followed; the kernel makes none on these
/// paths. A literal-pool word that happens to decode as a branch only adds
/// edges, so the check can err only towards refusing.)
pub fn no_panic_reachable_from_partitions(kernel: &Path) -> Result<()> {
    let text = KernelText::load(kernel)?;
    let functions = &text.functions;
    let mut parent: Vec<Option<usize>> = vec![None; functions.len()];
    let mut seen = vec![false; functions.len()];
    let mut queue = std::collections::VecDeque::new();
    for entry in PARTITION_ENTRIES {
        let index = functions.iter().position(|f| f.2 == entry).with_context(|| format!("no function {entry}"))?;
        seen[index] = true;
        queue.push_back(index);
    }
    while let Some(index) = queue.pop_front() {
        let (start, size, name) = &functions[index];
        if name.contains("panicking") {
            let mut chain = vec![name.clone()];
            let mut at = index;
            while let Some(up) = parent[at] {
                chain.push(functions[up].2.clone());
                at = up;
            }
            chain.reverse();
            bail!("a panic is reachable from a partition: {}", chain.join(" -> "));
        }
        for (address, word) in text.words(index) {
            let Some(target) = branch_target(word, address) else { continue };
            if (*start..start + size).contains(&target) {
                continue;
            }
            if let Some(callee) = text.containing(target)
                && !seen[callee]
            {
                seen[callee] = true;
                parent[callee] = Some(index);
                queue.push_back(callee);
            }
        }
    }
    Ok(())
}

/// Checks that the kernel has no initialised data: its whole state starts
/// as zeros in `.bss`. A `.data` section would be copied from flash at every
/// boot (the kernel's state is several KiB, mostly its console queues), which
/// is boot time spent for nothing and a sign that some type's initial value
/// is not all zeros (an enum whose first state is not its zero encoding).
pub fn kernel_state_is_zero_initialised(kernel: &Path) -> Result<()> {
    let bytes = std::fs::read(kernel).with_context(|| format!("reading {}", kernel.display()))?;
    let file = object::File::parse(&*bytes)?;
    let Some(data) = file.section_by_name(".data") else { return Ok(()) };
    if data.size() == 0 {
        return Ok(());
    }
    let (start, end) = (data.address(), data.address() + data.size());
    let symbols: Vec<String> = file
        .symbols()
        .filter(|s| s.size() > 0 && (start..end).contains(&s.address()))
        .map(|s| format!("{} ({} bytes)", s.name().unwrap_or("?"), s.size()))
        .collect();
    bail!(
        "{}: {} bytes of .data, copied from flash at every boot: {}. Make their initial values all zeros \
         (e.g. `#[repr(u8)]` with the initial variant first) so they live in .bss",
        kernel.display(),
        data.size(),
        symbols.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_fpu_instructions() {
        assert!(is_fpu_instruction(0xeca0_0b20)); // vstmia r0!, {d0-d15}
        assert!(is_fpu_instruction(0xece0_0b20)); // vstmia r0!, {d16-d31}
        assert!(is_fpu_instruction(0xeee8_1a10)); // vmsr fpexc, r1
        assert!(is_fpu_instruction(0xf2c0_0050)); // vmov.i32 q8, #0
        assert!(is_fpu_instruction(0xf440_0acd)); // vst1.64 {d16-d17}, [r0]!
        assert!(!is_fpu_instruction(0xe92d_4ff0)); // push {r4-r11, lr}
        assert!(!is_fpu_instruction(0xee1c_0f30)); // mrc p15, 0, r0, c12, c0, 1
        assert!(!is_fpu_instruction(0xec51_0f0e)); // mrrc p15, 0, r0, r1, c14
        assert!(!is_fpu_instruction(0xe320_f003)); // wfi
    }

    #[test]
    fn decodes_branches() {
        // 800045c: eb0007d2  bl 80023ac
        assert_eq!(branch_target(0xeb00_07d2, 0x0800_045c), Some(0x0800_23ac));
        // 8002390: ebffffff  bl 8002394
        assert_eq!(branch_target(0xebff_ffff, 0x0800_2390), Some(0x0800_2394));
        // b . (0xeafffffe) branches to itself
        assert_eq!(branch_target(0xeaff_fffe, 0x1000), Some(0x1000));
        // blx with H set
        assert_eq!(branch_target(0xfb00_0000, 0x1000), Some(0x100a));
        assert_eq!(branch_target(0xe12f_ff1e, 0x1000), None); // bx lr
    }
}
