/* exit_code.c: exit(atoi(argv[1])); no output. Exits 0 if argv[1] is missing. */
#include <stdlib.h>

int main(int argc, char **argv) {
    exit(argc > 1 ? atoi(argv[1]) : 0);
}
