"""The middle process of the double fork that detaches a session from whoever created it.

The runtime runs this file's source as ``python -I -S -c <source> <report fd> <LC_CTYPE> <program> <args...>``
with stdin, stdout, stderr, cwd and environment already set up for the session. It forks once and exits at
once; the creator reaps it. The grandchild starts a new session (``setsid``: its own process group, no
controlling terminal), reports ``<pid> <start time>`` on the report pipe and ``exec``s the shell. Because its
parent has exited, the session is an orphan from the start: it is reparented to init (or a subreaper) and is
never a zombie of an ``ao`` process, however long that one lives.

A failed ``exec`` is reported as ``error <errno> <text>`` on the same pipe. The pipe's write end is
close-on-exec, so the creator sees end-of-file exactly when the ``exec`` succeeded or the grandchild died.

This runs with ``-S`` (no site-packages) and must import only modules built into the interpreter.
"""

import os
import signal
import sys

# Dispositions an exec'd program must not inherit from a Python parent (which ignores SIGPIPE and SIGXFSZ)
# or from an ao started with nohup or in the background (SIGHUP, SIGINT, SIGQUIT ignored).
_RESET_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGPIPE", "SIGXFSZ", "SIGTSTP", "SIGTTIN", "SIGTTOU")


def main(argv: list[str]) -> None:
    """Fork; in the grandchild, detach, report and ``exec`` ``argv[2:]``."""
    report = int(argv[0])
    lc_ctype = argv[1]
    program_args = argv[2:]
    # Python itself may have set LC_CTYPE at startup (PEP 538 locale coercion); give the program the
    # environment the creator asked for: "1<value>" means LC_CTYPE=<value>, "0" means unset.
    env = dict(os.environb)
    if lc_ctype.startswith("1"):
        env[b"LC_CTYPE"] = os.fsencode(lc_ctype[1:])
    else:
        env.pop(b"LC_CTYPE", None)
    if os.fork() != 0:
        os._exit(0)
    try:
        os.setsid()
        start = b""
        try:
            with open("/proc/self/stat", "rb") as stat:  # noqa: PTH123 -- pathlib is not worth importing here
                start = stat.read().rpartition(b")")[2].split()[19]
        except (OSError, IndexError):  # no /proc (macOS): the creator asks ps instead
            pass
        os.write(report, b"%d %s\n" % (os.getpid(), start))
        for name in _RESET_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is not None:
                signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        os.set_inheritable(report, False)
        os.execve(program_args[0], program_args, env)
    except BaseException as exc:  # whatever happens: report it, never return into the caller
        errno = exc.errno if isinstance(exc, OSError) and exc.errno is not None else 0
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
        os.write(report, b"error %d %s\n" % (errno, text.encode("utf-8", "replace")))
    finally:
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])
