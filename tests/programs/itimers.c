/* alarm(2), setitimer/getitimer: values, rounding, errors (EINVAL,
 * EFAULT), SIGALRM while blocked in read/pause, periodic timers,
 * ITIMER_VIRTUAL/ITIMER_PROF, SIGALRM's default action, no inheritance
 * across fork. Expected values are Linux's. Prints "ok NAME" /
 * "FAIL NAME"; exit status = failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
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

static volatile sig_atomic_t alarms, vtalrms, profs;
static void on_alrm(int sig) { (void)sig; alarms++; }
static void on_vtalrm(int sig) { (void)sig; vtalrms++; }
static void on_prof(int sig) { (void)sig; profs++; }

static void handle(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static long raw_setitimer(long which, const void *new, void *old) { return syscall(SYS_setitimer, which, new, old); }
static long raw_getitimer(long which, void *cur) { return syscall(SYS_getitimer, which, cur); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Upper bounds on elapsed time allow for a loaded host stalling the VM. */
static long usec(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

int main(void) {
    /* alarm's return: seconds left, rounded to nearest. */
    check("alarm_none_pending", alarm(0) == 0);
    check("alarm_set", alarm(5) == 0);
    /* 4.99.. s left rounds to 5 (4 only if the VM stalled > 0.5 s). */
    unsigned left = alarm(3);
    check("alarm_returns_old_rounded", left == 5 || left == 4);
    struct itimerval cur;
    check("getitimer_after_alarm", getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec >= 1 && cur.it_value.tv_sec <= 2 &&
                                       cur.it_value.tv_usec > 0 && usec(cur.it_interval) == 0);
    left = alarm(0);
    check("alarm_cancel_returns_left", left == 3 || left == 2);
    check("getitimer_disarmed", getitimer(ITIMER_REAL, &cur) == 0 && usec(cur.it_value) == 0 && usec(cur.it_interval) == 0);

    /* setitimer/getitimer values. */
    struct itimerval it = {{0, 250000}, {2, 0}}, old;
    check("setitimer_real", setitimer(ITIMER_REAL, &it, &old) == 0 && usec(old.it_value) == 0);
    check("getitimer_real", getitimer(ITIMER_REAL, &cur) == 0 && usec(cur.it_value) > 500000 &&
                                usec(cur.it_value) <= 2000000 && usec(cur.it_interval) == 250000);
    struct itimerval zero = {{0, 0}, {0, 0}};
    check("setitimer_disarm_returns_old", setitimer(ITIMER_REAL, &zero, &old) == 0 &&
                                              usec(old.it_value) > 500000 && usec(old.it_interval) == 250000);

    /* Errors, through the raw syscall so libc cannot step in. */
    struct itimerval bad_usec = {{0, 0}, {0, 1000000}};
    struct itimerval neg_sec = {{0, 0}, {-1, 0}};
    struct itimerval bad_interval = {{0, -1}, {1, 0}};
    errno = 0;
    check("setitimer_usec_1e6_einval", raw_setitimer(ITIMER_REAL, &bad_usec, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("setitimer_negative_sec_einval", raw_setitimer(ITIMER_REAL, &neg_sec, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("setitimer_bad_interval_einval", raw_setitimer(ITIMER_VIRTUAL, &bad_interval, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("setitimer_which_3_einval", raw_setitimer(3, &zero, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("setitimer_which_neg_einval", raw_setitimer(-1, &zero, NULL) == -1 && errno == EINVAL);
    errno = 0;
    check("setitimer_bad_new_efault", raw_setitimer(ITIMER_REAL, (void *)8, NULL) == -1 && errno == EFAULT);
    errno = 0;
    check("setitimer_bad_old_efault", raw_setitimer(ITIMER_REAL, &zero, (void *)8) == -1 && errno == EFAULT);
    errno = 0;
    check("getitimer_which_3_einval", raw_getitimer(3, &cur) == -1 && errno == EINVAL);
    errno = 0;
    check("getitimer_bad_ptr_efault", raw_getitimer(ITIMER_PROF, (void *)8) == -1 && errno == EFAULT);

    /* SIGALRM interrupts a blocked pipe read (no SA_RESTART: EINTR). */
    handle(SIGALRM, on_alrm, 0);
    int p[2];
    pipe(p);
    struct itimerval shot = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &shot, NULL);
    char c;
    errno = 0;
    double t0 = now_s();
    ssize_t n = read(p[0], &c, 1);
    check("sigalrm_interrupts_pipe_read", n == -1 && errno == EINTR && alarms == 1);
    check("sigalrm_not_early", now_s() - t0 >= 0.19);

    /* alarm(1) wakes pause(). */
    alarms = 0;
    alarm(1);
    t0 = now_s();
    errno = 0;
    int r = pause();
    check("alarm_wakes_pause", r == -1 && errno == EINTR && alarms == 1 && now_s() - t0 >= 0.9);

    /* A periodic timer keeps firing until disarmed. */
    alarms = 0;
    struct itimerval periodic = {{0, 50000}, {0, 50000}};
    setitimer(ITIMER_REAL, &periodic, NULL);
    int paused_eintr = 1;
    while (alarms < 3) {
        errno = 0;
        if (pause() != -1 || errno != EINTR) paused_eintr = 0;
    }
    setitimer(ITIMER_REAL, &zero, NULL);
    check("periodic_real_timer", alarms >= 3 && paused_eintr);
    int seen = alarms;
    usleep(200000);
    check("disarmed_stays_quiet", alarms == seen);

    /* CPU-time timers fire while the process computes. */
    handle(SIGVTALRM, on_vtalrm, 0);
    handle(SIGPROF, on_prof, 0);
    struct itimerval cpu = {{0, 0}, {0, 100000}};
    check("setitimer_virtual", setitimer(ITIMER_VIRTUAL, &cpu, NULL) == 0);
    check("getitimer_virtual", getitimer(ITIMER_VIRTUAL, &cur) == 0 && usec(cur.it_value) > 0 && usec(cur.it_value) <= 110000);
    t0 = now_s();
    volatile unsigned long spin = 0;
    while (!vtalrms && now_s() - t0 < 60) spin++;
    check("itimer_virtual_fires", vtalrms == 1);
    check("setitimer_prof", setitimer(ITIMER_PROF, &cpu, NULL) == 0);
    t0 = now_s();
    while (!profs && now_s() - t0 < 60) spin++;
    check("itimer_prof_fires", profs == 1);
    check("virtual_once_disarms", getitimer(ITIMER_VIRTUAL, &cur) == 0 && usec(cur.it_value) == 0);

    /* Not inherited across fork; default action of SIGALRM terminates. */
    alarm(100);
    pid_t child = fork();
    if (child == 0) {
        struct itimerval c;
        int inherited = getitimer(ITIMER_REAL, &c) != 0 || usec(c.it_value) != 0;
        signal(SIGALRM, SIG_DFL);
        alarm(1);
        pause();
        _exit(inherited ? 2 : 3);
    }
    int status = 0;
    check("child_waited", waitpid(child, &status, 0) == child);
    check("sigalrm_default_terminates", WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM);
    left = alarm(0);
    check("parent_alarm_still_armed", left >= 90 && left <= 100);

    printf("itimers: %d failures\n", failures);
    return failures;
}
