/* The physical limit for the benchmarks: a native-messaging host in C that
 * answers every request itself on the same framing (u32 native-endian
 * length + JSON), echoing the request's "id" like a real host would. Our
 * host + daemon are measured against it in the same run (scripts/bench
 * compiles it with `cc -O2`; no libraries, no allocation per message). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io_all.h"

/* The text of the top-level "id" value (a number or a simple string). */
static size_t find_id(const char *body, size_t len, const char **out) {
    const char *key = "\"id\":";
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen <= len; i++) {
        if (memcmp(body + i, key, klen) != 0) continue;
        size_t s = i + klen, e = s;
        if (e < len && body[e] == '"') {
            e++;
            while (e < len && body[e] != '"') e++;
            if (e < len) e++;
        } else {
            while (e < len && body[e] != ',' && body[e] != '}') e++;
        }
        *out = body + s;
        return e - s;
    }
    *out = "null";
    return 4;
}

static char body[1 << 20];
static char frame[4 + 256 + (1 << 10)];

int main(void) {
    for (;;) {
        uint32_t len;
        if (read_all(0, &len, 4) != 0) return 0;
        if (len > sizeof body) return 1;
        if (read_all(0, body, len) != 0) return 0;
        const char *id;
        size_t idlen = find_id(body, len, &id);
        if (idlen > 256) { id = "null"; idlen = 4; }
        int n = snprintf(frame + 4, sizeof frame - 4, "{\"id\":%.*s,\"result\":{\"pong\":true}}",
                         (int)idlen, id);
        uint32_t out = (uint32_t)n;
        memcpy(frame, &out, 4);
        if (write_all(1, frame, 4 + (size_t)n) != 0) return 0;
    }
}
