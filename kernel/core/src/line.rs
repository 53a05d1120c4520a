//! Per-partition line assembly for the console.
//!
//! Partitions are preempted at window boundaries, possibly in the middle of a
//! line. The kernel therefore collects each partition's console output in its
//! own [`LineBuffer`] and writes complete lines only, each prefixed with the
//! partition's name, so lines from different partitions never interleave.
//! A line longer than the buffer is written in pieces, each marked as
//! continued.

/// Bytes of one partition's pending line.
pub const LINE_CAPACITY: usize = 120;

/// A partially written line.
#[derive(Clone, Debug)]
pub struct LineBuffer {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
}

impl LineBuffer {
    /// An empty buffer.
    pub const fn new() -> LineBuffer {
        LineBuffer { bytes: [0; LINE_CAPACITY], len: 0 }
    }

    /// Takes `bytes`, calling `emit(line, continued)` for every completed line
    /// (at a newline) and every full buffer (`continued` = true). Carriage
    /// returns are dropped; other control bytes except tab become `?`, so a
    /// partition cannot forge terminal sequences or kernel log lines.
    pub fn feed(&mut self, bytes: impl Iterator<Item = u8>, mut emit: impl FnMut(&[u8], bool)) {
        // The length lives in a local for the whole loop: this runs inside a
        // hypercall, and every instruction here delays a window boundary that
        // falls during it.
        let mut len = self.len;
        for byte in bytes {
            match byte {
                b'\n' => {
                    emit(self.bytes.get(..len).unwrap_or(&[]), false);
                    len = 0;
                }
                b'\r' => {}
                _ => {
                    if len >= LINE_CAPACITY {
                        emit(&self.bytes, true);
                        len = 0;
                    }
                    let printable = if byte == b'\t' || (0x20..0x7F).contains(&byte) { byte } else { b'?' };
                    if let Some(slot) = self.bytes.get_mut(len) {
                        *slot = printable;
                        len += 1;
                    }
                }
            }
        }
        self.len = len;
    }

    /// The line so far.
    pub fn pending(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Forgets the line.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Default for LineBuffer {
    fn default() -> Self {
        LineBuffer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn feed(buffer: &mut LineBuffer, bytes: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut lines = Vec::new();
        buffer.feed(bytes.iter().copied(), |line, continued| lines.push((line.to_vec(), continued)));
        lines
    }

    #[test]
    fn assembles_lines_across_writes() {
        let mut buffer = LineBuffer::new();
        assert!(feed(&mut buffer, b"hello ").is_empty());
        assert_eq!(feed(&mut buffer, b"world\r\nnext"), [(b"hello world".to_vec(), false)]);
        assert_eq!(buffer.pending(), b"next");
    }

    #[test]
    fn long_lines_are_split_not_lost() {
        let mut buffer = LineBuffer::new();
        let long: Vec<u8> = (0..LINE_CAPACITY * 2 + 5).map(|i| b'a' + (i % 26) as u8).collect();
        let mut input = long.clone();
        input.push(b'\n');
        let lines = feed(&mut buffer, &input);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].1 && lines[1].1 && !lines[2].1);
        let joined: Vec<u8> = lines.iter().flat_map(|(line, _)| line.clone()).collect();
        assert_eq!(joined, long);
    }

    #[test]
    fn control_bytes_cannot_forge_output() {
        let mut buffer = LineBuffer::new();
        let lines = feed(&mut buffer, b"\x1b[2Jok\x00\n");
        assert_eq!(lines, [(b"?[2Jok?".to_vec(), false)]);
    }
}
