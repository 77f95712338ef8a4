/* args_env.c: prints the arguments and environment the runtime passes.
 *
 * Output (stdout), exit 0:
 *   argv[0]=<argv0>
 *   argv[1]=<arg1>
 *   ...
 *   env:KEY=VALUE        (one line per environ entry, in runtime order)
 */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; e && *e; e++)
        printf("env:%s\n", *e);
    return 0;
}
