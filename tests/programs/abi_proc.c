/* Processes and ids: getpid family, process groups and sessions, uid/gid
 * calls, umask, rlimits, uname, sysinfo, getrusage, wait errors. */
#include "abi_test.h"
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <grp.h>
#include <time.h>

static pid_t parent_pid;

static void child_ids(void) {
    CHECK(getppid() == parent_pid);
    struct rlimit rl;
    CHECK(syscall(SYS_prlimit64, parent_pid, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur == 1024);
    CHECK(getpid() != parent_pid);
    CHECK(syscall(SYS_gettid) == getpid());
    /* a child may not move its parent */
    ERR(setpgid(parent_pid, 0), ESRCH);
    OK(setpgid(0, 0));
    CHECK(getpgrp() == getpid() && getpgid(0) == getpid());
    ERR(setsid(), EPERM); /* a group leader */
    /* a grandchild becomes a session leader */
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        failures = 0;
        pid_t s = setsid();
        CHECK(s == getpid() && getsid(0) == getpid() && getpgrp() == getpid());
        ERR(setpgid(0, 0), EPERM); /* a session leader cannot move */
        ERR(setsid(), EPERM);
        fflush(stdout);
        _exit(failures ? 1 : 0);
    }
    int status;
    CHECK(waitpid(g, &status, 0) == g && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The parent moves a child into a new group; not into another session. */
static void move_a_child(void) {
    int status;
    OK(setpgid(0, 0));
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(p[1]);
        read(p[0], &x, 1); /* wait until the parent has checked */
        _exit(0);
    }
    close(p[0]);
    OK(setpgid(c, c));
    CHECK(getpgid(c) == c);
    OK(setpgid(c, getpgrp()));
    CHECK(getpgid(c) == getpgrp());
    ERR(setpgid(c, 99999), EPERM); /* no such group in the session */
    close(p[1]);
    CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status));
}

static void sessions(void) {
    parent_pid = getpid();
    int status = in_child(child_ids);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ERR(setpgid(0, -1), EINVAL);
    ERR(setpgid(99999, 0), ESRCH);
    ERR(getpgid(99999), ESRCH);
    ERR(getsid(99999), ESRCH);
    /* (PID 1's group is 0 on Linux: a helper process does this part) */
    status = in_child(move_a_child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* an orphan is adopted by PID 1 (this process) */
    int op[2];
    pipe(op);
    fflush(stdout);
    pid_t mid = fork();
    if (mid == 0) {
        if (fork() == 0) {
            struct timespec d = {0, 100 * 1000000L};
            nanosleep(&d, NULL);
            pid_t pp = getppid();
            write(op[1], &pp, sizeof pp);
            _exit(0);
        }
        _exit(0);
    }
    close(op[1]);
    waitpid(mid, NULL, 0);
    pid_t adopted_by = -1;
    CHECK(read(op[0], &adopted_by, sizeof adopted_by) == sizeof adopted_by && adopted_by == 1);
    close(op[0]);
    CHECK(wait(NULL) > 0); /* PID 1 reaps the orphan */
    /* exit status and wait errors */
    pid_t c;
    fflush(stdout);
    c = fork();
    if (c == 0) _exit(42);
    CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 42);
    c = fork();
    if (c == 0) _exit(256 + 7); /* only the low byte counts */
    CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 7);
    c = fork();
    if (c == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    CHECK(waitpid(c, &status, 0) == c && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    int hold[2];
    pipe(hold);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char x;
        close(hold[1]);
        read(hold[0], &x, 1);
        _exit(3);
    }
    close(hold[0]);
    CHECK(waitpid(c, &status, WNOHANG) == 0); /* still running */
    close(hold[1]);
    CHECK(waitpid(c, &status, 0) == c && WEXITSTATUS(status) == 3);
    ERR(waitpid(-1, &status, 0), ECHILD);
    ERR(waitpid(99999, &status, 0), ECHILD);
    ERR(wait4(-1, &status, 0x40000000 >> 4, NULL), EINVAL);
    ERR(kill(99999, 0), ESRCH);
    ERR(kill(getpid(), 99), EINVAL);
    ERR(kill(-99999, 0), ESRCH);
    OK(kill(getpid(), 0));
}

static void as_user(void) {
    OK(setresgid(1000, 1000, 1000));
    OK(setresuid(1000, 1000, 0)); /* keep a saved uid of 0 */
    uid_t r, e, s;
    CHECK(getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 0);
    OK(setresuid(-1, 0, -1)); /* back through the saved id */
    CHECK(geteuid() == 0 && getuid() == 1000);
    OK(setresuid(1000, 1000, 1000));
    ERR(setuid(0), EPERM);
    ERR(setresuid(2000, -1, -1), EPERM);
    ERR(setreuid(-1, 0), EPERM);
    ERR(setgid(0), EPERM);
    gid_t none[1] = {0};
    ERR(setgroups(1, none), EPERM);
    ERR(sethostname("x", 1), EPERM);
    OK(setuid(1000)); /* to the same id: allowed */
    CHECK(getuid() == 1000 && geteuid() == 1000 && getgid() == 1000 && getegid() == 1000);
    /* an unprivileged process cannot raise a hard limit */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_max += 1;
    ERR(setrlimit(RLIMIT_NOFILE, &rl), EPERM);
}

static void credentials(void) {
    CHECK(getuid() == 0 && geteuid() == 0 && getgid() == 0 && getegid() == 0);
    OK(setresuid(-1, -1, -1));
    uid_t r, e, s;
    CHECK(getresuid(&r, &e, &s) == 0 && r == 0 && e == 0 && s == 0);
    ERR(syscall(SYS_getresuid, (void *)8, &e, &s), EFAULT);
    ERR(syscall(SYS_getresgid, &r, &e, (void *)8), EFAULT);
    CHECK(getgroups(0, NULL) >= 0);
    int status = in_child(as_user);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* umask */
    mode_t old = umask(0);
    CHECK(umask(old) == 0);
    CHECK(umask(old) == old);
}

static void limits(void) {
    struct rlimit rl;
    OK(getrlimit(RLIMIT_NOFILE, &rl));
    CHECK(rl.rlim_cur == 1024 && rl.rlim_max == 4096);
    OK(getrlimit(RLIMIT_STACK, &rl));
    CHECK(rl.rlim_cur == 8 * 1024 * 1024 && rl.rlim_max == RLIM_INFINITY);
    OK(getrlimit(RLIMIT_CORE, &rl));
    CHECK(rl.rlim_cur == 0 && rl.rlim_max == RLIM_INFINITY);
    ERR(getrlimit(99, &rl), EINVAL);
    ERR(syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)8), EFAULT);
    struct rlimit bad = {10, 5};
    ERR(setrlimit(RLIMIT_NOFILE, &bad), EINVAL);
    struct rlimit huge = {1 << 21, 1 << 21};
    ERR(setrlimit(RLIMIT_NOFILE, &huge), EPERM); /* above fs.nr_open */
    ERR(syscall(SYS_prlimit64, 99999, RLIMIT_NOFILE, NULL, &rl), ESRCH);
    ERR(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, (void *)8), EFAULT);
    /* a lower fd limit is enforced */
    struct rlimit low = {8, 4096}, old;
    OK(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &low, &old));
    CHECK(old.rlim_cur == 1024);
    int opened = 0, fd;
    while ((fd = open("/", O_RDONLY)) >= 0) opened++;
    CHECK(errno == EMFILE && fd == -1);
    ERR(dup2(0, 8), EBADF);
    ERR(fcntl(0, F_DUPFD, 8), EINVAL);
    for (int i = 3; i < 8; i++) close(i);
    OK(setrlimit(RLIMIT_NOFILE, &old));
}

static void system_info(void) {
    struct utsname u;
    OK(uname(&u));
    CHECK(strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0 && u.release[0] != 0);
    ERR(syscall(SYS_uname, (void *)8), EFAULT);
    /* (the host name is left alone: Linux boots as "(none)", Umbra as "umbra") */
    CHECK(strcmp(u.domainname, "(none)") == 0);
    OK(sethostname("abi-host", 8));
    CHECK(uname(&u) == 0 && strcmp(u.nodename, "abi-host") == 0);
    static char longname[100];
    memset(longname, 'h', 65);
    ERR(sethostname(longname, 65), EINVAL);
    ERR(syscall(SYS_sethostname, (void *)8, 4), EFAULT);
    struct sysinfo si;
    OK(sysinfo(&si));
    CHECK(si.totalram > 0 && si.freeram <= si.totalram && si.mem_unit >= 1 && si.procs >= 1 && si.uptime >= 0);
    ERR(syscall(SYS_sysinfo, (void *)8), EFAULT);
    struct rusage ru;
    OK(getrusage(RUSAGE_SELF, &ru));
    OK(getrusage(RUSAGE_CHILDREN, &ru));
    ERR(getrusage(99, &ru), EINVAL);
    ERR(syscall(SYS_getrusage, RUSAGE_SELF, (void *)8), EFAULT);
}

int main(void) {
    sessions();
    credentials();
    limits();
    system_info();
    return finish("abi_proc");
}
