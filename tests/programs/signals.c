/* Signal handlers: delivery with siginfo, masks, rt_sigreturn restoring
 * registers and FPU state, SIGCHLD, sigsuspend, a SIGSEGV handler that
 * longjmps out, SA_RESETHAND, and kill of a blocked child. Prints
 * "ok NAME" / "FAIL NAME"; exit status = failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
static void check(const char *name, int good) {
    printf("%s %s\n", good ? "ok" : "FAIL", name);
    if (!good) failures++;
}

static volatile sig_atomic_t usr1_count, usr1_info_ok, chld_count;
static volatile double fp_in_handler;
static sigjmp_buf segv_jump;

static void on_usr1(int sig, siginfo_t *info, void *uc) {
    (void)uc;
    usr1_count++;
    usr1_info_ok = sig == SIGUSR1 && info->si_signo == SIGUSR1 && info->si_pid == getpid() && info->si_code == SI_USER;
    fp_in_handler = 1.0 / 3.0; /* clobbers xmm registers */
}

static void on_chld(int sig) { (void)sig; chld_count++; }

static void on_segv(int sig, siginfo_t *info, void *uc) {
    (void)sig; (void)uc;
    siglongjmp(segv_jump, info->si_addr == (void *)24 ? 1 : 2);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    check("sigaction", sigaction(SIGUSR1, &sa, NULL) == 0);

    volatile double before = 2.5;
    kill(getpid(), SIGUSR1);
    double after = before * 2;
    check("handler_ran_once", usr1_count == 1);
    check("siginfo_from_kill", usr1_info_ok);
    check("fpu_restored_after_handler", after == 5.0 && fp_in_handler > 0.33);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    kill(getpid(), SIGUSR1);
    check("blocked_signal_waits", usr1_count == 1);
    sigset_t pending;
    sigpending(&pending);
    check("sigpending_shows_it", sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    check("unblocking_delivers", usr1_count == 2);

    /* SIGCHLD handler + sigsuspend, as a shell's `wait` does. */
    signal(SIGCHLD, on_chld);
    sigset_t chld_block, suspend_mask;
    sigemptyset(&chld_block);
    sigaddset(&chld_block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld_block, &old);
    pid_t child = fork();
    if (child == 0) _exit(3);
    sigemptyset(&suspend_mask);
    while (chld_count == 0) {
        errno = 0;
        int r = sigsuspend(&suspend_mask);
        check("sigsuspend_eintr", r == -1 && errno == EINTR);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    int status = 0;
    check("sigchld_then_reap", waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 3);

    /* A SIGSEGV handler that jumps out of the fault. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    int jumped = sigsetjmp(segv_jump, 1);
    if (jumped == 0) {
        volatile int *volatile bad = (int *)24;
        *bad = 1;
    }
    check("segv_handler_with_fault_address", jumped == 1);

    /* SA_RESETHAND: the second SIGUSR2 takes the default action (kill). */
    child = fork();
    if (child == 0) {
        struct sigaction once;
        memset(&once, 0, sizeof once);
        once.sa_handler = on_chld;
        once.sa_flags = SA_RESETHAND;
        sigaction(SIGUSR2, &once, NULL);
        raise(SIGUSR2);
        raise(SIGUSR2);
        _exit(0);
    }
    waitpid(child, &status, 0);
    check("sa_resethand", WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR2);

    /* A child blocked in nanosleep dies when killed. */
    child = fork();
    if (child == 0) {
        struct timespec t = {100, 0};
        nanosleep(&t, NULL);
        _exit(0);
    }
    struct timespec t = {0, 50 * 1000 * 1000};
    nanosleep(&t, NULL);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
    check("kill_sleeping_child", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

    /* SA_RESTART: a read interrupted by a handled signal goes on;
     * without it the read fails with EINTR. */
    for (int restart = 1; restart >= 0; restart--) {
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_usr1;
        sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
        sigaction(SIGUSR1, &sa, NULL);
        int p[2];
        pipe(p);
        pid_t parent = getpid();
        int count_before = usr1_count;
        child = fork();
        if (child == 0) {
            struct timespec d = {0, 30 * 1000 * 1000};
            nanosleep(&d, NULL);
            kill(parent, SIGUSR1);
            nanosleep(&d, NULL);
            write(p[1], "x", 1);
            _exit(0);
        }
        char c = 0;
        errno = 0;
        ssize_t n = read(p[0], &c, 1);
        if (restart) {
            check("sa_restart_read_continues", n == 1 && c == 'x' && usr1_count == count_before + 1);
        } else {
            check("no_sa_restart_read_eintr", n == -1 && errno == EINTR && usr1_count == count_before + 1);
        }
        waitpid(child, &status, 0);
        close(p[0]);
        close(p[1]);
    }

    printf("%d failures\n", failures);
    return failures;
}
