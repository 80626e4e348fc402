/* The first user program: prints a line and exits with status 7. */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("hello from %s (argc %d)\n", argv[0], argc);
    return 7;
}
