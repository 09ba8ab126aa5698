"""tree_pool.py: multiprocessing.Pool(2) (fork start method: two worker
processes, pipes and a POSIX semaphore shared with the parent, three handler
threads in the parent) mapping a deterministic CPU task over inputs.

Each task is paced (a short sleep plus ~35 ms of pure-Python work), so a
checkpoint finds tasks queued in the pool's pipes, running in the workers
and results on their way back. Results come back in order (imap); progress
goes to stderr, the results and a digest over all of them to stdout at the
end. The workers' PIDs are never printed; each result says whether it was
computed in a child of the parent (not in the parent itself).

usage: python3 tree_pool.py [TASKS]   (default 120, about 4-5 s)
"""
import multiprocessing
import os
import sys
import time

PARENT_PID = os.getpid()


def task(n):
    time.sleep(0.04)
    h = 0x9E3779B97F4A7C15 ^ n
    for i in range(60000 + (n % 5) * 5000):
        h = (h * 6364136223846793005 + 1442695040888963407 + i) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    in_child = os.getpid() != PARENT_PID and os.getppid() == PARENT_PID
    return n, h, in_child


def main():
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    multiprocessing.set_start_method("fork")
    print("progress tree_pool start", file=sys.stderr, flush=True)
    results = []
    with multiprocessing.Pool(2) as pool:
        for n, h, in_child in pool.imap(task, range(tasks), chunksize=1):
            results.append((n, h, in_child))
            if n % 10 == 0:
                print("progress tree_pool result", n, file=sys.stderr, flush=True)
    digest = 0
    failures = 0
    for n, h, in_child in results:
        print("task %d: %016x in a worker process: %s" % (n, h, "yes" if in_child else "NO"))
        digest = (digest * 1000003 + h) % (1 << 61)
        if not in_child:
            failures += 1
    in_order = [n for n, _, _ in results] == list(range(tasks))
    if not in_order:
        failures += 1
    print("results %d in order: %s" % (len(results), "ok" if in_order else "MISMATCH"))
    print("digest %d" % digest)
    print("result %s" % ("ok" if failures == 0 else "FAILED"))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
