"""Pure-Python computation for the engine tests: a segmented prime sieve
and an integer hash chain, progress on stderr, results on stdout at the end.

usage: python3 compute.py [ROUNDS]   (default 70)
"""
import sys


def sieve_segment(low, high, small_primes):
    flags = bytearray([1]) * (high - low)
    for p in small_primes:
        if p * p >= high:
            break
        start = max(p * p, ((low + p - 1) // p) * p)
        for multiple in range(start, high, p):
            flags[multiple - low] = 0
    return [low + i for i, flag in enumerate(flags) if flag and low + i > 1]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 70
    segment = 50000
    small = sieve_segment(0, 1 << 16, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53,
                                       59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109,
                                       113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173,
                                       179, 181, 191, 193, 197, 199, 211, 223, 227, 229, 233,
                                       239, 241, 251])
    count = 0
    checksum = 0
    h = 0x12345
    objects = {}
    for r in range(rounds):
        primes = sieve_segment(r * segment, (r + 1) * segment, small)
        count += len(primes)
        for p in primes:
            checksum = (checksum * 1000003 + p) % (1 << 61)
        for i in range(20000):
            h = (h * 6364136223846793005 + 1442695040888963407 + i) & 0xFFFFFFFFFFFFFFFF
        objects[r] = [str(h % 1000), (h >> 7) % 13, {"r": r}]
        print("progress python round", r, file=sys.stderr, flush=True)
    digest = 0
    for key in sorted(objects):
        digest = (digest * 31 + int(objects[key][0]) + objects[key][1] + objects[key][2]["r"]) % (1 << 61)
    print("primes below", rounds * segment, count)
    print("prime checksum", checksum)
    print("hash chain", hex(h))
    print("objects digest", digest)


if __name__ == "__main__":
    main()
