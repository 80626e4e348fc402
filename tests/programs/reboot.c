/* reboot(2) as Linux defines it (kernel/reboot.c): EPERM without
 * CAP_SYS_BOOT (checked before anything else), EINVAL for bad magic or an
 * unknown command, CAD_ON/CAD_OFF succeed, RESTART2 copies its string
 * (EFAULT for a bad pointer). Prints one line per check, then
 * "N failures"; with no failure it ends the VM with RESTART2 (status 0). */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* include/uapi/linux/reboot.h */
#define MAGIC1 0xfee1deadL
#define MAGIC2 672274793L
#define MAGIC2A 85072278L
#define MAGIC2B 369367448L
#define MAGIC2C 537993216L
#define CMD_RESTART 0x01234567L
#define CMD_HALT 0xCDEF0123L
#define CMD_CAD_ON 0x89ABCDEFL
#define CMD_CAD_OFF 0x00000000L
#define CMD_POWER_OFF 0x4321FEDCL
#define CMD_RESTART2 0xA1B2C3D4L

static int failures;

static void check(const char *name, int ok) {
    printf("%s %s\n", ok ? "ok" : "FAIL", name);
    if (!ok)
        failures++;
}

static long rb(long magic1, long magic2, long cmd, const void *arg) {
    errno = 0;
    return syscall(SYS_reboot, magic1, magic2, cmd, arg);
}

int main(void) {
    long r = rb(0x12345678L, MAGIC2, CMD_POWER_OFF, 0);
    check("bad_magic1_einval", r == -1 && errno == EINVAL);
    r = rb(MAGIC1, 1, CMD_POWER_OFF, 0);
    check("bad_magic2_einval", r == -1 && errno == EINVAL);
    r = rb(MAGIC1, MAGIC2, 0x1234, 0);
    check("unknown_cmd_einval", r == -1 && errno == EINVAL);
    check("cad_on", rb(MAGIC1, MAGIC2C, CMD_CAD_ON, 0) == 0);
    check("cad_off", rb(MAGIC1, MAGIC2A, CMD_CAD_OFF, 0) == 0);
    r = rb(MAGIC1, MAGIC2, CMD_RESTART2, (const void *)8);
    check("restart2_bad_pointer_efault", r == -1 && errno == EFAULT);

    pid_t child = fork();
    if (child == 0) {
        if (setuid(65534) != 0)
            _exit(3);
        /* EPERM comes first, even with bad magic. */
        long bad = rb(0, 0, CMD_POWER_OFF, 0);
        int bad_errno = errno;
        long off = rb(MAGIC1, MAGIC2, CMD_POWER_OFF, 0);
        int off_errno = errno;
        long halt = rb(MAGIC1, MAGIC2B, CMD_HALT, 0);
        _exit(bad == -1 && bad_errno == EPERM && off == -1 && off_errno == EPERM && halt == -1 && errno == EPERM ? 0 : 1);
    }
    int status = -1;
    waitpid(child, &status, 0);
    check("non_root_eperm", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    printf("%d failures\n", failures);
    fflush(stdout);
    if (failures)
        return 1;
    rb(MAGIC1, MAGIC2, CMD_RESTART2, "umbra-test");
    printf("FAIL restart2_returned errno=%d\n", errno);
    return 2;
}
