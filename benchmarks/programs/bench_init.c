/* /init of the `umbra bench` initramfs, the same file on Umbra and Linux.
 *
 * Its first act is to print BENCH-INIT on the console: the host times
 * boot-to-init as QEMU start to that line, the same way for both kernels.
 * Then it gives both kernels the same environment (Linux starts init with
 * no /dev, /proc or /tmp mounted and maybe without a console; Umbra
 * mounts /dev and /proc itself; mount errors are ignored), runs
 * /bench/run.sh with busybox sh and powers off. Its exit status is
 * printed as BENCH-DONE N: Linux reports init's exit only as a panic.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *s)
{
    ssize_t r = write(1, s, strlen(s));
    (void)r;
}

int main(void)
{
    if (fcntl(1, F_GETFD) == -1) {
        /* Linux without /dev/console in the initramfs: no stdio yet. */
        mkdir("/dev", 0755);
        mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
    }
    say("BENCH-INIT\n");
    if (access("/dev/null", F_OK) != 0) {
        mkdir("/dev", 0755);
        mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    }
    if (access("/proc/meminfo", F_OK) != 0) {
        mkdir("/proc", 0555);
        mount("proc", "/proc", "proc", 0, NULL);
    }
    mkdir("/sys", 0555);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mkdir("/tmp", 01777);
    mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
    setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
    setenv("HOME", "/root", 1);
    int status = 255;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "/bench/run.sh", (char *)NULL);
        _exit(127);
    }
    if (pid > 0 && waitpid(pid, &status, 0) == pid)
        status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    char line[32];
    snprintf(line, sizeof line, "BENCH-DONE %d\n", status);
    say(line);
    sync();
    reboot(RB_POWER_OFF);
    return status;
}
