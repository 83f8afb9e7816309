"""
training/lock.py: one process (one torchrun job) at a time in an out_dir; train.py and tokenize_audio.py.

    with OutDirLock(out_dir, "train.py", master=rank == 0, barrier=dist.barrier):   # a second run: LockError
        ...

The lock is out_dir/.lock, held with flock(2) for as long as the process lives: the kernel releases it
when the process ends, however it ends (a SIGKILL too), so a lock left by a dead process is never
mistaken for a live one and is simply taken over. The file says who holds it (pid, host, script, start),
for the error a second process gets. torchrun: rank 0 takes the lock and the other ranks wait at the
barrier, so they never write before it is held, and a job refused on rank 0 ends all its ranks (torchrun
stops the job when a rank fails). The lock is removed on release; a process that opened the file before
it was removed checks that it locked the file now at that path (the inode), else it tries again.
On a network filesystem without flock support (some NFS setups) locking fails with a clear error.
"""
import fcntl
import json
import os
import socket
import time


class LockError(OSError):
    """out_dir is in use by another run, or cannot hold a lock file; the message says what to do."""


class OutDirLock:
    def __init__(self, out_dir, script, master=True, barrier=None):
        self.out_dir, self.script, self.master, self.barrier = out_dir, script, master, barrier
        self.path, self.fd = os.path.join(out_dir, ".lock"), None

    def __enter__(self):
        if self.master:
            self.acquire()
        if self.barrier is not None:
            self.barrier()  # the other ranks go on only once rank 0 holds the lock
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self):
        try:
            os.makedirs(self.out_dir, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read(fd)
                    os.close(fd)
                    raise LockError(f"{self.out_dir} is in use by another run ({holder}); two runs in one "
                                    f"out_dir would interleave their logs and checkpoints. Wait for it to "
                                    f"finish (or stop it), or give another out_dir.") from None
                if os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
                os.close(fd)  # the holder removed the file after we opened it: lock the new one
        except LockError:
            raise
        except OSError as e:  # read-only, out_dir a file, no flock support, ...
            raise LockError(f"cannot use out_dir {self.out_dir} ({e.strerror or e}): it must be a folder "
                            f"this process can write in. Give another out_dir.") from None
        was = _read(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(dict(pid=os.getpid(), host=socket.gethostname(), script=self.script,
                                     since=time.strftime("%Y-%m-%d %H:%M:%S"))).encode())
        if was != "no holder recorded":
            print(f"{self.out_dir}: took over the lock of a run that ended without releasing it ({was})")
        self.fd = fd

    def release(self):
        if self.fd is not None:
            os.remove(self.path)  # while still holding it: the next process locks a new file
            os.close(self.fd)
            self.fd = None


def _read(fd):
    """Who holds (or held) the lock, as words."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        h = json.loads(os.read(fd, 4096) or b"null")
        return f"{h['script']}, pid {h['pid']} on {h['host']}, since {h['since']}"
    except (OSError, ValueError, TypeError, KeyError):
        return "no holder recorded"
