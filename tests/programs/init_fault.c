/* PID 1 that writes through a bad pointer: a fault ends even init (Linux
 * clears SIGNAL_UNKILLABLE for a forced SIGSEGV), so the VM's status is
 * 128 + SIGSEGV = 139. */
#include <stdio.h>

int main(void) {
    printf("faulting\n");
    fflush(stdout);
    volatile int *volatile bad = (int *)16;
    *bad = 1;
    printf("survived the fault\n");
    return 0;
}
