//! Channels (inter-partition ports): the kernel's part, and only that.
//!
//! Messages never pass through the kernel. A channel's writer and readers
//! share its window and follow `bulkhead-ports`' lock-free protocols; the
//! EL2 MPU maps the window read/write into the writer and read-only into
//! each reader. The kernel has three duties, all here or in
//! `partition_memory`:
//!
//! - at boot, zero each window (through its writer's regions) before any
//!   partition runs: all zeros is "no message yet";
//! - on `QueueAck`, store the calling reader's `consumed` count, which the
//!   reader cannot store itself ([`ack`]);
//! - on `PortNotify`, raise each reader's notify interrupt: queued in its
//!   virtual GIC if it is on this core, else posted to its core
//!   ([`post`]) and that core's kernel rung, which collects the posts
//!   ([`take`]) and queues them there.
//!
//! This module must never read or write a payload, never wait for another
//! core, and never take a lock. The posts are the only memory the cores'
//! kernels share at run time besides `smp`'s: one word of bits per core and
//! 32 channels, where other cores only set bits and the owning core only
//! swaps the word to zero, so no post is lost or seen twice.

use crate::tables::{CHANNEL_COUNT, CORE_COUNT, SYSTEM};
use bulkhead_abi::Error;
use bulkhead_kernel_core::tables::{ChannelDesc, ChannelKind, ChannelReader, PartitionDesc, PartitionId};
use core::sync::atomic::{AtomicU32, Ordering};

/// Words of post bits per core.
const POST_WORDS: usize = CHANNEL_COUNT.div_ceil(32);

/// Bit `c % 32` of word `c / 32` of core n's entry: channel `c` notified
/// since core n last looked.
static POSTS: [[AtomicU32; POST_WORDS]; CORE_COUNT] = [const { [const { AtomicU32::new(0) }; POST_WORDS] }; CORE_COUNT];

/// Channel `channel` for a hypercall: [`Error::BadArgument`] if there is
/// none.
pub fn channel(channel: u32) -> Result<&'static ChannelDesc, Error> {
    SYSTEM.channels.get(channel as usize).ok_or(Error::BadArgument)
}

/// `QueueAck` by `caller` on `channel`: checks the caller is one of its
/// readers and the count, then stores it in the caller's ring through
/// `partition_memory`. The caller's regions are loaded (it is the one in
/// its window), its read-only region over the window among them.
pub fn ack(caller: PartitionId, desc: &PartitionDesc, channel: &ChannelDesc, consumed: u32) -> Result<(), Error> {
    let ChannelKind::Queuing { depth } = channel.kind else { return Err(Error::Denied) };
    let reader = channel.readers.iter().position(|reader| reader.partition == caller).ok_or(Error::Denied)?;
    // The reader's region over the window (the generator may have merged
    // it with adjacent windows the reader maps alike into one region).
    let last = channel.base + (channel.size - 1);
    let slot = desc
        .regions
        .iter()
        .position(|region| region.covers(channel.base) && region.covers(last))
        .ok_or(Error::Denied)?;
    crate::partition_memory::queue_ack(slot, &desc.regions[slot], channel, depth, reader as u32, consumed)
}

/// The readers `PortNotify` by `caller` on `channel` reaches: checks the
/// caller is its writer and the channel notifies.
pub fn notify_targets(caller: PartitionId, channel: &ChannelDesc) -> Result<&'static [ChannelReader], Error> {
    if channel.writer != caller || channel.readers.iter().all(|reader| reader.notify.is_none()) {
        return Err(Error::Denied);
    }
    Ok(channel.readers)
}

/// Posts channel `id`'s notification to core `core`'s kernel (the caller
/// then rings it). Returns `false` if a post was already waiting there, so
/// no ring is needed: the one in flight will collect both.
pub fn post(core: usize, id: usize) -> bool {
    let Some(word) = POSTS.get(core).and_then(|words| words.get(id / 32)) else { return false };
    let bit = 1 << (id % 32);
    // Release: what the writer wrote before PortNotify (its message) is
    // visible to the reader's core before the post is.
    word.fetch_or(bit, Ordering::Release) & bit == 0
}

/// Takes every channel posted to core `core` since the last call, calling
/// `each` with the channel's id.
pub fn take(core: usize, mut each: impl FnMut(usize)) {
    let Some(words) = POSTS.get(core) else { return };
    for (index, word) in words.iter().enumerate() {
        // A plain load first: most words have nothing posted.
        if word.load(Ordering::Relaxed) == 0 {
            continue;
        }
        let mut bits = word.swap(0, Ordering::Acquire);
        while bits != 0 {
            let bit = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            each(index * 32 + bit);
        }
    }
}
