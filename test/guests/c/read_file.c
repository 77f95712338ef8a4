/* read_file.c: reads the file named by argv[1] completely and prints
 *   bytes=N sum=M\n
 * where N is the byte count and M the sum of all bytes (as unsigned 0..255)
 * modulo 2^32, both in decimal. Exit 0.
 * On failure prints "error: <strerror(errno)>\n" to stderr and exits 1;
 * missing argument: exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    static unsigned char buf[65536];
    if (argc < 2) return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) goto fail;
    unsigned long long bytes = 0;
    uint32_t sum = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) goto fail;
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) sum += buf[i];
        bytes += (unsigned long long)n;
    }
    close(fd);
    printf("bytes=%llu sum=%lu\n", bytes, (unsigned long)sum);
    return 0;
fail:
    fprintf(stderr, "error: %s\n", strerror(errno));
    return 1;
}
