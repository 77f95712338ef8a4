/* sleep.c: sleep(atoi(argv[1])) seconds (default 1), then prints "slept\n"
 * to stdout and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    sleep((unsigned)(argc > 1 ? atoi(argv[1]) : 1));
    fputs("slept\n", stdout);
    return 0;
}
