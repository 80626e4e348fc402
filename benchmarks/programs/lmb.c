/* Umbra's LMbench-style microbenchmarks, run unchanged on Umbra and on
 * Linux by `umbra bench` (built with musl-gcc -static).
 *
 * Every benchmark checks its result on every iteration (or, where a check
 * per iteration would dominate, on a fixed sample), so a syscall that
 * fails or does nothing cannot look fast: a failed check prints
 * `BENCH-FAIL name why` and exits 1.
 *
 * Output, one line per benchmark (machine-readable, parsed by the host):
 *   BENCH <name> <ns per operation> <iterations>
 *   BENCH-SKIP <name> <why>
 * Time comes from clock_gettime(CLOCK_MONOTONIC) in the guest.
 *
 * Usage:
 *   lmb micro SCALE        all microbenchmarks; SCALE divides the iteration
 *                          counts (1 = full run, 20 = smoke)
 *   lmb time NAME CMD...   run CMD (fork+execve), check it exits 0, print
 *                          its wall time as BENCH NAME
 *   lmb meminfo            print BENCH-MEM used_kb (MemTotal - MemAvailable)
 *   lmb tsm SCALE          TDX report/quote latency (only in a TD)
 *   lmb exit N             exit with status N (the exec benchmarks' child)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *self_path = "/bench/lmb";
static const char *current = "?";

static void fail(const char *why)
{
    printf("BENCH-FAIL %s %s (errno %d)\n", current, why, errno);
    fflush(stdout);
    exit(1);
}

#define CHECK(cond, why) do { if (!(cond)) fail(why); } while (0)

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        fail("clock_gettime");
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const char *name, uint64_t t0, uint64_t t1, long iters)
{
    double ns = (double)(t1 - t0) / (double)iters;
    printf("BENCH %s %.1f %ld\n", name, ns, iters);
    fflush(stdout);
}

static void skip(const char *name, const char *why)
{
    printf("BENCH-SKIP %s %s (errno %d)\n", name, why, errno);
    fflush(stdout);
}

static long scaled(long n, long scale)
{
    long v = n / scale;
    return v < 1 ? 1 : v;
}

/* ---- syscalls ---- */

static void bench_null(long n)
{
    current = "null_syscall";
    long expect = syscall(SYS_getppid);
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (syscall(SYS_getppid) != expect)
            fail("getppid changed");
    report(current, t0, now_ns(), n);
}

static void bench_read_zero(long n)
{
    current = "read_dev_zero_4k";
    static char buf[4096];
    int fd = open("/dev/zero", O_RDONLY);
    CHECK(fd >= 0, "open /dev/zero");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        buf[0] = buf[4095] = 1;
        if (read(fd, buf, sizeof buf) != sizeof buf || buf[0] || buf[4095])
            fail("read did not return 4096 zero bytes");
    }
    report(current, t0, now_ns(), n);
    close(fd);
}

static void bench_write_null(long n)
{
    current = "write_dev_null_4k";
    static char buf[4096];
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0, "open /dev/null");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (write(fd, buf, sizeof buf) != sizeof buf)
            fail("write did not take 4096 bytes");
    report(current, t0, now_ns(), n);
    close(fd);
}

/* One byte each way: the fixed cost of a read/write syscall on a device,
 * to tell it apart from the per-byte cost of the 4 KiB versions. */
static void bench_null_io_1b(long n)
{
    char c = 1;
    current = "read_dev_zero_1b";
    int fd = open("/dev/zero", O_RDONLY);
    CHECK(fd >= 0, "open /dev/zero");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        c = 1;
        if (read(fd, &c, 1) != 1 || c != 0)
            fail("read did not return one zero byte");
    }
    report(current, t0, now_ns(), n);
    close(fd);
    current = "write_dev_null_1b";
    fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0, "open /dev/null");
    t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (write(fd, &c, 1) != 1)
            fail("write did not take 1 byte");
    report(current, t0, now_ns(), n);
    close(fd);
}

#define FILE_PATH "/tmp/lmb-file"
#define FILE_SIZE 1234

static void make_file(void)
{
    static char data[FILE_SIZE];
    int fd = open(FILE_PATH, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(fd >= 0, "create " FILE_PATH);
    CHECK(write(fd, data, sizeof data) == sizeof data, "write " FILE_PATH);
    CHECK(close(fd) == 0, "close " FILE_PATH);
}

static void bench_open_close(long n)
{
    current = "open_close";
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int fd = open(FILE_PATH, O_RDONLY);
        if (fd < 0 || fd > 64)
            fail("open");
        if (close(fd) != 0)
            fail("close");
    }
    report(current, t0, now_ns(), n);
}

static void bench_stat(long n)
{
    current = "stat";
    struct stat st;
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        st.st_size = 0;
        if (stat(FILE_PATH, &st) != 0 || st.st_size != FILE_SIZE)
            fail("stat size");
    }
    report(current, t0, now_ns(), n);
}

static void bench_fstat(long n)
{
    current = "fstat";
    struct stat st;
    int fd = open(FILE_PATH, O_RDONLY);
    CHECK(fd >= 0, "open");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        st.st_size = 0;
        if (fstat(fd, &st) != 0 || st.st_size != FILE_SIZE)
            fail("fstat size");
    }
    report(current, t0, now_ns(), n);
    close(fd);
}

/* ---- pipes and processes ---- */

static void wait_status(pid_t pid, int code)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        fail("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
        fail("child exit status");
}

/* Round trip of one word between two processes over two pipes: two
 * context switches and four pipe operations per iteration. */
static void bench_pipe_latency(long n)
{
    current = "pipe_pingpong";
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            long v;
            if (read(a[0], &v, sizeof v) != sizeof v || v != i)
                _exit(3);
            v++;
            if (write(b[1], &v, sizeof v) != sizeof v)
                _exit(4);
        }
        _exit(0);
    }
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        long v = i;
        if (write(a[1], &v, sizeof v) != sizeof v)
            fail("write");
        if (read(b[0], &v, sizeof v) != sizeof v || v != i + 1)
            fail("echoed value");
    }
    uint64_t t1 = now_ns();
    wait_status(pid, 0);
    report(current, t0, t1, n);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

/* 64 KiB chunks from a child to the parent; the reader checks every
 * byte count and a per-chunk tag. ns per 64 KiB. */
static void bench_pipe_bandwidth(long n)
{
    current = "pipe_64k";
    enum { CHUNK = 65536 };
    static unsigned char buf[CHUNK];
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        close(p[0]);
        for (long i = 0; i < n; i++) {
            memset(buf, (int)(i & 0xff), 64);
            long off = 0;
            while (off < CHUNK) {
                ssize_t w = write(p[1], buf + off, CHUNK - off);
                if (w <= 0)
                    _exit(3);
                off += w;
            }
        }
        _exit(0);
    }
    close(p[1]);
    uint64_t t0 = now_ns();
    long total = 0;
    for (;;) {
        ssize_t r = read(p[0], buf, CHUNK - (total % CHUNK));
        if (r < 0)
            fail("read");
        if (r == 0)
            break;
        if (total % CHUNK == 0 && buf[0] != (unsigned char)((total / CHUNK) & 0xff))
            fail("chunk tag");
        total += r;
    }
    uint64_t t1 = now_ns();
    CHECK(total == n * (long)CHUNK, "byte count");
    wait_status(pid, 0);
    report(current, t0, t1, n);
    close(p[0]);
}

static void bench_fork_exit(long n)
{
    current = "fork_exit";
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            fail("fork");
        if (pid == 0)
            _exit(7);
        wait_status(pid, 7);
    }
    report(current, t0, now_ns(), n);
}

static char *const exit_argv[] = { "lmb", "exit", "9", NULL };
static char *const no_env[] = { NULL };

static void bench_fork_execve(long n)
{
    current = "fork_execve";
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            fail("fork");
        if (pid == 0) {
            execve(self_path, exit_argv, no_env);
            _exit(127);
        }
        wait_status(pid, 9);
    }
    report(current, t0, now_ns(), n);
}

static void bench_vfork_execve(long n)
{
    current = "vfork_execve";
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = vfork();
        if (pid < 0)
            fail("vfork");
        if (pid == 0) {
            execve(self_path, exit_argv, no_env);
            _exit(127);
        }
        wait_status(pid, 9);
    }
    report(current, t0, now_ns(), n);
}

/* ---- signals ---- */

static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
    if (sig == SIGUSR1)
        caught++;
}

static void on_usr1_other(int sig)
{
    (void)sig;
}

static void bench_sig_install(long n)
{
    current = "sig_install";
    struct sigaction a = { 0 }, b = { 0 }, old;
    a.sa_handler = on_usr1;
    b.sa_handler = on_usr1_other;
    CHECK(sigaction(SIGUSR1, &b, NULL) == 0, "sigaction");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        struct sigaction *next = (i & 1) ? &b : &a;
        void (*was)(int) = (i & 1) ? on_usr1 : on_usr1_other;
        if (sigaction(SIGUSR1, next, &old) != 0 || old.sa_handler != was)
            fail("old handler");
    }
    report(current, t0, now_ns(), n);
}

static void bench_sig_deliver(long n)
{
    current = "sig_deliver";
    struct sigaction a = { 0 };
    a.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &a, NULL) == 0, "sigaction");
    caught = 0;
    pid_t me = getpid();
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (kill(me, SIGUSR1) != 0)
            fail("kill");
    uint64_t t1 = now_ns();
    CHECK(caught == n, "handler count");
    report(current, t0, t1, n);
}

/* ---- memory ---- */

static void bench_mmap(long n)
{
    current = "mmap_munmap_1m";
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            fail("mmap");
        if (munmap(p, 1 << 20) != 0)
            fail("munmap");
    }
    report(current, t0, now_ns(), n);
}

/* First write to each page of fresh anonymous memory: one page fault
 * (zeroed page) per iteration. ns per page. */
static void bench_page_fault(long n)
{
    current = "page_fault";
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)n * (size_t)page;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (p[i * page + 8] != 0)
            fail("fresh page not zero");
        p[i * page] = (char)(i | 1);
    }
    uint64_t t1 = now_ns();
    for (long i = 0; i < n; i++)
        CHECK(p[i * page] == (char)(i | 1), "page content");
    CHECK(munmap(p, len) == 0, "munmap");
    report(current, t0, t1, n);
}

/* ---- files ---- */

static void bench_create_delete(long n)
{
    current = "create_delete";
    char name[64];
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "/tmp/lmb-c%ld", i);
        int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0)
            fail("create");
        if (write(fd, name, 8) != 8 || close(fd) != 0)
            fail("write/close");
        if (unlink(name) != 0)
            fail("unlink");
    }
    uint64_t t1 = now_ns();
    CHECK(access(name, F_OK) != 0 && errno == ENOENT, "file still there");
    report(current, t0, t1, n);
}

/* ---- readiness ---- */

enum { NPIPES = 50 };
static int rd[NPIPES], wr[NPIPES];

static void open_pipes(void)
{
    for (int i = 0; i < NPIPES; i++) {
        int p[2];
        CHECK(pipe(p) == 0, "pipe");
        rd[i] = p[0];
        wr[i] = p[1];
    }
}

/* 100 fds: 50 empty pipes polled for input (not ready) and their 50
 * write ends for output (ready); timeout 0. */
static void bench_poll(long n)
{
    current = "poll_100fd";
    struct pollfd fds[2 * NPIPES];
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        for (int j = 0; j < NPIPES; j++) {
            fds[2 * j] = (struct pollfd){ .fd = rd[j], .events = POLLIN };
            fds[2 * j + 1] = (struct pollfd){ .fd = wr[j], .events = POLLOUT };
        }
        if (poll(fds, 2 * NPIPES, 0) != NPIPES)
            fail("ready count");
        if (fds[0].revents != 0 || fds[1].revents != POLLOUT)
            fail("revents");
    }
    report(current, t0, now_ns(), n);
}

static void bench_select(long n)
{
    current = "select_100fd";
    int maxfd = 0;
    for (int j = 0; j < NPIPES; j++) {
        if (rd[j] > maxfd) maxfd = rd[j];
        if (wr[j] > maxfd) maxfd = wr[j];
    }
    CHECK(maxfd < FD_SETSIZE, "fd too big for select");
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        fd_set r, w;
        FD_ZERO(&r);
        FD_ZERO(&w);
        for (int j = 0; j < NPIPES; j++) {
            FD_SET(rd[j], &r);
            FD_SET(wr[j], &w);
        }
        struct timeval tv = { 0, 0 };
        if (select(maxfd + 1, &r, &w, NULL, &tv) != NPIPES)
            fail("ready count");
        if (FD_ISSET(rd[0], &r) || !FD_ISSET(wr[0], &w))
            fail("sets");
    }
    report(current, t0, now_ns(), n);
}

static void bench_unix_latency(long n)
{
    current = "unix_pingpong";
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0) {
        skip(current, "socketpair(AF_UNIX) failed");
        return;
    }
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            long v;
            if (read(s[1], &v, sizeof v) != sizeof v || v != i)
                _exit(3);
            v++;
            if (write(s[1], &v, sizeof v) != sizeof v)
                _exit(4);
        }
        _exit(0);
    }
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        long v = i;
        if (write(s[0], &v, sizeof v) != sizeof v)
            fail("write");
        if (read(s[0], &v, sizeof v) != sizeof v || v != i + 1)
            fail("echoed value");
    }
    uint64_t t1 = now_ns();
    wait_status(pid, 0);
    report(current, t0, t1, n);
    close(s[0]);
    close(s[1]);
}

static void micro(long scale)
{
    make_file();
    bench_null(scaled(200000, scale));
    bench_null_io_1b(scaled(100000, scale));
    bench_read_zero(scaled(50000, scale));
    bench_write_null(scaled(100000, scale));
    bench_open_close(scaled(20000, scale));
    bench_stat(scaled(20000, scale));
    bench_fstat(scaled(100000, scale));
    bench_pipe_latency(scaled(5000, scale));
    bench_pipe_bandwidth(scaled(2000, scale));
    bench_unix_latency(scaled(5000, scale));
    bench_fork_exit(scaled(500, scale));
    bench_fork_execve(scaled(300, scale));
    bench_vfork_execve(scaled(300, scale));
    bench_sig_install(scaled(100000, scale));
    bench_sig_deliver(scaled(50000, scale));
    bench_mmap(scaled(20000, scale));
    bench_page_fault(scaled(20000, scale));
    bench_create_delete(scaled(10000, scale));
    open_pipes();
    bench_poll(scaled(10000, scale));
    bench_select(scaled(10000, scale));
    unlink(FILE_PATH);
}

/* ---- macro helpers ---- */

static int time_command(const char *name, char **cmd)
{
    current = name;
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        execv(cmd[0], cmd);
        _exit(127);
    }
    wait_status(pid, 0);
    report(name, t0, now_ns(), 1);
    return 0;
}

static long meminfo_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        return -1;
    return strtol(p + strlen(key), NULL, 10);
}

static int meminfo(void)
{
    current = "mem_used";
    static char text[8192];
    int fd = open("/proc/meminfo", O_RDONLY);
    CHECK(fd >= 0, "open /proc/meminfo");
    ssize_t n = read(fd, text, sizeof text - 1);
    CHECK(n > 0, "read /proc/meminfo");
    text[n] = 0;
    close(fd);
    long total = meminfo_kb(text, "MemTotal:");
    long avail = meminfo_kb(text, "MemAvailable:");
    CHECK(total > 0 && avail > 0 && avail <= total, "MemTotal/MemAvailable");
    printf("BENCH-MEM %ld %ld\n", total - avail, total);
    fflush(stdout);
    return 0;
}

/* ---- TDX attestation (Umbra under --tee tdx-emu) ---- */

struct tdx_report_req {
    uint8_t reportdata[64];
    uint8_t tdreport[1024];
};
/* _IOWR('T', 1, struct tdx_report_req) as in linux/tdx-guest.h. */
#define TDX_CMD_GET_REPORT0 0xC4405401u

static int write_all(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, data, len);
    int c = close(fd);
    return (w == (ssize_t)len && c == 0) ? 0 : -1;
}

static int tsm(long scale)
{
    current = "tdx_report";
    int fd = open("/dev/tdx_guest", O_RDWR);
    if (fd < 0) {
        skip(current, "no /dev/tdx_guest");
    } else {
        static struct tdx_report_req req;
        long n = scaled(200, scale);
        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            memset(&req, 0, sizeof req);
            req.reportdata[0] = (uint8_t)i;
            if (ioctl(fd, TDX_CMD_GET_REPORT0, &req) != 0)
                fail("TDX_CMD_GET_REPORT0");
            /* REPORTMACSTRUCT: REPORTDATA sits at offset 128. */
            if (req.tdreport[128] != (uint8_t)i)
                fail("reportdata not echoed in the TDREPORT");
        }
        report(current, t0, now_ns(), n);
        close(fd);
    }
    current = "tsm_quote";
    mkdir("/sys/kernel/config", 0755);
    mount("none", "/sys/kernel/config", "configfs", 0, NULL);
    const char *dir = "/sys/kernel/config/tsm/report/bench";
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        skip(current, "mkdir configfs-tsm report");
        return 0;
    }
    long n = scaled(20, scale);
    static char out[16384];
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        uint8_t inblob[64] = { 0 };
        inblob[0] = (uint8_t)i;
        if (write_all("/sys/kernel/config/tsm/report/bench/inblob", inblob, sizeof inblob) != 0)
            fail("write inblob");
        int q = open("/sys/kernel/config/tsm/report/bench/outblob", O_RDONLY);
        if (q < 0)
            fail("open outblob");
        ssize_t r = read(q, out, sizeof out);
        close(q);
        if (r < 0) {
            skip(current, "outblob read failed (no quote service)");
            rmdir(dir);
            return 0;
        }
        if (r < 48)
            fail("quote too short");
    }
    report(current, t0, now_ns(), n);
    rmdir(dir);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 0 && strchr(argv[0], '/'))
        self_path = argv[0];
    if (argc >= 3 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "micro") == 0) {
        micro(atol(argv[2]) > 0 ? atol(argv[2]) : 1);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "time") == 0)
        return time_command(argv[2], argv + 3);
    if (argc >= 2 && strcmp(argv[1], "meminfo") == 0)
        return meminfo();
    if (argc >= 3 && strcmp(argv[1], "tsm") == 0)
        return tsm(atol(argv[2]) > 0 ? atol(argv[2]) : 1);
    fprintf(stderr, "usage: lmb micro SCALE | time NAME CMD... | meminfo | tsm SCALE | exit N\n");
    return 2;
}
