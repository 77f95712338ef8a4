/* memory_bomb.c: memory-limit tester. Allocates 1 MiB blocks with malloc
 * forever, writing to every 4 KiB of each block so the memory is really
 * used. When malloc returns NULL it prints "malloc failed\n" to stderr and
 * exits 1. (A runtime that traps on memory.grow failure stops it with a trap
 * instead.) Never exits 0. */
#include <stdlib.h>
#include <unistd.h>

#define BLOCK (1024 * 1024)

int main(void) {
    void *volatile head = NULL;
    for (;;) {
        volatile char *p = malloc(BLOCK);
        if (!p) {
            static const char msg[] = "malloc failed\n";
            write(2, msg, sizeof msg - 1);
            return 1;
        }
        for (size_t i = 0; i < BLOCK; i += 4096) p[i] = (char)i;
        *(void *volatile *)p = head; /* keep a chain so nothing is dead */
        head = (void *)p;
    }
}
