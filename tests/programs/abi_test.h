/* Shared checks of the per-group ABI suites (abi_*.c): one line per failed
 * check ("FAIL line N: ..."), then "<suite>: ok" or "<suite>: N of M checks
 * failed"; the exit status is 0 only when every check passed. Expectations
 * are Linux's (x86-64) behaviour. Built static with musl-gcc and gcc. */
#ifndef ABI_TEST_H
#define ABI_TEST_H
/* Bad pointers and counts are the point of these checks. */
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wnonnull"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-result"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures, checks;

/* `cond` must hold. */
#define CHECK(cond)                                                               \
    do {                                                                          \
        checks++;                                                                 \
        if (!(cond)) {                                                            \
            failures++;                                                           \
            printf("FAIL line %d: %s (errno %d %s)\n", __LINE__, #cond, errno,     \
                   strerror(errno));                                              \
        }                                                                         \
    } while (0)

/* `call` must fail with errno `want`. */
#define ERR(call, want)                                                           \
    do {                                                                          \
        errno = 0;                                                                \
        long r_ = (long)(call);                                                   \
        int e_ = errno;                                                           \
        checks++;                                                                 \
        if (!(r_ == -1 && e_ == (want))) {                                        \
            failures++;                                                           \
            printf("FAIL line %d: %s: got %ld errno %d (%s), want %s\n", __LINE__, \
                   #call, r_, e_, strerror(e_), #want);                           \
        }                                                                         \
    } while (0)

/* `call` must succeed (not -1); gives its result. */
#define OK(call)                                                                  \
    ({                                                                            \
        errno = 0;                                                                \
        long r_ = (long)(call);                                                   \
        checks++;                                                                 \
        if (r_ == -1) {                                                           \
            failures++;                                                           \
            printf("FAIL line %d: %s: errno %d (%s)\n", __LINE__, #call, errno,    \
                   strerror(errno));                                              \
        }                                                                         \
        r_;                                                                       \
    })

/* A fresh directory to work in (the suite runs as PID 1 on a RAM root). */
static void enter_workdir(const char *dir) {
    mkdir(dir, 0755);
    if (chdir(dir) != 0) {
        printf("FAIL cannot enter %s: %s\n", dir, strerror(errno));
        exit(1);
    }
}

/* Runs `body` in a child; returns its wait status. */
static int in_child(void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        failures = 0; /* the child reports only its own */
        body();
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return status;
}

static int finish(const char *suite) {
    if (failures) {
        printf("%s: %d of %d checks failed\n", suite, failures, checks);
        fflush(stdout);
        return 1;
    }
    printf("%s: ok (%d checks)\n", suite, checks);
    fflush(stdout);
    return 0;
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, text, strlen(text)) < 0) printf("FAIL write %s\n", path);
        close(fd);
    } else {
        printf("FAIL create %s: %s\n", path, strerror(errno));
    }
}

#endif
