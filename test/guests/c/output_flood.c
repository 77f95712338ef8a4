/* output_flood.c: output-limit tester.
 *
 *   output_flood <stdout_bytes> [stderr_bytes]
 *
 * Writes exactly <stdout_bytes> bytes to stdout, then [stderr_bytes] (default
 * 0) bytes to stderr, using write(2) in chunks of at most 64 KiB. Each stream
 * is the repeating pattern "abcdefghijklmnopqrstuvwxyz" starting at 'a'
 * (byte k of a stream is 'a' + k % 26). Every write's return value is
 * checked; short writes are continued. If any write fails (returns -1 or 0)
 * the program writes nothing more and exits 3; otherwise it exits 0.
 * Bad/missing arguments: exit 2.
 */
#include <stdlib.h>
#include <unistd.h>

#define CHUNK 65536

static char pattern[CHUNK + 26];

static void flood(int fd, unsigned long long total) {
    unsigned long long done = 0;
    while (done < total) {
        unsigned long long left = total - done;
        size_t len = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t w = write(fd, pattern + done % 26, len);
        if (w <= 0) _Exit(3);
        done += (unsigned long long)w;
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) return 2;
    for (int i = 0; i < (int)sizeof pattern; i++) pattern[i] = (char)('a' + i % 26);
    unsigned long long out = strtoull(argv[1], NULL, 10);
    unsigned long long err = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
    flood(1, out);
    flood(2, err);
    return 0;
}
