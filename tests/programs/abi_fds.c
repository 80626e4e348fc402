/* File descriptors: dup/dup2/dup3, fcntl, close, pipe/pipe2 (EPIPE and
 * SIGPIPE), FIFOs (open rules of fifo(7)), poll/ppoll/select/pselect6
 * (readiness, timeouts written back, errors, signals). */
#include "abi_test.h"
#include <poll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>
#include <sys/ioctl.h>
#include <termios.h>

static volatile int got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1++; }

static void handle_usr1(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGUSR1, &sa, NULL);
}

/* A child that sends `sig` to its parent after `ms`, then exits. */
static pid_t signal_me_later(int sig, int ms) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = {0, ms * 1000000L};
        nanosleep(&d, NULL);
        kill(parent, sig);
        _exit(0);
    }
    return pid;
}

static void dups(void) {
    int fd = OK(open("f", O_RDWR | O_CREAT | O_TRUNC, 0644));
    int d = OK(dup(fd));
    CHECK(d > fd);
    ERR(dup(-1), EBADF);
    ERR(dup(999), EBADF);
    /* dups share the position */
    CHECK(write(fd, "abc", 3) == 3);
    CHECK(lseek(d, 0, SEEK_CUR) == 3);
    CHECK(dup2(fd, fd) == fd);
    ERR(dup2(999, 999), EBADF);
    ERR(dup2(fd, -1), EBADF);
    ERR(dup2(fd, 1 << 20), EBADF);
    CHECK(dup2(fd, 40) == 40);
    CHECK(fcntl(40, F_GETFD) == 0);
    ERR(dup3(fd, fd, 0), EINVAL);
    ERR(syscall(SYS_dup3, fd, 41, 1), EINVAL);
    CHECK(dup3(fd, 41, O_CLOEXEC) == 41);
    CHECK(fcntl(41, F_GETFD) == FD_CLOEXEC);
    ERR(dup3(999, 42, 0), EBADF);
    /* dup2 onto an open fd closes it silently */
    CHECK(dup2(d, 40) == 40);
    OK(close(40));
    ERR(close(40), EBADF);
    OK(close(41));
    ERR(close(-1), EBADF);
    OK(close(d));
    OK(close(fd));
}

static void fcntls(void) {
    int fd = OK(open("f", O_RDWR));
    CHECK(fcntl(fd, F_GETFD) == 0);
    OK(fcntl(fd, F_SETFD, FD_CLOEXEC));
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    OK(fcntl(fd, F_SETFD, 0));
    OK(fcntl(fd, F_SETFD, 3)); /* only FD_CLOEXEC counts */
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    OK(fcntl(fd, F_SETFD, 0));
    int fl = fcntl(fd, F_GETFL);
    CHECK((fl & O_ACCMODE) == O_RDWR && !(fl & O_NONBLOCK) && !(fl & O_APPEND));
    OK(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND | O_WRONLY));
    fl = fcntl(fd, F_GETFL);
    CHECK((fl & O_ACCMODE) == O_RDWR && (fl & O_NONBLOCK) && (fl & O_APPEND));
    OK(fcntl(fd, F_SETFL, 0));
    CHECK(!(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND)));
    int d = OK(fcntl(fd, F_DUPFD_CLOEXEC, 20));
    CHECK(d >= 20 && fcntl(d, F_GETFD) == FD_CLOEXEC);
    int d2 = OK(fcntl(fd, F_DUPFD, 20));
    CHECK(d2 > 20 && fcntl(d2, F_GETFD) == 0);
    ERR(fcntl(fd, F_DUPFD, -1), EINVAL);
    ERR(fcntl(fd, F_DUPFD, 1 << 20), EINVAL);
    ERR(fcntl(-1, F_GETFD), EBADF);
    ERR(fcntl(999, F_GETFL), EBADF);
    ERR(fcntl(fd, 9999), EINVAL);
    /* status flags belong to the open file: dups share them */
    OK(fcntl(d, F_SETFL, O_NONBLOCK));
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    OK(fcntl(fd, F_SETFL, 0));
    close(d);
    close(d2);
    close(fd);
    /* O_PATH files: F_GETFL shows O_PATH, F_SETFL is EBADF */
    fd = OK(open("f", O_PATH));
    CHECK(fcntl(fd, F_GETFL) == O_PATH);
    close(fd);
}

/* exec drops close-on-exec fds only: the new image checks fds 50, 51. */
static int after_exec(void) {
    CHECK(fcntl(50, F_GETFD) == 0);
    ERR(fcntl(51, F_GETFD), EBADF);
    fflush(stdout);
    return failures ? 1 : 0;
}

static void exec_closes(const char *self) {
    int fd = OK(open("f", O_RDONLY));
    CHECK(dup2(fd, 50) == 50 && dup3(fd, 51, O_CLOEXEC) == 51);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execl(self, self, "after-exec", (char *)NULL);
        _exit(99);
    }
    int status;
    CHECK(waitpid(c, &status, 0) == c && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(50);
    close(51);
    close(fd);
}

static void pipe_sigpipe_child(void) {
    int p[2];
    pipe(p);
    close(p[0]);
    write(p[1], "x", 1);
    _exit(0); /* not reached: SIGPIPE kills */
}

static void pipes(void) {
    int p[2];
    OK(pipe(p));
    struct stat st;
    CHECK(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode));
    /* pipes have no O_LARGEFILE: exactly the access mode */
    CHECK(fcntl(p[0], F_GETFL) == O_RDONLY && fcntl(p[1], F_GETFL) == O_WRONLY);
    ERR(write(p[0], "x", 1), EBADF);
    char buf[8];
    ERR(read(p[1], buf, 1), EBADF);
    ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
    CHECK(write(p[1], "hey", 3) == 3);
    CHECK(read(p[0], buf, 8) == 3 && memcmp(buf, "hey", 3) == 0);
    OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    ERR(read(p[0], buf, 1), EAGAIN);
    close(p[1]);
    CHECK(read(p[0], buf, 1) == 0);
    close(p[0]);
    ERR(syscall(SYS_pipe, (void *)8), EFAULT);
    ERR(pipe2(p, O_RDWR), EINVAL);
    ERR(pipe2(p, 0x1), EINVAL);
    OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFL) == (O_WRONLY | O_NONBLOCK));
    ERR(read(p[0], buf, 1), EAGAIN);
    /* EPIPE with SIGPIPE ignored */
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    ERR(write(p[1], "x", 1), EPIPE);
    close(p[1]);
    signal(SIGPIPE, SIG_DFL);
    /* ... and SIGPIPE kills by default */
    int status = in_child(pipe_sigpipe_child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);
    /* a full non-blocking pipe: EAGAIN */
    OK(pipe2(p, O_NONBLOCK));
    static char big[4096];
    long total = 0, n;
    while ((n = write(p[1], big, sizeof big)) > 0) total += n;
    CHECK(n == -1 && errno == EAGAIN && total == 65536);
    close(p[0]);
    close(p[1]);
}

static void ioctls(void) {
    int p[2];
    OK(pipe(p));
    int avail = -1;
    CHECK(write(p[1], "abcd", 4) == 4);
    CHECK(ioctl(p[0], FIONREAD, &avail) == 0 && avail == 4);
    int on = 1;
    OK(ioctl(p[0], FIONBIO, &on));
    CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    OK(ioctl(p[0], FIOCLEX));
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC);
    OK(ioctl(p[0], FIONCLEX));
    CHECK(fcntl(p[0], F_GETFD) == 0);
    ERR(ioctl(p[0], FIONREAD, (void *)8), EFAULT);
    struct termios t;
    ERR(ioctl(p[0], TCGETS, &t), ENOTTY);
    int f = OK(open("f", O_RDONLY));
    ERR(ioctl(f, TCGETS, &t), ENOTTY);
    close(f);
    ERR(ioctl(-1, FIONREAD, &avail), EBADF);
    close(p[0]);
    close(p[1]);
}

static void fifo_writer_child(void) {
    int fd = open("fifo", O_WRONLY); /* waits for the reader */
    CHECK(fd >= 0);
    CHECK(write(fd, "hello", 5) == 5);
    close(fd);
}

static void fifo_interrupted_open_child(void) {
    handle_usr1(0);
    signal_me_later(SIGUSR1, 100);
    ERR(open("fifo", O_RDONLY), EINTR); /* no writer comes */
    CHECK(got_usr1 == 1);
    wait(NULL);
}

static void fifos(void) {
    OK(mkfifo("fifo", 0644));
    char buf[16];
    struct stat st;
    ERR(open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
    int r = OK(open("fifo", O_RDONLY | O_NONBLOCK));
    CHECK(fstat(r, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(read(r, buf, sizeof buf) == 0); /* no writer: end of file */
    struct pollfd pfd = {r, POLLIN, 0};
    CHECK(poll(&pfd, 1, 0) == 0); /* no writer yet: not a hang-up */
    int w = OK(open("fifo", O_WRONLY | O_NONBLOCK));
    ERR(read(r, buf, sizeof buf), EAGAIN);
    CHECK(write(w, "abc", 3) == 3);
    CHECK(read(r, buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    ERR(lseek(w, 0, SEEK_SET), ESPIPE);
    ERR(pread(r, buf, 1, 0), ESPIPE);
    close(w);
    CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP));
    CHECK(read(r, buf, sizeof buf) == 0);
    /* EPIPE once the reader is gone */
    w = OK(open("fifo", O_WRONLY | O_NONBLOCK));
    close(r);
    signal(SIGPIPE, SIG_IGN);
    ERR(write(w, "x", 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(w);
    /* O_RDWR never waits; the data goes when the last end closes */
    int rw = OK(open("fifo", O_RDWR));
    CHECK(write(rw, "xy", 2) == 2);
    CHECK(read(rw, buf, 1) == 1 && buf[0] == 'x');
    close(rw);
    rw = OK(open("fifo", O_RDWR | O_NONBLOCK));
    ERR(read(rw, buf, 1), EAGAIN);
    close(rw);
    /* blocking opens meet: the writer waits for the reader, then the reverse */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        failures = 0;
        fifo_writer_child();
        _exit(failures ? 1 : 0);
    }
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    r = OK(open("fifo", O_RDONLY));
    long n = 0, got;
    while ((got = read(r, buf + n, sizeof buf - n)) > 0) n += got;
    CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
    close(r);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    child = fork();
    if (child == 0) {
        failures = 0;
        nanosleep(&d, NULL);
        fifo_writer_child();
        _exit(failures ? 1 : 0);
    }
    r = OK(open("fifo", O_RDONLY)); /* waits for the child's open */
    n = 0;
    while ((got = read(r, buf + n, sizeof buf - n)) > 0) n += got;
    CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
    close(r);
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* a signal ends a waiting open: EINTR without SA_RESTART */
    status = in_child(fifo_interrupted_open_child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void polls(void) {
    int p[2];
    OK(pipe(p));
    struct pollfd fds[4] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 7}, {77, POLLIN, 0}};
    CHECK(poll(fds, 4, 0) == 2);
    CHECK(fds[0].revents == 0 && fds[1].revents == POLLOUT && fds[2].revents == 0 && fds[3].revents == POLLNVAL);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(poll(fds, 2, 1000) == 2 && fds[0].revents == POLLIN);
    close(p[1]);
    CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == (POLLIN | POLLHUP));
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == POLLHUP);
    close(p[0]);
    OK(pipe(p));
    close(p[0]);
    struct pollfd wfd = {p[1], POLLOUT, 0};
    CHECK(poll(&wfd, 1, 0) == 1 && (wfd.revents & POLLERR) && (wfd.revents & POLLOUT));
    close(p[1]);
    /* a regular file is always ready */
    int rf = OK(open("f", O_RDWR));
    struct pollfd ffd = {rf, POLLIN | POLLOUT | POLLPRI, 0};
    CHECK(poll(&ffd, 1, 0) == 1 && ffd.revents == (POLLIN | POLLOUT));
    close(rf);
    /* timeouts */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(NULL, 0, 50) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 45);
    ERR(poll((struct pollfd *)8, 1, 0), EFAULT);
    ERR(poll(fds, 100000, 0), EINVAL);
    /* ppoll: timespec checks, sigset size, the time left written back */
    OK(pipe(p));
    struct pollfd rfd = {p[0], POLLIN, 0};
    struct timespec ts = {0, 1000000000};
    ERR(syscall(SYS_ppoll, &rfd, 1, &ts, NULL, 8), EINVAL);
    ts.tv_nsec = -1;
    ERR(syscall(SYS_ppoll, &rfd, 1, &ts, NULL, 8), EINVAL);
    sigset_t none;
    sigemptyset(&none);
    ts.tv_nsec = 0;
    ERR(syscall(SYS_ppoll, &rfd, 1, &ts, &none, 4), EINVAL);
    ERR(syscall(SYS_ppoll, &rfd, 1, (void *)8, NULL, 8), EFAULT);
    ts.tv_sec = 0;
    ts.tv_nsec = 30 * 1000000L;
    CHECK(syscall(SYS_ppoll, &rfd, 1, &ts, &none, 8) == 0);
    CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0);
    CHECK(write(p[1], "x", 1) == 1);
    ts.tv_sec = 5;
    ts.tv_nsec = 0;
    CHECK(syscall(SYS_ppoll, &rfd, 1, &ts, NULL, 8) == 1 && rfd.revents == POLLIN);
    CHECK(ts.tv_sec == 4 || (ts.tv_sec == 5 && ts.tv_nsec == 0));
    close(p[0]);
    close(p[1]);
    /* a signal interrupts poll: EINTR even with SA_RESTART */
    handle_usr1(1);
    got_usr1 = 0;
    pid_t child = signal_me_later(SIGUSR1, 50);
    ERR(poll(NULL, 0, 5000), EINTR);
    CHECK(got_usr1 == 1);
    waitpid(child, NULL, 0);
}

struct sigarg { const sigset_t *set; size_t size; };

static void selects(void) {
    int p[2];
    OK(pipe(p));
    int f = OK(open("f", O_RDWR));
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    FD_SET(f, &r);
    FD_SET(f, &w);
    FD_SET(p[0], &e);
    struct timeval tv = {0, 0};
    int nfds = (f > p[1] ? f : p[1]) + 1;
    CHECK(syscall(SYS_select, nfds, &r, &w, &e, &tv) == 3);
    CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(f, &r) && FD_ISSET(p[1], &w) && FD_ISSET(f, &w) && !FD_ISSET(p[0], &e));
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
    /* nothing ready: 0, the sets cleared, the timeout used up */
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    CHECK(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv) == 0);
    CHECK(!FD_ISSET(p[0], &r) && tv.tv_sec == 0 && tv.tv_usec == 0);
    /* ready at once: the time left is written back */
    CHECK(write(p[1], "x", 1) == 1);
    FD_SET(p[0], &r);
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    CHECK(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &r));
    CHECK(tv.tv_sec == 4 || (tv.tv_sec == 5 && tv.tv_usec == 0));
    /* tv_usec beyond a second is carried into seconds */
    tv.tv_sec = 0;
    tv.tv_usec = 1500000;
    CHECK(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv) == 1);
    /* errors */
    ERR(syscall(SYS_select, -1, NULL, NULL, NULL, NULL), EINVAL);
    tv.tv_sec = 0;
    tv.tv_usec = -1;
    ERR(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv), EINVAL);
    tv.tv_sec = -1;
    tv.tv_usec = 0;
    ERR(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv), EINVAL);
    ERR(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, (void *)8), EFAULT);
    ERR(syscall(SYS_select, p[0] + 1, (void *)8, NULL, NULL, NULL), EFAULT);
    FD_ZERO(&r);
    FD_SET(50, &r);
    tv.tv_sec = 0;
    ERR(syscall(SYS_select, 51, &r, NULL, NULL, &tv), EBADF);
    /* bits at and above nfds are not looked at */
    CHECK(syscall(SYS_select, 50, &r, NULL, NULL, &tv) == 0);
    /* a plain sleep */
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    CHECK(select(0, NULL, NULL, NULL, &tv) == 0);
    /* pselect6: timespec rules, the sigset argument, time left */
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timespec ts = {0, 1000000000};
    ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL), EINVAL);
    sigset_t none;
    sigemptyset(&none);
    struct sigarg bad = {&none, 4};
    ts.tv_nsec = 0;
    ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, &bad), EINVAL);
    ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, (void *)8), EFAULT);
    struct sigarg good = {&none, 8};
    ts.tv_sec = 5;
    CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, &good) == 1 && FD_ISSET(p[0], &r));
    CHECK(ts.tv_sec == 4 || ts.tv_sec == 5);
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    ts.tv_sec = 0;
    ts.tv_nsec = 20 * 1000000L;
    CHECK(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL) == 0 && ts.tv_nsec == 0);
    /* pselect's mask is in force during the wait only: SIGUSR1, blocked
     * before and after, interrupts it */
    handle_usr1(1);
    got_usr1 = 0;
    sigset_t usr1, old, now;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    pid_t child = signal_me_later(SIGUSR1, 50);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    ERR(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, NULL, &good), EINTR);
    CHECK(got_usr1 == 1);
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK(sigismember(&now, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    waitpid(child, NULL, 0);
    /* select is interrupted too, even with SA_RESTART */
    got_usr1 = 0;
    child = signal_me_later(SIGUSR1, 50);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    ERR(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, NULL), EINTR);
    CHECK(got_usr1 == 1);
    waitpid(child, NULL, 0);
    close(p[0]);
    close(p[1]);
    close(f);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) return after_exec();
    enter_workdir("/abi-fds");
    dups();
    fcntls();
    exec_closes(argv[0]);
    pipes();
    ioctls();
    fifos();
    polls();
    selects();
    return finish("abi_fds");
}
