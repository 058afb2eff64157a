/* A floor for the daemon hop, measured by benches/companion.rs in the same
 * run: a C server on a Unix socket that answers every frame after the first
 * (the client's handshake, unanswered like the daemon's `connect`) with a
 * pong, one connection after another.
 *
 *   echo_socket <path> blocking   read(2) sleeps until the frame arrives
 *   echo_socket <path> epoll      an event loop: non-blocking socket,
 *                                 edge-triggered epoll (what tokio/mio do)
 *
 * The difference between the two is what waking an event loop costs on the
 * machine, which every daemon serving many clients pays. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "io_all.h"

static char buf[1 << 16];
static char reply[128];
static size_t reply_len;

/* Serves one connection until it closes. */
static void serve(int c, int event_loop) {
    int first = 1;
    if (!event_loop) {
        for (;;) {
            uint32_t n;
            if (read_all(c, &n, 4) || n > sizeof buf || read_all(c, buf, n)) return;
            if (first) { first = 0; continue; }
            if (write(c, reply, reply_len) < 0) return;
        }
    }
    fcntl(c, F_SETFL, O_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.fd = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    size_t have = 0;
    for (;;) {
        struct epoll_event evs[4];
        if (epoll_wait(ep, evs, 4, -1) < 0) break;
        for (;;) {
            ssize_t r = recv(c, buf + have, sizeof buf - have, 0);
            if (r == 0) { close(ep); return; }
            if (r < 0) break;
            have += (size_t)r;
            /* Answer every whole frame in the buffer. */
            for (;;) {
                uint32_t n;
                if (have < 4) break;
                memcpy(&n, buf, 4);
                if (have < 4 + (size_t)n) break;
                memmove(buf, buf + 4 + n, have - 4 - n);
                have -= 4 + n;
                if (first) { first = 0; continue; }
                if (send(c, reply, reply_len, MSG_NOSIGNAL) < 0) { close(ep); return; }
            }
        }
    }
    close(ep);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *body = "{\"id\":1,\"result\":{\"pong\":true}}";
    uint32_t len = (uint32_t)strlen(body);
    memcpy(reply, &len, 4);
    memcpy(reply + 4, body, len);
    reply_len = 4 + len;

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    unlink(argv[1]);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4)) return 1;
    printf("ready\n");
    fflush(stdout);
    int event_loop = strcmp(argv[2], "epoll") == 0;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) return 1;
        serve(c, event_loop);
        close(c);
    }
}
