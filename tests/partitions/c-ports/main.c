/*
 * c-ports: a C partition (GCC -O2) on both ends of channels with Rust
 * partitions, through bulkhead.h's ports only (tests/systems/c-ports.toml,
 * checked by tests/system/tests/c_ports.rs).
 *
 * - Reader of `speed` (sampling) and `events` (queuing), which the Rust
 *   `sensor` (tests/partitions/test-ports) writes on this core just before
 *   this window: once per window it reads `speed` (the writer was preempted
 *   somewhere in a write) and drains `events`, checking every byte.
 * - Writer of `c-speed` (sampling), without pause for its whole window, and
 *   of `c-events` (queuing, two messages at the start of each window, then
 *   PortNotify), which Rust `c-control` (this core) and `c-logger` (the
 *   other core, all through its window, taking one message per window so
 *   its queue overflows) read and check.
 *
 * Values and messages carry their number and test-ports' pattern, so a torn
 * one cannot go unnoticed on either side. Output, every fourth window:
 *
 *   c-reader window=W reads=R raced=X empty=Y torn=T last=N stale=S bad=B
 *   c-queue window=W events=E missed=M overflows=O bad=B
 *   c-writer window=W written=N events=E full=F notify=S
 */

#include <stddef.h>
#include <stdint.h>

#include "bulkhead.h"
#include "partition.h"

#define SPEED_BYTES 64U
#define EVENT_BYTES 16U

/* ---- console -------------------------------------------------------------- */

static char line[128];
static uint32_t line_length;

static void put(const char *text)
{
    while (*text != '\0' && line_length < sizeof line) {
        line[line_length++] = *text++;
    }
}

static void put_number(const char *key, uint32_t value)
{
    char digits[11];
    uint32_t count = 0U;
    put(" ");
    put(key);
    put("=");
    do {
        digits[count++] = (char)('0' + value % 10U);
        value /= 10U;
    } while (value != 0U);
    while (count > 0U && line_length < sizeof line) {
        line[line_length++] = digits[--count];
    }
}

static void flush_line(void)
{
    uint32_t at = 0U;
    put("\n");
    while (at < line_length) {
        uint32_t accepted = 0U;
        if (bulkhead_console_write(line + at, line_length - at, &accepted) != BULKHEAD_OK || accepted == 0U) {
            break;
        }
        at += accepted;
    }
    line_length = 0U;
}

/* ---- test-ports' pattern ------------------------------------------------- */

static uint8_t pattern(uint32_t n, uint32_t i)
{
    if (i < 4U) {
        return (uint8_t)(n >> (8U * i));
    }
    return (uint8_t)((uint8_t)n * 31U + i);
}

static void fill(uint32_t n, uint8_t *out, uint32_t length)
{
    for (uint32_t i = 0U; i < length; i++) {
        out[i] = pattern(n, i);
    }
}

static int whole(uint32_t n, const uint8_t *bytes, uint32_t length)
{
    for (uint32_t i = 0U; i < length; i++) {
        if (bytes[i] != pattern(n, i)) {
            return 0;
        }
    }
    return 1;
}

/* ---- the ports ------------------------------------------------------------ */

static bulkhead_sampling_reader_t speed;
static bulkhead_queue_receiver_t events;
static bulkhead_sampling_writer_t c_speed;
static bulkhead_queue_sender_t c_events;

static struct {
    uint32_t reads, raced, empty, torn, last, stale, bad;
    uint32_t events, last_event, missed, queue_bad;
    uint32_t written, sent, full, notify;
} tally;

static void read_speed(void)
{
    uint8_t value[SPEED_BYTES];
    bulkhead_sample_t sample;
    switch (bulkhead_sampling_read(&speed, value, sizeof value, &sample)) {
    case BULKHEAD_PORT_OK:
        tally.reads++;
        if (sample.length != SPEED_BYTES || !whole(sample.number, value, sample.length) || sample.number < tally.last) {
            tally.torn++;
        }
        tally.last = sample.number;
        tally.stale += bulkhead_sample_is_stale(&speed, &sample, bulkhead_system_ticks());
        break;
    case BULKHEAD_PORT_RACED:
        tally.raced++;
        break;
    case BULKHEAD_PORT_EMPTY:
        tally.empty++;
        break;
    default:
        tally.bad++;
        break;
    }
}

/* Takes every waiting message (at most depth + 1 tries: bounded). */
static void drain_events(void)
{
    for (uint32_t tries = 0U; tries <= BULKHEAD_CHANNEL_EVENTS_DEPTH; tries++) {
        uint8_t message[EVENT_BYTES];
        uint32_t length = 0U;
        uint32_t kernel_error = 0U;
        uint32_t status = bulkhead_queue_receive(&events, message, sizeof message, &length, &kernel_error);
        if (status == BULKHEAD_PORT_EMPTY) {
            break;
        }
        if (status != BULKHEAD_PORT_OK) {
            tally.queue_bad++;
            break;
        }
        uint32_t n = (uint32_t)message[0] | (uint32_t)message[1] << 8 | (uint32_t)message[2] << 16 |
                     (uint32_t)message[3] << 24;
        if (length != EVENT_BYTES || !whole(n, message, length) || n <= tally.last_event) {
            tally.queue_bad++;
        } else {
            tally.missed += n - tally.last_event - 1U;
            tally.last_event = n;
            tally.events++;
        }
        if (tally.missed > bulkhead_queue_overflows(&events)) {
            tally.queue_bad++;
        }
    }
}

static void send_events(void)
{
    for (uint32_t i = 0U; i < 2U; i++) {
        uint8_t message[EVENT_BYTES];
        uint32_t full = 0U;
        tally.sent++;
        fill(tally.sent, message, sizeof message);
        if (bulkhead_queue_send(&c_events, message, sizeof message, &full) != BULKHEAD_PORT_OK) {
            tally.full++;
        }
    }
    tally.notify = bulkhead_queue_notify(&c_events);
}

static void report(uint32_t window)
{
    put("c-reader");
    put_number("window", window);
    put_number("reads", tally.reads);
    put_number("raced", tally.raced);
    put_number("empty", tally.empty);
    put_number("torn", tally.torn);
    put_number("last", tally.last);
    put_number("stale", tally.stale);
    put_number("bad", tally.bad);
    flush_line();
    put("c-queue");
    put_number("window", window);
    put_number("events", tally.events);
    put_number("missed", tally.missed);
    put_number("overflows", bulkhead_queue_overflows(&events));
    put_number("bad", tally.queue_bad);
    flush_line();
    put("c-writer");
    put_number("window", window);
    put_number("written", tally.written);
    put_number("events", tally.sent);
    put_number("full", tally.full);
    put_number("notify", tally.notify);
    flush_line();
}

int main(void)
{
    uint32_t opened = BULKHEAD_SAMPLING_READER_OPEN(&speed, SPEED) | BULKHEAD_QUEUE_RECEIVER_OPEN(&events, EVENTS) |
                      BULKHEAD_SAMPLING_WRITER_OPEN(&c_speed, C_SPEED) |
                      BULKHEAD_QUEUE_SENDER_OPEN(&c_events, C_EVENTS);
    if (opened != BULKHEAD_PORT_OK) {
        put("c-ports cannot open its ports");
        put_number("status", opened);
        flush_line();
        bulkhead_stop_self(1U);
    }
    put("c-ports open");
    flush_line();

    uint8_t value[SPEED_BYTES];
    uint32_t window = 0U;
    /* A gap in system time longer than any iteration: a new window. */
    const uint64_t gap = BULKHEAD_TIMER_HZ / 100000U;
    uint64_t last = bulkhead_system_ticks();
    for (;;) {
        uint64_t time = bulkhead_system_ticks();
        if (time - last > gap) {
            window++;
            read_speed();
            drain_events();
            send_events();
            if (window % 4U == 0U) {
                report(window);
            }
            /* The time all that took is no gap between windows. */
            time = bulkhead_system_ticks();
        }
        last = time;
        uint32_t number = tally.written + 1U;
        fill(number, value, sizeof value);
        /* The writer numbers its values 1, 2, ... as the protocol does. */
        if (bulkhead_sampling_write_stamped(&c_speed, value, sizeof value, time, &number) == BULKHEAD_PORT_OK) {
            tally.written = number;
        }
    }
}
