/* Syscall fuzzer: the kernel must survive random system calls.
 *
 *   syscall_fuzz SEED [WORKERS [LIVES [CALLS]]]
 *   syscall_fuzz --sweep       (every number x argument x boundary value)
 *   syscall_fuzz --follow-up   (regression checks and ordinary calls)
 *
 * The parent forks WORKERS worker processes at a time, LIVES in all. Each
 * worker (a "life") makes up to CALLS raw syscall(2) calls with random
 * numbers (0..~470, plus out-of-range ones) and arguments drawn from
 * boundary values: 0, -1, small ints, INT_MIN/MAX, huge lengths, kernel
 * and non-canonical addresses, unmapped, PROT_NONE, read-only and
 * read-write user buffers (also buffers that run into an unmapped page),
 * path strings, fds of several kinds. Life i is seeded from SEED and i, so
 * "syscall_fuzz SEED" replays the same calls (scheduling aside; the seed
 * is printed first).
 *
 * Workers die in every way a process can: exit, exit_group, signals
 * (SIGSEGV after munmap of their own code, rt_sigreturn of garbage, ...).
 * The parent reaps them and starts the next life; a worker that blocks
 * (read of a pipe, pause, a huge nanosleep, ...) is SIGKILLed after
 * WATCHDOG_MS. Then the parent prints one summary line
 *   syscall_fuzz: summary: ...
 * and checks that the kernel still works: it forks and runs its own image
 * again (through an fd opened before fuzzing, so mounts or renames done by
 * the workers cannot hide it) as "syscall_fuzz --follow-up", which does a
 * few ordinary calls and prints "syscall_fuzz: follow-up ok".
 * Exit status 0 when all of that worked.
 *
 * Exclusions, each only because it would end the test rather than test
 * the kernel (documented here and in the test):
 *  - reboot (169): powers the VM off.
 *  - vfork (58): the child runs on the worker's stack while the worker is
 *    suspended, so the worker dies of a clobbered stack each time.
 *  - signals to the parent or everyone: kill/tkill/tgkill/
 *    rt_sigqueueinfo/rt_tgsigqueueinfo/pidfd_send_signal with a pid <= 0
 *    (own group, all processes), 1 or the parent's pid get the worker's
 *    own pid instead. Signals to random other pids (siblings) stay.
 *  - prlimit64 / setpriority / sched_setaffinity / setpgid / ptrace with
 *    the parent's pid get pid 0 (the worker itself): the parent must be
 *    able to fork on.
 *  - Children a worker creates (fork, clone) _exit at once, so no fork
 *    bomb; their creation and exit are still tested.
 *  - Workers' fds 0-2 are /dev/null: random writes of megabytes to the
 *    serial console would only slow the test down, and a read of the
 *    console would wait for a key press.
 *  - Paths come from a pool under the worker's scratch folder (plus a few
 *    read-only system paths), and workers close the fds they inherit, so
 *    they do not delete or chmod the test's own files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 16
#define WATCHDOG_MS 1500
/* A SIGKILLed worker must be gone within this (TCG under load is slow). */
#define KILL_GRACE_MS 30000
#define SYSCALL_RANGE 470
#define PAGE 4096UL

/* splitmix64: small, good enough, reproducible. */
static uint64_t rng_state;
static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? next_u64() % n : 0; }

/* Shared with the parent (MAP_SHARED anonymous): calls made by all lives. */
static volatile uint64_t *shared_calls;

/* What a worker's arguments point at. */
static char *rw_buf;      /* 4 pages read-write, random bytes */
static char *edge_buf;    /* read-write page followed by an unmapped page */
static char *ro_buf;      /* read-only page */
static char *none_buf;    /* PROT_NONE page */
static uint64_t unmapped; /* a page that was mapped and is unmapped again */
static char scratch[64];
#define NPATHS 13
static char paths[NPATHS][96];
static int fds[12];
static int nfds;
static pid_t parent_pid;

static uint64_t random_int(void) {
    static const uint64_t specials[] = {
        0, 1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 4095, 4096, 4097, 65536,
        0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
        0x8000000000000000ULL, (uint64_t)-1, (uint64_t)-2, (uint64_t)-4096,
        (uint64_t)INT32_MIN, 0x7ffff000, 1UL << 40,
    };
    switch (below(6)) {
    case 0: return specials[below(sizeof specials / sizeof specials[0])];
    case 1: return below(64);
    case 2: return 1ULL << below(64);          /* single flag bits */
    case 3: return next_u64() & 0xffffffff;    /* random 32-bit flags */
    case 4: return next_u64();
    default: return below(4);
    }
}

static uint64_t random_pointer(void) {
    static const uint64_t bad[] = {
        0, 1, 8, 0x1000, 0xffff800000000000ULL, 0xffffffff80000000ULL,
        0xffffffffff600000ULL, 0x00007ffffffff000ULL, 0x0000800000000000ULL,
        0x8000000000000000ULL, (uint64_t)-1, 0x7fffffffffffULL, (uint64_t)-4096,
    };
    switch (below(10)) {
    case 0: return bad[below(sizeof bad / sizeof bad[0])];
    case 1: return unmapped + below(PAGE);
    case 2: return (uint64_t)(uintptr_t)none_buf;
    case 3: return (uint64_t)(uintptr_t)ro_buf + below(PAGE);
    case 4: return (uint64_t)(uintptr_t)edge_buf + PAGE - 1 - below(64);
    case 5: case 6: return (uint64_t)(uintptr_t)paths[below(NPATHS)];
    default: return (uint64_t)(uintptr_t)rw_buf + (below(4) ? 0 : below(4 * PAGE));
    }
}

static uint64_t random_length(void) {
    static const uint64_t lengths[] = {
        0, 1, 8, 16, 64, 128, 4096, 8192, 0x7ffff000, 0x80000000,
        0xffffffff, (uint64_t)-1, 1ULL << 40, 1ULL << 62,
    };
    return below(2) ? lengths[below(sizeof lengths / sizeof lengths[0])] : below(2 * PAGE);
}

static uint64_t random_fd(void) {
    if (below(8) == 0) return (uint64_t)(int64_t)(below(2) ? -1 : -100); /* AT_FDCWD */
    if (below(8) == 0) return random_int();
    return (uint64_t)fds[below(nfds)];
}

static uint64_t random_arg(void) {
    switch (below(4)) {
    case 0: return random_pointer();
    case 1: return random_length();
    case 2: return random_fd();
    default: return random_int();
    }
}

/* Never signal the parent or everyone (see the exclusions above). */
static uint64_t safe_pid(uint64_t pid) {
    int p = (int)pid;
    if (p <= 1 || p == parent_pid) return (uint64_t)getpid();
    return pid;
}

static void sanitize(long nr, uint64_t a[6]) {
    switch (nr) {
    case SYS_kill:
    case SYS_tkill:
    case SYS_rt_sigqueueinfo:
        a[0] = safe_pid(a[0]);
        break;
    case SYS_tgkill:
    case SYS_rt_tgsigqueueinfo:
        a[0] = safe_pid(a[0]);
        a[1] = safe_pid(a[1]);
        break;
    case SYS_pidfd_send_signal:
        if ((int)a[0] <= 2) a[0] = 1000; /* never a pidfd here */
        break;
    case SYS_prlimit64:
    case SYS_setpriority:
    case SYS_sched_setaffinity:
    case SYS_sched_setscheduler:
    case SYS_sched_setparam:
    case SYS_setpgid:
    case SYS_ptrace:
        if ((int)a[0] == 1 || (int)a[0] == parent_pid || (int)a[1] == 1 || (int)a[1] == parent_pid) {
            a[0] = 0;
            a[1] = 0;
        }
        break;
    }
}

static long random_number(void) {
    switch (below(32)) {
    case 0: return 470 + (long)below(200);               /* past the table */
    case 1: return (long)(0x40000000 | below(550));      /* x32 bit set */
    case 2: return (long)random_int();                   /* anything */
    default: return (long)below(SYSCALL_RANGE);
    }
}

static int excluded(long nr) { return nr == SYS_reboot || nr == SYS_vfork; }

/* Numbers this life saw ENOSYS for: mostly re-rolled, so the calls go to
 * what the kernel implements (it answers ENOSYS the same way each time). */
static uint64_t enosys_seen[(SYSCALL_RANGE + 63) / 64];
static int known_enosys(long nr) {
    return nr >= 0 && nr < SYSCALL_RANGE && (enosys_seen[nr / 64] >> (nr % 64)) & 1;
}
static void note_enosys(long nr) {
    if (nr >= 0 && nr < SYSCALL_RANGE) enosys_seen[nr / 64] |= 1ULL << (nr % 64);
}

static void fill_random(char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (char)next_u64();
}

/* Buffer contents: random bytes with, in half of the 8-byte words, an
 * argument-like value (pointer, length, fd), so that structures the kernel
 * reads through a pointer (iovecs, argv arrays, sigactions, timespecs,
 * pollfds) are sometimes half-valid and reach deeper code. */
static uint64_t random_arg(void);
static void fill_buffer(char *p, size_t n) {
    fill_random(p, n);
    for (size_t i = 0; i + 8 <= n; i += 8)
        if (below(2)) {
            uint64_t v = random_arg();
            memcpy(p + i, &v, 8);
        }
}

static void *map(size_t len, int prot) {
    void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(90);
    return p;
}

static void worker_setup(void) {
    /* The parent's fds (its own image, kept for the follow-up) are not
     * the worker's to fchmod or truncate. */
    for (int fd = 3; fd < 256; fd++) close(fd);
    int null = open("/dev/null", O_RDWR);
    if (null < 0) null = open("/tmp/fuzz-null", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) close(null);
    }
    snprintf(scratch, sizeof scratch, "/tmp/fuzz-%d", (int)getpid());
    mkdir("/tmp", 0777);
    mkdir(scratch, 0777);
    if (chdir(scratch) != 0) _exit(91);

    rw_buf = map(4 * PAGE, PROT_READ | PROT_WRITE);
    edge_buf = map(2 * PAGE, PROT_READ | PROT_WRITE);
    munmap(edge_buf + PAGE, PAGE);
    fill_random(edge_buf, PAGE);
    ro_buf = map(PAGE, PROT_READ | PROT_WRITE);
    strcpy(ro_buf, "/tmp");
    mprotect(ro_buf, PAGE, PROT_READ);
    none_buf = map(PAGE, PROT_NONE);
    unmapped = (uint64_t)(uintptr_t)map(PAGE, PROT_READ);
    munmap((void *)(uintptr_t)unmapped, PAGE);

    /* "/tmp/fuzz-shared/..." is common to all workers: they race on it. */
    mkdir("/tmp/fuzz-shared", 0777);
    const char *names[NPATHS] = {"f", "d", "d/g", "link", "/tmp/fuzz-shared/x", "/tmp/fuzz-shared/y",
                                 "/tmp/fuzz-shared", "/proc/self/status", "/proc/self/fd/0", ".", "",
                                 "sibling-maps", "sibling-fd"};
    for (int i = 0; i < NPATHS; i++) {
        /* Other processes' /proc files (likely a sibling, maybe exiting
         * while we read): races between procfs and exit. */
        if (strcmp(names[i], "sibling-maps") == 0)
            snprintf(paths[i], sizeof paths[i], "/proc/%d/maps", (int)getpid() - 1);
        else if (strcmp(names[i], "sibling-fd") == 0)
            snprintf(paths[i], sizeof paths[i], "/proc/%d/fd", (int)getpid() - 2);
        else if (names[i][0] == '/' || names[i][0] == '.' || names[i][0] == 0)
            snprintf(paths[i], sizeof paths[i], "%s", names[i]);
        else
            snprintf(paths[i], sizeof paths[i], "%s/%s", scratch, names[i]);
    }
    close(open(paths[0], O_CREAT | O_RDWR, 0644));
    mkdir(paths[1], 0755);
    symlink(paths[0], paths[3]);

    int p[2];
    nfds = 0;
    fds[nfds++] = 0;
    fds[nfds++] = 1;
    fds[nfds++] = open(paths[0], O_RDWR);
    fds[nfds++] = open(paths[1], O_RDONLY | O_DIRECTORY);
    fds[nfds++] = open("/dev/zero", O_RDONLY);
    fds[nfds++] = open("/dev/urandom", O_RDONLY);
    fds[nfds++] = open("/proc/self/maps", O_RDONLY);
    if (pipe(p) == 0) {
        fds[nfds++] = p[0];
        fds[nfds++] = p[1];
    }
    fds[nfds++] = 999;
    fill_buffer(rw_buf, 4 * PAGE);
}

static void worker(uint64_t seed, long calls) {
    rng_state = seed;
    worker_setup();
    pid_t me = getpid();
    for (long i = 0; i < calls; i++) {
        long nr = random_number();
        for (int reroll = 0; reroll < 8 && known_enosys(nr); reroll++) nr = random_number();
        if (excluded(nr)) continue;
        uint64_t a[6];
        for (int k = 0; k < 6; k++) a[k] = random_arg();
        sanitize(nr, a);
        if (below(64) == 0) fill_buffer(rw_buf, 4 * PAGE);
        errno = 0;
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r == -1 && errno == ENOSYS) note_enosys(nr);
        /* A child made by fork/clone returns here too: it ends at once. */
        if (syscall(SYS_getpid) != me) syscall(SYS_exit, 0);
        if (shared_calls) __atomic_add_fetch(shared_calls, 1, __ATOMIC_RELAXED);
    }
    _exit(0);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t life_seed(uint64_t seed, long life) {
    rng_state = seed ^ ((uint64_t)life * 0xd1342543de82ef95ULL);
    return next_u64();
}

/* Calls that once broke the kernel (found by this fuzzer): each must
 * return promptly with Linux's answer. */
static int regressions(void) {
    int bad = 0;
    /* mremap shrink whose old length wraps the address space: EINVAL (was
     * a panic on an inverted BTreeMap range). */
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = 0;
    long r = syscall(SYS_mremap, p, 0xffffffffffff0000UL, PAGE, 0, 0);
    if (r != -1 || errno != EINVAL) {
        printf("syscall_fuzz: regression mremap_wrapping_shrink: %ld errno %d\n", r, errno);
        bad++;
    }
    /* 1 TiB of shared anonymous memory: ENOMEM at once (was minutes of
     * populating page after page with no memory left). */
    errno = 0;
    void *big = mmap(NULL, 1UL << 40, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (big != MAP_FAILED || errno != ENOMEM) {
        printf("syscall_fuzz: regression shared_anon_1tib: %p errno %d\n", big, errno);
        bad++;
    }
    /* MAP_POPULATE of 1 TiB: best effort, returns (was the same hang),
     * holding all user memory. Then calls that grow the kernel heap with
     * user data (pipe buffers, file pages) must fail cleanly (ENOMEM,
     * ENOSPC) or work: a heap that could not grow panicked the kernel. */
    static char chunk[65536];
    static int pipes[400][2];
    /* Touch this process's own memory first: no page is left after. */
    memset(chunk, 'z', sizeof chunk);
    memset(pipes, 0, sizeof pipes);
    big = mmap(NULL, 1UL << 40, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    int npipes = 0;
    for (int i = 0; i < 400; i++) {
        if (pipe(pipes[npipes]) != 0) break;
        fcntl(pipes[npipes][1], F_SETFL, O_NONBLOCK);
        write(pipes[npipes][1], chunk, sizeof chunk);
        npipes++;
    }
    mkdir("/tmp", 0777);
    int fd = open("/tmp/fuzz-oom", O_CREAT | O_RDWR | O_TRUNC, 0600);
    for (int i = 0; fd >= 0 && i < 400; i++)
        if (write(fd, chunk, sizeof chunk) < 0) break;
    /* Ordinary calls once the file pages stopped: new files, pipes. */
    char name[64];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "/tmp/fuzz-oom-%d", i);
        close(open(name, O_CREAT | O_RDWR, 0600));
    }
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "/tmp/fuzz-oom-%d", i);
        unlink(name);
    }
    if (fd >= 0) close(fd);
    unlink("/tmp/fuzz-oom");
    for (int i = 0; i < npipes; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    if (big != MAP_FAILED) munmap(big, 1UL << 40);
    return bad;
}

static int follow_up(void) {
    if (regressions() != 0) return 1;
    /* Ordinary calls still behave. */
    int p[2];
    char buf[8] = {0};
    if (pipe(p) != 0 || write(p[1], "ok", 2) != 2 || read(p[0], buf, sizeof buf) != 2 || strcmp(buf, "ok") != 0) {
        printf("syscall_fuzz: follow-up: pipe broken\n");
        return 1;
    }
    pid_t c = fork();
    if (c == 0) _exit(5);
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 5) {
        printf("syscall_fuzz: follow-up: fork/wait broken\n");
        return 1;
    }
    printf("syscall_fuzz: follow-up ok\n");
    return 0;
}

/* "--sweep": every syscall number below SYSCALL_RANGE, each argument
 * position in turn set to each boundary value (the others 0, or all
 * pointing at a buffer of 0xff bytes or of half-valid structures), in a
 * child per number that is
 * SIGKILLed after 2 s. Deterministic, so it reaches what random draws
 * may miss. Excludes what ends the child early (exit, exit_group,
 * blocking waits for a signal) besides the fuzzer's exclusions. */
static int sweep(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    parent_pid = getpid();
    int tested = 0;
    for (long nr = 0; nr < SYSCALL_RANGE; nr++) {
        if (excluded(nr) || nr == SYS_exit || nr == SYS_exit_group || nr == SYS_kill || nr == SYS_tkill ||
            nr == SYS_tgkill || nr == SYS_pause || nr == SYS_rt_sigsuspend)
            continue;
        pid_t c = fork();
        if (c == 0) {
            rng_state = (uint64_t)nr;
            worker_setup();
            uint64_t values[] = {0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, (uint64_t)-1,
                                 (uint64_t)-2, 0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffff800000000000ULL,
                                 0x0000800000000000ULL, 0x00007ffffffff000ULL, (uint64_t)(uintptr_t)rw_buf,
                                 (uint64_t)(uintptr_t)edge_buf + PAGE - 8, (uint64_t)(uintptr_t)paths[0],
                                 1ULL << 40, 4096, 65536};
            pid_t me = getpid();
            for (int pos = 0; pos < 6; pos++)
                for (unsigned v = 0; v < sizeof values / sizeof values[0]; v++)
                    for (int base = 0; base < 3; base++) {
                        uint64_t a[6];
                        for (int k = 0; k < 6; k++) a[k] = base ? (uint64_t)(uintptr_t)rw_buf : 0;
                        a[pos] = values[v];
                        sanitize(nr, a);
                        if (base == 2)
                            fill_buffer(rw_buf, 4 * PAGE); /* half-valid structures */
                        else
                            memset(rw_buf, base ? 0xff : 0, 4 * PAGE);
                        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
                        if (syscall(SYS_getpid) != me) syscall(SYS_exit, 0);
                    }
            _exit(0);
        }
        if (c < 0) {
            printf("syscall_fuzz: sweep: fork failed at %ld (errno %d)\n", nr, errno);
            return 1;
        }
        int st = 0;
        uint64_t start = now_ms(), killed = 0;
        while (waitpid(c, &st, WNOHANG) != c) {
            uint64_t now = now_ms();
            if (!killed && now - start > 2000) {
                kill(c, SIGKILL);
                killed = now;
            }
            if (killed && now - killed > KILL_GRACE_MS) {
                printf("syscall_fuzz: sweep: child for syscall %ld survives SIGKILL: stuck in the kernel\n", nr);
                return 1;
            }
            struct timespec nap = {0, 10 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        tested++;
    }
    printf("syscall_fuzz: sweep: %d syscall numbers done\n", tested);
    return follow_up();
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--follow-up") == 0) return follow_up();
    if (argc >= 2 && strcmp(argv[1], "--sweep") == 0) return sweep();
    if (argc < 2) {
        fprintf(stderr, "usage: syscall_fuzz SEED [WORKERS [LIVES [CALLS]]]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    uint64_t seed = strtoull(argv[1], NULL, 0);
    int workers = argc > 2 ? atoi(argv[2]) : 4;
    long lives = argc > 3 ? atol(argv[3]) : 40;
    long calls = argc > 4 ? atol(argv[4]) : 2000;
    if (workers < 1 || workers > MAX_WORKERS || lives < 1 || calls < 1) {
        fprintf(stderr, "syscall_fuzz: bad arguments\n");
        return 2;
    }
    printf("syscall_fuzz: seed %llu, %d workers, %ld lives of %ld calls\n", (unsigned long long)seed, workers,
           lives, calls);
    parent_pid = getpid();
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0) self = open(argv[0], O_RDONLY | O_CLOEXEC);
    /* The shared counter page sits between two PROT_NONE guard pages, so
     * that a worker's long copy past the end of a neighbouring buffer
     * faults instead of overwriting the count. */
    char *guarded = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *page = guarded == MAP_FAILED ? MAP_FAILED
                                       : mmap(guarded + PAGE, PAGE, PROT_READ | PROT_WRITE,
                                              MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (page != MAP_FAILED) shared_calls = page;

    pid_t pids[MAX_WORKERS] = {0};
    uint64_t started[MAX_WORKERS] = {0};
    uint64_t killed_at[MAX_WORKERS] = {0};
    long life_of[MAX_WORKERS] = {0};
    long next_life = 0, done = 0;
    long exited_ok = 0, exited_other = 0, signalled = 0, watchdog = 0, fork_failed = 0, others = 0;
    long by_signal[65] = {0};
    while (done < lives) {
        for (int w = 0; w < workers && next_life < lives; w++) {
            if (pids[w] != 0) continue;
            uint64_t s = life_seed(seed, next_life);
            pid_t pid = fork();
            if (pid == 0) worker(s, calls);
            if (pid < 0) {
                fork_failed++;
                if (fork_failed > 1000) {
                    printf("syscall_fuzz: fork keeps failing (errno %d)\n", errno);
                    return 1;
                }
                break;
            }
            pids[w] = pid;
            started[w] = now_ms();
            killed_at[w] = 0;
            life_of[w] = next_life;
            next_life++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            struct timespec nap = {0, 20 * 1000 * 1000};
            nanosleep(&nap, NULL);
            uint64_t now = now_ms();
            for (int w = 0; w < workers; w++) {
                if (pids[w] != 0 && started[w] != 0 && now - started[w] > WATCHDOG_MS) {
                    kill(pids[w], SIGKILL);
                    started[w] = 0; /* counted when reaped */
                    killed_at[w] = now;
                    watchdog++;
                }
                /* SIGKILL must end any process: one that stays is stuck
                 * in the kernel. */
                if (pids[w] != 0 && killed_at[w] != 0 && now - killed_at[w] > KILL_GRACE_MS) {
                    printf("syscall_fuzz: worker %d (life %ld of seed %llu) survives SIGKILL for %d ms: "
                           "stuck in the kernel\n",
                           (int)pids[w], life_of[w], (unsigned long long)seed, KILL_GRACE_MS);
                    return 1;
                }
            }
            continue;
        }
        if (pid < 0) {
            printf("syscall_fuzz: waitpid failed (errno %d) with %ld of %ld lives done\n", errno, done, lives);
            return 1;
        }
        int w = 0;
        while (w < workers && pids[w] != pid) w++;
        if (w == workers) { /* an orphaned grandchild reparented to us */
            others++;
            continue;
        }
        pids[w] = 0;
        done++;
        if (WIFEXITED(status)) {
            if (WEXITSTATUS(status) == 0) exited_ok++;
            else exited_other++;
        } else if (WIFSIGNALED(status)) {
            signalled++;
            by_signal[WTERMSIG(status) & 63]++;
        }
    }
    unsigned long long total = shared_calls ? (unsigned long long)*shared_calls : 0;
    printf("syscall_fuzz: summary: seed %llu, %ld lives, %llu calls, %ld exited 0, %ld exited non-zero, "
           "%ld killed by signals (%ld by the watchdog), %ld orphans reaped\n",
           (unsigned long long)seed, done, total, exited_ok, exited_other, signalled, watchdog, others);
    printf("syscall_fuzz: signals:");
    for (int s = 1; s < 65; s++)
        if (by_signal[s]) printf(" %d:%ld", s, by_signal[s]);
    printf("\n");

    pid_t c = fork();
    if (c == 0) {
        char *args[] = {argv[0], "--follow-up", NULL};
        char *env[] = {NULL};
        if (self >= 0) syscall(SYS_execveat, self, "", args, env, AT_EMPTY_PATH);
        execve(argv[0], args, env);
        _exit(127);
    }
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("syscall_fuzz: follow-up program failed (status %#x)\n", st);
        return 1;
    }
    return 0;
}
