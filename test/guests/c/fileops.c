/* fileops.c: a tiny file-system exerciser driven by argv.
 *
 *   fileops <op> <args...>
 *
 * Ops and their exact stdout on success (exit 0):
 *   read PATH            file contents, verbatim
 *   write PATH TEXT      (nothing)  create or truncate PATH, write TEXT verbatim
 *   append PATH TEXT     (nothing)  create if missing, append TEXT verbatim
 *   ls DIR               entry names sorted by strcmp, one per line, each
 *                        followed by "\n"; "." and ".." are excluded
 *   stat PATH            "size=N type=T\n", T is file|dir|other (follows
 *                        symlinks, like stat(2))
 *   mkdir PATH           (nothing)  mode 0755
 *   rmdir PATH           (nothing)
 *   rename FROM TO       (nothing)
 *   unlink PATH          (nothing)
 *   seek PATH OFFSET     opens PATH read-only, lseek(OFFSET, SEEK_SET), reads
 *                        to EOF and prints the bytes read verbatim, then "\n",
 *                        then "tell=N\n" where N = lseek(fd, 0, SEEK_CUR) after
 *                        the read (i.e. the file size when OFFSET <= size).
 *                        e.g. file "hello world", OFFSET 6 -> "world\ntell=11\n"
 *   symlink TARGET LINK  (nothing)  creates LINK pointing to TARGET
 *   readlink PATH        link target followed by "\n"
 *   openmany DIR N       creates DIR/f0 .. DIR/f<N-1> (O_CREAT|O_TRUNC) and
 *                        keeps them all open; stops at the first failure
 *                        (then also prints "error: <strerror(errno)>\n" to
 *                        stderr). Always prints "opened=K\n" (K = number
 *                        successfully opened) and exits 0.
 *   truncate PATH N      (nothing)  truncate(PATH, N)
 *
 * On failure every op (except openmany) prints "error: <strerror(errno)>\n"
 * to stderr, nothing further to stdout, and exits 1 (e.g. "error: No such
 * file or directory"). Unknown op or wrong argument count: a usage line on
 * stderr and exit 2.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail(void) {
    fprintf(stderr, "error: %s\n", strerror(errno));
    exit(1);
}

static void usage(void) {
    fputs("usage: fileops read|write|append|ls|stat|mkdir|rmdir|rename|unlink|"
          "seek|symlink|readlink|openmany|truncate ARGS...\n", stderr);
    exit(2);
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) fail();
        p += w;
        n -= (size_t)w;
    }
}

/* Copy fd to stdout until EOF. */
static void cat_fd(int fd) {
    static char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) fail();
        if (n == 0) return;
        write_all(1, buf, (size_t)n);
    }
}

static void write_file(const char *path, const char *text, int flags) {
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    if (fd < 0) fail();
    write_all(fd, text, strlen(text));
    if (close(fd) != 0) fail();
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) fail();
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof *names);
            if (!names) fail();
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) fail();
        n++;
        errno = 0;
    }
    if (errno != 0) fail();
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) printf("%s\n", names[i]);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *op = argv[1];
    int nargs = argc - 2;
    char **a = argv + 2;

#define OP(name, n) (strcmp(op, name) == 0 && (nargs == (n) || (usage(), 0)))

    if (OP("read", 1)) {
        int fd = open(a[0], O_RDONLY);
        if (fd < 0) fail();
        cat_fd(fd);
        close(fd);
    } else if (OP("write", 2)) {
        write_file(a[0], a[1], O_TRUNC);
    } else if (OP("append", 2)) {
        write_file(a[0], a[1], O_APPEND);
    } else if (OP("ls", 1)) {
        list_dir(a[0]);
    } else if (OP("stat", 1)) {
        struct stat st;
        if (stat(a[0], &st) != 0) fail();
        const char *t = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : "other";
        printf("size=%lld type=%s\n", (long long)st.st_size, t);
    } else if (OP("mkdir", 1)) {
        if (mkdir(a[0], 0755) != 0) fail();
    } else if (OP("rmdir", 1)) {
        if (rmdir(a[0]) != 0) fail();
    } else if (OP("rename", 2)) {
        if (rename(a[0], a[1]) != 0) fail();
    } else if (OP("unlink", 1)) {
        if (unlink(a[0]) != 0) fail();
    } else if (OP("seek", 2)) {
        int fd = open(a[0], O_RDONLY);
        if (fd < 0) fail();
        if (lseek(fd, (off_t)strtoll(a[1], NULL, 10), SEEK_SET) < 0) fail();
        cat_fd(fd);
        off_t pos = lseek(fd, 0, SEEK_CUR);
        if (pos < 0) fail();
        fflush(stdout);
        printf("\ntell=%lld\n", (long long)pos);
        close(fd);
    } else if (OP("symlink", 2)) {
        if (symlink(a[0], a[1]) != 0) fail();
    } else if (OP("readlink", 1)) {
        static char buf[4096];
        ssize_t n = readlink(a[0], buf, sizeof buf - 1);
        if (n < 0) fail();
        buf[n] = '\0';
        printf("%s\n", buf);
    } else if (OP("openmany", 2)) {
        long want = strtol(a[1], NULL, 10);
        long opened = 0;
        static char path[4096];
        for (; opened < want; opened++) {
            snprintf(path, sizeof path, "%s/f%ld", a[0], opened);
            if (open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) < 0) {
                fprintf(stderr, "error: %s\n", strerror(errno));
                break;
            }
        }
        printf("opened=%ld\n", opened);
    } else if (OP("truncate", 2)) {
        if (truncate(a[0], (off_t)strtoll(a[1], NULL, 10)) != 0) fail();
    } else {
        usage();
    }
    if (fflush(stdout) != 0) fail();
    return 0;
}
