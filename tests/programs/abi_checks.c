/* System-call ABI checks: each line is "ok NAME" or "FAIL NAME: ...";
 * the exit status is the number of failures. Built with musl-gcc -static. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int good, const char *detail) {
    if (good) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s (errno %d)\n", name, detail, errno);
        failures++;
    }
}

/* A call that must fail with `want`. */
#define EXPECT_ERRNO(name, call, want)                                   \
    do {                                                                 \
        errno = 0;                                                       \
        long r_ = (long)(call);                                          \
        check(name, r_ == -1 && errno == (want), "wrong result or errno"); \
    } while (0)

int main(void) {
    EXPECT_ERRNO("close_bad_fd_ebadf", close(99), EBADF);
    EXPECT_ERRNO("write_bad_pointer_efault", write(1, (void *)1, 5), EFAULT);
    EXPECT_ERRNO("open_missing_enoent", open("/no/such/file", O_RDONLY), ENOENT);
    EXPECT_ERRNO("open_dir_for_write_eisdir", open("/", O_WRONLY), EISDIR);
    EXPECT_ERRNO("read_bad_fd_ebadf", read(-1, NULL, 1), EBADF);
    EXPECT_ERRNO("unknown_syscall_enosys", syscall(500), ENOSYS);
    EXPECT_ERRNO("mmap_zero_length_einval", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT_ERRNO("stat_bad_pointer_efault", stat((const char *)8, NULL), EFAULT);
    EXPECT_ERRNO("mkdir_existing_eexist", mkdir("/", 0755), EEXIST);
    EXPECT_ERRNO("execve_missing_enoent", execve("/no/such/prog", (char *[]){NULL}, (char *[]){NULL}), ENOENT);

    int p[2];
    check("pipe", pipe(p) == 0, "pipe failed");
    EXPECT_ERRNO("lseek_pipe_espipe", lseek(p[0], 0, SEEK_SET), ESPIPE);

    /* fork + pipe + exit status through wait4 */
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        const char msg[] = "from child";
        write(p[1], msg, sizeof msg);
        _exit(42);
    }
    close(p[1]);
    char buf[32] = {0};
    ssize_t n = read(p[0], buf, sizeof buf);
    check("pipe_read_from_child", n == 11 && strcmp(buf, "from child") == 0, "bad pipe data");
    check("pipe_eof_after_writer_exit", read(p[0], buf, sizeof buf) == 0, "no EOF");
    int status = 0;
    check("wait4_reaps_child", waitpid(child, &status, 0) == child, "waitpid failed");
    check("exit_status_42", WIFEXITED(status) && WEXITSTATUS(status) == 42, "bad status");
    EXPECT_ERRNO("wait_no_children_echild", waitpid(-1, &status, 0), ECHILD);

    /* a child killed by a fault: SIGSEGV in the wait status */
    child = fork();
    if (child == 0) {
        volatile int *volatile bad = (int *)16;
        *bad = 1;
        _exit(0);
    }
    waitpid(child, &status, 0);
    check("child_segv_signaled", WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "not killed by SIGSEGV");

    /* SIGCHLD ignored: children are reaped by the kernel. */
    signal(SIGCHLD, SIG_IGN);
    child = fork();
    if (child == 0) _exit(0);
    EXPECT_ERRNO("sigchld_ignored_autoreap_echild", waitpid(child, &status, 0), ECHILD);
    signal(SIGCHLD, SIG_DFL);

    /* memory: anonymous mmap, brk through malloc, mprotect */
    char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap_anonymous", m != MAP_FAILED, "mmap failed");
    if (m != MAP_FAILED) {
        int zero = 1;
        for (int i = 0; i < (1 << 20); i += 4096) zero &= m[i] == 0;
        memset(m, 0xab, 1 << 20);
        check("mmap_zero_filled_and_writable", zero && (unsigned char)m[12345] == 0xab, "bad contents");
        check("mprotect_read_only", mprotect(m, 4096, PROT_READ) == 0, "mprotect failed");
        check("munmap", munmap(m, 1 << 20) == 0, "munmap failed");
    }
    char *big = malloc(8 << 20);
    check("malloc_8mib", big != NULL, "malloc failed");
    if (big) {
        memset(big, 1, 8 << 20);
        free(big);
    }

    /* files */
    int fd = open("/tmp-abi-file", O_CREAT | O_RDWR | O_TRUNC, 0640);
    check("create_file", fd >= 0, "open O_CREAT failed");
    check("write_file", write(fd, "abcdef", 6) == 6, "write failed");
    check("lseek_file", lseek(fd, 2, SEEK_SET) == 2, "lseek failed");
    char small[8] = {0};
    check("read_file", read(fd, small, 8) == 4 && memcmp(small, "cdef", 4) == 0, "read back differs");
    struct stat st;
    check("fstat_size_mode", fstat(fd, &st) == 0 && st.st_size == 6 && (st.st_mode & 07777) == 0640 && S_ISREG(st.st_mode),
          "fstat differs");
    check("dup2", dup2(fd, 10) == 10 && lseek(10, 0, SEEK_CUR) == 6, "dup2 shares no offset");
    check("close_file", close(fd) == 0 && close(10) == 0, "close failed");
    check("rename", rename("/tmp-abi-file", "/tmp-abi-renamed") == 0, "rename failed");
    check("unlink", unlink("/tmp-abi-renamed") == 0, "unlink failed");
    EXPECT_ERRNO("unlink_again_enoent", unlink("/tmp-abi-renamed"), ENOENT);

    char cwd[64];
    check("getcwd_root", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0, "getcwd differs");
    errno = 0;
    check("getcwd_small_erange", getcwd(cwd, 1) == NULL && errno == ERANGE, "wrong result or errno");
    check("chdir_dev", chdir("/dev") == 0 && getcwd(cwd, sizeof cwd) && strcmp(cwd, "/dev") == 0, "chdir failed");

    struct utsname u;
    check("uname_linux_x86_64", uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0,
          "uname differs");
    check("getpid_init", getpid() == 1 && getppid() == 0, "pid is not 1");
    check("ids_root", getuid() == 0 && geteuid() == 0 && getgid() == 0, "not root");

    struct timespec a, b, d = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&d, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long elapsed = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    check("nanosleep_20ms", elapsed >= 20 * 1000 * 1000, "slept too short");
    clock_gettime(CLOCK_REALTIME, &a);
    check("realtime_after_2020", a.tv_sec > 1577836800, "wall clock not set");

    unsigned char rnd[32] = {0};
    int nonzero = 0;
    check("getrandom", syscall(SYS_getrandom, rnd, sizeof rnd, 0) == 32, "getrandom failed");
    for (int i = 0; i < 32; i++) nonzero |= rnd[i];
    check("getrandom_nonzero", nonzero != 0, "all zero");

    int tty = isatty(1);
    check("stdout_is_a_tty", tty == 1, "isatty(1) false");

    printf("%d failures\n", failures);
    return failures;
}
