// Small C shims for what Swift cannot import from Glibc: GNU-only or variadic calls and
// the wait-status macros. Each function names the C call it wraps.
#ifndef CSHMLAB_H
#define CSHMLAB_H

#include <spawn.h>
#include <sys/types.h>

/// pipe2(fds, O_CLOEXEC): a pipe whose ends are closed on exec. Returns 0 or -1 (errno set).
int shmlab_pipe_cloexec(int fds[2]);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process.
int shmlab_become_subreaper(void);

/// syscall(SYS_pidfd_open, pid, 0): a descriptor that polls readable when `pid` exits.
int shmlab_pidfd_open(pid_t pid);

/// sigabbrev_np(sig): "SEGV" for SIGSEGV, or NULL for an unknown number.
const char *shmlab_signal_abbrev(int sig);

/// WEXITSTATUS / WIFSIGNALED / WTERMSIG: macros, which do not import.
int shmlab_wexitstatus(int status);
int shmlab_wifsignaled(int status);
int shmlab_wtermsig(int status);

/// fcntl(fd, F_SETFL, flags | O_NONBLOCK) — fcntl is variadic and does not import.
int shmlab_set_nonblocking(int fd);

/// fcntl(fd, F_SETFD, FD_CLOEXEC).
int shmlab_set_cloexec(int fd);

/// accept4(fd, addr, len, SOCK_CLOEXEC).
int shmlab_accept_cloexec(int fd);

/// __atomic_load_n(p, __ATOMIC_ACQUIRE) on a 32-bit word, e.g. a flag in shared memory.
unsigned int shmlab_atomic_load_u32(const void *p);
/// __atomic_store_n(p, v, __ATOMIC_RELEASE).
void shmlab_atomic_store_u32(void *p, unsigned int v);
/// __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL) on a 64-bit word; returns the old value.
unsigned long long shmlab_atomic_fetch_add_u64(void *p, unsigned long long v);
/// __atomic_load_n on a 64-bit word.
unsigned long long shmlab_atomic_load_u64(const void *p);

/// syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout): sleeps while the 32-bit word at `word`
/// (in a MAP_SHARED mapping: a shared futex, not FUTEX_PRIVATE_FLAG) still holds `expected`, for at
/// most `timeout_ns` nanoseconds (negative: no limit). Returns 0 when woken, or -1 with errno
/// EAGAIN (the word no longer held `expected`), ETIMEDOUT or EINTR.
int shmlab_futex_wait(const void *word, unsigned int expected, long long timeout_ns);
/// syscall(SYS_futex, word, FUTEX_WAKE, count): wakes up to `count` processes sleeping on `word`.
/// Returns how many were woken, or -1 (errno set).
int shmlab_futex_wake(const void *word, int count);

/// setfsuid(uid): the uid used for file-system permission checks only. Returns the previous one.
int shmlab_setfsuid(uid_t uid);

/// getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred): the pid, uid and gid of the process at the other
/// end of a connected Unix socket, as they were when it connected (struct ucred needs _GNU_SOURCE).
int shmlab_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// sched_getcpu(): the CPU the calling thread runs on at this moment, or -1.
int shmlab_current_cpu(void);
/// sched_getaffinity(0, …) into an opaque saved mask of `size` bytes (at least sizeof(cpu_set_t), 128).
int shmlab_get_affinity(void *saved, unsigned long size);
/// sched_setaffinity(0, …) from a mask saved by shmlab_get_affinity.
int shmlab_set_affinity(const void *saved, unsigned long size);
/// sched_setaffinity(0, …) to the single CPU `cpu` (CPU_ZERO, CPU_SET).
int shmlab_pin_to_cpu(int cpu);


/// POSIX_SPAWN_SETSID (a GNU extension, invisible to Swift): the child starts a new session.
int shmlab_posix_spawn_setsid_flag(void);

/// posix_spawn_file_actions_addclosefrom_np (GNU): the child closes every descriptor >= from.
int shmlab_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// What the last pthread_mutex_init at `address` in this process was given: pthread_mutexattr_getpshared
/// and pthread_mutexattr_getrobust of its attributes (PRIVATE and STALLED for none). Returns 1, or 0
/// when no pthread_mutex_init at that address is remembered (the last 64 are). pthread_mutex_init
/// is interposed by this module to note them.
int shmlab_mutex_init_attributes(const void *address, int *pshared, int *robust);

/// A mount namespace of its own with an empty tmpfs on /dev/shm (private_shm.c).
int shmlab_enter_private_shm(int *step);

/// Notes this process's memory map for crash reports: copies /proc/self/maps to
/// DIR/maps-PID.start now, and installs a handler (sigaction) for the signals Swift's backtracer
/// catches (SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGBUS, SIGSEGV) that copies /proc/self/maps
/// to DIR/maps-PID.crash (open/read/write only: async-signal-safe), then calls the handler that was
/// there before (the backtracer's), and finally lets the signal have its default action — also for
/// a signal sent with kill/raise, which the backtracer alone would let the process survive.
/// Call it after the Swift runtime has installed its handlers and before other threads exist.
/// Returns 0, or -1 when `dir` is too long.
int shmlab_install_crash_maps(const char *dir);

// Lesson 11 (memfd.c).
/// MFD_CLOEXEC, MFD_ALLOW_SEALING; F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE; MSG_CMSG_CLOEXEC (GNU-only names).
enum { SHMLAB_MFD_CLOEXEC = 1, SHMLAB_MFD_ALLOW_SEALING = 2,
       SHMLAB_F_SEAL_SEAL = 1, SHMLAB_F_SEAL_SHRINK = 2, SHMLAB_F_SEAL_GROW = 4, SHMLAB_F_SEAL_WRITE = 8,
       SHMLAB_MSG_CMSG_CLOEXEC = 0x40000000 };
/// memfd_create(name, flags): a file in RAM with no name in any directory. Returns the descriptor or -1 (errno).
int shmlab_memfd_create(const char *name, unsigned int flags);
/// fcntl(fd, F_ADD_SEALS, seals). Returns 0 or -1 (errno).
int shmlab_add_seals(int fd, int seals);
/// fcntl(fd, F_GET_SEALS): the seals, or -1 (errno).
int shmlab_get_seals(int fd);
/// CMSG_SPACE(count * sizeof(int)): the control buffer that holds `count` descriptors.
unsigned long shmlab_cmsg_space_fds(int count);
/// sendmsg(socket, one data byte `byte`, one SCM_RIGHTS control message holding `fd`, MSG_NOSIGNAL),
/// retried on EINTR. Returns the bytes sent (1) or -1 (errno).
long shmlab_send_fd(int socket, int fd, unsigned char byte);
/// recvmsg(socket, one data byte, a control buffer of `control_space` bytes, flags), retried on EINTR.
/// *fd: the first descriptor of an SCM_RIGHTS message (any others are closed), or -1.
/// *message_flags: msg_flags (MSG_CTRUNC when the control buffer was too small). Returns the bytes
/// received (0 at end of file) or -1 (errno).
long shmlab_recv_fd(int socket, unsigned long control_space, int flags, unsigned char *byte, int *fd,
                    int *message_flags);
/// open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600): a file with no name in that file system.
int shmlab_open_unnamed_file(const char *directory);
/// In a forked child only: unshare(CLONE_NEWNS) (or CLONE_NEWUSER | CLONE_NEWNS without privilege),
/// mount("/", MS_REC | MS_PRIVATE), mount("tmpfs", directory, "size=SIZE"). Returns 0, or the errno
/// of the step that failed (*step 1, 2 or 3).
int shmlab_mount_small_tmpfs(const char *directory, const char *size, int *step);

#endif

