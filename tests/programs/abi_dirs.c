/* Directories and names: mkdir/rmdir, getdents64, rename/renameat2, link,
 * symlink/readlink, unlink, chdir/fchdir/getcwd, with Linux's errnos. */
#include "abi_test.h"
#include <dirent.h>
#include <limits.h>
#include <sys/mount.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static char long_name[300];

static long renameat2_(const char *a, const char *b, unsigned flags) {
    return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void read_text(const char *path, char *out, size_t size) {
    memset(out, 0, size);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        if (read(fd, out, size - 1) < 0) out[0] = 0;
        close(fd);
    }
}

static void making_and_removing(void) {
    OK(mkdir("a", 0755));
    ERR(mkdir("a", 0755), EEXIST);
    ERR(mkdir("missing/x", 0755), ENOENT);
    write_file("file", "x");
    ERR(mkdir("file/x", 0755), ENOTDIR);
    ERR(mkdir("file", 0755), EEXIST);
    ERR(mkdir(long_name, 0755), ENAMETOOLONG);
    ERR(mkdir((char *)8, 0755), EFAULT);
    OK(mkdir("a/b", 0700));
    struct stat st;
    CHECK(stat("a/b", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700 && st.st_nlink == 2);
    CHECK(stat("a", &st) == 0 && st.st_nlink == 3);
    ERR(rmdir("a"), ENOTEMPTY);
    ERR(rmdir("file"), ENOTDIR);
    ERR(rmdir("missing"), ENOENT);
    ERR(rmdir("a/b/."), EINVAL);
    ERR(rmdir("a/.."), ENOTEMPTY);
    ERR(unlink("a"), EISDIR);
    ERR(unlink("missing"), ENOENT);
    ERR(unlink("file/x"), ENOTDIR);
    OK(rmdir("a/b"));
    CHECK(stat("a", &st) == 0 && st.st_nlink == 2);
    OK(rmdir("a"));
    ERR(stat("a", &st), ENOENT);
    OK(unlink("file"));
    ERR(unlink("file"), ENOENT);
    /* unlinkat: AT_REMOVEDIR, bad flags */
    OK(mkdir("u", 0755));
    ERR(unlinkat(AT_FDCWD, "u", 0), EISDIR);
    ERR(unlinkat(AT_FDCWD, "u", 0x1), EINVAL);
    OK(unlinkat(AT_FDCWD, "u", AT_REMOVEDIR));
    /* mkdirat relative to a dirfd */
    OK(mkdir("base", 0755));
    int dfd = OK(open("base", O_RDONLY | O_DIRECTORY));
    OK(mkdirat(dfd, "sub", 0755));
    CHECK(stat("base/sub", &st) == 0 && S_ISDIR(st.st_mode));
    ERR(mkdirat(-1, "sub2", 0755), EBADF);
    close(dfd);
}

static void listing(void) {
    OK(mkdir("ls", 0755));
    write_file("ls/one", "1");
    write_file("ls/two", "2");
    OK(mkdir("ls/dir", 0755));
    symlink("one", "ls/sym");
    int fd = OK(open("ls", O_RDONLY | O_DIRECTORY));
    char buf[4096];
    int seen = 0, dots = 0, types_ok = 1;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long at = 0; at < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + at);
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) dots++;
            else seen++;
            if (!strcmp(d->d_name, "one") && d->d_type != DT_REG) types_ok = 0;
            if (!strcmp(d->d_name, "dir") && d->d_type != DT_DIR) types_ok = 0;
            if (!strcmp(d->d_name, "sym") && d->d_type != DT_LNK) types_ok = 0;
            if (d->d_reclen % 8 != 0) types_ok = 0;
            at += d->d_reclen;
        }
    }
    CHECK(n == 0);
    CHECK(seen == 4 && dots == 2);
    CHECK(types_ok);
    /* rewind and list again */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(syscall(SYS_getdents64, fd, buf, sizeof buf) > 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    ERR(syscall(SYS_getdents64, fd, buf, 10), EINVAL);
    ERR(syscall(SYS_getdents64, fd, (void *)8, sizeof buf), EFAULT);
    ERR(syscall(SYS_getdents64, -1, buf, sizeof buf), EBADF);
    int ffd = OK(open("ls/one", O_RDONLY));
    ERR(syscall(SYS_getdents64, ffd, buf, sizeof buf), ENOTDIR);
    close(ffd);
    close(fd);
    /* d_off of an entry is where the next one starts: one entry per call */
    fd = OK(open("ls", O_RDONLY | O_DIRECTORY));
    char one[40];
    long first = syscall(SYS_getdents64, fd, one, sizeof one);
    CHECK(first > 0 && first <= (long)sizeof one);
    long long next = ((struct linux_dirent64 *)one)->d_off;
    char second_name[32] = {0};
    if (syscall(SYS_getdents64, fd, one, sizeof one) > 0)
        strncpy(second_name, ((struct linux_dirent64 *)one)->d_name, sizeof second_name - 1);
    CHECK(lseek(fd, next, SEEK_SET) == next);
    CHECK(syscall(SYS_getdents64, fd, one, sizeof one) > 0 && strcmp(((struct linux_dirent64 *)one)->d_name, second_name) == 0);
    close(fd);
    /* opendir/readdir through libc */
    DIR *dir = opendir("ls");
    int count = 0;
    if (dir) {
        while (readdir(dir)) count++;
        closedir(dir);
    }
    CHECK(count == 6);
}

static void renaming(void) {
    char text[32];
    write_file("r1", "one");
    write_file("r2", "two");
    OK(rename("r1", "r2"));
    read_text("r2", text, sizeof text);
    CHECK(strcmp(text, "one") == 0);
    ERR(access("r1", F_OK), ENOENT);
    ERR(rename("r1", "r3"), ENOENT);
    OK(mkdir("rd", 0755));
    OK(mkdir("rd2", 0755));
    write_file("rd2/x", "x");
    ERR(rename("rd", "rd2"), ENOTEMPTY);
    ERR(rename("r2", "rd"), EISDIR);
    ERR(rename("rd", "r2"), ENOTDIR);
    ERR(rename("rd", "rd/sub"), EINVAL);
    ERR(rename("rd", "missing/rd"), ENOENT);
    ERR(rename(".", "x"), EBUSY);
    OK(mkdir("rd3", 0755));
    OK(rename("rd", "rd3")); /* a directory over an empty one */
    struct stat st;
    CHECK(stat("rd3", &st) == 0 && S_ISDIR(st.st_mode));
    ERR(stat("rd", &st), ENOENT);
    OK(rename("r2", "r2")); /* same name: nothing happens */
    OK(link("r2", "r2-link"));
    OK(rename("r2", "r2-link")); /* two links to one file: nothing happens */
    CHECK(access("r2", F_OK) == 0 && access("r2-link", F_OK) == 0);
    OK(unlink("r2-link"));
    /* renameat2 */
    write_file("n1", "n1");
    write_file("n2", "n2");
    ERR(renameat2_("n1", "n2", RENAME_NOREPLACE), EEXIST);
    OK(renameat2_("n1", "n3", RENAME_NOREPLACE));
    OK(renameat2_("n3", "n2", RENAME_EXCHANGE));
    read_text("n2", text, sizeof text);
    CHECK(strcmp(text, "n1") == 0);
    read_text("n3", text, sizeof text);
    CHECK(strcmp(text, "n2") == 0);
    ERR(renameat2_("n3", "missing", RENAME_EXCHANGE), ENOENT);
    ERR(renameat2_("n3", "n2", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
    ERR(renameat2_("n3", "n2", 0x80), EINVAL);
    /* exchange a file and a directory */
    OK(renameat2_("n3", "rd3", RENAME_EXCHANGE));
    CHECK(stat("n3", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(stat("rd3", &st) == 0 && S_ISREG(st.st_mode));
    ERR(syscall(SYS_renameat2, -1, "n2", AT_FDCWD, "x", 0), EBADF);
    /* across mounts: EXDEV; a mount point is busy */
    OK(mkdir("mnt", 0755));
    if (OK(mount("none", "mnt", "tmpfs", 0, NULL)) == 0) {
        ERR(rename("n2", "mnt/n2"), EXDEV);
        ERR(link("n2", "mnt/n2"), EXDEV);
        ERR(rmdir("mnt"), EBUSY);
        ERR(rename("mnt", "mnt2"), EBUSY);
        OK(umount("mnt"));
    }
    OK(rmdir("mnt"));
}

static void links(void) {
    write_file("orig", "data");
    OK(link("orig", "hard"));
    struct stat a, b;
    CHECK(stat("orig", &a) == 0 && stat("hard", &b) == 0 && a.st_ino == b.st_ino && a.st_nlink == 2);
    ERR(link("orig", "hard"), EEXIST);
    ERR(link("missing", "x"), ENOENT);
    OK(mkdir("ldir", 0755));
    ERR(link("ldir", "ldir2"), EPERM);
    OK(unlink("hard"));
    CHECK(stat("orig", &a) == 0 && a.st_nlink == 1);
    /* symlinks */
    OK(symlink("orig", "sl"));
    ERR(symlink("orig", "sl"), EEXIST);
    ERR(symlink("", "empty"), ENOENT);
    char buf[64];
    long n = readlink("sl", buf, sizeof buf);
    CHECK(n == 4 && memcmp(buf, "orig", 4) == 0);
    CHECK(readlink("sl", buf, 2) == 2 && memcmp(buf, "or", 2) == 0);
    ERR(readlink("orig", buf, sizeof buf), EINVAL);
    ERR(syscall(SYS_readlink, "sl", buf, 0), EINVAL);
    ERR(readlink("missing", buf, sizeof buf), ENOENT);
    ERR(readlink("sl", (char *)8, sizeof buf), EFAULT);
    CHECK(lstat("sl", &a) == 0 && S_ISLNK(a.st_mode) && a.st_size == 4);
    CHECK(stat("sl", &b) == 0 && S_ISREG(b.st_mode));
    /* loops and ELOOP */
    OK(symlink("loop2", "loop1"));
    OK(symlink("loop1", "loop2"));
    ERR(open("loop1", O_RDONLY), ELOOP);
    ERR(stat("loop1", &a), ELOOP);
    ERR(mkdir("loop1/x", 0755), ELOOP);
    /* link does not follow the source symlink unless AT_SYMLINK_FOLLOW */
    OK(link("sl", "sl-hard"));
    CHECK(lstat("sl-hard", &a) == 0 && S_ISLNK(a.st_mode));
    OK(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl-follow", AT_SYMLINK_FOLLOW));
    CHECK(lstat("sl-follow", &a) == 0 && S_ISREG(a.st_mode));
    ERR(linkat(AT_FDCWD, "orig", AT_FDCWD, "x", 0x1), EINVAL);
    ERR(link("orig/", "x"), ENOTDIR);
    static char target[5000];
    memset(target, 't', 4200);
    ERR(symlink(target, "toolong"), ENAMETOOLONG);
    /* an unlinked open file lives on */
    write_file("lone", "data");
    int fd = OK(open("lone", O_RDONLY));
    OK(unlink("lone"));
    char data[8] = {0};
    CHECK(read(fd, data, 8) == 4 && memcmp(data, "data", 4) == 0);
    CHECK(fstat(fd, &a) == 0 && a.st_nlink == 0);
    close(fd);
    OK(mkdir("slash/", 0755));
    CHECK(stat("slash", &a) == 0 && S_ISDIR(a.st_mode));
    /* a directory symlink with a trailing slash is followed */
    OK(symlink("ldir", "dl"));
    CHECK(stat("dl/", &a) == 0 && S_ISDIR(a.st_mode));
    OK(unlink("dl"));
    CHECK(stat("ldir", &a) == 0);
}

static void cwd(void) {
    char buf[PATH_MAX];
    OK(mkdir("c1", 0755));
    OK(mkdir("c1/c2", 0755));
    char start[PATH_MAX];
    CHECK(getcwd(start, sizeof start) != NULL && strcmp(start, "/abi-dirs") == 0);
    OK(chdir("c1/c2"));
    CHECK(getcwd(buf, sizeof buf) != NULL && strcmp(buf, "/abi-dirs/c1/c2") == 0);
    long n = syscall(SYS_getcwd, buf, sizeof buf);
    CHECK(n == (long)strlen("/abi-dirs/c1/c2") + 1);
    ERR(syscall(SYS_getcwd, buf, 5), ERANGE);
    ERR(syscall(SYS_getcwd, buf, 0), ERANGE);
    ERR(syscall(SYS_getcwd, (char *)8, sizeof buf), EFAULT);
    OK(chdir(".."));
    OK(chdir(".."));
    write_file("cf", "x");
    ERR(chdir("cf"), ENOTDIR);
    ERR(chdir("missing"), ENOENT);
    ERR(chdir(""), ENOENT);
    ERR(chdir((char *)8), EFAULT);
    int fd = OK(open("c1", O_RDONLY | O_DIRECTORY));
    OK(fchdir(fd));
    CHECK(getcwd(buf, sizeof buf) != NULL && strcmp(buf, "/abi-dirs/c1") == 0);
    close(fd);
    fd = OK(open("/abi-dirs/cf", O_RDONLY));
    ERR(fchdir(fd), ENOTDIR);
    close(fd);
    ERR(fchdir(-1), EBADF);
    /* the cwd removed under us: getcwd says "(unreachable)"-less ENOENT */
    OK(mkdir("gone", 0755));
    OK(chdir("gone"));
    int gone = OK(open(".", O_RDONLY | O_DIRECTORY));
    OK(rmdir("../gone"));
    ERR(syscall(SYS_getcwd, buf, sizeof buf), ENOENT);
    /* nothing can be made in a removed directory; listing it fails */
    ERR(open("x", O_CREAT | O_WRONLY, 0644), ENOENT);
    ERR(mkdir("x", 0755), ENOENT);
    ERR(syscall(SYS_getdents64, gone, buf, sizeof buf), ENOENT);
    struct stat st;
    CHECK(fstat(gone, &st) == 0 && st.st_nlink == 0);
    close(gone);
    OK(chdir("/abi-dirs"));
}

int main(void) {
    memset(long_name, 'n', 256);
    enter_workdir("/abi-dirs");
    making_and_removing();
    listing();
    renaming();
    links();
    cwd();
    return finish("abi_dirs");
}
