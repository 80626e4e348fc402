/* Metadata: stat/fstat/lstat/newfstatat/statx, chmod/chown, utimensat,
 * access/faccessat2, umask, permission errors (EACCES/EPERM) as a user. */
#include "abi_test.h"
#include <stdint.h>
#include <time.h>

/* Linux's struct statx (uapi), spelled out: older libcs lack it. */
struct statx_ts { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct statx_buf {
    uint32_t mask, blksize;
    uint64_t attributes;
    uint32_t nlink, uid, gid;
    uint16_t mode, spare0;
    uint64_t ino, size, blocks, attributes_mask;
    struct statx_ts atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};
#define X_BASIC_STATS 0x7ffu
#define X_RESERVED 0x80000000u
#define X_SYNC_TYPE 0x6000

static long statx_(int dirfd, const char *path, int flags, unsigned mask, void *buf) {
    return syscall(SYS_statx, dirfd, path, flags, mask, buf);
}

static void stats(void) {
    write_file("f", "12345");
    symlink("f", "sl");
    mkdir("d", 0755);
    struct stat st, st2;
    CHECK(stat("f", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5 && st.st_nlink == 1);
    CHECK(st.st_uid == 0 && st.st_gid == 0 && st.st_blksize > 0);
    CHECK(lstat("sl", &st2) == 0 && S_ISLNK(st2.st_mode) && st2.st_size == 1);
    CHECK(stat("sl", &st2) == 0 && st2.st_ino == st.st_ino);
    CHECK(stat("d", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
    ERR(stat("missing", &st), ENOENT);
    ERR(stat("f/", &st), ENOTDIR);
    ERR(stat("f/x", &st), ENOTDIR);
    ERR(stat("", &st), ENOENT);
    ERR(syscall(SYS_stat, "f", (void *)8), EFAULT);
    ERR(syscall(SYS_stat, (void *)8, &st), EFAULT);
    ERR(syscall(SYS_fstat, -1, &st), EBADF);
    ERR(syscall(SYS_fstat, 0, (void *)8), EFAULT);
    int fd = OK(open("f", O_RDONLY));
    CHECK(fstat(fd, &st2) == 0 && st2.st_size == 5);
    /* newfstatat: AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, bad flags */
    CHECK(syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH) == 0 && st.st_ino == st2.st_ino);
    ERR(syscall(SYS_newfstatat, fd, "", &st, 0), ENOENT);
    ERR(syscall(SYS_newfstatat, AT_FDCWD, "f", &st, 0x4), EINVAL);
    ERR(syscall(SYS_newfstatat, fd, "x", &st, 0), ENOTDIR);
    ERR(syscall(SYS_newfstatat, 999, "x", &st, 0), EBADF);
    CHECK(syscall(SYS_newfstatat, AT_FDCWD, "sl", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
    /* statx */
    struct statx_buf sx;
    memset(&sx, 0xff, sizeof sx);
    CHECK(statx_(AT_FDCWD, "f", 0, X_BASIC_STATS, &sx) == 0);
    CHECK((sx.mask & X_BASIC_STATS) == X_BASIC_STATS && sx.size == 5 && S_ISREG(sx.mode) && sx.ino == st2.st_ino);
    CHECK(sx.nlink == 1 && sx.uid == 0 && sx.mtime.tv_sec == st2.st_mtim.tv_sec);
    CHECK(statx_(fd, "", AT_EMPTY_PATH, X_BASIC_STATS, &sx) == 0 && sx.size == 5);
    CHECK(statx_(AT_FDCWD, "sl", 0x100, X_BASIC_STATS, &sx) == 0 && S_ISLNK(sx.mode));
    ERR(statx_(AT_FDCWD, "f", 0x4, X_BASIC_STATS, &sx), EINVAL);
    ERR(statx_(AT_FDCWD, "f", X_SYNC_TYPE, X_BASIC_STATS, &sx), EINVAL);
    ERR(statx_(AT_FDCWD, "f", 0, X_RESERVED, &sx), EINVAL);
    ERR(statx_(AT_FDCWD, "missing", 0, X_BASIC_STATS, &sx), ENOENT);
    ERR(statx_(AT_FDCWD, "f", 0, X_BASIC_STATS, (void *)8), EFAULT);
    close(fd);
    /* FIFOs made by mknod and mkfifo */
    OK(mkfifo("fifo", 0600));
    CHECK(stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
    ERR(mkfifo("fifo", 0600), EEXIST);
    OK(mknod("fifo2", S_IFIFO | 0644, 0));
    CHECK(lstat("fifo2", &st) == 0 && S_ISFIFO(st.st_mode));
    OK(mknodat(AT_FDCWD, "fifo3", S_IFIFO | 0644, 0));
    OK(mknod("plain", 0644, 0)); /* type 0: a regular file */
    CHECK(stat("plain", &st) == 0 && S_ISREG(st.st_mode));
    ERR(mknod("dirnode", S_IFDIR | 0755, 0), EPERM);
    ERR(mknod("bad", 0170000 | 0644, 0), EINVAL);
}

static void modes_and_owners(void) {
    struct stat st;
    OK(chmod("f", 0640));
    CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0640);
    OK(chmod("f", 04755));
    CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 04755);
    OK(chmod("sl", 0600)); /* follows the link */
    CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0600);
    ERR(chmod("missing", 0600), ENOENT);
    ERR(fchmod(-1, 0600), EBADF);
    int fd = OK(open("f", O_RDONLY));
    OK(fchmod(fd, 0644));
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0644);
    OK(fchown(fd, 1000, 1001));
    CHECK(fstat(fd, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1001);
    OK(chown("f", -1, 7));
    CHECK(stat("f", &st) == 0 && st.st_uid == 1000 && st.st_gid == 7);
    OK(lchown("sl", 5, 5));
    CHECK(lstat("sl", &st) == 0 && st.st_uid == 5);
    CHECK(stat("f", &st) == 0 && st.st_uid == 1000);
    ERR(fchownat(AT_FDCWD, "f", 0, 0, 0x2), EINVAL);
    ERR(chown("missing", 0, 0), ENOENT);
    ERR(fchown(-1, 0, 0), EBADF);
    OK(chown("f", 0, 0));
    /* chown clears set-user-ID, even done by root */
    OK(chmod("f", 04755));
    OK(chown("f", 0, 0));
    CHECK(stat("f", &st) == 0 && (st.st_mode & 07777) == 0755);
    OK(chmod("f", 0644));
    close(fd);
}

static void times(void) {
    struct stat st;
    struct timespec ts[2] = {{1000, 500}, {2000, 600}};
    OK(utimensat(AT_FDCWD, "f", ts, 0));
    CHECK(stat("f", &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_atim.tv_nsec == 500);
    CHECK(st.st_mtim.tv_sec == 2000 && st.st_mtim.tv_nsec == 600);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {3000, 0}};
    OK(utimensat(AT_FDCWD, "f", omit, 0));
    CHECK(stat("f", &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_mtim.tv_sec == 3000);
    struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    time_t before = time(NULL);
    OK(utimensat(AT_FDCWD, "f", now, 0));
    CHECK(stat("f", &st) == 0 && st.st_atim.tv_sec >= before - 1 && st.st_mtim.tv_sec == 3000);
    OK(utimensat(AT_FDCWD, "f", NULL, 0));
    CHECK(stat("f", &st) == 0 && st.st_mtim.tv_sec >= before - 1);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    ERR(utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
    struct timespec neg[2] = {{0, -1}, {0, 0}};
    ERR(utimensat(AT_FDCWD, "f", neg, 0), EINVAL);
    ERR(utimensat(AT_FDCWD, "f", ts, 0x4), EINVAL);
    ERR(utimensat(AT_FDCWD, "missing", ts, 0), ENOENT);
    ERR(syscall(SYS_utimensat, AT_FDCWD, "f", (void *)8, 0), EFAULT);
    /* AT_SYMLINK_NOFOLLOW changes the link itself */
    OK(utimensat(AT_FDCWD, "sl", ts, AT_SYMLINK_NOFOLLOW));
    CHECK(lstat("sl", &st) == 0 && st.st_mtim.tv_sec == 2000);
    CHECK(stat("f", &st) == 0 && st.st_mtim.tv_sec != 2000);
    /* a NULL path with a fd (futimens) */
    int fd = OK(open("f", O_RDONLY));
    OK(syscall(SYS_utimensat, fd, NULL, ts, 0));
    CHECK(fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 2000);
    close(fd);
    /* a write moves mtime and ctime */
    fd = OK(open("f", O_WRONLY));
    CHECK(write(fd, "x", 1) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_mtim.tv_sec >= before - 1 && st.st_ctim.tv_sec >= before - 1);
    close(fd);
}

static void access_checks(void) {
    OK(access("f", F_OK));
    OK(access("f", R_OK | W_OK));
    ERR(access("f", X_OK), EACCES); /* root needs an x bit somewhere */
    OK(chmod("f", 0744));
    OK(access("f", X_OK));
    OK(access("d", X_OK));
    ERR(access("missing", F_OK), ENOENT);
    ERR(access("f", 8), EINVAL);
    ERR(access("f/x", F_OK), ENOTDIR);
    OK(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS));
    OK(syscall(SYS_faccessat2, AT_FDCWD, "sl", F_OK, AT_SYMLINK_NOFOLLOW));
    ERR(syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x2), EINVAL);
    ERR(syscall(SYS_faccessat2, AT_FDCWD, "f", 0x10, 0), EINVAL);
    int fd = OK(open("f", O_RDONLY));
    OK(syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
    close(fd);
    ERR(syscall(SYS_faccessat, -1, "f", R_OK), EBADF);
}

static void umasks(void) {
    mode_t old = umask(027);
    CHECK(old == 022);
    CHECK(umask(027) == 027);
    int fd = OK(open("masked", O_CREAT | O_WRONLY, 0666));
    close(fd);
    struct stat st;
    CHECK(stat("masked", &st) == 0 && (st.st_mode & 0777) == 0640);
    OK(mkdir("mdir", 0777));
    CHECK(stat("mdir", &st) == 0 && (st.st_mode & 0777) == 0750);
    OK(mkfifo("mfifo", 0666));
    CHECK(stat("mfifo", &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(umask(0777777) == 027);
    CHECK(umask(022) == 0777); /* only the permission bits are kept */
}

/* As uid/gid 1000: the permission checks apply. */
static void as_user(void) {
    if (setgid(1000) != 0 || setuid(1000) != 0) {
        printf("FAIL cannot become uid 1000: %s\n", strerror(errno));
        failures++;
        return;
    }
    struct stat st;
    ERR(open("secret", O_RDONLY), EACCES);
    ERR(open("secret", O_WRONLY), EACCES);
    ERR(access("secret", R_OK), EACCES);
    OK(access("secret", F_OK));
    ERR(mkdir("newdir", 0755), EACCES);
    ERR(open("newfile", O_CREAT | O_WRONLY, 0644), EACCES);
    ERR(unlink("secret"), EACCES);
    ERR(stat("closed/inner", &st), EACCES);
    ERR(chdir("closed"), EACCES);
    ERR(chmod("secret", 0777), EPERM);
    ERR(chown("secret", 1000, 1000), EPERM);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    ERR(utimensat(AT_FDCWD, "secret", ts, 0), EPERM);
    ERR(utimensat(AT_FDCWD, "secret", NULL, 0), EACCES);
    /* in a world-writable directory a user creates files it owns */
    int fd = OK(open("open/mine", O_CREAT | O_WRONLY, 0600));
    close(fd);
    CHECK(stat("open/mine", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
    OK(chmod("open/mine", 0644));
    ERR(chown("open/mine", 0, 0), EPERM);
    /* the sticky bit: another user's file cannot be removed */
    ERR(unlink("open/roots"), EPERM);
    ERR(setuid(0), EPERM);
}

int main(void) {
    enter_workdir("/abi-meta");
    stats();
    modes_and_owners();
    times();
    access_checks();
    umasks();
    write_file("secret", "s");
    chmod("secret", 0600);
    mkdir("closed", 0700);
    write_file("closed/inner", "i");
    mkdir("open", 01777);
    chmod("open", 01777);
    write_file("open/roots", "r");
    chmod("/abi-meta", 0755);
    int status = in_child(as_user);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return finish("abi_meta");
}
