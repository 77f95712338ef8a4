/*
 * fd_hold DIR N: creates and opens DIR/f0 .. DIR/f<N-1>, keeping them all
 * open, until the first failure; prints "opened=K errno=E\n" (E = 0 when all
 * N opened), then calls host.call("held") and waits for its answer before
 * exiting 0, still holding every file. The host checks its own descriptors
 * meanwhile (test/hostile/native-limits.test.ts: the process-wide budget).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("host"), import_name("call")))
int host_call(const char *req, int req_len, char *resp, int resp_cap);

int main(int argc, char **argv) {
    if (argc != 3) {
        fputs("usage: fd_hold DIR N\n", stderr);
        return 2;
    }
    int n = atoi(argv[2]);
    int opened = 0, err = 0;
    char path[4096];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%d", argv[1], i);
        if (open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600) < 0) {
            err = errno;
            break;
        }
        opened++;
    }
    printf("opened=%d errno=%d\n", opened, err);
    fflush(stdout);
    char answer[16];
    host_call("held", 4, answer, (int)sizeof answer);
    return 0;
}
