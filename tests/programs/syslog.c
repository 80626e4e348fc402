/* syslog(2) (klogctl) as Linux answers it with dmesg_restrict=0: the
 * buffer size, whole "<level>[seconds.micros] text" records from
 * READ_ALL, EINVAL for a NULL buffer or an unknown action, 0 for length
 * 0; a non-root caller may READ_ALL and ask the size, and gets EPERM for
 * the rest (before the action is even checked). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok) {
    printf("%s %s\n", ok ? "ok" : "FAIL", name);
    if (!ok)
        failures++;
}

static int fails_with(int type, char *buf, int len, int err) {
    errno = 0;
    return klogctl(type, buf, len) == -1 && errno == err;
}

static char buf[1 << 17];

int main(void) {
    int size = klogctl(10, NULL, 0);
    check("size_buffer", size == 1 << 17);
    int n = klogctl(3, buf, sizeof buf);
    check("read_all_records", n > 0 && buf[0] == '<' && buf[2] == '>' && buf[3] == '[' && buf[n - 1] == '\n');
    check("read_all_len_0", klogctl(3, buf, 0) == 0);
    int small = klogctl(3, buf, 200);
    check("read_all_whole_records_fit", small > 0 && small <= 200 && buf[0] == '<' && buf[small - 1] == '\n');
    check("read_all_null_einval", fails_with(3, NULL, 10, EINVAL));
    check("read_all_negative_einval", fails_with(3, buf, -1, EINVAL));
    check("unknown_action_einval", fails_with(99, buf, 10, EINVAL));
    check("console_level_9_einval", fails_with(8, NULL, 9, EINVAL));
    check("console_level_1", klogctl(8, NULL, 1) == 0);
    check("read_all_bad_pointer_efault", fails_with(3, (char *)8, 100, EFAULT));

    pid_t child = fork();
    if (child == 0) {
        if (setuid(65534) != 0)
            _exit(3);
        int ok = klogctl(10, NULL, 0) == 1 << 17 && klogctl(3, buf, sizeof buf) > 0 &&
                 fails_with(5, NULL, 0, EPERM) && fails_with(99, NULL, 0, EPERM) && fails_with(2, buf, 10, EPERM);
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(child, &status, 0);
    check("non_root_read_all_only", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    check("clear", klogctl(5, NULL, 0) == 0);
    printf("%d failures\n", failures);
    return failures != 0;
}
