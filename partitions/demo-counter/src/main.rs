//! Demo partition: a well-behaved compute job.
//!
//! Tests numbers for primality forever and, about once per millisecond of its
//! own (partition) time, prints how far it got. Its progress per line is the
//! same whatever the other partitions do: that is temporal isolation seen
//! from the inside.

#![no_std]
#![no_main]

use bulkhead_sdk::{entry, hypercall, println};

fn is_prime(n: u32) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
}

#[entry]
fn main() -> ! {
    let me = hypercall::identity();
    println!("counter: partition {} of {}, counting primes", me.id, me.partitions);
    let mut primes = 0u32;
    let mut candidate = 1u32;
    let mut next_report = hypercall::partition_time().ticks;
    loop {
        candidate += 1;
        if is_prime(candidate) {
            primes += 1;
        }
        let now = hypercall::partition_time();
        if now.ticks >= next_report {
            println!("counter: {primes} primes below {candidate} after {} us", now.micros());
            next_report = now.ticks + now.hz as u64 / 1000;
        }
    }
}
