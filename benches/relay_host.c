/* The floor of our design, measured by benches/companion.rs in the same
 * run: a native-messaging host in C that relays frames between stdio and a
 * Unix socket, as ours does (one thread per direction, blocking reads), in
 * front of benches/echo_socket.c. Whatever a host + daemon pair costs
 * above this is ours to remove; up to this is the two extra hops.
 *
 *   relay_host <socket path>                                             */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "io_all.h"

static int sock;

/* Copies whole frames from `from` to `to` until either side closes. */
static void pump(int from, int to) {
    static __thread char buf[4 + (1 << 20)];
    for (;;) {
        uint32_t n;
        if (read_all(from, buf, 4)) return;
        memcpy(&n, buf, 4);
        if (n > (1 << 20) || read_all(from, buf + 4, n)) return;
        if (write_all(to, buf, 4 + (size_t)n)) return;
    }
}

static void *daemon_to_stdout(void *arg) {
    (void)arg;
    pump(sock, 1);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    if (connect(sock, (struct sockaddr *)&a, sizeof a)) return 1;
    /* The handshake the server skips, as the daemon reads `connect`. */
    const char *hs = "{\"connect\":{\"origin\":\"cli\",\"client\":\"relay\",\"pid\":1}}";
    uint32_t len = (uint32_t)strlen(hs);
    if (write_all(sock, &len, 4) || write_all(sock, hs, len)) return 1;
    pthread_t t;
    pthread_create(&t, NULL, daemon_to_stdout, NULL);
    pump(0, sock);
    return 0;
}
