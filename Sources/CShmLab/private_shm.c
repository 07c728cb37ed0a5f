#define _GNU_SOURCE
#include "CShmLab.h"
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>

/// Gives the calling (single-threaded) process a mount namespace of its own with an empty
/// tmpfs on /dev/shm: unshare(CLONE_NEWNS), mount("/", MS_REC | MS_PRIVATE) so that nothing
/// propagates back, mount("tmpfs", "/dev/shm"). Returns 0, or the errno of the step that failed
/// with *step set to 1, 2 or 3.
int shmlab_enter_private_shm(int *step) {
    *step = 1;
    if (unshare(CLONE_NEWNS) != 0) return errno;
    *step = 2;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return errno;
    *step = 3;
    if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) return errno;
    *step = 0;
    return 0;
}
