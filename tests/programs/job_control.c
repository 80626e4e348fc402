/* Job-control stops: SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU stop a process,
 * SIGCONT continues it (even blocked); wait4 WUNTRACED/WCONTINUED and
 * waitid WSTOPPED/WCONTINUED/WNOWAIT/WNOHANG report it once with Linux's
 * encodings (0x7f | sig << 8, 0xffff; CLD_STOPPED/CLD_CONTINUED); the
 * parent's SIGCHLD carries the same unless SA_NOCLDSTOP; a stopped
 * process runs no handler until continued; SIGKILL ends a stopped one;
 * SIGTSTP does nothing to an orphaned process group; a group orphaned
 * with a stopped member gets SIGHUP and SIGCONT. Plus the EINVAL/ECHILD
 * of the wait calls. Expected values are Linux's (the program is PID 1
 * in the tests: its children's own groups are orphaned, as on Linux).
 * Prints "ok NAME" / "FAIL NAME"; exit status = failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int failures;
static void check(const char *name, int good) {
    printf("%s %s\n", good ? "ok" : "FAIL", name);
    if (!good) {
        failures++;
        printf("  (errno %d)\n", errno);
    }
    fflush(stdout);
}

static volatile sig_atomic_t chld_count, chld_code, chld_status, chld_pid;
static void on_chld(int sig, siginfo_t *info, void *uc) {
    (void)sig; (void)uc;
    chld_count++;
    chld_code = info->si_code;
    chld_status = info->si_status;
    chld_pid = info->si_pid;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static void set_chld_handler(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(SIGCHLD, &sa, NULL);
}

/* A child that pauses forever (a SIGUSR1 handler writes 'u' to fd). */
static int usr1_fd = -1;
static void on_usr1(int sig) { (void)sig; write(usr1_fd, "u", 1); }
static pid_t spawn_pauser(int fd) {
    pid_t pid = fork();
    if (pid == 0) {
        usr1_fd = fd;
        signal(SIGUSR1, on_usr1);
        for (;;) pause();
    }
    return pid;
}

/* Wait for a signal-driven counter to move (SIGCHLD arrives
 * asynchronously on SMP). */
static int wait_count(volatile sig_atomic_t *counter, int at_least) {
    for (int i = 0; i < 500 && *counter < at_least; i++) sleep_ms(10);
    return *counter >= at_least;
}

static void test_stop_and_wait4(void) {
    set_chld_handler(0);
    int p[2];
    pipe(p);
    pid_t child = spawn_pauser(p[1]);
    sleep_ms(100);
    chld_count = 0;
    int status = 0;
    check("kill_sigstop", kill(child, SIGSTOP) == 0);
    pid_t got = waitpid(child, &status, WUNTRACED);
    check("wait4_wuntraced_reports_stop", got == child && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    check("wait4_stop_status_word", status == 0x137f);
    check("sigchld_cld_stopped", wait_count(&chld_count, 1) && chld_code == CLD_STOPPED &&
                                     chld_status == SIGSTOP && chld_pid == child);
    check("stop_reported_once", waitpid(child, &status, WUNTRACED | WNOHANG) == 0);
    check("wait4_without_wuntraced_ignores_stop", waitpid(child, &status, WNOHANG) == 0);

    /* A stopped process runs no handler until continued. */
    kill(child, SIGUSR1);
    struct pollfd pfd = {p[0], POLLIN, 0};
    check("stopped_runs_no_handler", poll(&pfd, 1, 300) == 0);

    chld_count = 0;
    check("kill_sigcont", kill(child, SIGCONT) == 0);
    got = waitpid(child, &status, WCONTINUED);
    check("wait4_wcontinued", got == child && WIFCONTINUED(status) && status == 0xffff);
    check("sigchld_cld_continued", wait_count(&chld_count, 1) && chld_code == CLD_CONTINUED &&
                                       chld_status == SIGCONT && chld_pid == child);
    char c = 0;
    check("handler_runs_after_continue", poll(&pfd, 1, 5000) == 1 && read(p[0], &c, 1) == 1 && c == 'u');
    check("continue_reported_once", waitpid(child, &status, WCONTINUED | WNOHANG) == 0);

    /* waitid: WNOWAIT leaves the event; then it is consumed; WNOHANG with
     * nothing zeroes si_pid/si_signo. */
    kill(child, SIGSTOP);
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    int r = waitid(P_PID, child, &si, WSTOPPED | WNOWAIT);
    check("waitid_wstopped_wnowait", r == 0 && si.si_signo == SIGCHLD && si.si_code == CLD_STOPPED &&
                                         si.si_status == SIGSTOP && si.si_pid == child && si.si_uid == getuid());
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WSTOPPED);
    check("waitid_wstopped_again", r == 0 && si.si_code == CLD_STOPPED && si.si_pid == child);
    memset(&si, 0xff, sizeof si);
    r = waitid(P_PID, child, &si, WSTOPPED | WNOHANG);
    check("waitid_wnohang_nothing_zeroes", r == 0 && si.si_pid == 0 && si.si_signo == 0);
    kill(child, SIGCONT);
    memset(&si, 0, sizeof si);
    r = waitid(P_PGID, 0, &si, WCONTINUED);
    check("waitid_wcontinued", r == 0 && si.si_code == CLD_CONTINUED && si.si_status == SIGCONT && si.si_pid == child);

    /* SA_NOCLDSTOP: no SIGCHLD for the stop, but wait still reports it. */
    set_chld_handler(SA_NOCLDSTOP);
    chld_count = 0;
    kill(child, SIGSTOP);
    got = waitpid(child, &status, WUNTRACED);
    sleep_ms(100);
    check("sa_nocldstop_no_sigchld", got == child && WIFSTOPPED(status) && chld_count == 0);
    kill(child, SIGCONT);
    got = waitpid(child, &status, WCONTINUED);
    sleep_ms(100);
    check("sa_nocldstop_no_sigchld_on_continue", got == child && WIFCONTINUED(status) && chld_count == 0);

    /* SIGKILL ends a stopped process. */
    set_chld_handler(0);
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    kill(child, SIGKILL);
    got = waitpid(child, &status, 0);
    check("sigkill_ends_stopped", got == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(p[0]);
    close(p[1]);
}

static void test_sigcont_blocked_and_pending(void) {
    /* SIGCONT continues even when blocked (and discards a pending stop). */
    pid_t child = fork();
    if (child == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCONT);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (;;) pause();
    }
    sleep_ms(100);
    int status = 0;
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    kill(child, SIGCONT);
    pid_t got = waitpid(child, &status, WCONTINUED);
    check("blocked_sigcont_still_continues", got == child && WIFCONTINUED(status));
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
}

/* Runs in a child of PID 1 (so that the grandchild's group is not
 * orphaned): SIGTSTP/SIGTTIN/SIGTTOU stop, a handler replaces the stop. */
static int stop_signals_in_session(void) {
    int bad = 0;
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        for (;;) pause();
    }
    setpgid(g, g);
    sleep_ms(100);
    int sigs[] = {SIGTSTP, SIGTTIN, SIGTTOU};
    for (int i = 0; i < 3; i++) {
        int status = 0;
        kill(g, sigs[i]);
        pid_t got = waitpid(g, &status, WUNTRACED);
        int good = got == g && WIFSTOPPED(status) && WSTOPSIG(status) == sigs[i] && status == (0x7f | sigs[i] << 8);
        printf("%s stop_by_%d\n", good ? "ok" : "FAIL", sigs[i]);
        bad += !good;
        kill(g, SIGCONT);
        got = waitpid(g, &status, WCONTINUED);
        good = got == g && WIFCONTINUED(status);
        printf("%s continue_after_%d\n", good ? "ok" : "FAIL", sigs[i]);
        bad += !good;
    }
    /* Stop to a whole group with kill(-pgid). */
    int status = 0;
    kill(-g, SIGTSTP);
    pid_t got = waitpid(-g, &status, WUNTRACED);
    int good = got == g && WIFSTOPPED(status) && WSTOPSIG(status) == SIGTSTP;
    printf("%s group_stop\n", good ? "ok" : "FAIL");
    bad += !good;
    kill(g, SIGKILL);
    waitpid(g, &status, 0);

    /* A SIGTSTP handler runs instead of the stop. */
    int p[2];
    pipe(p);
    g = fork();
    if (g == 0) {
        setpgid(0, 0);
        usr1_fd = p[1];
        signal(SIGTSTP, on_usr1);
        for (;;) pause();
    }
    setpgid(g, g);
    sleep_ms(100);
    kill(g, SIGTSTP);
    char c = 0;
    struct pollfd pfd = {p[0], POLLIN, 0};
    good = poll(&pfd, 1, 5000) == 1 && read(p[0], &c, 1) == 1 && waitpid(g, &status, WUNTRACED | WNOHANG) == 0;
    printf("%s sigtstp_handler_instead_of_stop\n", good ? "ok" : "FAIL");
    bad += !good;
    kill(g, SIGKILL);
    waitpid(g, &status, 0);

    /* A background group reading its terminal gets SIGTTIN (and stops),
     * or EIO when it ignores SIGTTIN. Only where the console can be our
     * controlling terminal (on Linux /dev/console never is: skipped). */
    if (isatty(0) && tcsetpgrp(0, getpgrp()) == 0) {
        g = fork();
        if (g == 0) {
            setpgid(0, 0);
            alarm(10);
            char c;
            read(0, &c, 1);
            _exit(3);
        }
        setpgid(g, g);
        pid_t got = waitpid(g, &status, WUNTRACED);
        good = got == g && WIFSTOPPED(status) && WSTOPSIG(status) == SIGTTIN;
        printf("%s tty_background_read_sigttin\n", good ? "ok" : "FAIL");
        bad += !good;
        kill(g, SIGKILL);
        waitpid(g, &status, 0);
        g = fork();
        if (g == 0) {
            setpgid(0, 0);
            signal(SIGTTIN, SIG_IGN);
            alarm(10);
            char c;
            errno = 0;
            int r = read(0, &c, 1);
            _exit(r == -1 && errno == EIO ? 0 : 4);
        }
        setpgid(g, g);
        got = waitpid(g, &status, 0);
        good = got == g && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("%s tty_background_read_ignored_eio\n", good ? "ok" : "FAIL");
        bad += !good;
    } else {
        printf("skip tty_background_read\n");
    }
    fflush(stdout);
    return bad;
}

static void test_orphaned_groups(void) {
    /* A child of PID 1 in its own group: the group is orphaned (its only
     * parent outside is init), so SIGTSTP does nothing; SIGSTOP stops. */
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        for (;;) pause();
    }
    setpgid(child, child);
    sleep_ms(100);
    int status = 0;
    kill(child, SIGTSTP);
    sleep_ms(300);
    check("sigtstp_ignored_in_orphaned_group", waitpid(child, &status, WUNTRACED | WNOHANG) == 0);
    kill(child, SIGSTOP);
    check("sigstop_stops_in_orphaned_group", waitpid(child, &status, WUNTRACED) == child && WIFSTOPPED(status));
    kill(child, SIGKILL);
    waitpid(child, &status, 0);

    /* The TSTP/TTIN/TTOU stops, from a child of ours. */
    pid_t a = fork();
    if (a == 0) _exit(stop_signals_in_session());
    check("stop_signals_in_session", waitpid(a, &status, 0) == a && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* A group that becomes orphaned with a stopped member: SIGHUP+SIGCONT
     * (SIGHUP's default action ends it; init, now its parent, reaps it). */
    int p[2];
    pipe(p);
    a = fork();
    if (a == 0) {
        pid_t g = fork();
        if (g == 0) {
            setpgid(0, 0);
            for (;;) pause();
        }
        setpgid(g, g);
        kill(g, SIGSTOP);
        int st;
        waitpid(g, &st, WUNTRACED);
        write(p[1], &g, sizeof g);
        _exit(WIFSTOPPED(st) ? 0 : 1);
    }
    pid_t g = 0;
    read(p[0], &g, sizeof g);
    int a_status = 0;
    waitpid(a, &a_status, 0);
    pid_t got = waitpid(g, &status, 0);
    check("orphaned_stopped_group_gets_sighup", WIFEXITED(a_status) && WEXITSTATUS(a_status) == 0 && got == g &&
                                                    WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP);
    close(p[0]);
    close(p[1]);
}

static void test_wait_errors(void) {
    siginfo_t si;
    int status;
    errno = 0;
    check("waitid_no_event_options_einval", waitid(P_ALL, 0, &si, WNOHANG) == -1 && errno == EINVAL);
    errno = 0;
    check("waitid_bad_idtype_einval", syscall(SYS_waitid, 7, 0, &si, WEXITED, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("waitid_p_pid_0_einval", syscall(SYS_waitid, P_PID, 0, &si, WEXITED, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("waitid_unknown_option_einval", syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | 0x100, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("wait4_unknown_option_einval", syscall(SYS_wait4, -1, &status, 0x10000, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("wait4_int_min_esrch", syscall(SYS_wait4, (int)0x80000000, &status, 0, NULL) == -1 && errno == ESRCH);
    errno = 0;
    check("wait4_not_a_child_echild", waitpid(3999999, &status, 0) == -1 && errno == ECHILD);
    errno = 0;
    check("waitid_no_children_echild", waitid(P_ALL, 0, &si, WEXITED) == -1 && errno == ECHILD);
    /* waitid reports an exit with CLD_EXITED and the code. */
    pid_t child = fork();
    if (child == 0) _exit(7);
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, child, &si, WEXITED | WNOWAIT);
    check("waitid_exited_wnowait", r == 0 && si.si_code == CLD_EXITED && si.si_status == 7 && si.si_pid == child);
    r = waitid(P_PID, child, &si, WEXITED);
    check("waitid_exited_reaps", r == 0 && si.si_code == CLD_EXITED && si.si_status == 7);
    errno = 0;
    check("waitid_after_reap_echild", waitid(P_PID, child, &si, WEXITED) == -1 && errno == ECHILD);
    child = fork();
    if (child == 0) {
        for (;;) pause();
    }
    kill(child, SIGTERM);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, child, &si, WEXITED);
    check("waitid_killed", r == 0 && si.si_code == CLD_KILLED && si.si_status == SIGTERM);
}

int main(void) {
    test_wait_errors();
    test_stop_and_wait4();
    test_sigcont_blocked_and_pending();
    test_orphaned_groups();
    printf("job_control: %d failures\n", failures);
    return failures;
}
