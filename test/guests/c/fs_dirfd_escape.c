/* fs_dirfd_escape.c: a hostile guest for issue 21 item 2 (a directory
 * descriptor that outlives its directory). Usage: fs_dirfd_escape BASE
 * BASE is a writable preopened directory (e.g. /sb); the host has put a
 * directory named "outside" next to the grant. The guest:
 *   1. makes BASE/d (with a marker file "inner") and opens it: fd;
 *   2. renames BASE/d away to BASE/d_away;
 *   3. makes the symlink BASE/x/l -> ../outside one level down (its target
 *      stays inside the grant where it sits), then renames it up to BASE/d,
 *      where the same target now leaves the grant;
 *   4. uses the old fd: stats it, sets its times to 1234567890 s, opens
 *      "secret.txt" through it, and lists it.
 * Prints one line per step ("entry NAME", "ino N", "utimes ok|errno",
 * "secret: <text>" or "open errno"); a descriptor that kept its identity
 * lists "inner" and never reaches "outside". Exit 0; 1 if the setup failed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[4096];

static const char *at(const char *base, const char *rel) {
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s/%s", base, rel);
    return p;
}

static int setup_failed(const char *what) {
    printf("setup %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *b = argv[1];
    if (mkdir(at(b, "d"), 0755) != 0) return setup_failed("mkdir d");
    int marker = open(at(b, "d/inner"), O_CREAT | O_WRONLY, 0644);
    if (marker < 0) return setup_failed("inner");
    close(marker);
    int fd = open(at(b, "d"), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return setup_failed("open d");
    if (rename(at(b, "d"), at(b, "d_away")) != 0) return setup_failed("rename d");
    if (mkdir(at(b, "x"), 0755) != 0) return setup_failed("mkdir x");
    if (symlink("../outside", at(b, "x/l")) != 0) return setup_failed("symlink");
    if (rename(at(b, "x/l"), at(b, "d")) != 0) return setup_failed("rename l");

    struct stat st;
    if (fstat(fd, &st) == 0) printf("ino %llu\n", (unsigned long long)st.st_ino);
    else printf("stat %s\n", strerror(errno));
    struct timespec ts[2] = {{1234567890, 0}, {1234567890, 0}};
    printf("utimes %s\n", futimens(fd, ts) == 0 ? "ok" : strerror(errno));
    int s = openat(fd, "secret.txt", O_RDONLY);
    if (s < 0) {
        printf("open %s\n", strerror(errno));
    } else {
        ssize_t n = read(s, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        printf("secret: %s\n", buf);
    }
    /* Last: fdopendir takes the descriptor over. It stays open on purpose
     * (the host must close what a guest leaves open). */
    DIR *dir = fdopendir(fd);
    if (!dir) {
        printf("list %s\n", strerror(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("entry %s\n", e->d_name);
        }
    }
    return 0;
}
