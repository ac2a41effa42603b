"""The job both workers run in the throughput comparison: nothing, as fast as it can."""


def noop(n: int) -> int:
    return n
