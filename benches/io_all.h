/* Whole-buffer read and write for the C baselines of benches/companion.rs
 * (echo_host.c, echo_socket.c, relay_host.c): a short read or write is
 * continued, an end or error is -1. Header-only, so each baseline stays
 * one `cc` call. */
#ifndef LC_BENCH_IO_ALL_H
#define LC_BENCH_IO_ALL_H
#include <stddef.h>
#include <unistd.h>

static inline int read_all(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static inline int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
#endif
