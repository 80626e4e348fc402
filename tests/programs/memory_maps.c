/* Memory mappings: shared anonymous memory across fork, private file
 * mappings (contents, offsets, copy-on-write). Prints "maps: N failures". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int fails = 0;
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = 1;
    pid_t c = fork();
    if (c == 0) { *shared = 42; _exit(0); }
    waitpid(c, NULL, 0);
    if (*shared != 42) { printf("FAIL shared anon: %d\n", *shared); fails++; }
    int fd = open("/mapped.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char text[6000];
    memset(text, 'q', sizeof text); memcpy(text + 4096, "second page", 11);
    write(fd, text, sizeof text);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED || m[0] != 'q' || memcmp(m + 4096, "second page", 11) != 0 || m[7000] != 0) { printf("FAIL file map\n"); fails++; }
    else { m[0] = 'Z'; char b; pread(fd, &b, 1, 0); if (b != 'q') { printf("FAIL private write reached file\n"); fails++; } }
    char *o = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    if (o == MAP_FAILED || memcmp(o, "second page", 11) != 0) { printf("FAIL offset map\n"); fails++; }
    printf("maps: %d failures\n", fails);
    return fails;
}
