/*
 * An attestation client as a workload in an SEV-SNP guest would be: it
 * asks for reports, derived keys and extended reports through Linux's
 * interfaces and checks what comes back, report data included.
 *
 *   attest_client_snp snp     /dev/sev-guest (SNP_GET_REPORT,
 *                             SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT)
 *                             with every errno case, and a configfs-tsm
 *                             report entry (provider sev_guest: inblob,
 *                             privlevel, outblob, auxblob).
 *   attest_client_snp absent  not an SNP guest: no /dev/sev-guest.
 *
 * Prints one line per check ("ok: ..." or "FAIL: ...") and a summary;
 * exits with the number of failed checks (0: all passed). Numbers come
 * from Linux's include/uapi/linux/sev-guest.h,
 * drivers/virt/coco/sev-guest/sev-guest.c, include/uapi/linux/psp-sev.h
 * and AMD's SNP firmware ABI (56860: ATTESTATION_REPORT layout) and GHCB
 * spec (56421: certificate table).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* include/uapi/linux/sev-guest.h */
struct snp_report_req {
    uint8_t user_data[64];
    uint32_t vmpl;
    uint8_t rsvd[28];
};
struct snp_report_resp {
    uint8_t data[4000];
};
struct snp_derived_key_req {
    uint32_t root_key_select;
    uint32_t rsvd;
    uint64_t guest_field_select;
    uint32_t vmpl;
    uint32_t guest_svn;
    uint64_t tcb_version;
};
struct snp_derived_key_resp {
    uint8_t data[64];
};
struct snp_guest_request_ioctl {
    uint8_t msg_version;
    uint64_t req_data;
    uint64_t resp_data;
    union {
        uint64_t exitinfo2;
        struct {
            uint32_t fw_error;
            uint32_t vmm_error;
        };
    };
};
struct snp_ext_report_req {
    struct snp_report_req data;
    uint64_t certs_address;
    uint32_t certs_len;
};
#define SNP_GET_REPORT _IOWR('S', 0x0, struct snp_guest_request_ioctl)
#define SNP_GET_DERIVED_KEY _IOWR('S', 0x1, struct snp_guest_request_ioctl)
#define SNP_GET_EXT_REPORT _IOWR('S', 0x2, struct snp_guest_request_ioctl)
#define SNP_GUEST_VMM_ERR_INVALID_LEN 1
#define SEV_FW_BLOB_MAX_SIZE 0x4000
#define SEV_RET_INVALID_PARAM 0x16

/* MSG_REPORT_RSP: status u32, report_size u32, reserved[24], report. */
#define RSP_HDR 32
/* ATTESTATION_REPORT (firmware ABI 56860). */
#define REPORT_SIZE 0x4a0
#define R_VERSION 0x0
#define R_VMPL 0x30
#define R_SIG_ALGO 0x34
#define R_REPORT_DATA 0x50

#define DEV "/dev/sev-guest"
#define CONFIG "/sys/kernel/config"
#define REPORTS CONFIG "/tsm/report/"

/* The VCEK's GUID in the certificate table (text order). */
static const uint8_t VCEK_GUID[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};

static int checks, failures;

static void check(int ok, const char *what) {
    checks++;
    if (!ok)
        failures++;
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
}

static void check_errno(long ret, int expected, const char *what) {
    int got = errno;
    char line[256];
    int ok = ret == -1 && got == expected;
    snprintf(line, sizeof line, "%s -> %s (got %ld, %s)", what, strerror(expected), ret,
             ret == -1 ? strerror(got) : "no error");
    check(ok, line);
}

static uint32_t u32_at(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static long read_file(const char *path, void *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long total = 0;
    for (;;) {
        long n = read(fd, (char *)buf + total, cap - total);
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0 || (size_t)(total += n) == cap)
            break;
    }
    close(fd);
    return total;
}

static long write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    long n = write(fd, data, len);
    int e = errno;
    if (close(fd) != 0 && n >= 0)
        return -1;
    errno = e;
    return n;
}

static long read_generation(const char *entry) {
    char path[256], text[32] = {0};
    snprintf(path, sizeof path, "%s/generation", entry);
    if (read_file(path, text, sizeof text - 1) < 0)
        return -1;
    return strtol(text, NULL, 10);
}

static void fill(uint8_t *data, uint8_t seed) {
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)(seed + 3 * i);
}

/* A report through SNP_GET_REPORT; the ioctl's result. */
static int get_report(int fd, const uint8_t data[64], uint32_t vmpl, struct snp_report_resp *resp,
                      struct snp_guest_request_ioctl *io) {
    struct snp_report_req req = {0};
    memcpy(req.user_data, data, 64);
    req.vmpl = vmpl;
    memset(io, 0, sizeof *io);
    io->msg_version = 1;
    io->req_data = (uint64_t)(uintptr_t)&req;
    io->resp_data = (uint64_t)(uintptr_t)resp;
    io->exitinfo2 = 0x1234;
    return ioctl(fd, SNP_GET_REPORT, io);
}

/* A good report response for `data` at `vmpl`. */
static int report_ok(const uint8_t *rsp, const uint8_t data[64], uint32_t vmpl) {
    const uint8_t *r = rsp + RSP_HDR;
    return u32_at(rsp) == 0 && u32_at(rsp + 4) == REPORT_SIZE && u32_at(r + R_VERSION) >= 2 &&
           u32_at(r + R_SIG_ALGO) == 1 && u32_at(r + R_VMPL) == vmpl && memcmp(r + R_REPORT_DATA, data, 64) == 0;
}

/* A certificate table whose first entry is the VCEK, DER inside. */
static int table_ok(const uint8_t *t, size_t len) {
    if (len < 48 || memcmp(t, VCEK_GUID, 16))
        return 0;
    uint32_t off = u32_at(t + 16), n = u32_at(t + 20);
    return n > 4 && off + n <= len && t[off] == 0x30 && t[off + 1] == 0x82;
}

static void snp_device(int fd) {
    struct stat st;
    check(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10, DEV " is a misc character device");

    uint8_t data[64];
    struct snp_report_resp resp;
    struct snp_guest_request_ioctl io;
    fill(data, 0x11);
    memset(&resp, 0xee, sizeof resp);
    check(get_report(fd, data, 0, &resp, &io) == 0, "SNP_GET_REPORT succeeds");
    check(report_ok(resp.data, data, 0), "the report carries our report data at VMPL 0, version >= 2, ECDSA P-384");
    check(io.exitinfo2 == 0x1234, "success leaves the ioctl struct as it was (exitinfo2 not written back)");
    int zero_tail = 1;
    for (size_t i = RSP_HDR + REPORT_SIZE; i < sizeof resp.data; i++)
        zero_tail &= resp.data[i] == 0;
    check(zero_tail, "the 4000-byte response is zero after the report");

    fill(data, 0x22);
    check(get_report(fd, data, 2, &resp, &io) == 0 && report_ok(resp.data, data, 2), "a report at VMPL 2 says VMPL 2");
    check(get_report(fd, data, 4, &resp, &io) == 0 && u32_at(resp.data) == SEV_RET_INVALID_PARAM,
          "VMPL 4: the firmware's status INVALID_PARAM in the response");

    /* Derived keys. */
    struct snp_derived_key_req kreq = {0};
    struct snp_derived_key_resp k1, k2, k3;
    kreq.guest_field_select = 1 << 3; /* measurement */
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = (uintptr_t)&kreq, .resp_data = (uintptr_t)&k1};
    check(ioctl(fd, SNP_GET_DERIVED_KEY, &io) == 0 && u32_at(k1.data) == 0, "SNP_GET_DERIVED_KEY succeeds");
    io.resp_data = (uintptr_t)&k2;
    check(ioctl(fd, SNP_GET_DERIVED_KEY, &io) == 0 && memcmp(k1.data + 32, k2.data + 32, 32) == 0, "the same request derives the same key");
    kreq.guest_field_select = 1; /* policy */
    io.resp_data = (uintptr_t)&k3;
    check(ioctl(fd, SNP_GET_DERIVED_KEY, &io) == 0 && memcmp(k1.data + 32, k3.data + 32, 32) != 0,
          "other guest fields derive another key");

    /* Extended reports. */
    uint8_t *certs = mmap(NULL, SEV_FW_BLOB_MAX_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct snp_ext_report_req ext = {0};
    fill(data, 0x33);
    memcpy(ext.data.user_data, data, 64);
    ext.certs_address = (uintptr_t)certs;
    ext.certs_len = SEV_FW_BLOB_MAX_SIZE;
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp};
    check(ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0 && report_ok(resp.data, data, 0), "SNP_GET_EXT_REPORT with 16 KiB for certificates");
    check(table_ok(certs, SEV_FW_BLOB_MAX_SIZE), "the certificate table starts with the VCEK (DER)");

    ext.certs_len = 4096;
    io.exitinfo2 = 0;
    check_errno(ioctl(fd, SNP_GET_EXT_REPORT, &io), EIO, "SNP_GET_EXT_REPORT with a 4 KiB certificate buffer");
    check(io.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN && io.fw_error == 0, "exitinfo2: VMM error INVALID_LEN");
    check(ext.certs_len == SEV_FW_BLOB_MAX_SIZE, "certs_len rewritten to the 16 KiB the host needs");
    fill(data, 0x44);
    check(get_report(fd, data, 0, &resp, &io) == 0 && report_ok(resp.data, data, 0), "the VMPCK still works after INVALID_LEN");

    fill(data, 0x55);
    memcpy(ext.data.user_data, data, 64);
    ext.certs_len = 0;
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp};
    check(ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0 && report_ok(resp.data, data, 0), "SNP_GET_EXT_REPORT with certs_len 0 (no certificates)");
    ext.certs_len = 100;
    check_errno(ioctl(fd, SNP_GET_EXT_REPORT, &io), EINVAL, "certs_len 100 (not a page multiple)");
    ext.certs_len = 5 * 4096;
    check_errno(ioctl(fd, SNP_GET_EXT_REPORT, &io), EINVAL, "certs_len 20 KiB (above SEV_FW_BLOB_MAX_SIZE)");
    ext.certs_len = 4096;
    ext.certs_address = 0xffff800000000000ULL;
    check_errno(ioctl(fd, SNP_GET_EXT_REPORT, &io), EFAULT, "a kernel certs_address");
    uint8_t *ro = mmap(NULL, SEV_FW_BLOB_MAX_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ext.certs_address = (uintptr_t)ro;
    ext.certs_len = SEV_FW_BLOB_MAX_SIZE;
    check_errno(ioctl(fd, SNP_GET_EXT_REPORT, &io), EFAULT, "a read-only certificate buffer");

    /* The ioctl struct and its pointers. */
    io = (struct snp_guest_request_ioctl){.msg_version = 0, .req_data = (uintptr_t)&ext, .resp_data = (uintptr_t)&resp, .exitinfo2 = 7};
    check_errno(ioctl(fd, SNP_GET_REPORT, &io), EINVAL, "msg_version 0");
    check(io.exitinfo2 == 7, "msg_version 0: nothing written back");
    check_errno(ioctl(fd, SNP_GET_REPORT, NULL), EFAULT, "a NULL ioctl argument");
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = 0, .resp_data = (uintptr_t)&resp};
    check_errno(ioctl(fd, SNP_GET_REPORT, &io), EINVAL, "req_data NULL");
    check(io.exitinfo2 == 0xff, "exitinfo2 0xff written back (no firmware call)");
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = 16, .resp_data = (uintptr_t)&resp};
    check_errno(ioctl(fd, SNP_GET_REPORT, &io), EFAULT, "an unmapped req_data");
    struct snp_report_req req = {0};
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)ro};
    check_errno(ioctl(fd, SNP_GET_REPORT, &io), EFAULT, "a read-only resp_data");
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = (uintptr_t)&kreq, .resp_data = 0};
    check_errno(ioctl(fd, SNP_GET_DERIVED_KEY, &io), EINVAL, "SNP_GET_DERIVED_KEY with resp_data NULL");
    io = (struct snp_guest_request_ioctl){.msg_version = 1, .req_data = (uintptr_t)&req, .resp_data = (uintptr_t)&resp};
    check_errno(ioctl(fd, _IOWR('S', 0x3, struct snp_guest_request_ioctl), &io), ENOTTY, "unknown ioctl _IOWR('S', 3)");
    check(io.exitinfo2 == 0xff, "unknown ioctl: exitinfo2 0xff written back");
    check_errno(ioctl(fd, _IOWR('T', 1, uint8_t[1088]), &io), ENOTTY, "the TDX ioctl on " DEV);
    char byte;
    check_errno(read(fd, &byte, 1), EINVAL, "read " DEV);
    check_errno(write(fd, &byte, 1), EINVAL, "write " DEV);
    check_errno(lseek(fd, 0, SEEK_SET), ESPIPE, "lseek " DEV);
    munmap(certs, SEV_FW_BLOB_MAX_SIZE);
    munmap(ro, SEV_FW_BLOB_MAX_SIZE);
}

static void mount_configfs(void) {
    mkdir(CONFIG, 0755);
    check(mount("none", CONFIG, "configfs", 0, NULL) == 0 || errno == EBUSY, "mount -t configfs none " CONFIG);
}

static void snp_configfs(void) {
    const char *entry = REPORTS "r0";
    char path[256], text[64];
    check(mkdir(entry, 0755) == 0, "mkdir " REPORTS "r0");
    const char *names[] = {"generation", "provider", "privlevel", "privlevel_floor", "inblob", "outblob", "auxblob"};
    int found = 0, others = 0;
    DIR *dir = opendir(entry);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        int known = 0;
        for (int i = 0; i < 7; i++)
            known |= strcmp(e->d_name, names[i]) == 0;
        if (known)
            found++;
        else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            others++;
    }
    if (dir)
        closedir(dir);
    check(found == 7 && others == 0, "an SNP report entry has generation, provider, privlevel, privlevel_floor, inblob, outblob, auxblob");

    snprintf(path, sizeof path, "%s/provider", entry);
    memset(text, 0, sizeof text);
    check(read_file(path, text, sizeof text - 1) == 10 && strcmp(text, "sev_guest\n") == 0, "provider reads sev_guest");
    snprintf(path, sizeof path, "%s/privlevel_floor", entry);
    memset(text, 0, sizeof text);
    check(read_file(path, text, sizeof text - 1) == 2 && strcmp(text, "0\n") == 0, "privlevel_floor reads 0");

    static uint8_t blob[32768];
    char inblob[256], outblob[256], auxblob[256], privlevel[256];
    snprintf(inblob, sizeof inblob, "%s/inblob", entry);
    snprintf(outblob, sizeof outblob, "%s/outblob", entry);
    snprintf(auxblob, sizeof auxblob, "%s/auxblob", entry);
    snprintf(privlevel, sizeof privlevel, "%s/privlevel", entry);
    check_errno(read_file(outblob, blob, sizeof blob), EINVAL, "outblob before any inblob");

    uint8_t data[64];
    fill(data, 0x66);
    check(write_file(inblob, data, 32) == 32, "a 32-byte inblob");
    check_errno(read_file(outblob, blob, sizeof blob), EINVAL, "outblob of a 32-byte inblob (SNP needs 64)");
    check(write_file(inblob, data, 64) == 64 && read_generation(entry) == 2, "a 64-byte inblob: generation 2");
    long n = read_file(outblob, blob, sizeof blob);
    check(n == REPORT_SIZE, "outblob is a 0x4A0-byte report");
    check(n == REPORT_SIZE && u32_at(blob + R_VMPL) == 0 && memcmp(blob + R_REPORT_DATA, data, 64) == 0,
          "the report carries our inblob at VMPL 0");
    n = read_file(auxblob, blob, sizeof blob);
    check(n > 0 && n <= SEV_FW_BLOB_MAX_SIZE && table_ok(blob, n), "auxblob is the certificate table, VCEK first");
    check(read_generation(entry) == 2, "reading does not advance the generation");

    check_errno(write_file(privlevel, "4", 1), EINVAL, "privlevel 4");
    check(write_file(privlevel, "2\n", 2) == 2 && read_generation(entry) == 3, "privlevel 2: generation 3");
    n = read_file(outblob, blob, sizeof blob);
    check(n == REPORT_SIZE && u32_at(blob + R_VMPL) == 2 && memcmp(blob + R_REPORT_DATA, data, 64) == 0,
          "the regenerated report is at VMPL 2 with our inblob");
    check(rmdir(entry) == 0, "rmdir " REPORTS "r0");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2 || (strcmp(argv[1], "snp") && strcmp(argv[1], "absent"))) {
        fprintf(stderr, "usage: %s snp|absent\n", argv[0]);
        return 100;
    }
    if (!strcmp(argv[1], "snp")) {
        int fd = open(DEV, O_RDWR);
        check(fd >= 0, "open " DEV);
        if (fd >= 0) {
            snp_device(fd);
            close(fd);
        }
        mount_configfs();
        snp_configfs();
    } else {
        struct stat st;
        check_errno(open(DEV, O_RDWR), ENOENT, "open " DEV " outside an SNP guest");
        check_errno(stat(DEV, &st), ENOENT, "no " DEV " node");
    }
    printf("attest_client_snp: %d checks, %d failed\n", checks, failures);
    return failures > 99 ? 99 : failures;
}
